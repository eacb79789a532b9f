//! Dynamic batching: requests that arrive close together are joined along
//! the first dimension, run as one, and split back. An actor task owns the
//! queue state ([`queue::BatchQueue`]); callers talk to it through a channel.
pub mod padded;
mod queue;
mod split;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use infergate_proto::Tensor;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

pub use queue::{BatchKey, BatchQueue, Decision, Pending};
pub use split::{batch_key, concat, split};

use crate::error::{PredictorError, Result};
use crate::model_config::BatchSettings;

/// Rows in each batch a dynamic batcher ran, by model. A name ending in
/// `_size` gets count buckets (1, 2, 4 ... 512) from the server's recorder.
pub const BATCH_SIZE: &str = "infergate_batch_size";

/// What runs a formed batch (the session pool; a stand-in in tests).
#[async_trait]
pub trait BatchRunner: Send + Sync + 'static {
    async fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>>;
}

struct Item {
    inputs: Vec<Tensor>,
    reply: oneshot::Sender<Result<Vec<Tensor>>>,
    /// The request's time in the queue, as a span (when traces are exported):
    /// it ends when its batch starts, and the batch's span links to it.
    queued: tracing::Span,
}

/// The handle callers use; the actor stops when the last handle is dropped
/// and the queue has drained.
pub struct Batcher {
    model: String,
    max_batch_size: usize,
    max_queue_size: usize,
    tx: mpsc::UnboundedSender<Pending<Item>>,
    /// Requests sent to the actor and not yet in a batch or refused: what
    /// `has_room` reads without asking the actor.
    waiting: Arc<AtomicUsize>,
}

impl Batcher {
    /// Starts the actor with `workers` batches allowed in flight at once.
    pub fn start(
        model: &str,
        settings: BatchSettings,
        workers: usize,
        runner: Arc<dyn BatchRunner>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let max_batch_size = settings.max_batch_size;
        let max_queue_size = settings.max_queue_size;
        let waiting = Arc::new(AtomicUsize::new(0));
        tokio::spawn(actor(
            model.to_string(),
            waiting.clone(),
            BatchQueue::new(settings, workers),
            rx,
            runner,
        ));
        Batcher {
            model: model.to_string(),
            max_batch_size,
            max_queue_size,
            tx,
            waiting,
        }
    }

    /// Whether a request sent now would find room in the queue (counting
    /// those on their way to it): false means it would be refused, so the
    /// server refuses it before reading its body.
    pub fn has_room(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) < self.max_queue_size
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
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            rows,
            key,
            enqueued: Instant::now(),
            item: Item {
                inputs,
                reply,
                queued: infergate_server::step_span!("queue"),
            },
        };
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(pending).is_err() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(PredictorError::Stopped(self.model.clone()));
        }
        answer
            .await
            .map_err(|_| PredictorError::Stopped(self.model.clone()))?
    }
}

async fn actor(
    model: String,
    waiting: Arc<AtomicUsize>,
    mut queue: BatchQueue<Item>,
    mut requests: mpsc::UnboundedReceiver<Pending<Item>>,
    runner: Arc<dyn BatchRunner>,
) {
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    // The recorder first: a handle made before it exists records nothing.
    infergate_server::metrics::prometheus();
    let batch_size = metrics::histogram!(BATCH_SIZE, "model_name" => model.clone());
    metrics::describe_histogram!(
        BATCH_SIZE,
        metrics::Unit::Count,
        "Rows in each batch a dynamic batcher ran, by model."
    );
    let timeout_ms = queue.settings().timeout.map_or(0, |t| t.as_millis() as u64);
    let admit = |queue: &mut BatchQueue<Item>, p: Pending<Item>| {
        if let Err(p) = queue.push(p) {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _ = p
                .item
                .reply
                .send(Err(PredictorError::QueueFull(model.clone())));
        }
    };
    // One timer, re-armed only when the deadline moves: a fresh timer per
    // arriving request was a visible share of the actor's time under load.
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    let mut in_flight = 0usize;
    let mut open = true;
    loop {
        let now = Instant::now();
        for expired in queue.take_expired(now) {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _ = expired
                .item
                .reply
                .send(Err(PredictorError::QueueTimeout(model.clone(), timeout_ms)));
        }
        let wake = match queue.poll(now) {
            Decision::Dispatch(batch) => {
                waiting.fetch_sub(batch.len(), Ordering::Relaxed);
                in_flight += 1;
                batch_size.record(batch.iter().map(|p| p.rows).sum::<usize>() as f64);
                tokio::spawn(run_batch(batch, runner.clone(), done_tx.clone()));
                continue;
            }
            Decision::WaitUntil(t) => Some(t),
            Decision::Idle => None,
        };
        if !open && queue.is_empty() && in_flight == 0 {
            return;
        }
        if wake != armed {
            if let Some(t) = wake {
                timer.as_mut().reset(t);
            }
            armed = wake;
        }
        tokio::select! {
            req = requests.recv(), if open => match req {
                Some(p) => {
                    admit(&mut queue, p);
                    // Let the connections that are ready send theirs before
                    // deciding: else tokio runs this task right after each
                    // sender (its LIFO slot), and the queue is examined once
                    // per request instead of once per batch.
                    tokio::task::yield_now().await;
                    while let Ok(p) = requests.try_recv() {
                        admit(&mut queue, p);
                    }
                }
                None => open = false,
            },
            Some(()) = done.recv() => {
                in_flight -= 1;
                queue.worker_done();
            }
            () = &mut timer, if armed.is_some() => armed = None,
        }
    }
}

async fn run_batch(
    batch: Vec<Pending<Item>>,
    runner: Arc<dyn BatchRunner>,
    done: mpsc::UnboundedSender<()>,
) {
    let rows: Vec<usize> = batch.iter().map(|p| p.rows).collect();
    // A batch of requests none of which is traced makes no span.
    let span = if batch.iter().any(|p| !p.item.queued.is_none()) {
        tracing::info_span!(
            target: infergate_server::otel::TARGET,
            "batch",
            rows = rows.iter().sum::<usize>(),
            requests = rows.len()
        )
    } else {
        tracing::Span::none()
    };
    let (inputs, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|p| {
            // The member's queue wait ends here.
            infergate_server::otel::link(&span, &p.item.queued);
            (p.item.inputs, p.item.reply)
        })
        .unzip();
    let result = match concat(inputs) {
        Ok(joined) => match runner.run(joined).instrument(span).await {
            Ok(outputs) => split(outputs, &rows),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(parts) => {
            for (reply, part) in replies.into_iter().zip(parts) {
                let _ = reply.send(Ok(part));
            }
        }
        // A failed batch answers every member with the error.
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
    let _ = done.send(());
}

#[cfg(test)]
mod tests;
