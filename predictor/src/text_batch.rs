//! Padding-aware batching for a text model served by itself, by text: the
//! texts of the requests that arrive within `delay` of each other (up to
//! `GROUP_RUNS` runs' worth) are sorted by their real length and cut into
//! runs that each pad only to their own longest text (`padded::plan_runs`),
//! so that a request's short texts are not padded to its long ones. Each
//! request gets its rows of the per-token output back as it sent them, as
//! soon as its last text has run. One actor task owns the queue; the next
//! group gathers while one runs.
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use infergate_proto::{InferRequest, Protocol, Tensor, TensorData};
use infergate_server::{InferError, Model, Payload, Reply, RequestContext};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::padded_batch::{self as padded, Text, TokenRows};

/// Texts considered together, in runs of `max_rows`: enough to sort a few
/// runs' worth, few enough that the first request of a group is not kept
/// waiting long for the others.
const GROUP_RUNS: usize = 4;

/// What one encoder run costs besides its tokens, in tokens, for the
/// cutting rule: a run is worth making when it saves this much padding.
/// MiniLM int8 on one core (ONNX Runtime 1.31): a run of 1 x 12 tokens
/// takes 3.8 ms, one of 16 x 12 25.6 ms, so a run costs about 2.2 ms over
/// its tokens, some 16 tokens at 7k tokens/s; twice that, since smaller runs
/// also use the core less well.
const RUN_OVERHEAD_TOKENS: usize = 32;

type Answer = Result<Vec<Tensor>, InferError>;

struct Job {
    inputs: Vec<Tensor>,
    shape: TokenRows,
    /// The real length of each row.
    lens: Vec<usize>,
    reply: oneshot::Sender<Answer>,
}

#[derive(Debug, Clone, Copy)]
pub struct TextBatching {
    pub max_rows: usize,
    pub max_tokens: usize,
    pub delay: Duration,
    pub queue: usize,
}

pub struct TextBatcher {
    tx: mpsc::Sender<Job>,
}

impl TextBatcher {
    /// Runs batches of `inner`, keeping its output `output` (`[rows, len, ...]`).
    pub fn start(inner: Arc<dyn Model>, output: String, settings: TextBatching) -> Self {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        tokio::spawn(actor(rx, inner, output, settings));
        TextBatcher { tx }
    }

    /// The request's own rows of the output, once its texts ran.
    pub async fn run(&self, inputs: Vec<Tensor>) -> Answer {
        let shape = padded::token_rows(&inputs)?;
        if shape.rows == 0 {
            return Err(InferError::InvalidInput("no texts to encode".into()));
        }
        let lens = padded::row_lengths(&inputs, shape)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job {
                inputs,
                shape,
                lens,
                reply,
            })
            .map_err(|_| InferError::Overloaded("the text batch queue is full".into()))?;
        answer
            .await
            .map_err(|_| InferError::Internal("the text batcher stopped".into()))?
    }
}

async fn actor(
    mut rx: mpsc::Receiver<Job>,
    inner: Arc<dyn Model>,
    output: String,
    s: TextBatching,
) {
    let group = GROUP_RUNS * s.max_rows.max(1);
    let texts = |w: &VecDeque<Job>| w.iter().map(|j| j.shape.rows).sum::<usize>();
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match rx.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        // Gather until the delay passes or a group's worth is waiting.
        let deadline = Instant::now() + s.delay;
        while texts(&waiting) < group {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => waiting.push_back(job),
                _ => break,
            }
        }
        // Oldest first, as many as the group holds (the first always).
        let mut n = 0;
        let mut count = 0;
        for job in &waiting {
            if n > 0 && count + job.shape.rows > group {
                break;
            }
            count += job.shape.rows;
            n += 1;
        }
        let jobs: Vec<Job> = waiting.drain(..n).collect();
        run_group(inner.as_ref(), &output, jobs, &s).await;
    }
}

