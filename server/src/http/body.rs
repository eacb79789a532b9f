//! Reading request bodies within the size limit, and writing responses.
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::error::InferError;

pub type HttpResponse = Response<Full<Bytes>>;

/// A request's body: hyper's stream, or the whole body already read by the
/// HTTP/1.1 fast path.
pub enum RequestBody {
    Streaming(Incoming),
    Buffered(Bytes),
}

pub const JSON: &str = "application/json";

/// How much of a too-large body is read and thrown away so that the client,
/// still sending, gets the 413 on a connection that stays usable. Beyond
/// this the connection is closed instead.
const DISCARD_LIMIT: u64 = 4 * 1024 * 1024;

async fn discard(body: &mut Incoming, mut budget: u64) {
    while let Some(Ok(frame)) = body.frame().await {
        let n = frame.data_ref().map_or(0, |d| d.len() as u64);
        match budget.checked_sub(n) {
            Some(left) => budget = left,
            None => return,
        }
    }
}

/// Reads the whole body, answering 413 for anything over `limit` bytes.
pub async fn read_body(
    headers: &HeaderMap,
    body: RequestBody,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, InferError> {
    match body {
        RequestBody::Buffered(b) if b.len() > limit => Err(InferError::PayloadTooLarge(limit)),
        RequestBody::Buffered(b) => Ok(b),
        // A whole-body deadline, not one per read: a body trickled a byte at
        // a time must not hold its connection for ever.
        RequestBody::Streaming(incoming) => {
            tokio::time::timeout(timeout, read_stream(headers, incoming, limit))
                .await
                .map_err(|_| InferError::BodyTimeout(timeout))?
        }
    }
}

async fn read_stream(
    headers: &HeaderMap,
    mut body: Incoming,
    limit: usize,
) -> Result<Bytes, InferError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        if n <= limit as u64 + DISCARD_LIMIT {
            discard(&mut body, n).await;
        }
        return Err(InferError::PayloadTooLarge(limit));
    }
    // One frame is the common case: keep it without copying.
    let mut first: Option<Bytes> = None;
    let mut rest = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| InferError::invalid(format!("failed to read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > limit {
            discard(&mut body, DISCARD_LIMIT).await;
            return Err(InferError::PayloadTooLarge(limit));
        }
        match &first {
            None => first = Some(data),
            Some(f) => {
                if rest.is_empty() {
                    rest.extend_from_slice(f);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    })
}

/// Whether the content type is JSON (any parameters such as charset allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|mime| {
            mime.eq_ignore_ascii_case(JSON) || mime.to_ascii_lowercase().ends_with("+json")
        })
}

/// Whether a V2 JSON body may come with this content type: JSON, none, or
/// curl's default for `-d` (`application/x-www-form-urlencoded`), which
/// KServe accepts too, so that the `curl -d` lines of its docs work.
pub fn may_hold_json(headers: &HeaderMap) -> bool {
    let Some(v) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    is_json(headers)
        || v.to_str()
            .ok()
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .is_some_and(|mime| mime.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn json(value: &serde_json::Value) -> HttpResponse {
    respond(StatusCode::OK, JSON, value.to_string())
}

/// `{"error": "<message>"}` with the status of the error's class.
pub fn error(err: &InferError) -> HttpResponse {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "error": err.to_string() }).to_string();
    respond(status, JSON, body)
}
