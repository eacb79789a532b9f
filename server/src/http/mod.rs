//! The REST server: HTTP/1.1 (a fast path of our own, hyper for the rest)
//! and h2c, optionally TLS, with graceful shutdown, in front of the KServe
//! REST API.
mod body;
mod h1;
mod handlers;
mod prefixed;
pub mod router;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http::header::HeaderValue;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

#[doc(hidden)]
pub use h1::{fuzz_h1_head, fuzz_h1_request};
pub use handlers::RestApi;

use crate::conn::{Activity, ConnectionCap, Tracked};
use crate::error::InferError;
use crate::model::{Protocol, RequestContext};

pub const REQUEST_ID: &str = "x-request-id";
/// Made once: a name given as `&str` is parsed and checked on every use.
static REQUEST_ID_HEADER: http::header::HeaderName =
    http::header::HeaderName::from_static(REQUEST_ID);

/// The caller's `x-request-id`, or a new one.
pub fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty())
        .map_or_else(new_request_id, str::to_string)
}

/// A fresh UUID v4, written straight into its string (`to_string` goes
/// through `fmt` and costs more than the random number).
fn new_request_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_string()
}

impl RestApi {
    async fn handle(
        self: Arc<Self>,
        req: Request<body::RequestBody>,
    ) -> Result<body::HttpResponse, Infallible> {
        let (parts, body) = req.into_parts();
        Ok(self.answer(parts, Ok(body)).await)
    }

    /// Whether an inference request is refused from its head alone (its
    /// model's queue is full): its body then need not be read or decoded.
    pub(crate) fn refused_before_body(
        &self,
        method: &http::Method,
        path: &str,
    ) -> Option<InferError> {
        let path = router::decode_path(path).ok()?;
        let (name, version) = match router::route(method, &path).ok()? {
            router::Route::V1Predict(m) | router::Route::V1Explain(m) => (m, None),
            router::Route::V2Infer(m, v) => (m, v),
            _ => return None,
        };
        self.dataplane.model(name, version).ok()?.admits().err()
    }

    /// The answer to a request refused before its body was read, with the
    /// headers, metrics and access log of any answer.
    pub(crate) async fn answer_refused(
        &self,
        parts: http::request::Parts,
        refusal: InferError,
    ) -> body::HttpResponse {
        self.answer(parts, Err(refusal)).await
    }

    /// Routes a request, serves its body (or answers its refusal), and
    /// dresses the result (request id, metrics, span status, access log).
    async fn answer(
        &self,
        mut parts: http::request::Parts,
        body: Result<body::RequestBody, InferError>,
    ) -> body::HttpResponse {
        let started = self.access_log.then(std::time::Instant::now);
        let mut ctx = RequestContext::new(Protocol::V1);
        ctx.request_id = request_id(&parts.headers);
        // The headers move into the context (models and the upstream read
        // them there) instead of being copied.
        ctx.headers = std::mem::take(&mut parts.headers);
        // Routes match the decoded path, as KServe's (Starlette) do:
        // `/v2/models/%65cho/infer` is `echo`'s.
        let path = router::decode_path(parts.uri.path());
        let route = match &path {
            Ok(path) => router::route(&parts.method, path),
            Err(e) => Err(e.clone()),
        };
        let target = route
            .as_ref()
            .ok()
            .and_then(router::Route::inference_target);
        // Inference requests get a span (when traces are exported).
        let span = match target {
            Some((model, protocol)) => {
                crate::otel::request_span(protocol, model, &ctx.request_id, &ctx.headers)
            }
            None => tracing::Span::none(),
        };
        let result = match route {
            Ok(route) => {
                if matches!(route, router::Route::V2Infer(..)) {
                    ctx.protocol = Protocol::V2Rest;
                }
                match body {
                    Ok(body) => {
                        self.dispatch(route, body, &ctx)
                            .instrument(span.clone())
                            .await
                    }
                    Err(refusal) => Err(refusal),
                }
            }
            Err(e) => Err(e),
        };
        let mut resp = result.unwrap_or_else(|e: InferError| {
            if e.http_status() >= 500 {
                tracing::warn!(path = parts.uri.path(), error = %e, "request failed");
            }
            body::error(&e)
        });
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            resp.headers_mut().insert(REQUEST_ID_HEADER.clone(), v);
        }
        if let Some((model, protocol)) = target {
            crate::metrics::count_request(model, protocol, resp.status().as_str());
            crate::otel::record_status(
                &span,
                resp.status().as_str(),
                resp.status().is_server_error(),
            );
        }
        if let Some(started) = started {
            let (model, protocol) = target.unwrap_or(("-", "rest"));
            crate::access_log::Access {
                request_id: &ctx.request_id,
                model,
                protocol,
                method: parts.method.as_str(),
                path: parts.uri.path(),
                status: resp.status().as_str(),
                started,
                bytes_in: crate::access_log::content_length(&ctx.headers),
                bytes_out: hyper::body::Body::size_hint(resp.body()).lower(),
            }
            .write();
        }
        resp
    }
}

