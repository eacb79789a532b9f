//! `POST /v2/models/{name}/infer` (JSON) served by a pingora `ServeHttp` app
//! on one worker thread, doing the same work per request as infergate's hyper
//! REST server (server/src/http): request context with every header and an
//! x-request-id, the same router, model lookup, body read within the size
//! limit, V2 decode, DataPlane::infer, v2_answer, V2 encode, and the
//! per-model request counter (access log off, as infergate's default).
//!
//! Usage: v2-pingora PORT   (listens on 127.0.0.1:PORT)
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use infergate_proto::{OutputFormat, ServerMetadata, v2};
use infergate_server::builtin::{BuiltinRepository, SimpleModel};
use infergate_server::dataplane::v2_answer;
use infergate_server::http::router::{self, Route};
use infergate_server::metrics;
use infergate_server::{DataPlane, InferError, ModelRegistry, Payload, Protocol, RequestContext};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;

/// infergate's default `--max_request_bytes`.
const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

struct V2App {
    dataplane: Arc<DataPlane>,
}

fn respond(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CONTENT_LENGTH, body.len())
        .header("x-request-id", request_id)
        .body(body)
        .expect("valid response")
}

impl V2App {
    async fn infer(
        &self,
        session: &mut ServerSession,
        route: Result<(String, Option<String>), InferError>,
        ctx: &mut RequestContext,
    ) -> Result<Vec<u8>, InferError> {
        let (name, version) = route?;
        ctx.protocol = Protocol::V2Rest;
        let model = self.dataplane.model(&name, version.as_deref())?;
        // Read the whole body, within the limit.
        let mut body = Vec::new();
        while let Some(chunk) = session
            .read_request_body()
            .await
            .map_err(|e| InferError::invalid(format!("failed to read the request body: {e}")))?
        {
            if body.len() + chunk.len() > MAX_REQUEST_BYTES {
                return Err(InferError::PayloadTooLarge(MAX_REQUEST_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        let req = v2::decode_request(&body, None)?;
        let format = OutputFormat::from_request(&req);
        let id = req.id.clone();
        let reply = self.dataplane.infer(&*model, Payload::V2(req), ctx).await?;
        let resp = v2_answer(reply, &*model, id, format.requested())?;
        Ok(v2::encode_response(&resp, &format)?.body)
    }
}

#[async_trait]
impl ServeHttp for V2App {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let mut ctx = RequestContext::new(Protocol::V1);
        // pingora's header map is http's: the same copy the hyper server avoids
        // by moving is made here, as a pingora service would have to.
        ctx.headers = session.req_header().headers.clone();
        ctx.request_id = infergate_server::http::request_id(&ctx.headers);
        let req = session.req_header();
        let route = router::route(&req.method, req.uri.path());
        let target = route
            .as_ref()
            .ok()
            .and_then(Route::inference_target)
            .map(|(model, protocol)| (model.to_string(), protocol));
        let route = route.and_then(|r| match r {
            Route::V2Infer(name, version) => Ok((name.to_string(), version.map(str::to_string))),
            _ => Err(InferError::RouteNotFound),
        });
        let resp = match self.infer(session, route, &mut ctx).await {
            Ok(body) => respond(StatusCode::OK, body, &ctx.request_id),
            Err(e) => {
                let status = StatusCode::from_u16(e.class().http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let body = serde_json::json!({ "error": e.to_string() }).to_string();
                respond(status, body.into_bytes(), &ctx.request_id)
            }
        };
        if let Some((model, protocol)) = target {
            metrics::count_request(&model, protocol, resp.status().as_u16().to_string().as_str());
        }
        resp
    }
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: v2-pingora PORT");

    // As gateway/src/app.rs builds it for `--builtin_models simple`.
    let registry = ModelRegistry::new(Some(Arc::new(BuiltinRepository)));
    registry.register(Arc::new(SimpleModel));
    let metadata = ServerMetadata {
        name: "infergate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        extensions: vec!["binary_tensor_data".into(), "model_repository".into()],
    };
    let dataplane = Arc::new(DataPlane::new(Arc::new(registry), metadata, false));

    let conf = ServerConf {
        threads: 1,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut service = Service::new("v2-infer".to_string(), V2App { dataplane });
    service.add_tcp(&format!("127.0.0.1:{port}"));
    server.add_service(service);
    println!("v2-pingora listening http=127.0.0.1:{port}");
    server.run_forever();
}
