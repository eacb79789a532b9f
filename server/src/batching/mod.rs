//! Dynamic batching, shared by the predictor (ONNX sessions) and the
//! transformer (KServe's agent batcher, in front of a remote predictor):
//! requests that arrive close together run as one and each caller gets its
//! own part of the answer. An actor task owns the queue state
//! ([`queue::BatchQueue`]); callers talk to it through a channel. What a
//! batch is made of and how it runs is the [`BatchRunner`]'s business;
//! [`tensors`] joins and splits tensors along the first dimension for both.
mod queue;
pub mod tensors;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use infergate_proto::ErrorClass;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument;

pub use queue::{BatchKey, BatchQueue, Decision, Pending};

/// Rows in each batch a dynamic batcher ran, by model. A name ending in
/// `_size` gets count buckets (1, 2, 4 ... 512) from the server's recorder.
pub const BATCH_SIZE: &str = "infergate_batch_size";

/// The settings a batcher runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSettings {
    pub max_batch_size: usize,
    pub max_queue_delay: Duration,
    pub preferred_batch_sizes: Vec<usize>,
    pub max_queue_size: usize,
    pub timeout: Option<Duration>,
}

/// What the batcher itself can answer instead of the runner.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BatchError {
    /// The request cannot be batched as sent (the caller's fault).
    #[error("{0}")]
    Input(String),

    /// The members of a batch, or its answer, cannot be joined or split.
    #[error("{0}")]
    Join(String),

    #[error("model '{0}' is overloaded: its queue is full")]
    QueueFull(String),

    #[error("model '{0}': request timed out in the queue after {1} ms")]
    QueueTimeout(String, u64),

    /// The batcher or its runner went away with the request in it.
    #[error("model '{0}' stopped while the request was in flight")]
    Stopped(String),
}

impl BatchError {
    pub fn class(&self) -> ErrorClass {
        match self {
            BatchError::Input(_) => ErrorClass::InvalidInput,
            BatchError::Join(_) => ErrorClass::Internal,
            BatchError::QueueFull(_) => ErrorClass::Overloaded,
            BatchError::QueueTimeout(..) => ErrorClass::Timeout,
            BatchError::Stopped(_) => ErrorClass::NotReady,
        }
    }
}

/// What runs a formed batch: the session pool in the predictor, the
/// predictor call in the transformer, a stand-in in tests.
#[async_trait]
pub trait BatchRunner: Send + Sync + 'static {
    /// One request's share of a batch.
    type Input: Send + 'static;
    /// One request's share of the answer.
    type Output: Send + 'static;
    type Error: From<BatchError> + Send + 'static;

    /// Runs `batch` (members in queue order, `rows[i]` rows each) and
    /// answers each member, in the same order.
    async fn run(
        &self,
        batch: Vec<Self::Input>,
        rows: &[usize],
    ) -> Vec<Result<Self::Output, Self::Error>>;
}

type Answer<R> = Result<<R as BatchRunner>::Output, <R as BatchRunner>::Error>;

struct Item<R: BatchRunner> {
    input: R::Input,
    reply: oneshot::Sender<Answer<R>>,
    /// The request's time in the queue, as a span (when traces are exported):
    /// it ends when its batch starts, and the batch's span links to it.
    queued: tracing::Span,
}

/// The handle callers use; the actor stops when the last handle is dropped
/// and the queue has drained.
pub struct Batcher<R: BatchRunner> {
    model: String,
    max_queue_size: usize,
    tx: mpsc::UnboundedSender<Pending<Item<R>>>,
    /// Requests sent to the actor and not yet in a batch or refused: what
    /// `admit` reads without asking the actor.
    waiting: Arc<AtomicUsize>,
}

impl<R: BatchRunner> Batcher<R> {
    /// Starts the actor with `workers` batches allowed in flight at once.
    pub fn start(model: &str, settings: BatchSettings, workers: usize, runner: Arc<R>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
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
            max_queue_size,
            tx,
            waiting,
        }
    }

    /// Whether a request sent now would find room in the queue (counting
    /// those on their way to it), or the refusal it would get: the server
    /// refuses it so before reading its body.
    pub fn admit(&self) -> Result<(), BatchError> {
        if self.waiting.load(Ordering::Relaxed) < self.max_queue_size {
            Ok(())
        } else {
            Err(BatchError::QueueFull(self.model.clone()))
        }
    }

    /// Queues one request of `rows` rows (it may share a batch only with
    /// requests of the same `key`) and waits for its own answer. The caller
    /// keeps requests over the batch size out.
    pub async fn infer(&self, key: BatchKey, rows: usize, input: R::Input) -> Answer<R> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            rows,
            key,
            enqueued: Instant::now(),
            item: Item {
                input,
                reply,
                queued: crate::step_span!("queue"),
            },
        };
        let stopped = || BatchError::Stopped(self.model.clone()).into();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(pending).is_err() {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

async fn actor<R: BatchRunner>(
    model: String,
    waiting: Arc<AtomicUsize>,
    mut queue: BatchQueue<Item<R>>,
    mut requests: mpsc::UnboundedReceiver<Pending<Item<R>>>,
    runner: Arc<R>,
) {
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    // The recorder first: a handle made before it exists records nothing.
    crate::metrics::prometheus();
    let batch_size = metrics::histogram!(BATCH_SIZE, "model_name" => model.clone());
    metrics::describe_histogram!(
        BATCH_SIZE,
        metrics::Unit::Count,
        "Rows in each batch a dynamic batcher ran, by model."
    );
    let timeout_ms = queue.settings().timeout.map_or(0, |t| t.as_millis() as u64);
    let admit = |queue: &mut BatchQueue<Item<R>>, p: Pending<Item<R>>| {
        if let Err(p) = queue.push(p) {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _ = p
                .item
                .reply
                .send(Err(BatchError::QueueFull(model.clone()).into()));
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
            let _ =
                expired.item.reply.send(Err(
                    BatchError::QueueTimeout(model.clone(), timeout_ms).into()
                ));
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

async fn run_batch<R: BatchRunner>(
    batch: Vec<Pending<Item<R>>>,
    runner: Arc<R>,
    done: mpsc::UnboundedSender<()>,
) {
    let rows: Vec<usize> = batch.iter().map(|p| p.rows).collect();
    // A batch of requests none of which is traced makes no span.
    let span = if batch.iter().any(|p| !p.item.queued.is_none()) {
        tracing::info_span!(
            target: crate::otel::TARGET,
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
            crate::otel::link(&span, &p.item.queued);
            (p.item.input, p.item.reply)
        })
        .unzip();
    let answers = runner.run(inputs, &rows).instrument(span).await;
    // A member the runner gave no answer hears `Stopped` (its sender drops).
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer);
    }
    let _ = done.send(());
}

#[cfg(test)]
mod tests;
