//! The proxy's own errors, and the one table that maps them to an HTTP
//! status (REST: KServe's `{"error": ...}` body) and a gRPC status code
//! (gRPC: a trailers-only answer), so no client ever sees pingora's HTML.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::{Error, ErrorSource, ErrorType};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("route {0} has too many requests in flight")]
    Overloaded(String),
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(u64),
    #[error("no healthy backend in pool {0}")]
    NoBackend(String),
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("upstream timed out: {0}")]
    Timeout(String),
    #[error("upstream failed: {0}")]
    Upstream(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("proxy error: {0}")]
    Internal(String),
}

/// gRPC status codes used here (grpc/status.proto).
mod code {
    pub const INVALID_ARGUMENT: u8 = 3;
    pub const DEADLINE_EXCEEDED: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const RESOURCE_EXHAUSTED: u8 = 8;
    pub const INTERNAL: u8 = 13;
    pub const UNAVAILABLE: u8 = 14;
}

impl ProxyError {
    /// (HTTP status, gRPC code): the protocol table.
    pub fn status(&self) -> (u16, u8) {
        match self {
            ProxyError::NoRoute(_) => (404, code::NOT_FOUND),
            ProxyError::Overloaded(_) => (429, code::RESOURCE_EXHAUSTED),
            ProxyError::BodyTooLarge(_) => (413, code::RESOURCE_EXHAUSTED),
            ProxyError::NoBackend(_) => (503, code::UNAVAILABLE),
            ProxyError::Unreachable(_) => (502, code::UNAVAILABLE),
            ProxyError::Timeout(_) => (504, code::DEADLINE_EXCEEDED),
            ProxyError::Upstream(_) => (502, code::UNAVAILABLE),
            ProxyError::BadRequest(_) => (400, code::INVALID_ARGUMENT),
            ProxyError::Internal(_) => (500, code::INTERNAL),
        }
    }

    /// The error pingora reports about `backend`, classified (the kind is a
    /// metric label). The detail stays short: pingora's own context chain
    /// is for the log, not the client.
    pub fn from_pingora(e: &Error, backend: &str) -> (ProxyError, &'static str) {
        use ErrorType::*;
        let detail = format!("{backend} ({})", e.etype().as_str());
        match e.etype() {
            ConnectTimedout => (ProxyError::Timeout(detail), "connect_timeout"),
            ReadTimedout | WriteTimedout => (ProxyError::Timeout(detail), "timeout"),
            ConnectRefused | ConnectNoRoute | ConnectError | BindError | SocketError
            | ConnectProxyFailure => (ProxyError::Unreachable(detail), "connect"),
            HTTPStatus(code) if *code == 413 => (ProxyError::BodyTooLarge(0), "body"),
            _ => match e.esource() {
                ErrorSource::Upstream => (ProxyError::Upstream(detail), "upstream"),
                ErrorSource::Downstream => (ProxyError::BadRequest(detail), "downstream"),
                _ => (ProxyError::Internal(detail), "internal"),
            },
        }
    }
}

/// Whether `e` happened while connecting (nothing was sent upstream).
pub fn is_connect_error(e: &Error) -> bool {
    use ErrorType::*;
    matches!(
        e.etype(),
        ConnectTimedout | ConnectRefused | ConnectNoRoute | ConnectError | SocketError
    )
}

/// Writes `err` to the client in its protocol; returns the HTTP status.
pub async fn respond(session: &mut Session, grpc: bool, request_id: &str, err: &ProxyError) -> u16 {
    let (status, grpc_code) = err.status();
    let message = err.to_string();
    let written = if grpc {
        write_grpc(session, request_id, grpc_code, &message).await
    } else {
        write_json(session, request_id, status, &message).await
    };
    if let Err(e) = written {
        tracing::debug!("could not write the error answer: {e}");
    }
    if grpc { 200 } else { status }
}

async fn write_json(
    session: &mut Session,
    request_id: &str,
    status: u16,
    message: &str,
) -> pingora::Result<()> {
    let body = Bytes::from(serde_json::json!({ "error": message }).to_string());
    let mut resp = ResponseHeader::build(status, Some(4))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    resp.insert_header("x-request-id", request_id)?;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await
}

/// A trailers-only gRPC answer: HTTP 200 and the status in the headers.
async fn write_grpc(
    session: &mut Session,
    request_id: &str,
    code: u8,
    message: &str,
) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build(200, Some(4))?;
    resp.insert_header("content-type", "application/grpc")?;
    resp.insert_header("grpc-status", code.to_string())?;
    resp.insert_header("grpc-message", percent_encode(message))?;
    resp.insert_header("x-request-id", request_id)?;
    session.write_response_header(Box::new(resp), true).await
}

/// grpc-message is percent-encoded outside printable ASCII (and '%').
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_504_and_connect_failures_502() {
        let t = Error::new(ErrorType::ReadTimedout);
        assert_eq!(ProxyError::from_pingora(&t, "b").0.status(), (504, 4));
        let c = Error::new(ErrorType::ConnectRefused);
        assert_eq!(ProxyError::from_pingora(&c, "b").0.status(), (502, 14));
        assert!(is_connect_error(&c));
        assert!(!is_connect_error(&t));
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("a b%\n"), "a b%25%0A");
    }
}
