//! The transformer's predictor, as KServe's `PredictorConfig` describes it:
//! host, protocol (v1, v2, grpc-v2), TLS, timeout, retries, health checks.
//! Requests are put in the predictor's protocol here and answers read back.
mod error;
mod grpc;
mod headers;
mod health;
mod inflight;
mod rest;
mod retry;
mod tls;
mod v1_answer;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use infergate_proto::grpc::pb::ModelInferRequest;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::v2::INFERENCE_HEADER_CONTENT_LENGTH;
use infergate_proto::{
    InferRequest, ModelMetadata, Payload, Reply, RequestContext, grpc as pgrpc, v1, v2,
};
use tonic::transport::Channel;

pub use error::UpstreamError;
use health::Health;
use inflight::InflightLimit;
use rest::RestClient;
use retry::RetryPolicy;

use crate::config::{PredictorProtocol, UpstreamFlags, parse_predictor_host};

/// Everything the upstream needs to know, from the flags.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub host: String,
    pub protocol: PredictorProtocol,
    pub use_ssl: bool,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: u32,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub tls_server_name: Option<String>,
    pub http2: bool,
    pub binary: bool,
    pub explainer_host: Option<String>,
    pub forward_headers: Vec<String>,
    pub health_interval: Duration,
    /// Largest message sent to a gRPC predictor.
    pub grpc_max_message: usize,
    /// Largest answer read from the predictor (REST body or gRPC message).
    pub max_response_bytes: usize,
    /// What a v1 predictor's single `predictions` tensor is called.
    pub v1_output: Option<String>,
    /// Calls that may be in flight at once (0 = no limit).
    pub max_inflight: usize,
}

impl UpstreamSettings {
    /// The settings, when --predictor_host is given; a malformed host (or
    /// one whose scheme contradicts --predictor_use_ssl) is an error.
    pub fn from_flags(f: &UpstreamFlags, grpc_max_message: usize) -> Result<Option<Self>, String> {
        let Some(host) = &f.predictor_host else {
            return Ok(None);
        };
        let predictor = parse_predictor_host("--predictor_host", host, f.predictor_use_ssl)?;
        let explainer_host = match &f.explainer_host {
            Some(h) => Some(
                parse_predictor_host("--explainer_host", h, Some(predictor.use_ssl))?.authority,
            ),
            None => None,
        };
        Ok(Some(UpstreamSettings {
            host: predictor.authority,
            protocol: f.predictor_protocol,
            use_ssl: predictor.use_ssl,
            timeout: Duration::from_secs(f.predictor_request_timeout_seconds),
            connect_timeout: Duration::from_secs_f64(
                f.predictor_connect_timeout_seconds.max(0.001),
            ),
            retries: f.predictor_request_retries,
            ca_file: f.predictor_ca_file.clone(),
            client_cert: f.predictor_client_cert.clone(),
            client_key: f.predictor_client_key.clone(),
            tls_server_name: f.predictor_tls_server_name.clone(),
            http2: f.predictor_http2,
            binary: f.predictor_binary_data,
            explainer_host,
            forward_headers: f
                .forward_header
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            health_interval: Duration::from_secs_f64(
                f.predictor_health_check_interval_seconds.max(0.05),
            ),
            grpc_max_message,
            max_response_bytes: f.max_predictor_response_bytes,
            v1_output: f.predictor_v1_output.clone(),
            max_inflight: f.predictor_max_inflight_requests,
        }))
    }
}

enum Transport {
    Rest(Box<RestClient>),
    Grpc(GrpcInferenceServiceClient<Channel>),
}

