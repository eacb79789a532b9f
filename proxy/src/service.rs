//! The proxy's `ProxyHttp`: pingora calls these phases per request.
//! request_filter (model, route, admission, alias) -> upstream_peer (pool,
//! backend) -> fail_to_connect / error_while_proxy (failover rules) ->
//! upstream_response_filter (passive ejection) -> response_filter ->
//! fail_to_proxy (errors in the client's protocol) -> logging (metrics).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType, Result};

use crate::error::{self, ProxyError};
use crate::grpc_peek;
use crate::headers;
use crate::intake::is_grpc;
use crate::metrics::Metrics;
use crate::mirror::MirrorCopy;
use crate::pool::{BackendState, Pool};
use crate::reload::Live;
use crate::router::{InFlight, Route};

pub struct ProxyService {
    /// The routes and pools in service (swapped on SIGHUP).
    pub live: Arc<Live>,
    pub metrics: Arc<Metrics>,
    /// Upstream connections of the mirrored copies.
    pub mirror_connector: Arc<pingora::connectors::http::Connector>,
}

/// A request's count in its backend's outstanding requests, freed on drop.
pub struct Outstanding(Arc<BackendState>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Relaxed);
    }
}

pub struct Ctx {
    pub(crate) start: Instant,
    pub(crate) request_id: String,
    pub(crate) grpc: bool,
    pub(crate) route: Option<Arc<Route>>,
    pub(crate) pool: Option<Arc<Pool>>,
    pub(crate) backend: Option<Arc<BackendState>>,
    /// Backends tried for this request (connect failures move on).
    pub(crate) tried: Vec<std::net::SocketAddr>,
    pub(crate) _in_flight: Option<InFlight>,
    pub(crate) outstanding: Option<Outstanding>,
    /// The upstream model name of a gRPC alias, written into each attempt's
    /// first body chunk (`rewrite_pending`).
    pub(crate) grpc_alias: Option<String>,
    pub(crate) rewrite_pending: bool,
    pub(crate) mirror: Option<MirrorCopy>,
    /// An error decided here, answered by fail_to_proxy.
    pub(crate) error: Option<ProxyError>,
    pub(crate) status: u16,
}

