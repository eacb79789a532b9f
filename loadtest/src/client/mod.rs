//! Connections to a target and the one request they repeat. HTTP/1.1: one
//! keep-alive connection per worker, driven in the worker's own task. HTTP/2
//! and gRPC: a few multiplexed connections shared by the workers.
mod grpc;
mod h1;
mod http;
mod stream;
pub mod timeout;
pub mod tls;
mod validate;

use std::sync::Arc;

use ::http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use ::http::{HeaderMap, Uri};
use bytes::Bytes;

#[doc(hidden)]
pub use h1::fuzz_read_answer;
pub use stream::{Dialer, Stream};

use crate::error::{LoadError, Result};
use crate::outcome::Outcome;
use crate::payload::Encoded;
use crate::target::{Protocol, TargetSpec, infer_path};

/// HTTP version of the REST protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    H1,
    H2,
}

/// Everything a connection needs, shared by the workers of one target.
pub struct Endpoint {
    pub dialer: Dialer,
    pub protocol: Protocol,
    pub http: HttpVersion,
    /// Path-only URI (HTTP/1.1 sends Host) or absolute (HTTP/2 sends :authority).
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The requests' bodies (one, or several sent in turn), never empty.
    pub bodies: Vec<RequestBody>,
    pub validate: bool,
}

/// One request body, encoded for the endpoint's protocol.
#[derive(Debug, Clone)]
pub struct RequestBody {
    pub bytes: Bytes,
    /// `Inference-Header-Content-Length` (binary extension).
    pub json_len: Option<HeaderValue>,
}

/// Which body a connection sends next: each connection starts at its own
/// index and takes the bodies in turn, so several bodies are in flight at once.
#[derive(Debug, Clone, Copy)]
pub struct BodyCursor(usize);

impl BodyCursor {
    pub fn new(start: usize) -> Self {
        BodyCursor(start)
    }

    pub fn next<'a>(&mut self, ep: &'a Endpoint) -> &'a RequestBody {
        let body = &ep.bodies[self.0 % ep.bodies.len()];
        self.0 = self.0.wrapping_add(1);
        body
    }
}

/// Options shared by every target of a run.
pub struct EndpointOptions<'a> {
    pub model: &'a str,
    pub version: Option<&'a str>,
    pub http2: bool,
    pub headers: &'a [String],
    pub tls: &'a tls::TlsOptions,
    pub validate: bool,
}

pub fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue)> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| LoadError::usage(format!("header '{h}': expected 'NAME: VALUE'")))?;
    let name = HeaderName::try_from(k.trim())
        .map_err(|e| LoadError::usage(format!("header '{h}': {e}")))?;
    let value = HeaderValue::try_from(v.trim())
        .map_err(|e| LoadError::usage(format!("header '{h}': {e}")))?;
    Ok((name, value))
}

/// HTTP version a protocol travels on.
pub fn http_version(protocol: Protocol, http2: bool) -> HttpVersion {
    // gRPC is HTTP/2 whatever --http2 says.
    if http2 || protocol == Protocol::Grpc {
        HttpVersion::H2
    } else {
        HttpVersion::H1
    }
}

/// How to reach `spec` for `http` (ALPN offers exactly that version).
pub fn dialer(spec: &TargetSpec, http: HttpVersion, opts: &tls::TlsOptions) -> Result<Dialer> {
    let tls = if spec.tls {
        let alpn: &[&[u8]] = match http {
            HttpVersion::H1 => &[b"http/1.1"],
            HttpVersion::H2 => &[b"h2"],
        };
        Some((
            tls::client_config(opts, alpn)?,
            tls::server_name(&spec.host)?,
        ))
    } else {
        None
    };
    Ok(Dialer::new(spec.authority(), tls))
}

