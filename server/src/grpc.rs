//! The gRPC front end: `inference.GRPCInferenceService` on the data plane,
//! plus `grpc.health.v1.Health` and server reflection (v1 and v1alpha, so
//! that old and new grpcurl builds list services).
use std::sync::Arc;
use std::time::{Duration, Instant};

use infergate_proto::OutputFormat;
use infergate_proto::grpc::pb::grpc_inference_service_server::{
    GrpcInferenceService, GrpcInferenceServiceServer,
};
use infergate_proto::grpc::pb::*;
use infergate_proto::grpc::{self, FILE_DESCRIPTOR_SET, SERVICE_NAME};
use prost::Message as _;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::dataplane::{DataPlane, v2_answer};
use crate::error::InferError;
use crate::metrics;
use crate::model::{Payload, Protocol, RequestContext};

pub struct GrpcApi {
    pub dataplane: Arc<DataPlane>,
    /// --grpc_max_send_message_length: a larger answer is refused here, as
    /// RESOURCE_EXHAUSTED and counted so, instead of failing in tonic's
    /// encoder (OUT_OF_RANGE, after the request was counted "OK").
    pub max_send_message_length: usize,
    /// Inference requests whose answers have not ended yet.
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// The request's context; its metadata moves into it.
fn context(metadata: tonic::metadata::MetadataMap) -> RequestContext {
    let mut ctx = RequestContext::new(Protocol::Grpc);
    ctx.headers = metadata.into_headers();
    ctx.request_id = crate::http::request_id(&ctx.headers);
    ctx
}

/// The model a repository request names: Triton's field when set (its
/// field 1 is a repository name), else KServe's.
fn repository_model_name(kserve: String, triton: String) -> String {
    if triton.is_empty() { kserve } else { triton }
}

fn version(v: &str) -> Option<&str> {
    Some(v).filter(|v| !v.is_empty())
}

#[tonic::async_trait]
impl GrpcInferenceService for GrpcApi {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse {
            live: self.dataplane.live(),
        }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse {
            ready: self.dataplane.probe_ready().await,
        }))
    }

    async fn model_ready(
        &self,
        req: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        // "Is it ready?" about a model or version that does not exist is
        // answered "no", as Triton does, so that tritonclient's
        // is_model_ready() returns False instead of raising.
        let r = req.into_inner();
        let ready = self
            .dataplane
            .probe_model(&r.name, version(&r.version))
            .await
            .is_ok();
        Ok(Response::new(ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        let m = self.dataplane.server_metadata();
        Ok(Response::new(ServerMetadataResponse {
            name: m.name.clone(),
            version: m.version.clone(),
            extensions: m.extensions.clone(),
        }))
    }

    async fn model_metadata(
        &self,
        req: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let r = req.into_inner();
        let model = self
            .dataplane
            .registry
            .get(&r.name)
            .map_err(|e| e.to_status())?;
        if version(&r.version).is_some() {
            self.dataplane
                .model(&r.name, version(&r.version))
                .map_err(|e| e.to_status())?;
        }
        Ok(Response::new(grpc::metadata_to_grpc(&model.metadata())))
    }

    async fn model_infer(
        &self,
        req: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let (metadata, _, msg) = req.into_parts();
        let ctx = context(metadata);
        let model_name = msg.model_name.clone();
        let access = crate::access_log::enabled().then(|| (Instant::now(), msg.encoded_len()));
        let span = crate::otel::request_span("grpc", &model_name, &ctx.request_id, &ctx.headers);
        let result = async {
            let model = self
                .dataplane
                .model(&msg.model_name, version(&msg.model_version))?;
            let decoded = {
                let _decode = crate::step_span!("decode").entered();
                grpc::request_from_grpc(msg)?
            };
            let id = decoded.request.id.clone();
            // Only the names and order count here: gRPC has no binary flags.
            let requested = OutputFormat::from_request(&decoded.request);
            let reply = self
                .dataplane
                .infer(&*model, Payload::V2(decoded.request), &ctx)
                .await?;
            let _encode = crate::step_span!("encode").entered();
            let resp = v2_answer(reply, &*model, id, requested.requested())?;
            let answer = grpc::response_to_grpc(&resp, decoded.raw_inputs)?;
            let size = answer.encoded_len();
            if size > self.max_send_message_length {
                return Err(InferError::ResponseTooLarge {
                    size,
                    limit: self.max_send_message_length,
                });
            }
            Ok::<_, InferError>(answer)
        }
        .instrument(span.clone())
        .await;
        let outcome: std::borrow::Cow<str> = match &result {
            Ok(_) => "OK".into(),
            Err(e) => format!("{:?}", e.class().grpc_code()).into(),
        };
        let failed = result
            .as_ref()
            .is_err_and(|e| e.class().http_status() >= 500);
        crate::otel::record_status(&span, &outcome, failed);
        metrics::count_request(&model_name, "grpc", &outcome);
        if let Some((started, bytes_in)) = access {
            crate::access_log::Access {
                request_id: &ctx.request_id,
                model: &model_name,
                protocol: "grpc",
                method: "POST",
                path: "/inference.GRPCInferenceService/ModelInfer",
                status: &outcome,
                started,
                bytes_in: bytes_in as u64,
                bytes_out: result.as_ref().map_or(0, |r| r.encoded_len() as u64),
            }
            .write();
        }
        result.map(Response::new).map_err(|e| e.to_status())
    }

    async fn repository_model_load(
        &self,
        req: Request<RepositoryModelLoadRequest>,
    ) -> Result<Response<RepositoryModelLoadResponse>, Status> {
        let r = req.into_inner();
        let name = repository_model_name(r.model_name, r.triton_model_name);
        self.dataplane
            .registry
            .load(&name)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(RepositoryModelLoadResponse {
            model_name: name,
            is_loaded: true,
        }))
    }

    async fn repository_model_unload(
        &self,
        req: Request<RepositoryModelUnloadRequest>,
    ) -> Result<Response<RepositoryModelUnloadResponse>, Status> {
        let r = req.into_inner();
        let name = repository_model_name(r.model_name, r.triton_model_name);
        self.dataplane
            .registry
            .unload(&name)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(RepositoryModelUnloadResponse {
            model_name: name,
            is_unloaded: true,
        }))
    }
}

