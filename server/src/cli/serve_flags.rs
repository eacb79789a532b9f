//! The flags of a KServe model server that concern serving itself (ports,
//! limits, TLS, logging), shared by both binaries. Each has an environment
//! variable `INFERGATE_<FLAG>` (upper case, dashes as underscores).
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::strtobool;
use crate::ServerConfig;
use crate::grpc::GrpcSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Serving")]
pub struct ServeFlags {
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

    /// Name the model answers to (as the KServe controller passes it).
    #[arg(
        long = "model_name",
        env = "INFERGATE_MODEL_NAME",
        default_value = "model"
    )]
    pub model_name: String,

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

    /// Serve plain HTTP/1.1 requests (Content-Length bodies up to 1 MiB) on
    /// infergate's own fast path instead of hyper's; hyper still serves h2c,
    /// TLS, chunked, Expect and anything unusual (true/false).
    #[arg(long = "http1_fast_path", env = "INFERGATE_HTTP1_FAST_PATH", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub http1_fast_path: bool,

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

    /// Require and verify client certificates signed by this PEM CA on the
    /// TLS port (mTLS).
    #[arg(
        long = "ssl_client_ca_file",
        env = "INFERGATE_SSL_CLIENT_CA_FILE",
        requires = "ssl_certfile"
    )]
    pub ssl_client_ca_file: Option<PathBuf>,

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

    /// Log one line per request with preprocess/predict/postprocess latency.
    #[arg(long = "enable_latency_logging", env = "INFERGATE_ENABLE_LATENCY_LOGGING", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_latency_logging: bool,

    /// Log one line per request, REST and gRPC (target infergate::access): request
    /// id, model, protocol, method, path, status, duration, bytes in and out.
    #[arg(long = "enable_access_log", visible_alias = "access_log", env = "INFERGATE_ENABLE_ACCESS_LOG", default_value = "false",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub enable_access_log: bool,

    /// Set up logging to stderr (filter with RUST_LOG); false turns infergate's own logging off.
    #[arg(long = "configure_logging", env = "INFERGATE_CONFIGURE_LOGGING", default_value = "true",
          num_args = 0..=1, default_missing_value = "true", value_parser = strtobool)]
    pub configure_logging: bool,

    /// KServe's Python logging config file. Accepted; infergate logs per --log_format and RUST_LOG.
    #[arg(long = "log_config_file", env = "INFERGATE_LOG_CONFIG_FILE")]
    pub log_config_file: Option<PathBuf>,

    /// KServe's (uvicorn's) access log format. Accepted; infergate's access log
    /// (--enable_access_log) has one fixed format.
    #[arg(long = "access_log_format", env = "INFERGATE_ACCESS_LOG_FORMAT")]
    pub access_log_format: Option<String>,

    /// Log format: text (coloured only on a terminal; NO_COLOR turns colour
    /// off) or json (one object a line: timestamp, level, target, fields).
    #[arg(
        long = "log_format",
        env = "INFERGATE_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub limits: super::LimitFlags,

    /// TOML file of flag values (keys are flag names, e.g. http_port = 9000);
    /// the command line and environment override it.
    #[arg(long = "config_file", env = "INFERGATE_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
}

impl ServeFlags {
    pub fn server_config(&self) -> ServerConfig {
        let limits = self.limits.limits();
        ServerConfig {
            bind_address: self.bind_address,
            http_port: self.http_port,
            grpc_port: self.grpc_port,
            enable_grpc: self.enable_grpc,
            max_request_bytes: self.max_request_bytes,
            grpc: GrpcSettings {
                max_receive_message_length: self.grpc_max_receive_message_length,
                max_send_message_length: self.grpc_max_send_message_length,
                body_read_timeout: limits.body_read_timeout,
                connection_buffer: limits.grpc_connection_buffer,
                max_concurrent_streams: limits.max_concurrent_streams,
            },
            keep_alive: Duration::from_secs(self.timeout_keep_alive),
            drain_timeout: Duration::from_secs(self.drain_timeout_seconds),
            tls: self.ssl_certfile.clone().zip(self.ssl_keyfile.clone()),
            tls_client_ca: self.ssl_client_ca_file.clone(),
            access_log: self.enable_access_log,
            http1_fast_path: self.http1_fast_path,
            limits,
        }
    }
}
