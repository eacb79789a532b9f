//! Padding-aware batching for text models. Requests carry token rows of
//! different lengths (`[rows, len]` INT64 inputs); they share one batch
//! padded to its longest row, so the batch costs rows x longest tokens, and
//! that is what the limit counts (as text-embeddings-inference's queue does).
//! Each caller gets its own rows back, cut to its own length.
use infergate_proto::{Tensor, TensorData};

use crate::error::{PredictorError, Result};

/// One waiting request as the rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRows {
    pub rows: usize,
    pub len: usize,
}

/// How many of the waiting requests, oldest first, go in the next batch:
/// as many as keep the rows within `max_rows` and the padded tokens (all
/// rows x the longest row so far) within `max_tokens`. The oldest request
/// always goes, alone if need be (its own size was bounded when it came in).
pub fn take(waiting: &[TokenRows], max_rows: usize, max_tokens: usize) -> usize {
    let (mut rows, mut longest) = (0usize, 0usize);
    for (i, r) in waiting.iter().enumerate() {
        let (new_rows, new_longest) = (rows + r.rows, longest.max(r.len));
        if i > 0 && (new_rows > max_rows || new_rows * new_longest > max_tokens) {
            return i;
        }
        (rows, longest) = (new_rows, new_longest);
    }
    waiting.len()
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

/// Stacks requests' INT64 `[rows, len]` inputs (same names, same order) into
/// `[total rows, longest]`, padding each row on the right with `pad(name)`.
pub fn pad_concat(requests: &[Vec<Tensor>], pad: impl Fn(&str) -> i64) -> Result<Vec<Tensor>> {
    let parts: Vec<TokenRows> = requests
        .iter()
        .map(|r| token_rows(r))
        .collect::<Result<_>>()?;
    let total: usize = parts.iter().map(|p| p.rows).sum();
    let longest = parts.iter().map(|p| p.len).max().unwrap_or(0);
    let first = requests.first().map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::with_capacity(first.len());
    for (i, head) in first.iter().enumerate() {
        let fill = pad(&head.name);
        let mut data = Vec::with_capacity(total * longest);
        for (req, part) in requests.iter().zip(&parts) {
            let t = req.get(i).filter(|t| t.name == head.name).ok_or_else(|| {
                PredictorError::OrtRun(format!(
                    "requests of one batch disagree on input {i} ('{}')",
                    head.name
                ))
            })?;
            let TensorData::Int64(v) = &t.data else {
                return Err(PredictorError::Input(format!(
                    "token input '{}' is {}, not INT64",
                    t.name,
                    t.datatype()
                )));
            };
            for row in v.chunks(part.len.max(1)).take(part.rows) {
                data.extend_from_slice(row);
                data.resize(data.len() + longest - row.len(), fill);
            }
        }
        out.push(Tensor {
            name: head.name.clone(),
            shape: vec![total, longest],
            parameters: head.parameters.clone(),
            data: TensorData::Int64(data),
        });
    }
    Ok(out)
}

/// Splits batch outputs back per request. Outputs named in `per_token`
/// (`[total, longest, ...]`, e.g. `last_hidden_state`) are cut to each
/// request's own length; the others (`[total, ...]`) by rows only.
pub fn unpad_split(
    outputs: Vec<Tensor>,
    parts: &[TokenRows],
    per_token: &[&str],
) -> Result<Vec<Vec<Tensor>>> {
    let total: usize = parts.iter().map(|p| p.rows).sum();
    let longest = parts.iter().map(|p| p.len).max().unwrap_or(0);
    let mut split: Vec<Vec<Tensor>> = parts.iter().map(|_| Vec::new()).collect();
    for out in outputs {
        let tokens = per_token.contains(&out.name.as_str());
        let ok =
            out.shape.first() == Some(&total) && (!tokens || out.shape.get(1) == Some(&longest));
        if !ok {
            return Err(PredictorError::OrtRun(format!(
                "output '{}' has shape {:?}; a batch of {total} rows x {longest} tokens \
                 needs [{total}{}, ...]",
                out.name,
                out.shape,
                if tokens {
                    format!(", {longest}")
                } else {
                    String::new()
                }
            )));
        }
        let inner: usize = out.shape[if tokens { 2 } else { 1 }..].iter().product();
        let mut row = 0;
        for (dst, p) in split.iter_mut().zip(parts) {
            let (shape, data) = if tokens {
                let mut pieces = Vec::with_capacity(p.rows);
                for r in row..row + p.rows {
                    let at = r * longest * inner;
                    pieces.push(out.data.slice(at..at + p.len * inner));
                }
                let mut data = pieces.remove(0);
                for piece in &pieces {
                    data.extend_from(piece)?;
                }
                let mut shape = out.shape.clone();
                (shape[0], shape[1]) = (p.rows, p.len);
                (shape, data)
            } else {
                let mut shape = out.shape.clone();
                shape[0] = p.rows;
                (shape, out.data.slice(row * inner..(row + p.rows) * inner))
            };
            row += p.rows;
            dst.push(Tensor {
                name: out.name.clone(),
                shape,
                parameters: out.parameters.clone(),
                data,
            });
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(usize, usize)]) -> Vec<TokenRows> {
        spec.iter()
            .map(|&(rows, len)| TokenRows { rows, len })
            .collect()
    }

    #[test]
    fn the_limit_counts_padded_tokens() {
        // 1x10 + 1x120: 2 rows padded to 120 = 240 tokens, though 130 are real.
        assert_eq!(take(&rows(&[(1, 10), (1, 120)]), 32, 239), 1);
        assert_eq!(take(&rows(&[(1, 10), (1, 120)]), 32, 240), 2);
        // A short request after a long one costs the long length too.
        let long_first = rows(&[(2, 100), (1, 5), (1, 5)]);
        assert_eq!(take(&long_first, 32, 299), 1, "3 rows x 100 = 300");
        assert_eq!(take(&long_first, 32, 300), 2);
        assert_eq!(take(&long_first, 32, 399), 2, "4 rows x 100 = 400");
        assert_eq!(take(&long_first, 32, 400), 3);
        // Rows are limited too.
        assert_eq!(take(&rows(&[(4, 10), (4, 10), (4, 10)]), 8, 10_000), 2);
        // The oldest goes even when it alone is over (bounded on arrival).
        assert_eq!(take(&rows(&[(1, 500), (1, 1)]), 32, 100), 1);
        assert_eq!(take(&[], 32, 100), 0);
    }

    fn ids(name: &str, rows: usize, len: usize, base: i64) -> Tensor {
        let data = (0..(rows * len) as i64).map(|v| base + v).collect();
        Tensor::new(name, vec![rows, len], TensorData::Int64(data)).unwrap()
    }

    #[test]
    fn pads_to_the_longest_and_splits_back_without_padding() {
        let a = vec![ids("input_ids", 1, 2, 10), ids("attention_mask", 1, 2, 1)];
        let b = vec![ids("input_ids", 2, 3, 20), ids("attention_mask", 2, 3, 1)];
        let batch = pad_concat(&[a, b], |n| if n == "input_ids" { 0 } else { -1 }).unwrap();
        assert_eq!(batch[0].shape, vec![3, 3]);
        assert_eq!(
            batch[0].data,
            TensorData::Int64(vec![10, 11, 0, 20, 21, 22, 23, 24, 25])
        );
        assert_eq!(
            batch[1].data,
            TensorData::Int64(vec![1, 2, -1, 1, 2, 3, 4, 5, 6])
        );
        // A per-token output [3, 3, 2] and a pooled one [3, 2].
        let hidden = Tensor::new(
            "last_hidden_state",
            vec![3, 3, 2],
            TensorData::Fp32((0..18).map(|v| v as f32).collect()),
        )
        .unwrap();
        let pooled = Tensor::new(
            "embedding",
            vec![3, 2],
            TensorData::Fp32((0..6).map(|v| v as f32).collect()),
        )
        .unwrap();
        let parts = rows(&[(1, 2), (2, 3)]);
        let split = unpad_split(vec![hidden, pooled], &parts, &["last_hidden_state"]).unwrap();
        assert_eq!(split[0][0].shape, vec![1, 2, 2]);
        assert_eq!(split[0][0].data, TensorData::Fp32(vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(split[1][0].shape, vec![2, 3, 2]);
        assert_eq!(
            split[1][0].data,
            TensorData::Fp32((6..18).map(|v| v as f32).collect())
        );
        assert_eq!(split[0][1].data, TensorData::Fp32(vec![0.0, 1.0]));
        assert_eq!(split[1][1].shape, vec![2, 2]);
    }

    #[test]
    fn mismatches_are_named() {
        let a = vec![ids("input_ids", 1, 2, 0), ids("attention_mask", 1, 3, 0)];
        let err = token_rows(&a).unwrap_err().to_string();
        assert!(err.contains("token inputs disagree"), "{err}");
        let out = Tensor::new(
            "last_hidden_state",
            vec![2, 4],
            TensorData::Fp32(vec![0.0; 8]),
        )
        .unwrap();
        let err = unpad_split(vec![out], &rows(&[(1, 2), (1, 3)]), &["last_hidden_state"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs [2, 3, ...]"), "{err}");
    }
}
