//! Padding-aware batching for a text model served by itself: requests whose
//! token rows differ in length wait up to `delay` to share one run, padded
//! to the batch's longest row, within `max_rows` rows and `max_tokens`
//! padded tokens (rows x longest; [`padded::take`]). Each caller gets its
//! own rows of the per-token output back, cut to its own length. One actor
//! task owns the queue; a batch runs while the next one gathers.
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use infergate_proto::{InferRequest, Protocol, Tensor};
use infergate_server::{InferError, Model, Payload, Reply, RequestContext};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::padded_batch::{self as padded, TokenRows};

struct Job {
    inputs: Vec<Tensor>,
    rows: TokenRows,
    reply: oneshot::Sender<Result<Vec<Tensor>, InferError>>,
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

    /// The request's own rows of the output, once its batch ran.
    pub async fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, InferError> {
        let rows = padded::token_rows(&inputs)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job {
                inputs,
                rows,
                reply,
            })
            .map_err(|_| InferError::Overloaded("the text batch queue is full".into()))?;
        answer
            .await
            .map_err(|_| InferError::Internal("the text batcher stopped".into()))?
    }
}

fn sizes(waiting: &VecDeque<Job>) -> Vec<TokenRows> {
    waiting.iter().map(|j| j.rows).collect()
}

async fn actor(
    mut rx: mpsc::Receiver<Job>,
    inner: Arc<dyn Model>,
    output: String,
    s: TextBatching,
) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match rx.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        // Gather until the delay passes or a waiting request no longer fits.
        let deadline = Instant::now() + s.delay;
        while padded::take(&sizes(&waiting), s.max_rows, s.max_tokens) == waiting.len() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => waiting.push_back(job),
                _ => break,
            }
        }
        let n = padded::take(&sizes(&waiting), s.max_rows, s.max_tokens);
        let jobs: Vec<Job> = waiting.drain(..n).collect();
        run_batch(inner.as_ref(), &output, jobs).await;
    }
}

async fn run_batch(inner: &dyn Model, output: &str, jobs: Vec<Job>) {
    let parts: Vec<TokenRows> = jobs.iter().map(|j| j.rows).collect();
    let (inputs, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.inputs, j.reply)).unzip();
    let result = async {
        // 0 pads every input: BERT's [PAD] id, a zero mask, type 0.
        let batch = padded::pad_concat(&inputs, |_| 0)?;
        let req = InferRequest {
            inputs: batch,
            ..Default::default()
        };
        let ctx = RequestContext::new(Protocol::V2Rest);
        let Reply::V2(resp) = inner.predict(Payload::V2(req), &ctx).await? else {
            return Err(InferError::Internal("the encoder answered V1".into()));
        };
        let outs = resp
            .outputs
            .into_iter()
            .filter(|t| t.name == output)
            .collect();
        Ok::<_, InferError>(padded::unpad_split(outs, &parts, &[output])?)
    }
    .await;
    match result {
        Ok(split) => {
            for (reply, out) in replies.into_iter().zip(split) {
                let _ = reply.send(Ok(out));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
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

    fn ids(len: usize, base: i64) -> Vec<Tensor> {
        let data = (0..len as i64).map(|v| base + v).collect();
        vec![Tensor::new("input_ids", vec![1, len], TensorData::Int64(data)).unwrap()]
    }

    #[tokio::test(start_paused = true)]
    async fn mixed_lengths_share_a_padded_batch_and_come_back_unpadded() {
        let echo = Arc::new(Echo::default());
        let settings = TextBatching {
            max_rows: 8,
            max_tokens: 15,
            delay: Duration::from_millis(5),
            queue: 16,
        };
        let b = TextBatcher::start(echo.clone(), "last_hidden_state".into(), settings);
        // 1x2, 1x5, 1x3: 3 rows x 5 = 15 padded tokens fit; a 4th does not.
        let (a, c, d, e) = tokio::join!(
            b.run(ids(2, 10)),
            b.run(ids(5, 20)),
            b.run(ids(3, 30)),
            b.run(ids(1, 40))
        );
        assert_eq!(*echo.batches.lock().unwrap(), vec![vec![3, 5], vec![1, 1]]);
        let a = a.unwrap();
        assert_eq!(a[0].shape, vec![1, 2, 1]);
        assert_eq!(a[0].data, TensorData::Fp32(vec![10.0, 11.0]));
        assert_eq!(c.unwrap()[0].shape, vec![1, 5, 1]);
        assert_eq!(d.unwrap()[0].data, TensorData::Fp32(vec![30.0, 31.0, 32.0]));
        assert_eq!(e.unwrap()[0].data, TensorData::Fp32(vec![40.0]));
    }
}
