//! The predictor's dynamic batching: the shared batcher
//! (`infergate_server::batching`) running joined requests on a model's
//! session pool. Requests over `max_batch_size` rows are refused, as
//! Triton's batcher does.
use std::sync::Arc;

use async_trait::async_trait;
use infergate_proto::Tensor;
use infergate_server::batching::tensors::{batch_key, run_joined};
use infergate_server::batching::{BatchRunner, BatchSettings, Batcher};

use crate::error::{PredictorError, Result};
use crate::session::SessionPool;

struct Sessions(Arc<SessionPool>);

#[async_trait]
impl BatchRunner for Sessions {
    type Input = Vec<Tensor>;
    type Output = Vec<Tensor>;
    type Error = PredictorError;

    async fn run(&self, batch: Vec<Vec<Tensor>>, rows: &[usize]) -> Vec<Result<Vec<Tensor>>> {
        run_joined(batch, rows, |inputs| self.0.run(inputs)).await
    }
}

pub struct OnnxBatcher {
    model: String,
    max_batch_size: usize,
    batcher: Batcher<Sessions>,
}

impl OnnxBatcher {
    /// Starts batching for `model` with `workers` batches in flight at once.
    pub fn start(
        model: &str,
        settings: BatchSettings,
        workers: usize,
        pool: Arc<SessionPool>,
    ) -> Self {
        OnnxBatcher {
            model: model.to_string(),
            max_batch_size: settings.max_batch_size,
            batcher: Batcher::start(model, settings, workers, Arc::new(Sessions(pool))),
        }
    }

    /// Whether a request would find room in the queue now (429 if not).
    pub fn admit(&self) -> Result<()> {
        Ok(self.batcher.admit()?)
    }

    /// Queues one request and waits for its own rows of the outputs.
    pub async fn infer(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        let (key, rows) = batch_key(&inputs)?;
        if rows > self.max_batch_size {
            return Err(PredictorError::Input(format!(
                "batch of {rows} rows exceeds max_batch_size {} of model '{}'",
                self.max_batch_size, self.model
            )));
        }
        self.batcher.infer(key, rows, inputs).await
    }
}
