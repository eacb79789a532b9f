//! The flags that bound what one client can hold open: connections, slow
//! bodies, idle h2 connections, concurrent gRPC streams, and how a drain is
//! announced. Defaults are safe for a server facing the open internet.
use std::time::Duration;

use crate::conn::ConnectionLimits;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection limits")]
pub struct LimitFlags {
    /// Most open connections per listener (REST and gRPC each); a connection
    /// beyond it gets 503 (REST) or is closed (gRPC) at once. Lowered at
    /// start to fit the process's open-files limit.
    #[arg(
        long = "max_connections",
        env = "INFERGATE_MAX_CONNECTIONS",
        default_value_t = 4096
    )]
    pub max_connections: usize,

    /// Seconds a request's whole body may take to arrive (REST, every HTTP
    /// version, and gRPC messages); a slower one gets 408 / DEADLINE_EXCEEDED
    /// and its connection is closed. The head is due within --timeout-keep-alive.
    #[arg(
        long = "body_read_timeout_seconds",
        env = "INFERGATE_BODY_READ_TIMEOUT_SECONDS",
        default_value_t = 60
    )]
    pub body_read_timeout_seconds: u64,

    /// Seconds an h2c or gRPC connection may stay open with no request in
    /// flight before it is closed (HTTP/1 keep-alive follows --timeout-keep-alive).
    #[arg(
        long = "max_connection_idle_seconds",
        env = "INFERGATE_MAX_CONNECTION_IDLE_SECONDS",
        default_value_t = 300
    )]
    pub max_connection_idle_seconds: u64,

    /// Most concurrent streams an h2c or gRPC connection may open
    /// (advertised as SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(
        long = "max_concurrent_streams",
        env = "INFERGATE_MAX_CONCURRENT_STREAMS",
        default_value_t = 100
    )]
    pub max_concurrent_streams: u32,

    /// Most bytes of unfinished gRPC request messages one connection may
    /// hold at once; a message that would pass it gets RESOURCE_EXHAUSTED.
    #[arg(
        long = "grpc_max_connection_buffer_bytes",
        env = "INFERGATE_GRPC_MAX_CONNECTION_BUFFER_BYTES",
        default_value_t = 64 * 1024 * 1024
    )]
    pub grpc_max_connection_buffer_bytes: usize,

    /// Seconds after SIGTERM during which the listeners keep serving with
    /// readiness false (503 on /v2/health/ready, NOT_SERVING on gRPC health),
    /// so that load balancers see the drain; then they close and in-flight
    /// requests finish within --drain_timeout_seconds (which bounds both).
    #[arg(
        long = "drain_grace_seconds",
        env = "INFERGATE_DRAIN_GRACE_SECONDS",
        default_value_t = 3
    )]
    pub drain_grace_seconds: u64,
}

impl LimitFlags {
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: crate::conn::fit_open_files(self.max_connections),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_seconds),
            max_connection_idle: Duration::from_secs(self.max_connection_idle_seconds),
            max_concurrent_streams: self.max_concurrent_streams,
            grpc_connection_buffer: self.grpc_max_connection_buffer_bytes,
            drain_grace: Duration::from_secs(self.drain_grace_seconds),
        }
    }
}