async fn run_group(inner: &dyn Model, output: &str, jobs: Vec<Job>, s: &TextBatching) {
    let mut texts: Vec<Text> = jobs
        .iter()
        .enumerate()
        .flat_map(|(job, j)| {
            j.lens
                .iter()
                .enumerate()
                .map(move |(row, &len)| Text { job, row, len })
        })
        .collect();
    texts.sort_by_key(|t| t.len);
    let lens: Vec<usize> = texts.iter().map(|t| t.len).collect();
    let runs = padded::plan_runs(&lens, s.max_rows, s.max_tokens, RUN_OVERHEAD_TOKENS);
    let shapes: Vec<TokenRows> = jobs.iter().map(|j| j.shape).collect();
    let mut left: Vec<usize> = shapes.iter().map(|s| s.rows).collect();
    let (inputs, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.inputs, j.reply)).unzip();
    let mut replies: Vec<Option<oneshot::Sender<Answer>>> = replies.into_iter().map(Some).collect();
    let requests: Vec<&[Tensor]> = inputs.iter().map(Vec::as_slice).collect();
    let mut buffers: Vec<Vec<f32>> = vec![Vec::new(); requests.len()];
    let mut start = 0;
    for size in runs {
        let run = &texts[start..start + size];
        start += size;
        match run_once(inner, output, &requests, run, &shapes, &mut buffers).await {
            Ok(dims) => {
                for t in run {
                    left[t.job] -= 1;
                    if left[t.job] > 0 {
                        continue;
                    }
                    let Some(reply) = replies[t.job].take() else {
                        continue;
                    };
                    let shape = shapes[t.job];
                    let mut out_shape = vec![shape.rows, shape.len];
                    out_shape.extend_from_slice(&dims);
                    let data = TensorData::Fp32(std::mem::take(&mut buffers[t.job]));
                    let _ = reply.send(
                        Tensor::new(output, out_shape, data)
                            .map(|t| vec![t])
                            .map_err(InferError::from),
                    );
                }
            }
            // A failed run fails the requests with a text in it.
            Err(e) => {
                for t in run {
                    if let Some(reply) = replies[t.job].take() {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// Runs one run of texts and files their outputs; the output's dimensions
/// after the first two.
async fn run_once(
    inner: &dyn Model,
    output: &str,
    requests: &[&[Tensor]],
    run: &[Text],
    shapes: &[TokenRows],
    buffers: &mut [Vec<f32>],
) -> Result<Vec<usize>, InferError> {
    let req = InferRequest {
        inputs: padded::run_inputs(requests, run)?,
        ..Default::default()
    };
    let ctx = RequestContext::new(Protocol::V2Rest);
    let Reply::V2(resp) = inner.predict(Payload::V2(req), &ctx).await? else {
        return Err(InferError::Internal("the encoder answered V1".into()));
    };
    let out = resp
        .outputs
        .iter()
        .find(|t| t.name == output)
        .ok_or_else(|| InferError::Internal(format!("the encoder gave no '{output}'")))?;
    padded::scatter(out, run, shapes, buffers)?;
    Ok(out.shape.get(2..).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use infergate_proto::{InferResponse, ModelMetadata, TensorData};

    use super::*;

    /// An encoder whose hidden state of a token is its id; it records the
    /// shape of every batch it runs.
    #[derive(Default)]
    struct Echo {
        batches: Mutex<Vec<Vec<usize>>>,
    }

    #[async_trait]
    impl Model for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn metadata(&self) -> ModelMetadata {
            ModelMetadata {
                name: "echo".into(),
                versions: vec![],
                platform: String::new(),
                inputs: vec![],
                outputs: vec![],
            }
        }
        async fn predict(&self, p: Payload, _ctx: &RequestContext) -> Result<Reply, InferError> {
            let Payload::V2(req) = p else { unreachable!() };
            let ids = &req.inputs[0];
            self.batches.lock().unwrap().push(ids.shape.clone());
            let TensorData::Int64(v) = &ids.data else {
                unreachable!()
            };
            let mut shape = ids.shape.clone();
            shape.push(1);
            let data = TensorData::Fp32(v.iter().map(|&x| x as f32).collect());
            Ok(Reply::V2(InferResponse {
                outputs: vec![Tensor::new("last_hidden_state", shape, data).unwrap()],
                ..Default::default()
            }))
        }
    }

    /// A request of texts with these real lengths, padded to the longest:
    /// token t of row r has id base + 10 r + t.
    fn texts(lens: &[usize], base: i64) -> Vec<Tensor> {
        let width = lens.iter().copied().max().unwrap_or(0);
        let (mut ids, mut mask) = (Vec::new(), Vec::new());
        for (r, &n) in lens.iter().enumerate() {
            for t in 0..width {
                let real = t < n;
                ids.push(if real {
                    base + 10 * r as i64 + t as i64
                } else {
                    0
                });
                mask.push(i64::from(real));
            }
        }
        let shape = vec![lens.len(), width];
        vec![
            Tensor::new("input_ids", shape.clone(), TensorData::Int64(ids)).unwrap(),
            Tensor::new("attention_mask", shape, TensorData::Int64(mask)).unwrap(),
        ]
    }

    fn hidden(out: &[Tensor]) -> (Vec<usize>, Vec<f32>) {
        match &out[0].data {
            TensorData::Fp32(v) => (out[0].shape.clone(), v.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn texts_are_sorted_by_length_into_runs_and_come_back_in_their_rows() {
        let echo = Arc::new(Echo::default());
        let settings = TextBatching {
            max_rows: 8,
            max_tokens: 8192,
            delay: Duration::from_millis(5),
            queue: 16,
        };
        let b = TextBatcher::start(echo.clone(), "last_hidden_state".into(), settings);
        // Two requests mixing short (2-3 tokens) and long (300-301) texts:
        // sorted, the short ones run together unpadded by the long ones.
        let (x, y) = tokio::join!(b.run(texts(&[300, 2], 1000)), b.run(texts(&[3, 301], 5000)));
        assert_eq!(
            *echo.batches.lock().unwrap(),
            vec![vec![2, 3], vec![2, 301]],
            "two runs: the short texts padded to 3, the long to 301"
        );
        let (shape, v) = hidden(&x.unwrap());
        assert_eq!(shape, [2, 300, 1], "as the request was padded");
        assert_eq!(v[0], 1000.0);
        assert_eq!(v[299], 1299.0);
        assert_eq!(
            &v[300..303],
            &[1010.0, 1011.0, 0.0],
            "row 1: 2 real tokens, then zeros"
        );
        let (shape, v) = hidden(&y.unwrap());
        assert_eq!(shape, [2, 301, 1]);
        assert_eq!(&v[..4], &[5000.0, 5001.0, 5002.0, 0.0]);
        assert_eq!(v[301 + 300], 5310.0);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_of_one_text_share_runs_within_the_limits() {
        let echo = Arc::new(Echo::default());
        let settings = TextBatching {
            max_rows: 2,
            max_tokens: 8192,
            delay: Duration::from_millis(5),
            queue: 16,
        };
        let b = TextBatcher::start(echo.clone(), "last_hidden_state".into(), settings);
        let (a, c, d) = tokio::join!(
            b.run(texts(&[4], 10)),
            b.run(texts(&[2], 20)),
            b.run(texts(&[3], 30))
        );
        // Sorted 2, 3, 4: the two shortest share a run, the longest runs alone.
        assert_eq!(*echo.batches.lock().unwrap(), vec![vec![2, 3], vec![1, 4]]);
        assert_eq!(hidden(&a.unwrap()).1, [10.0, 11.0, 12.0, 13.0]);
        assert_eq!(hidden(&c.unwrap()).1, [20.0, 21.0]);
        assert_eq!(hidden(&d.unwrap()).1, [30.0, 31.0, 32.0]);
    }
}