/// How the REST listener serves its connections.
pub struct Listening {
    pub tls: Option<TlsAcceptor>,
    /// Idle time after which an HTTP/1 connection is closed.
    pub keep_alive: Duration,
    /// How long in-flight requests may take to finish after shutdown.
    pub drain: Duration,
    /// Plain-TCP HTTP/1.1 requests go through the fast path (`h1`).
    pub fast_path: bool,
    /// Connection cap, body deadline, h2 idle limit and streams.
    pub limits: crate::conn::ConnectionLimits,
}

/// hyper's service for one connection; each request counts as in flight on
/// it (an h2c connection with none is closed once idle past its limit).
fn hyper_service(
    api: Arc<RestApi>,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = body::HttpResponse,
    Error = Infallible,
    Future = impl Future<Output = Result<body::HttpResponse, Infallible>> + Send,
> + Clone {
    service_fn(move |req: Request<Incoming>| {
        let in_flight = activity.begin();
        let answer = api.clone().handle(req.map(body::RequestBody::Streaming));
        async move {
            let answer = answer.await;
            drop(in_flight);
            answer
        }
    })
}

/// Answers a connection beyond --max_connections with 503 and closes it,
/// so that a client sees why instead of a reset (plain TCP only).
fn shed(mut stream: tokio::net::TcpStream) {
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let body = br#"{"error": "the server is at its connection limit (--max_connections)"}"#;
        let head = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
            body.len()
        );
        let write = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
    });
}

/// Accepts connections until `stop` turns true, then lets in-flight
/// requests finish for up to `drain`.
pub async fn serve(
    listener: TcpListener,
    api: Arc<RestApi>,
    how: Listening,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Listening {
        tls,
        keep_alive,
        drain,
        fast_path,
        limits,
    } = how;
    let cap = ConnectionCap::new(limits.max_connections);
    let idle = limits.max_connection_idle;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(keep_alive);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        // Pings find peers that vanished; idle live ones are closed by Tracked.
        .keep_alive_interval(Some(Duration::from_secs(60)))
        .keep_alive_timeout(Duration::from_secs(20));
    // Fast-path connections watch `stop` themselves; each also holds a
    // graceful watcher, so the drain below waits for them as for hyper's.
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // (The guard `wait_for` returns must not live across an await.)
            () = async { drop(stop.wait_for(|stop| *stop).await) } => break,
        };
        let _ = stream.set_nodelay(true);
        let Some(permit) = cap.try_admit() else {
            tracing::warn!("REST connection shed: --max_connections reached");
            if tls.is_none() {
                shed(stream);
            }
            continue;
        };
        match &tls {
            None if fast_path => {
                let (api, builder, watcher, stop) = (
                    api.clone(),
                    builder.clone(),
                    graceful.watcher(),
                    stop.clone(),
                );
                let body_timeout = limits.body_read_timeout;
                tokio::spawn(async move {
                    let h1::Ended::HandOver(stream, read) =
                        h1::serve(stream, api.clone(), keep_alive, body_timeout, stop.clone())
                            .await
                    else {
                        return;
                    };
                    let io = Tracked::new(prefixed::Prefixed::new(read, stream), permit, idle);
                    let service = hyper_service(api, io.activity().clone());
                    let io = TokioIo::new(io);
                    if *stop.borrow() {
                        // Shutdown began while this request was arriving:
                        // hyper's graceful shutdown would drop it unread, so
                        // it is answered without keep-alive instead (the
                        // watcher, held, still counts the connection).
                        let mut last = builder.clone();
                        last.http1().keep_alive(false);
                        let _ = last.serve_connection(io, service).await;
                        drop(watcher);
                    } else {
                        let _ = watcher.watch(builder.serve_connection(io, service)).await;
                    }
                });
            }
            None => {
                let io = Tracked::new(stream, permit, idle);
                let service = hyper_service(api.clone(), io.activity().clone());
                let conn = builder
                    .serve_connection(TokioIo::new(io), service)
                    .into_owned();
                tokio::spawn(graceful.watch(conn));
            }
            Some(acceptor) => {
                // The handshake runs in its own task so a slow client cannot
                // stall the accept loop; the connection joins graceful
                // shutdown only once it speaks HTTP.
                let (acceptor, api) = (acceptor.clone(), api.clone());
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls_stream)) => {
                            let io = Tracked::new(tls_stream, permit, idle);
                            let service = hyper_service(api, io.activity().clone());
                            let conn = builder
                                .serve_connection(TokioIo::new(io), service)
                                .into_owned();
                            let _ = watcher.watch(conn).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "REST connections still open after the drain timeout; closing them"
        );
    }
}
