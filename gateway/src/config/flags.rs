//! The flags of `infergate`: the serving flags every KServe model server
//! has, the predictor's (used when it serves models itself), and the
//! transformer's upstream flags. Each has an environment variable
//! `INFERGATE_<FLAG>` (upper case, dashes as underscores).
use clap::Parser;
use infergate_predictor::PredictorFlags;
use infergate_server::cli::{ServeFlags, strtobool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PredictorProtocol {
    #[value(name = "v1")]
    V1,
    #[value(name = "v2")]
    V2,
    #[value(name = "grpc-v2")]
    GrpcV2,
}

/// Where `infergate` sends requests when it is a transformer.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Transformer (upstream predictor)")]
pub struct UpstreamFlags {
    /// Upstream predictor host[:port]; when set, infergate runs as a transformer.
    #[arg(long = "predictor_host", env = "INFERGATE_PREDICTOR_HOST")]
    pub predictor_host: Option<String>,

    /// Protocol spoken to the predictor.
    #[arg(
        long = "predictor_protocol",
        env = "INFERGATE_PREDICTOR_PROTOCOL",
        value_enum,
        default_value = "v1"
    )]
    pub predictor_protocol: PredictorProtocol,

    /// Deprecated KServe flag, accepted and unused (see --predictor_protocol).
    #[arg(long = "protocol", env = "INFERGATE_PROTOCOL", value_enum)]
    pub protocol: Option<PredictorProtocol>,

    /// Use TLS to the predictor (takes a value: --predictor_use_ssl true).
    #[arg(long = "predictor_use_ssl", env = "INFERGATE_PREDICTOR_USE_SSL", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub predictor_use_ssl: bool,

    /// Seconds a predictor call may take before the caller gets 504 / DEADLINE_EXCEEDED.
    #[arg(
        long = "predictor_request_timeout_seconds",
        env = "INFERGATE_PREDICTOR_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 600
    )]
    pub predictor_request_timeout_seconds: u64,

    /// Retries of predictor calls that provably did not reach it.
    #[arg(
        long = "predictor_request_retries",
        env = "INFERGATE_PREDICTOR_REQUEST_RETRIES",
        default_value_t = 0
    )]
    pub predictor_request_retries: u32,

    /// Readiness also requires the predictor to be ready (a bare switch, as in KServe).
    #[arg(long = "enable_predictor_health_check", env = "INFERGATE_ENABLE_PREDICTOR_HEALTH_CHECK",
          default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_predictor_health_check: bool,
}

/// infergate: a KServe-compatible inference gateway and transformer.
///
/// Accepts the flags of a KServe model server / transformer container under
/// the same names; unknown flags are reported and ignored, as KServe does.
/// Values come from, in order of precedence: command line, INFERGATE_<FLAG>
/// environment variables, the --config_file, built-in defaults.
///
/// What it serves: with --predictor_host, the model --model_name as a
/// transformer in front of that predictor; otherwise the ONNX models of
/// --model_dir (or --storage_uri) itself, and any --builtin_models.
#[derive(Debug, Clone, Parser)]
#[command(name = "infergate", version, max_term_width = 100)]
pub struct Flags {
    #[command(flatten)]
    pub serve: ServeFlags,

    #[command(flatten)]
    pub upstream: UpstreamFlags,

    #[command(flatten)]
    pub predictor: PredictorFlags,

    /// Built-in demo models to serve, comma separated: simple, echo.
    #[arg(
        long = "builtin_models",
        env = "INFERGATE_BUILTIN_MODELS",
        value_delimiter = ',',
        help_heading = "Models"
    )]
    pub builtin_models: Vec<String>,
}
