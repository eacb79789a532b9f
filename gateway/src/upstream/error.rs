//! The error of the upstream layer: what went wrong between the transformer
//! and its predictor, and whether trying again is safe.
use std::time::Duration;

use infergate_proto::{ErrorClass, ProtoError};
use infergate_server::InferError;
use infergate_server::batching::BatchError;

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

    /// The batcher answered (--enable-batcher): its queue is full, or the
    /// batch could not be formed.
    #[error(transparent)]
    Batch(#[from] BatchError),

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

    /// The class callers see this error under (docs/protocol.md): the
    /// predictor unreachable or not taking requests is 503 / UNAVAILABLE,
    /// a broken or unreadable answer 502, no answer in time 504, a full
    /// in-flight limit 429 / RESOURCE_EXHAUSTED.
    pub fn class(&self) -> ErrorClass {
        match self {
            UpstreamError::Unreachable { .. } | UpstreamError::Unavailable { .. } => {
                ErrorClass::NotReady
            }
            UpstreamError::Timeout(_) => ErrorClass::Timeout,
            UpstreamError::Status { status, .. } => ErrorClass::from_http_status(*status),
            UpstreamError::Tls { .. }
            | UpstreamError::Transport { .. }
            | UpstreamError::BadAnswer(_)
            | UpstreamError::TooLarge { .. }
            | UpstreamError::UnexpectedStatus { .. } => ErrorClass::BadGateway,
            UpstreamError::Proto(p) => p.class(),
            UpstreamError::Overloaded { .. } => ErrorClass::Overloaded,
            UpstreamError::Batch(b) => b.class(),
            UpstreamError::Config(_) => ErrorClass::Internal,
        }
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
        match e {
            UpstreamError::Proto(p) => InferError::Proto(p),
            // The predictor's own error keeps its own status.
            UpstreamError::Status { status, message } => InferError::Upstream { status, message },
            other => InferError::classed(other.class(), other.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each upstream error as REST and gRPC callers see it.
    #[test]
    fn every_upstream_error_gets_its_class_status_and_code() {
        use tonic::Code;
        let host = || "p:80".to_string();
        let cases = [
            (
                UpstreamError::Unreachable {
                    host: host(),
                    reason: "refused".into(),
                },
                503,
                Code::Unavailable,
            ),
            (
                UpstreamError::Unavailable {
                    host: host(),
                    reason: "gone".into(),
                },
                503,
                Code::Unavailable,
            ),
            (
                UpstreamError::Timeout(Duration::from_secs(1)),
                504,
                Code::DeadlineExceeded,
            ),
            (
                UpstreamError::Tls {
                    host: host(),
                    reason: "bad CA".into(),
                },
                502,
                Code::Unavailable,
            ),
            (
                UpstreamError::Transport {
                    host: host(),
                    reason: "reset".into(),
                },
                502,
                Code::Unavailable,
            ),
            (
                UpstreamError::BadAnswer("not JSON".into()),
                502,
                Code::Unavailable,
            ),
            (
                UpstreamError::TooLarge { limit: 10 },
                502,
                Code::Unavailable,
            ),
            (
                UpstreamError::UnexpectedStatus {
                    status: 302,
                    message: "moved".into(),
                },
                502,
                Code::Unavailable,
            ),
            (
                UpstreamError::Overloaded { limit: 4 },
                429,
                Code::ResourceExhausted,
            ),
            (UpstreamError::Config("no".into()), 500, Code::Internal),
            (
                UpstreamError::Proto(ProtoError::tensor("x", "bad shape")),
                400,
                Code::InvalidArgument,
            ),
            (
                UpstreamError::Status {
                    status: 404,
                    message: "no model".into(),
                },
                404,
                Code::NotFound,
            ),
            (
                UpstreamError::Status {
                    status: 500,
                    message: "boom".into(),
                },
                500,
                Code::Internal,
            ),
        ];
        for (e, status, code) in cases {
            let class = e.class();
            let text = e.to_string();
            let infer = InferError::from(e);
            assert_eq!(infer.class(), class, "{text}");
            assert_eq!(infer.http_status(), status, "{text}");
            assert_eq!(
                class.http_status(),
                status,
                "{text}: the class table's status"
            );
            assert_eq!(infer.to_status().code(), code, "{text}");
            assert_eq!(infer.to_string(), text, "the message passes unchanged");
        }
    }

    #[test]
    fn a_predictor_status_outside_the_table_keeps_its_own_rest_status() {
        let e = UpstreamError::Status {
            status: 418,
            message: "teapot".into(),
        };
        let infer = InferError::from(e);
        assert_eq!(infer.http_status(), 418);
        assert_eq!(infer.to_status().code(), tonic::Code::InvalidArgument);
    }
}