/// gRPC limits and behaviour from the command line.
#[derive(Debug, Clone)]
pub struct GrpcSettings {
    pub max_receive_message_length: usize,
    pub max_send_message_length: usize,
    /// How long a request message may take to arrive.
    pub body_read_timeout: Duration,
    /// Unfinished request bytes one connection may hold.
    pub connection_buffer: usize,
    pub max_concurrent_streams: u32,
}

/// The tonic router with its layers.
pub type GrpcRouter = tonic::transport::server::Router<
    tower::layer::util::Stack<crate::grpc_intake::CountInFlightLayer, tower::layer::util::Identity>,
>;

/// Builds the tonic router: inference service, health and reflection. The
/// health status follows the data plane's readiness.
pub fn router(api: GrpcApi, settings: &GrpcSettings) -> Result<GrpcRouter, InferError> {
    let dataplane = Arc::downgrade(&api.dataplane);
    let (reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        // Kubernetes gRPC probes and grpc-health-probe read this service: it
        // follows probe readiness (a transformer whose readiness follows its
        // predictor asks it at most twice a second); the task ends with the
        // data plane.
        let mut last = None;
        while let Some(dataplane) = dataplane.upgrade() {
            let ready = dataplane.probe_ready().await;
            drop(dataplane);
            if last != Some(ready) {
                let status = if ready {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                reporter.set_service_status("", status).await;
                reporter.set_service_status(SERVICE_NAME, status).await;
                last = Some(ready);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let reflection = |b: tonic_reflection::server::Builder<'static>| {
        b.register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure())
        .build_v1()
        .map_err(|e| InferError::Internal(format!("reflection: {e}")))?;
    let reflection_v1alpha = reflection(tonic_reflection::server::Builder::configure())
        .build_v1alpha()
        .map_err(|e| InferError::Internal(format!("reflection: {e}")))?;
    // The limits are enforced before tonic: the message is read whole by
    // `intake` (RESOURCE_EXHAUSTED past the receive limit, nothing reserved
    // before it arrives) and answers are measured in `model_infer`; tonic's
    // own checks (OUT_OF_RANGE) stay as a backstop a byte above them.
    let in_flight = api.in_flight.clone();
    let inference = GrpcInferenceServiceServer::new(api)
        .max_decoding_message_size(settings.max_receive_message_length.saturating_add(1))
        .max_encoding_message_size(settings.max_send_message_length.saturating_add(1));
    let inference = crate::grpc_intake::WholeMessages::new(inference, settings.clone(), in_flight);
    Ok(tonic::transport::Server::builder()
        .max_concurrent_streams(settings.max_concurrent_streams)
        // Pings find peers that vanished without closing; idle but live
        // connections are closed by conn::Tracked.
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .layer(crate::grpc_intake::CountInFlightLayer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(inference))
}
