//! The REST client to a V1 / V2 predictor: hyper with pooled keep-alive
//! connections, HTTP/1.1 or h2, TLS through rustls.
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::UpstreamSettings;
use super::error::{UpstreamError, tls_cause};
use super::tls;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct RestClient {
    client: Client<Connector, Full<Bytes>>,
    base: String,
    host: String,
    authority: Option<HeaderValue>,
}

/// A predictor's answer.
pub struct RestAnswer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RestAnswer {
    /// The answer if it is a 200; any other status becomes the predictor's
    /// error, with the message of its body, to be passed on with that status.
    pub fn ok(self) -> Result<Self, UpstreamError> {
        if self.status == 200 {
            Ok(self)
        } else {
            Err(UpstreamError::Status {
                status: self.status,
                message: error_message(&self.body),
            })
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
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send<'h>(
        &self,
        method: Method,
        path: &str,
        headers: impl Iterator<Item = (&'h str, &'h str)>,
        content_type: Option<&str>,
        extra: &[(&str, String)],
        body: Bytes,
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
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            req = req.header(*k, v.as_str());
        }
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
        let body = body
            .collect()
            .await
            .map_err(|e| UpstreamError::Transport {
                host: self.host.clone(),
                reason: format!("reading the answer: {e}"),
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

/// The message of a KServe error body (`{"error": "..."}`), else the text.
pub fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(500).collect()
        })
}