/// A request in the predictor's wire form, built once and sent as often as
/// retries need.
enum Prepared {
    Rest {
        path: String,
        content_type: &'static str,
        extra: Vec<(&'static str, String)>,
        body: Bytes,
        /// Whether the request holds rows (a V1 answer must then have some).
        rows: bool,
    },
    Grpc(Box<ModelInferRequest>),
}

pub struct Upstream {
    settings: UpstreamSettings,
    transport: Transport,
    explainer: RestClient,
    retry: RetryPolicy,
    health: Health,
    inflight: InflightLimit,
    metadata: RwLock<Option<ModelMetadata>>,
}

impl Upstream {
    pub fn new(settings: UpstreamSettings) -> Result<Arc<Self>, UpstreamError> {
        let transport = match settings.protocol {
            PredictorProtocol::GrpcV2 => Transport::Grpc(grpc::channel(&settings)?),
            PredictorProtocol::V1 | PredictorProtocol::V2 => {
                Transport::Rest(Box::new(RestClient::new(&settings)?))
            }
        };
        let explainer = RestClient::new(&UpstreamSettings {
            host: settings
                .explainer_host
                .clone()
                .unwrap_or_else(|| settings.host.clone()),
            http2: false,
            ..settings.clone()
        })?;
        Ok(Arc::new(Upstream {
            retry: RetryPolicy::new(settings.retries),
            inflight: InflightLimit::new(settings.max_inflight),
            settings,
            transport,
            explainer,
            health: Health::default(),
            metadata: RwLock::new(None),
        }))
    }

