//! The flags of KServe's agent batcher, under both its dashed names and the
//! underscore names of the other KServe flags.
use infergate_server::cli::strtobool;

/// Batching of predictor calls (transformer only).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Batcher (KServe agent's, for V1, V2 and gRPC)")]
pub struct BatcherFlags {
    /// Batch requests for --predictor_host into one predictor call each, up to
    /// --max-batchsize rows, waiting at most --max-latency ms for a batch to fill.
    #[arg(long = "enable-batcher", alias = "enable_batcher", env = "INFERGATE_ENABLE_BATCHER",
          default_value = "false", num_args = 0..=1, default_missing_value = "true",
          value_parser = strtobool)]
    pub enable_batcher: bool,

    /// Largest batch, in rows (V1 instances, or the first dimension of V2 inputs);
    /// a larger request goes to the predictor alone.
    #[arg(
        long = "max-batchsize",
        alias = "max_batchsize",
        env = "INFERGATE_MAX_BATCHSIZE",
        default_value_t = 32
    )]
    pub max_batchsize: usize,

    /// Longest a request waits for its batch to fill, in milliseconds.
    #[arg(
        long = "max-latency",
        alias = "max_latency",
        env = "INFERGATE_MAX_LATENCY",
        default_value_t = 5000
    )]
    pub max_latency: u64,

    /// Requests that may wait for a batch; beyond it a request is refused at
    /// once with 429 / RESOURCE_EXHAUSTED.
    #[arg(
        long = "batcher-max-queue-size",
        alias = "batcher_max_queue_size",
        env = "INFERGATE_BATCHER_MAX_QUEUE_SIZE",
        default_value_t = 1024
    )]
    pub batcher_max_queue_size: usize,

    /// Batches sent to the predictor at once; the next batch forms while
    /// they run.
    #[arg(
        long = "batcher-workers",
        alias = "batcher_workers",
        env = "INFERGATE_BATCHER_WORKERS",
        default_value_t = 2
    )]
    pub batcher_workers: usize,
}
