//! The access log (`--enable_access_log`, off by default): one line per
//! request, REST and gRPC alike, under the target `infergate::access`.
//! When the flag is off, `init_logging` turns the target off in the log
//! filter, so [`enabled`] is one cached check.
//!
//! Only these fields are written: never a header, so credentials cannot
//! reach the log through it.
use std::time::Instant;

/// The log target of access lines (filter it with RUST_LOG like any other).
pub const TARGET: &str = "infergate::access";

/// Whether access lines are wanted at all (flag and filter).
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// One request as the access log records it.
pub struct Access<'a> {
    pub request_id: &'a str,
    /// The model an inference request named; `-` for other routes.
    pub model: &'a str,
    /// `v1`, `v2` or `grpc`; `rest` for REST routes that are not inference.
    pub protocol: &'a str,
    /// The HTTP method and path (REST) or the gRPC method.
    pub method: &'a str,
    pub path: &'a str,
    /// HTTP status or gRPC code.
    pub status: &'a str,
    pub started: Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Access<'_> {
    pub fn write(&self) {
        let elapsed = self.started.elapsed();
        tracing::info!(
            target: TARGET,
            request_id = self.request_id,
            model = self.model,
            protocol = self.protocol,
            method = self.method,
            path = self.path,
            status = self.status,
            duration_ms = elapsed.as_micros() as f64 / 1e3,
            bytes_in = self.bytes_in,
            bytes_out = self.bytes_out,
            "access"
        );
    }
}

/// A request's body size as its `content-length` says (0 when absent).
pub fn content_length(headers: &http::HeaderMap) -> u64 {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