impl Endpoint {
    pub fn new(
        spec: &TargetSpec,
        protocol: Protocol,
        encoded: &[Encoded],
        opts: &EndpointOptions<'_>,
    ) -> Result<Self> {
        let http = http_version(protocol, opts.http2);
        let dialer = dialer(spec, http, opts.tls)?;
        let path = infer_path(&spec.base_path, protocol, opts.model, opts.version);
        let uri_text = match http {
            HttpVersion::H1 => path,
            HttpVersion::H2 => format!("{}://{}{path}", spec.scheme(), spec.authority()),
        };
        let uri: Uri = uri_text
            .parse()
            .map_err(|e| LoadError::usage(format!("request URI '{uri_text}': {e}")))?;
        let mut headers = HeaderMap::new();
        if http == HttpVersion::H1 {
            let host = HeaderValue::try_from(spec.authority())
                .map_err(|e| LoadError::usage(format!("host '{}': {e}", spec.authority())))?;
            headers.insert(HOST, host);
        }
        let Some(first) = encoded.first() else {
            return Err(LoadError::usage("no request body"));
        };
        if let Encoded::Http { json_len, .. } = first {
            let ct = if json_len.is_some() {
                "application/octet-stream"
            } else {
                "application/json"
            };
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        let bodies = encoded
            .iter()
            .map(|e| match e {
                Encoded::Http { body, json_len } => RequestBody {
                    bytes: body.clone(),
                    json_len: json_len.map(HeaderValue::from),
                },
                Encoded::Grpc(msg) => RequestBody {
                    bytes: msg.clone(),
                    json_len: None,
                },
            })
            .collect();
        for h in opts.headers {
            let (k, v) = parse_header(h)?;
            headers.insert(k, v);
        }
        Ok(Endpoint {
            dialer,
            protocol,
            http,
            uri,
            headers,
            bodies,
            validate: opts.validate,
        })
    }
}

/// One worker's way to send the request.
pub enum Conn {
    H1(h1::H1Conn),
    H2(http::H2Conn),
    Grpc(grpc::GrpcConn),
}

impl Conn {
    /// Sends the request once and waits for the whole answer.
    pub async fn call(&mut self) -> Outcome {
        match self {
            Conn::H1(c) => c.call().await,
            Conn::H2(c) => c.call().await,
            Conn::Grpc(c) => c.call().await,
        }
    }

    /// Forgets a request given up on (timed out) before its answer.
    pub fn abandon(&mut self) {
        if let Conn::H1(c) = self {
            c.abandon();
        }
    }
}

/// Opens `workers` connections' worth of `Conn`s, failing if the target is
/// unreachable. Multiplexed kinds open `shared` connections and spread the
/// workers over them.
pub async fn connect(ep: &Arc<Endpoint>, workers: usize, shared: usize) -> Result<Vec<Conn>> {
    let unreachable = |e: String| LoadError::Connect {
        target: ep.dialer.authority.clone(),
        reason: e,
    };
    let mut conns = Vec::with_capacity(workers);
    match (ep.protocol, ep.http) {
        (Protocol::Grpc, _) => {
            let mut channels = Vec::new();
            for _ in 0..shared.max(1) {
                channels.push(grpc::channel(&ep.dialer).await.map_err(unreachable)?);
            }
            for i in 0..workers {
                conns.push(Conn::Grpc(grpc::GrpcConn::new(
                    ep.clone(),
                    channels[i % channels.len()].clone(),
                    BodyCursor::new(i),
                )));
            }
        }
        (_, HttpVersion::H2) => {
            let mut pools = Vec::new();
            for _ in 0..shared.max(1) {
                pools.push(
                    http::H2Shared::open(ep.clone())
                        .await
                        .map_err(|e| unreachable(e.to_string()))?,
                );
            }
            for i in 0..workers {
                conns.push(Conn::H2(http::H2Conn::new(
                    pools[i % pools.len()].clone(),
                    BodyCursor::new(i),
                )));
            }
        }
        (_, HttpVersion::H1) => {
            for i in 0..workers {
                conns.push(Conn::H1(
                    h1::H1Conn::open(ep.clone(), i)
                        .await
                        .map_err(|e| unreachable(e.to_string()))?,
                ));
            }
        }
    }
    Ok(conns)
}

/// A single GET over a fresh HTTP/1.1 connection (metadata, readiness).
pub async fn get(
    dialer: &Dialer,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<(u16, Bytes)> {
    http::get(dialer, path, headers)
        .await
        .map_err(|e| LoadError::Connect {
            target: dialer.authority.clone(),
            reason: e.to_string(),
        })
}

/// A gRPC channel for the generated client (metadata).
pub async fn grpc_channel(dialer: &Dialer) -> Result<tonic::transport::Channel> {
    grpc::channel(dialer).await.map_err(|e| LoadError::Connect {
        target: dialer.authority.clone(),
        reason: e,
    })
}
