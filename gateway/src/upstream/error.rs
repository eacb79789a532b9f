//! The error of the upstream layer: what went wrong between the transformer
//! and its predictor, and whether trying again is safe.
use std::time::Duration;

use infergate_proto::ProtoError;
use infergate_server::InferError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made: the request provably did not reach the
    /// predictor, so it may be retried.
    #[error("predictor {host} is unreachable: {reason}")]
    Unreachable { host: String, reason: String },

    /// gRPC UNAVAILABLE: the predictor did not take the request.
    #[error("predictor {host} is unavailable: {reason}")]
    Unavailable { host: String, reason: String },

    #[error("predictor did not answer within {0:?} (--predictor_request_timeout_seconds)")]
    Timeout(Duration),

    /// The predictor answered with an error; passed on with its status.
    #[error("{message}")]
    Status { status: u16, message: String },

    /// The TLS handshake failed (wrong CA, wrong name, ...); not retried.
    #[error("TLS to predictor {host} failed: {reason}")]
    Tls { host: String, reason: String },

    /// The connection broke after the request may have reached the predictor.
    #[error("predictor {host}: {reason}")]
    Transport { host: String, reason: String },

    #[error("predictor answered something unreadable: {0}")]
    BadAnswer(String),

    /// The answer was cut off at the limit; a bad gateway, not retried.
    #[error(
        "predictor answer is larger than the limit of {limit} bytes (--max_predictor_response_bytes)"
    )]
    TooLarge { limit: usize },

    /// A status that is neither an answer nor a KServe error class.
    #[error("predictor answered with unexpected HTTP status {status}: {message}")]
    UnexpectedStatus { status: u16, message: String },

    /// The caller's payload could not be put in the predictor's protocol.
    #[error(transparent)]
    Proto(#[from] ProtoError),

    /// --predictor_max_inflight_requests calls are already in flight; the
    /// request was not sent (429 / RESOURCE_EXHAUSTED).
    #[error(
        "too many requests: {limit} predictor calls are in flight (--predictor_max_inflight_requests); try again later"
    )]
    Overloaded { limit: usize },

    #[error("{0}")]
    Config(String),
}

impl UpstreamError {
    /// Whether the request provably did not reach the predictor.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unreachable { .. } | UpstreamError::Unavailable { .. }
        )
    }

    /// Whether this says the predictor is unwell (for passive health).
    pub fn is_health_failure(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unreachable { .. }
                | UpstreamError::Unavailable { .. }
                | UpstreamError::Transport { .. }
        ) || matches!(self, UpstreamError::Status { status, .. } if *status == 502 || *status == 503)
    }
}

impl From<UpstreamError> for InferError {
    fn from(e: UpstreamError) -> Self {
        let msg = e.to_string();
        match e {
            UpstreamError::Unreachable { .. } | UpstreamError::Unavailable { .. } => {
                InferError::Upstream {
                    status: 503,
                    message: msg,
                }
            }
            UpstreamError::Timeout(_) => InferError::Timeout(msg),
            UpstreamError::Status { status, message } => InferError::Upstream { status, message },
            UpstreamError::Tls { .. }
            | UpstreamError::Transport { .. }
            | UpstreamError::BadAnswer(_)
            | UpstreamError::TooLarge { .. }
            | UpstreamError::UnexpectedStatus { .. } => InferError::BadGateway(msg),
            UpstreamError::Proto(p) => InferError::Proto(p),
            UpstreamError::Overloaded { .. } => InferError::Overloaded(msg),
            UpstreamError::Config(_) => InferError::Internal(msg),
        }
    }
}

/// The rustls error somewhere in an error's source chain, if any. rustls
/// errors travel inside io::Errors (sometimes one inside another), whose
/// `source()` skips their payload, so those are opened too.
pub fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(found) = tls_cause(inner) {
                return Some(found);
            }
        }
        next = err.source();
    }
    None
}
