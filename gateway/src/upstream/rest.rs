//! The REST client to a V1 / V2 predictor: hyper with pooled keep-alive
//! connections, HTTP/1.1 or h2, TLS through rustls.
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use infergate_proto::v2::INFERENCE_HEADER_CONTENT_LENGTH;

use super::UpstreamSettings;
use super::error::{UpstreamError, tls_cause};
use super::tls;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct RestClient {
    client: Client<Connector, Full<Bytes>>,
    base: String,
    host: String,
    authority: Option<HeaderValue>,
    /// Largest answer body read (--max_predictor_response_bytes).
    max_body: usize,
}

/// A request body and how it is encoded.
pub struct RestBody {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// `Inference-Header-Content-Length` (the binary tensor extension).
    pub json_len: Option<usize>,
}

impl RestBody {
    pub fn json(bytes: Bytes) -> Self {
        RestBody {
            bytes,
            content_type: "application/json",
            json_len: None,
        }
    }

    /// A JSON head of `json_len` bytes followed by binary tensors.
    pub fn binary(bytes: Bytes, json_len: usize) -> Self {
        RestBody {
            bytes,
            content_type: "application/octet-stream",
            json_len: Some(json_len),
        }
    }
}

/// Most of a predictor's error text relayed to the caller, in bytes.
pub const MAX_ERROR_TEXT: usize = 4096;

/// A predictor's answer.
pub struct RestAnswer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RestAnswer {
    /// The answer if it is a 200. A KServe error status (4xx, 500-504)
    /// becomes the predictor's error, with the message of its body, passed on
    /// with that status; any other status (1xx, 3xx, 2xx other than 200,
    /// 505-599, ...) is no answer a caller could act on: a bad gateway.
    pub fn ok(self) -> Result<Self, UpstreamError> {
        match self.status {
            200 => Ok(self),
            400..=504 => Err(UpstreamError::Status {
                status: self.status,
                message: error_message(&self.body),
            }),
            status => Err(UpstreamError::UnexpectedStatus {
                status,
                message: error_message(&self.body),
            }),
        }
    }
}

impl RestClient {
    pub fn new(s: &UpstreamSettings) -> Result<Self, UpstreamError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(s.connect_timeout));
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls::client_config(s)?)
            .https_or_http();
        let builder = match &s.tls_server_name {
            Some(name) => {
                let name = rustls::pki_types::ServerName::try_from(name.clone()).map_err(|e| {
                    UpstreamError::Config(format!("--predictor_tls_server_name {name}: {e}"))
                })?;
                builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => builder
                .with_server_name_resolver(hyper_rustls::DefaultServerNameResolver::default()),
        };
        let connector = if s.http2 {
            builder.enable_http2().wrap_connector(http)
        } else {
            builder.enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .http2_only(s.http2)
            .build(connector);
        let scheme = if s.use_ssl { "https" } else { "http" };
        Ok(RestClient {
            client,
            base: format!("{scheme}://{}", s.host),
            host: s.host.clone(),
            authority: s
                .tls_server_name
                .as_ref()
                .and_then(|n| HeaderValue::from_str(n).ok()),
            max_body: s.max_response_bytes,
        })
    }

    /// A GET with no body (readiness, metadata).
    pub async fn get(&self, path: &str) -> Result<RestAnswer, UpstreamError> {
        self.send(Method::GET, path, std::iter::empty(), None).await
    }

    /// A POST of `body` with the forwarded `headers`.
    pub async fn post<'h>(
        &self,
        path: &str,
        headers: impl Iterator<Item = (&'h str, &'h str)>,
        body: RestBody,
    ) -> Result<RestAnswer, UpstreamError> {
        self.send(Method::POST, path, headers, Some(body)).await
    }

    /// Sends one request and reads the whole answer, up to the size limit.
    async fn send<'h>(
        &self,
        method: Method,
        path: &str,
        headers: impl Iterator<Item = (&'h str, &'h str)>,
        body: Option<RestBody>,
    ) -> Result<RestAnswer, UpstreamError> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                req = req.header(k, v);
            }
        }
        let body = match body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, b.content_type);
                if let Some(n) = b.json_len {
                    req = req.header(INFERENCE_HEADER_CONTENT_LENGTH, n);
                }
                b.bytes
            }
            None => Bytes::new(),
        };
        if let Some(authority) = &self.authority {
            req = req.header(HOST, authority.clone());
        }
        let req = req.body(Full::new(body)).map_err(|e| {
            UpstreamError::Config(format!("cannot build the predictor request: {e}"))
        })?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| self.classify(&e))?;
        let (parts, body) = resp.into_parts();
        let too_large = UpstreamError::TooLarge {
            limit: self.max_body,
        };
        // A declared length over the limit is refused before reading; an
        // undeclared one is read frame by frame and cut off at the limit.
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large);
        }
        let body = Limited::new(body, self.max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    too_large.clone()
                } else {
                    UpstreamError::Transport {
                        host: self.host.clone(),
                        reason: format!("reading the answer: {e}"),
                    }
                }
            })?
            .to_bytes();
        Ok(RestAnswer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Sorts a client error into did-not-reach (retryable), TLS, or the rest.
    fn classify(&self, e: &hyper_util::client::legacy::Error) -> UpstreamError {
        if let Some(reason) = tls_cause(e) {
            return UpstreamError::Tls {
                host: self.host.clone(),
                reason,
            };
        }
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        if e.is_connect() {
            UpstreamError::Unreachable {
                host: self.host.clone(),
                reason,
            }
        } else {
            UpstreamError::Transport {
                host: self.host.clone(),
                reason,
            }
        }
    }
}

/// The message of a KServe error body (`{"error": "..."}`), else the text,
/// cut to [`MAX_ERROR_TEXT`] bytes.
pub fn error_message(body: &[u8]) -> String {
    let head = &body[..body.len().min(MAX_ERROR_TEXT * 4)];
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(head).into_owned());
    truncate_message(message)
}

/// `message` cut to at most [`MAX_ERROR_TEXT`] bytes (on a character
/// boundary), marked as cut, so a predictor cannot fill the caller's answer
/// or the logs with its error text.
pub fn truncate_message(mut message: String) -> String {
    if message.len() <= MAX_ERROR_TEXT {
        return message;
    }
    let mut end = MAX_ERROR_TEXT;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let total = message.len();
    message.truncate(end);
    message.push_str(&format!("... (truncated, {total} bytes)"));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_cut_on_a_character_boundary_and_marked() {
        let long = "é".repeat(3000);
        let cut = error_message(format!("{{\"error\": \"{long}\"}}").as_bytes());
        assert!(cut.ends_with("... (truncated, 6000 bytes)"), "{cut}");
        assert!(cut.len() <= MAX_ERROR_TEXT + 40);
        let plain = error_message("x".repeat(100_000).as_bytes());
        assert!(plain.starts_with("xxx") && plain.ends_with("(truncated, 16384 bytes)"));
        assert_eq!(error_message(br#"{"error": "short"}"#), "short");
    }
}
