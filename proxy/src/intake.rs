//! Request intake, before any upstream is chosen: the model name (REST
//! path, or the first field of a gRPC request), the route, admission
//! (in-flight and body limits), model aliases, and the mirror copy.

use bytes::BytesMut;
use pingora::http::RequestHeader;
use pingora::proxy::Session;
use std::time::Instant;

use crate::error::ProxyError;
use crate::grpc_peek::{self, Peek};
use crate::headers;
use crate::mirror::MirrorCopy;
use crate::model_path;
use crate::service::{Ctx, ProxyService};

/// Peeks the first message of a gRPC request for its model name. The bytes
/// read stay in pingora's retry buffer, which is sent upstream first.
async fn peek_grpc_model(session: &mut Session) -> Result<Option<String>, ProxyError> {
    session.as_downstream_mut().enable_retry_buffering();
    let mut buf = BytesMut::new();
    while !session.is_body_done() {
        let chunk = session
            .read_request_body()
            .await
            .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
        let Some(chunk) = chunk else { break };
        buf.extend_from_slice(&chunk);
        match grpc_peek::peek(&buf) {
            Peek::NeedMore if buf.len() < 32 * 1024 => continue,
            Peek::Name { start, end } => {
                return Ok(Some(String::from_utf8_lossy(&buf[start..end]).into_owned()));
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

pub fn is_grpc(req: &RequestHeader) -> bool {
    req.headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

impl ProxyService {
    /// Finds the route, admits the request and applies an alias; an Err is
    /// answered at once.
    pub(crate) async fn admit(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
    ) -> Result<(), ProxyError> {
        let path = session.req_header().uri.path().to_string();
        let model = if ctx.grpc {
            if model_path::grpc_method_has_model(&path) {
                peek_grpc_model(session).await?
            } else {
                None
            }
        } else {
            model_path::model_name(&path).map(str::to_string)
        };
        let route = self
            .live
            .router()
            .route(session.req_header(), model.as_deref())
            .cloned()
            .ok_or_else(|| match &model {
                Some(m) => ProxyError::NoRoute(format!("model {m:?}")),
                None => ProxyError::NoRoute(format!("path {path}")),
            })?;
        ctx.route = Some(route.clone());
        route.retry_budget.record_request(Instant::now());
        ctx._in_flight = Some(
            route
                .admit()
                .ok_or_else(|| ProxyError::Overloaded(route.name.clone()))?,
        );
        if route.max_body_bytes > 0 {
            let declared = session
                .req_header()
                .headers
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > route.max_body_bytes) {
                return Err(ProxyError::BodyTooLarge(route.max_body_bytes));
            }
        }
        if session.as_downstream().retry_buffer_truncated() {
            return Err(ProxyError::Internal("gRPC first message too large".into()));
        }
        if let Some(to) = model.as_deref().and_then(|m| route.aliases.get(m)) {
            if ctx.grpc {
                ctx.grpc_alias = Some(to.clone());
            } else if let Some(new_path) = rewrite_uri(session.req_header(), to) {
                let uri = new_path
                    .parse::<http::Uri>()
                    .map_err(|e| ProxyError::Internal(e.to_string()))?;
                session.req_header_mut().set_uri(uri);
            }
        }
        if let Some(m) = route.mirror.as_ref().filter(|m| !ctx.grpc && m.sample()) {
            let mut header = session.req_header().clone();
            headers::drop_hop_by_hop(&mut header);
            ctx.mirror = Some(MirrorCopy::new(m.clone(), header));
        }
        Ok(())
    }
}

/// The request's path and query with the model name replaced by `to`.
fn rewrite_uri(req: &RequestHeader, to: &str) -> Option<String> {
    let pq = req.uri.path_and_query()?.as_str();
    model_path::rewrite(pq, to)
}