    /// Checks the predictor now and then every interval, for as long as the
    /// upstream lives; also fetches its metadata once it answers.
    pub fn start_health_checks(self: &Arc<Self>, model: String) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(up) = weak.upgrade() {
                let ok = up.check_ready(&model).await;
                up.health.checked(ok);
                if ok && up.cached_metadata().is_none() {
                    let _ = up.fetch_metadata(&model).await;
                }
                let interval = up.settings.health_interval;
                drop(up);
                tokio::time::sleep(interval).await;
            }
        });
    }

    pub fn is_healthy(&self) -> bool {
        self.health.is_healthy()
    }

    pub fn cached_metadata(&self) -> Option<ModelMetadata> {
        self.metadata.read().ok().and_then(|m| m.clone())
    }

    async fn check_ready(&self, model: &str) -> bool {
        let check = async {
            match &self.transport {
                Transport::Rest(c) => {
                    let path = match self.settings.protocol {
                        PredictorProtocol::V1 => format!("/v1/models/{model}"),
                        _ => format!("/v2/models/{model}/ready"),
                    };
                    c.send(
                        Method::GET,
                        &path,
                        std::iter::empty(),
                        None,
                        &[],
                        Bytes::new(),
                    )
                    .await
                    .is_ok_and(|a| a.status == 200)
                }
                Transport::Grpc(c) => {
                    let req = infergate_proto::grpc::pb::ModelReadyRequest {
                        name: model.to_string(),
                        version: String::new(),
                    };
                    c.clone()
                        .model_ready(req)
                        .await
                        .is_ok_and(|r| r.into_inner().ready)
                }
            }
        };
        tokio::time::timeout(self.settings.timeout.min(Duration::from_secs(10)), check)
            .await
            .unwrap_or(false)
    }

    /// The predictor's model metadata (a V1 predictor has none to give).
    pub async fn fetch_metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError> {
        if let Some(m) = self.cached_metadata() {
            return Ok(m);
        }
        let meta = match &self.transport {
            // V1 has no metadata; many V1 predictors (KServe's, infergate's)
            // also answer V2 metadata on the same port, which names outputs.
            Transport::Rest(c) if self.settings.protocol == PredictorProtocol::V1 => {
                let a = c
                    .send(
                        Method::GET,
                        &format!("/v2/models/{model}"),
                        std::iter::empty(),
                        None,
                        &[],
                        Bytes::new(),
                    )
                    .await?;
                (a.status == 200)
                    .then(|| serde_json::from_slice::<ModelMetadata>(&a.body).ok())
                    .flatten()
                    .unwrap_or_else(|| ModelMetadata {
                        name: model.to_string(),
                        versions: vec![],
                        platform: String::new(),
                        inputs: vec![],
                        outputs: vec![],
                    })
            }
            Transport::Rest(c) => {
                let a = c
                    .send(
                        Method::GET,
                        &format!("/v2/models/{model}"),
                        std::iter::empty(),
                        None,
                        &[],
                        Bytes::new(),
                    )
                    .await?
                    .ok()?;
                serde_json::from_slice(&a.body)
                    .map_err(|e| UpstreamError::BadAnswer(format!("model metadata: {e}")))?
            }
            Transport::Grpc(c) => {
                let req = infergate_proto::grpc::pb::ModelMetadataRequest {
                    name: model.to_string(),
                    version: String::new(),
                };
                let resp = c.clone().model_metadata(req).await.map_err(|s| {
                    grpc::classify(&self.settings.host, s, self.settings.max_response_bytes)
                })?;
                pgrpc::metadata_from_grpc(resp.into_inner())?
            }
        };
        if let Ok(mut cache) = self.metadata.write() {
            *cache = Some(meta.clone());
        }
        Ok(meta)
    }

    /// The payload as V2 tensors, V1 converted with the predictor's metadata.
    async fn as_v2(&self, model: &str, payload: &Payload) -> Result<InferRequest, UpstreamError> {
        match payload {
            Payload::V2(req) => Ok(req.clone()),
            Payload::V1(body) => {
                let inputs = self
                    .fetch_metadata(model)
                    .await
                    .map(|m| m.inputs)
                    .unwrap_or_default();
                Ok(v1::request_to_v2(body, &inputs)?.0)
            }
        }
    }

    async fn prepare(&self, model: &str, payload: &Payload) -> Result<Prepared, UpstreamError> {
        Ok(match (&self.transport, self.settings.protocol) {
            (Transport::Rest(_), PredictorProtocol::V1) => {
                let body = match payload {
                    Payload::V1(v) => serde_json::to_vec(v)
                        .map_err(|e| UpstreamError::BadAnswer(e.to_string()))?,
                    Payload::V2(req) => v1::request_to_v1(req)?.0,
                };
                Prepared::Rest {
                    path: format!("/v1/models/{model}:predict"),
                    content_type: "application/json",
                    extra: vec![],
                    body: body.into(),
                    rows: v1_answer::has_rows(payload),
                }
            }
            (Transport::Rest(_), _) => {
                let req = self.as_v2(model, payload).await?;
                let enc = v2::encode_request(&req, self.settings.binary)?;
                let (content_type, extra) = match enc.json_len {
                    Some(n) => (
                        "application/octet-stream",
                        vec![(INFERENCE_HEADER_CONTENT_LENGTH, n.to_string())],
                    ),
                    None => ("application/json", vec![]),
                };
                Prepared::Rest {
                    path: format!("/v2/models/{model}/infer"),
                    content_type,
                    extra,
                    body: enc.body.into(),
                    rows: v1_answer::has_rows(payload),
                }
            }
            (Transport::Grpc(_), _) => {
                let req = self.as_v2(model, payload).await?;
                Prepared::Grpc(Box::new(pgrpc::request_to_grpc(model, None, &req, true)?))
            }
        })
    }

    async fn send(
        &self,
        prepared: &Prepared,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let forwarded = || {
            headers::forwarded(
                &ctx.request_id,
                &ctx.headers,
                &self.settings.forward_headers,
            )
        };
        match (&self.transport, prepared) {
            (
                Transport::Rest(c),
                Prepared::Rest {
                    path,
                    content_type,
                    extra,
                    body,
                    rows,
                },
            ) => {
                let a = c
                    .send(
                        Method::POST,
                        path,
                        forwarded(),
                        Some(content_type),
                        extra,
                        body.clone(),
                    )
                    .await?
                    .ok()?;
                if self.settings.protocol == PredictorProtocol::V1 {
                    let reply = v1_reply(&a.body)?;
                    if let Reply::V1(body) = &reply {
                        v1_answer::check(body, *rows)?;
                    }
                    return Ok(reply);
                }
                let json_len = a
                    .headers
                    .get(INFERENCE_HEADER_CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                v2::decode_response(&a.body, json_len)
                    .map(Reply::V2)
                    .map_err(|e| UpstreamError::BadAnswer(e.to_string()))
            }
            (Transport::Grpc(c), Prepared::Grpc(msg)) => {
                let mut req = tonic::Request::new((**msg).clone());
                for (k, v) in forwarded() {
                    if let (Ok(k), Ok(v)) =
                        (k.parse::<tonic::metadata::MetadataKey<_>>(), v.parse())
                    {
                        req.metadata_mut().insert(k, v);
                    }
                }
                let resp = c.clone().model_infer(req).await.map_err(|s| {
                    grpc::classify(&self.settings.host, s, self.settings.max_response_bytes)
                })?;
                pgrpc::response_from_grpc(resp.into_inner())
                    .map(Reply::V2)
                    .map_err(|e| UpstreamError::BadAnswer(e.to_string()))
            }
            _ => Err(UpstreamError::Config(
                "request prepared for another transport".into(),
            )),
        }
    }

    /// Sends a request to the predictor in its protocol, retrying what is
    /// safe to retry, within the request timeout.
    pub async fn predict(
        &self,
        model: &str,
        payload: &Payload,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let _place = self.inflight.admit()?;
        let call = async {
            let prepared = self.prepare(model, payload).await?;
            self.retry.run(|| self.send(&prepared, ctx)).await
        };
        let result = tokio::time::timeout(self.settings.timeout, call)
            .await
            .unwrap_or(Err(UpstreamError::Timeout(self.settings.timeout)));
        match &result {
            Err(e) if e.is_health_failure() => self.health.observed(false),
            Err(UpstreamError::Proto(_)) => {}
            _ => self.health.observed(true),
        }
        result
    }

    /// A v1 predictor's answer as V2 tensors, its single `predictions`
    /// tensor named by --predictor_v1_output or the predictor's metadata
    /// (docs/protocol.md); a malformed answer is a bad answer (502).
    pub async fn v1_answer_to_v2(
        &self,
        model: &str,
        body: &serde_json::Value,
    ) -> Result<infergate_proto::InferResponse, UpstreamError> {
        let meta = match self.settings.v1_output {
            Some(_) => None,
            None => self.fetch_metadata(model).await.ok(),
        };
        let name = v1_answer::output_name(self.settings.v1_output.as_deref(), meta.as_ref());
        v1_answer::to_v2(body, model, name.as_deref())
    }

    /// Sends an explain request (V1, as KServe does) to the explainer host,
    /// or the predictor's when none is set.
    pub async fn explain(
        &self,
        model: &str,
        payload: &Payload,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let body: Bytes = match payload {
            Payload::V1(v) => serde_json::to_vec(v)
                .map_err(|e| UpstreamError::BadAnswer(e.to_string()))?
                .into(),
            Payload::V2(req) => v1::request_to_v1(req)?.0.into(),
        };
        let path = format!("/v1/models/{model}:explain");
        let _place = self.inflight.admit()?;
        let call = self.retry.run(|| async {
            let forwarded = headers::forwarded(
                &ctx.request_id,
                &ctx.headers,
                &self.settings.forward_headers,
            );
            let a = self
                .explainer
                .send(
                    Method::POST,
                    &path,
                    forwarded,
                    Some("application/json"),
                    &[],
                    body.clone(),
                )
                .await?
                .ok()?;
            v1_reply(&a.body)
        });
        tokio::time::timeout(self.settings.timeout, call)
            .await
            .unwrap_or(Err(UpstreamError::Timeout(self.settings.timeout)))
    }
}

/// A V1 answer body (any JSON; checked by the caller where it must be a
/// predict answer).
fn v1_reply(body: &[u8]) -> Result<Reply, UpstreamError> {
    serde_json::from_slice(body)
        .map(Reply::V1)
        .map_err(|e| UpstreamError::BadAnswer(format!("not JSON: {e}")))
}
