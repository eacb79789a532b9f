//! Every flag a KServe model server or transformer accepts, under the same
//! name and value form, plus infergate's own. Each has an environment
//! variable `INFERGATE_<FLAG>` (upper case, dashes as underscores).
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// Python's `strtobool`, which KServe uses for its boolean flags.
pub fn strtobool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "invalid truth value '{s}' (use true/false, yes/no, on/off or 1/0)"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PredictorProtocol {
    #[value(name = "v1")]
    V1,
    #[value(name = "v2")]
    V2,
    #[value(name = "grpc-v2")]
    GrpcV2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// infergate: a KServe-compatible inference gateway and transformer.
///
/// Accepts the flags of a KServe model server / transformer container under
/// the same names; unknown flags are reported and ignored, as KServe does.
/// Values come from, in order of precedence: command line, INFERGATE_<FLAG>
/// environment variables, the --config_file, built-in defaults.
#[derive(Debug, Clone, Parser)]
#[command(name = "infergate", version, max_term_width = 100)]
pub struct Flags {
    // ---- servers -------------------------------------------------------
    /// REST port (V1 and V2 over HTTP/1.1 and h2c). 0 picks a free port.
    #[arg(
        long = "http_port",
        env = "INFERGATE_HTTP_PORT",
        default_value_t = 8080
    )]
    pub http_port: u16,

    /// gRPC port (inference.GRPCInferenceService, health, reflection). 0 picks a free port.
    #[arg(
        long = "grpc_port",
        env = "INFERGATE_GRPC_PORT",
        default_value_t = 8081
    )]
    pub grpc_port: u16,

    /// Serve gRPC (takes a value: true/false, yes/no, on/off, 1/0).
    #[arg(long = "enable_grpc", env = "INFERGATE_ENABLE_GRPC", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_grpc: bool,

    /// Address to listen on.
    #[arg(
        long = "bind_address",
        env = "INFERGATE_BIND_ADDRESS",
        default_value = "0.0.0.0"
    )]
    pub bind_address: IpAddr,

    /// KServe's server process count. infergate is one multi-threaded process
    /// using every CPU it is given; the value is accepted and otherwise unused.
    #[arg(long = "workers", env = "INFERGATE_WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// KServe's executor threads. Accepted for compatibility; unused.
    #[arg(
        long = "max_threads",
        env = "INFERGATE_MAX_THREADS",
        default_value_t = 4
    )]
    pub max_threads: usize,

    /// KServe's asyncio worker count. Accepted for compatibility; unused.
    #[arg(long = "max_asyncio_workers", env = "INFERGATE_MAX_ASYNCIO_WORKERS")]
    pub max_asyncio_workers: Option<usize>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long = "max_request_bytes", env = "INFERGATE_MAX_REQUEST_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_request_bytes: usize,

    /// Largest gRPC message sent, in bytes.
    #[arg(long = "grpc_max_send_message_length", env = "INFERGATE_GRPC_MAX_SEND_MESSAGE_LENGTH",
          default_value_t = 8 * 1024 * 1024)]
    pub grpc_max_send_message_length: usize,

    /// Largest gRPC message received, in bytes.
    #[arg(long = "grpc_max_receive_message_length", env = "INFERGATE_GRPC_MAX_RECEIVE_MESSAGE_LENGTH",
          default_value_t = 8 * 1024 * 1024)]
    pub grpc_max_receive_message_length: usize,

    /// Seconds an idle HTTP/1 keep-alive connection is kept open.
    #[arg(
        long = "timeout-keep-alive",
        env = "INFERGATE_TIMEOUT_KEEP_ALIVE",
        default_value_t = 65
    )]
    pub timeout_keep_alive: u64,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(
        long = "drain_timeout_seconds",
        env = "INFERGATE_DRAIN_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub drain_timeout_seconds: u64,

    /// Serve REST over TLS with this PEM certificate chain (with --ssl_keyfile).
    #[arg(
        long = "ssl_certfile",
        env = "INFERGATE_SSL_CERTFILE",
        requires = "ssl_keyfile"
    )]
    pub ssl_certfile: Option<PathBuf>,

    /// PEM private key for --ssl_certfile.
    #[arg(
        long = "ssl_keyfile",
        env = "INFERGATE_SSL_KEYFILE",
        requires = "ssl_certfile"
    )]
    pub ssl_keyfile: Option<PathBuf>,

    /// KServe's docs page. Accepted for compatibility; infergate serves no docs page.
    #[arg(long = "enable_docs_url", env = "INFERGATE_ENABLE_DOCS_URL", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_docs_url: bool,

    /// KServe's event loop choice (auto/asyncio/uvloop). Accepted and ignored.
    #[arg(
        long = "event-loop",
        env = "INFERGATE_EVENT_LOOP",
        default_value = "auto"
    )]
    pub event_loop: String,

    // ---- models --------------------------------------------------------
    /// Name the model answers to (as the KServe controller passes it).
    #[arg(
        long = "model_name",
        env = "INFERGATE_MODEL_NAME",
        default_value = "model"
    )]
    pub model_name: String,

    /// Built-in demo models to serve, comma separated: simple, echo.
    #[arg(
        long = "builtin_models",
        env = "INFERGATE_BUILTIN_MODELS",
        value_delimiter = ','
    )]
    pub builtin_models: Vec<String>,

    // ---- predictor (transformer mode) ----------------------------------
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

    // ---- logging -------------------------------------------------------
    /// Log one line per request with preprocess/predict/postprocess latency.
    #[arg(long = "enable_latency_logging", env = "INFERGATE_ENABLE_LATENCY_LOGGING", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_latency_logging: bool,

    /// Set up logging to stderr (filter with RUST_LOG); false turns infergate's own logging off.
    #[arg(long = "configure_logging", env = "INFERGATE_CONFIGURE_LOGGING", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub configure_logging: bool,

    /// KServe's Python logging config file. Accepted; infergate logs per --log_format and RUST_LOG.
    #[arg(long = "log_config_file", env = "INFERGATE_LOG_CONFIG_FILE")]
    pub log_config_file: Option<PathBuf>,

    /// Log one line per REST request: method, path, status, milliseconds, request id.
    #[arg(long = "enable_access_log", env = "INFERGATE_ENABLE_ACCESS_LOG", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_access_log: bool,

    /// KServe's (uvicorn's) access log format. Accepted; infergate's access log
    /// (--enable_access_log) has one fixed format.
    #[arg(long = "access_log_format", env = "INFERGATE_ACCESS_LOG_FORMAT")]
    pub access_log_format: Option<String>,

    /// Log format.
    #[arg(
        long = "log_format",
        env = "INFERGATE_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    // ---- configuration -------------------------------------------------
    /// TOML file of flag values (keys are flag names, e.g. http_port = 9000);
    /// the command line and environment override it.
    #[arg(long = "config_file", env = "INFERGATE_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
}
