//! Padding-aware batching for text models, by text rather than by request.
//! Requests carry token rows (`[rows, len]` INT64 inputs, each request
//! padded to its own longest text); the batcher takes every text waiting,
//! sorts them by their real length and cuts the sorted list into runs, each
//! padded only to its own longest text. Where to cut is the rule below: a
//! run costs a fixed overhead plus rows x longest tokens (what
//! text-embeddings-inference's queue counts), within `max_rows` texts and
//! `max_tokens` padded tokens a run. Each text's per-token output goes back
//! to its request's row, and the request gets its rows as it sent them.
use infergate_proto::{Tensor, TensorData};

use crate::error::{PredictorError, Result};

/// The shape of a request's token inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRows {
    pub rows: usize,
    pub len: usize,
}

/// One text of a waiting request: which request, which of its rows, and
/// how many of the row's tokens are real (not padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub job: usize,
    pub row: usize,
    pub len: usize,
}

/// Where to cut texts sorted by length (shortest first) into runs: the run
/// sizes, in order, that cost least (ties: fuller runs first) when a run costs `overhead` plus its
/// rows x its longest text, with at most `max_rows` texts and `max_tokens`
/// padded tokens a run (a text longer than `max_tokens` runs alone; its
/// length was bounded when it came in). Dynamic programming over the cut
/// points: O(texts x max_rows).
pub fn plan_runs(
    lens: &[usize],
    max_rows: usize,
    max_tokens: usize,
    overhead: usize,
) -> Vec<usize> {
    let n = lens.len();
    // best[j]: the least cost of the first j texts, and where its last run starts.
    let mut best: Vec<(usize, usize)> = vec![(0, 0); n + 1];
    for j in 1..=n {
        let longest = lens[j - 1];
        let mut choice = (usize::MAX, j - 1);
        for i in (j.saturating_sub(max_rows.max(1))..j).rev() {
            let rows = j - i;
            if rows > 1 && rows * longest > max_tokens {
                break;
            }
            let cost = best[i].0 + overhead + rows * longest;
            if cost < choice.0 {
                choice = (cost, i);
            }
        }
        best[j] = choice;
    }
    let mut sizes = Vec::new();
    let mut j = n;
    while j > 0 {
        let i = best[j].1;
        sizes.push(j - i);
        j = i;
    }
    sizes.reverse();
    sizes
}

/// The token rows of a request: every input is `[rows, len]`, the same for all.
pub fn token_rows(inputs: &[Tensor]) -> Result<TokenRows> {
    let mut shape = None;
    for t in inputs {
        let &[rows, len] = &t.shape[..] else {
            return Err(PredictorError::Input(format!(
                "input '{}' has shape {:?}; token inputs are [rows, length]",
                t.name, t.shape
            )));
        };
        match shape {
            None => shape = Some(TokenRows { rows, len }),
            Some(s) if s != (TokenRows { rows, len }) => {
                return Err(PredictorError::Input(format!(
                    "token inputs disagree: '{}' is [{rows}, {len}], others [{}, {}]",
                    t.name, s.rows, s.len
                )));
            }
            _ => {}
        }
    }
    shape.ok_or_else(|| PredictorError::Input("no token inputs".into()))
}

fn int64(t: &Tensor) -> Result<&[i64]> {
    match &t.data {
        TensorData::Int64(v) => Ok(v),
        _ => Err(PredictorError::Input(format!(
            "token input '{}' is {}, not INT64",
            t.name,
            t.datatype()
        ))),
    }
}

/// The real length of each row: up to the last token its `attention_mask`
/// keeps (tokenizers pad on the right); the whole row without a mask.
pub fn row_lengths(inputs: &[Tensor], shape: TokenRows) -> Result<Vec<usize>> {
    let Some(mask) = inputs.iter().find(|t| t.name == "attention_mask") else {
        return Ok(vec![shape.len; shape.rows]);
    };
    let mask = int64(mask)?;
    Ok((0..shape.rows)
        .map(|r| {
            let row = &mask[r * shape.len..(r + 1) * shape.len];
            row.iter().rposition(|&m| m != 0).map_or(0, |p| p + 1)
        })
        .collect())
}

/// The inputs of one run: `texts` (rows of `requests`, whose inputs come in
/// the same order) stacked `[texts, longest]`, each padded with 0 (BERT's
/// [PAD] id, a zero mask, type 0).
pub fn run_inputs(requests: &[&[Tensor]], texts: &[Text]) -> Result<Vec<Tensor>> {
    let longest = texts.iter().map(|t| t.len).max().unwrap_or(0).max(1);
    let first = requests.first().copied().unwrap_or_default();
    let mut out = Vec::with_capacity(first.len());
    for (i, head) in first.iter().enumerate() {
        let mut data = Vec::with_capacity(texts.len() * longest);
        for text in texts {
            let req = requests.get(text.job).copied().unwrap_or_default();
            let t = req.get(i).filter(|t| t.name == head.name).ok_or_else(|| {
                PredictorError::OrtRun(format!(
                    "requests of one batch disagree on input {i} ('{}')",
                    head.name
                ))
            })?;
            let width = t.shape.get(1).copied().unwrap_or(0);
            let start = text.row * width;
            data.extend_from_slice(&int64(t)?[start..start + text.len]);
            data.resize(data.len() + longest - text.len, 0);
        }
        out.push(Tensor {
            name: head.name.clone(),
            shape: vec![texts.len(), longest],
            parameters: head.parameters.clone(),
            data: TensorData::Int64(data),
        });
    }
    Ok(out)
}

/// Copies each text's real tokens of a run's per-token FP32 output
/// (`[texts, longest, width...]`) into its request's buffer, laid out as
/// the request's own `[rows, len, width...]` (zero where it was padding).
/// Returns the width (the product of the dimensions after the second).
pub fn scatter(
    out: &Tensor,
    texts: &[Text],
    shapes: &[TokenRows],
    buffers: &mut [Vec<f32>],
) -> Result<usize> {
    let longest = texts.iter().map(|t| t.len).max().unwrap_or(0).max(1);
    let (TensorData::Fp32(data), [n, l, rest @ ..]) = (&out.data, &out.shape[..]) else {
        return Err(PredictorError::OrtRun(format!(
            "output '{}' is {} {:?}; per-token FP32 [texts, tokens, ...] is needed",
            out.name,
            out.datatype(),
            out.shape
        )));
    };
    if (*n, *l) != (texts.len(), longest) {
        return Err(PredictorError::OrtRun(format!(
            "output '{}' has shape {:?} for a run of {} texts x {longest} tokens",
            out.name,
            out.shape,
            texts.len()
        )));
    }
    let width: usize = rest.iter().product();
    for (k, text) in texts.iter().enumerate() {
        let shape = shapes[text.job];
        let buf = &mut buffers[text.job];
        if buf.is_empty() {
            buf.resize(shape.rows * shape.len * width, 0.0);
        }
        let src = k * longest * width;
        let dst = text.row * shape.len * width;
        buf[dst..dst + text.len * width].copy_from_slice(&data[src..src + text.len * width]);
    }
    Ok(width)
}

#[cfg(test)]
mod tests;