#[async_trait]
impl ProxyHttp for ProxyService {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            start: Instant::now(),
            request_id: String::new(),
            grpc: false,
            route: None,
            pool: None,
            backend: None,
            tried: Vec::new(),
            _in_flight: None,
            outstanding: None,
            grpc_alias: None,
            rewrite_pending: false,
            mirror: None,
            error: None,
            status: 0,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        ctx.grpc = is_grpc(session.req_header());
        ctx.request_id = match session
            .req_header()
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
        {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                let id = headers::new_request_id();
                session
                    .req_header_mut()
                    .insert_header("x-request-id", &id)?;
                id
            }
        };
        match self.admit(session, ctx).await {
            Ok(()) => Ok(false),
            Err(e) => {
                if !session.is_http2() {
                    // the body may be unread: do not reuse the connection
                    session.set_keepalive(None);
                }
                ctx.status = error::respond(session, ctx.grpc, &ctx.request_id, &e).await;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let Some(route) = ctx.route.clone() else {
            return Error::e_explain(ErrorType::InternalError, "no route chosen");
        };
        let pool = match &ctx.pool {
            Some(p) => p.clone(),
            None => {
                let p = route.pool_for(session.req_header(), ctx.grpc);
                ctx.pool = Some(p.clone());
                p
            }
        };
        if !ctx.tried.is_empty() {
            self.metrics.retries.with_label_values(&[&route.name]).inc();
        }
        let key = pool
            .hash_header
            .as_deref()
            .and_then(|h| session.req_header().headers.get(h))
            .map(|v| v.as_bytes().to_vec());
        let Some(b) = pool.pick(key.as_deref(), &ctx.tried) else {
            ctx.error = Some(if ctx.tried.is_empty() {
                ProxyError::NoBackend(pool.name.clone())
            } else {
                ProxyError::Unreachable(format!("every backend tried in pool {}", pool.name))
            });
            return Error::e_explain(ErrorType::HTTPStatus(503), "no backend");
        };
        ctx.tried.push(b.addr);
        ctx.backend = Some(b.clone());
        b.outstanding.fetch_add(1, Relaxed);
        ctx.outstanding = Some(Outstanding(b.clone()));
        ctx.rewrite_pending = ctx.grpc_alias.is_some();
        self.metrics
            .backend_requests
            .with_label_values(&[&pool.name, &b.id])
            .inc();
        let mut peer = HttpPeer::new(b.addr, false, String::new());
        let o = &mut peer.options;
        o.connection_timeout = Some(route.connect_timeout);
        o.read_timeout = Some(route.timeout);
        o.write_timeout = Some(route.timeout);
        if ctx.grpc || pool.h2c {
            o.set_http_version(2, 2);
            o.max_h2_streams = pool.max_h2_streams;
        } else {
            o.set_http_version(1, 1);
        }
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        _ctx: &mut Ctx,
    ) -> Result<()> {
        headers::drop_hop_by_hop(upstream);
        if let Some(ip) = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip().to_string())
        {
            headers::append_forwarded_for(upstream, &ip);
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Some(limit) = ctx.route.as_ref().map(|r| r.max_body_bytes)
            && limit > 0
            && session.as_downstream().body_bytes_read() as u64 > limit
        {
            ctx.error = Some(ProxyError::BodyTooLarge(limit));
            return Error::e_explain(ErrorType::HTTPStatus(413), "body too large");
        }
        if let (Some(m), Some(chunk)) = (ctx.mirror.as_mut(), body.as_ref()) {
            m.add(chunk, session.as_downstream().body_bytes_read());
        }
        if ctx.rewrite_pending
            && let (Some(to), Some(chunk)) = (&ctx.grpc_alias, body.as_ref())
        {
            ctx.rewrite_pending = false;
            if let Some(new) = grpc_peek::rewrite(chunk, to) {
                *body = Some(new);
            }
        }
        Ok(())
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        self.backend_failed(
            ctx,
            if error::is_connect_error(&e) {
                "connect"
            } else {
                "connect_other"
            },
        );
        // Nothing reached the backend: another one may take the request.
        if let (Some(route), Some(pool)) = (&ctx.route, &ctx.pool) {
            let more = ctx.tried.len() <= route.connect_retries
                && ctx.tried.len() < pool.members().backends.len();
            e.set_retry(more);
        }
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        let kind = match e.etype() {
            ErrorType::ReadTimedout | ErrorType::WriteTimedout => "timeout",
            _ => "upstream",
        };
        self.backend_failed(ctx, kind);
        let mut e = e.more_context(format!("peer {peer}"));
        // A request whose bytes may have reached a backend is re-sent only
        // when it is idempotent (by method, or by the route's word).
        let idempotent = session.req_header().method.is_idempotent()
            || ctx.route.as_ref().is_some_and(|r| r.idempotent);
        let budget = || {
            ctx.route
                .as_ref()
                .is_some_and(|r| r.retry_budget.try_retry(Instant::now()))
        };
        if idempotent && !session.as_downstream().retry_buffer_truncated() && budget() {
            e.retry.decide_reuse(client_reused);
        } else {
            e.set_retry(false);
        }
        e
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if resp.status.is_server_error() {
            self.backend_failed(ctx, "http_5xx");
        } else if let Some(b) = self.current_backend(ctx) {
            b.ejection.success();
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.status = resp.status.as_u16();
        resp.insert_header("x-request-id", &ctx.request_id)?;
        Ok(())
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let err = ctx.error.take().unwrap_or_else(|| {
            let backend = self.current_backend(ctx).map(|b| b.id.clone());
            ProxyError::from_pingora(e, backend.as_deref().unwrap_or("upstream")).0
        });
        tracing::warn!(request_id = %ctx.request_id, "{e}");
        let code = if session.response_written().is_some() {
            0 // the answer has begun: the connection can only be cut
        } else {
            error::respond(session, ctx.grpc, &ctx.request_id, &err).await
        };
        ctx.status = code;
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, _session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        if let (Some(copy), None, Some(route)) = (ctx.mirror.take(), e, &ctx.route) {
            copy.send(self.mirror_connector.clone(), route.timeout);
        }
        let route = ctx.route.as_ref().map_or("none", |r| r.name.as_str());
        let status = ctx.status.to_string();
        self.metrics
            .requests
            .with_label_values(&[route, &status])
            .inc();
        self.metrics
            .latency
            .with_label_values(&[route])
            .observe(ctx.start.elapsed().as_secs_f64());
        ctx.outstanding = None;
        ctx._in_flight = None;
    }
}

impl ProxyService {
    fn current_backend(&self, ctx: &Ctx) -> Option<Arc<BackendState>> {
        ctx.backend.clone()
    }

    /// Counts a failure against the current backend (passive ejection).
    fn backend_failed(&self, ctx: &Ctx, kind: &str) {
        let (Some(pool), Some(b)) = (&ctx.pool, self.current_backend(ctx)) else {
            return;
        };
        self.metrics
            .upstream_errors
            .with_label_values(&[&pool.name, &b.id, kind])
            .inc();
        if let Some(cool) = b.ejection.failure(Instant::now()) {
            tracing::warn!(pool = %pool.name, backend = %b.id, "ejected for {cool:?}");
            self.metrics
                .ejections
                .with_label_values(&[&pool.name, &b.id])
                .inc();
        }
    }
}
