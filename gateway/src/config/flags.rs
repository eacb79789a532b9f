//! The flags of `infergate`: the serving flags every KServe model server
//! has, the predictor's (used when it serves models itself), and the
//! transformer's upstream flags. Each has an environment variable
//! `INFERGATE_<FLAG>` (upper case, dashes as underscores).
use std::path::PathBuf;

use clap::Parser;
#[cfg(feature = "predictor")]
use infergate_predictor::PredictorFlags;
use infergate_server::cli::{ServeFlags, strtobool};

use super::BatcherFlags;
#[cfg(not(feature = "predictor"))]
use super::no_predictor::PredictorFlags;

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
    /// Upstream predictor host[:port], or http://host[:port] / https://host[:port]
    /// (https means --predictor_use_ssl true); when set, infergate runs as a transformer.
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

    /// Use TLS to the predictor (takes a value: --predictor_use_ssl true) [default: false,
    /// or true for an https:// --predictor_host; a scheme that contradicts it is an error].
    #[arg(long = "predictor_use_ssl", env = "INFERGATE_PREDICTOR_USE_SSL",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub predictor_use_ssl: Option<bool>,

    /// Largest predictor answer read, in bytes (REST body, or gRPC message);
    /// a larger one is cut off and the caller gets 502.
    #[arg(
        long = "max_predictor_response_bytes",
        env = "INFERGATE_MAX_PREDICTOR_RESPONSE_BYTES",
        default_value_t = 64 * 1024 * 1024
    )]
    pub max_predictor_response_bytes: usize,

    /// Tensor name a v1 predictor's `predictions` get for V2 / gRPC callers and
    /// postprocess steps [default: from the predictor's V2 metadata if it has
    /// any, else output-0] (docs/protocol.md).
    #[arg(long = "predictor_v1_output", env = "INFERGATE_PREDICTOR_V1_OUTPUT")]
    pub predictor_v1_output: Option<String>,

    /// Seconds a predictor call may take before the caller gets 504 / DEADLINE_EXCEEDED.
    #[arg(
        long = "predictor_request_timeout_seconds",
        env = "INFERGATE_PREDICTOR_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 600
    )]
    pub predictor_request_timeout_seconds: u64,

    /// Predictor calls that may be in flight at once; beyond it a request is
    /// refused at once with 429 / RESOURCE_EXHAUSTED instead of queueing
    /// without bound while the predictor is slow (0 = no limit).
    #[arg(
        long = "predictor_max_inflight_requests",
        env = "INFERGATE_PREDICTOR_MAX_INFLIGHT_REQUESTS",
        default_value_t = 1024
    )]
    pub predictor_max_inflight_requests: usize,

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

    /// Seconds between active predictor health checks (model ready endpoints / ModelReady);
    /// 0.25 s while the predictor is unhealthy. Readiness probes also check it when the
    /// last check is older than 0.5 s.
    #[arg(
        long = "predictor_health_check_interval_seconds",
        env = "INFERGATE_PREDICTOR_HEALTH_CHECK_INTERVAL_SECONDS",
        default_value_t = 5.0
    )]
    pub predictor_health_check_interval_seconds: f64,

    /// Seconds to wait for a connection to the predictor.
    #[arg(
        long = "predictor_connect_timeout_seconds",
        env = "INFERGATE_PREDICTOR_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 10.0
    )]
    pub predictor_connect_timeout_seconds: f64,

    /// PEM CA bundle to trust for the predictor (default: the system roots).
    #[arg(long = "predictor_ca_file", env = "INFERGATE_PREDICTOR_CA_FILE")]
    pub predictor_ca_file: Option<PathBuf>,

    /// PEM client certificate for mTLS to the predictor (with --predictor_client_key).
    #[arg(
        long = "predictor_client_cert",
        env = "INFERGATE_PREDICTOR_CLIENT_CERT",
        requires = "predictor_client_key"
    )]
    pub predictor_client_cert: Option<PathBuf>,

    /// PEM private key of --predictor_client_cert.
    #[arg(
        long = "predictor_client_key",
        env = "INFERGATE_PREDICTOR_CLIENT_KEY",
        requires = "predictor_client_cert"
    )]
    pub predictor_client_key: Option<PathBuf>,

    /// Server name the predictor's certificate is checked against, and the
    /// Host / :authority sent (default: the host of --predictor_host).
    #[arg(
        long = "predictor_tls_server_name",
        env = "INFERGATE_PREDICTOR_TLS_SERVER_NAME"
    )]
    pub predictor_tls_server_name: Option<String>,

    /// Speak HTTP/2 to a REST predictor (h2 over TLS, h2c without).
    #[arg(long = "predictor_http2", env = "INFERGATE_PREDICTOR_HTTP2", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub predictor_http2: bool,

    /// Send V2 REST tensors to the predictor in the binary tensor extension.
    #[arg(long = "predictor_binary_data", env = "INFERGATE_PREDICTOR_BINARY_DATA", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub predictor_binary_data: bool,

    /// Where :explain requests go (default: the predictor host).
    #[arg(long = "explainer_host", env = "INFERGATE_EXPLAINER_HOST")]
    pub explainer_host: Option<String>,

    /// A request header to forward to the predictor besides x-request-id,
    /// traceparent, tracestate, b3 and authorization (repeatable).
    #[arg(
        long = "forward_header",
        env = "INFERGATE_FORWARD_HEADER",
        value_delimiter = ','
    )]
    pub forward_header: Vec<String>,

    /// TOML file of declarative transforms (preprocess / postprocess steps);
    /// without it requests and answers pass through unchanged.
    #[arg(long = "transformer_config", env = "INFERGATE_TRANSFORMER_CONFIG")]
    pub transformer_config: Option<PathBuf>,
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
    pub batcher: BatcherFlags,

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
