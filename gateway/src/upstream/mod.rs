//! The transformer's predictor, as KServe's `PredictorConfig` describes it:
//! host, protocol (v1, v2, grpc-v2), TLS, timeout, retries, health checks.
//! Each protocol is one `PredictorClient` (`v1_rest`, `v2_rest`, `grpc`)
//! that puts requests in its wire form and reads answers back; `Upstream`
//! adds what every protocol shares: the in-flight limit, retries, the
//! timeout, health and the metadata cache.
mod client;
mod error;
mod grpc;
mod headers;
mod health;
mod inflight;
mod rest;
mod retry;
mod tls;
mod v1_answer;
mod v1_rest;
mod v2_rest;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use infergate_proto::{ModelMetadata, Payload, Reply, RequestContext};

use client::PredictorClient;
pub use error::UpstreamError;
pub use headers::{forwarded as forwarded_headers, is_per_request as is_per_request_header};
use health::Health;
use inflight::InflightLimit;
use rest::{RestBody, RestClient};
use retry::RetryPolicy;
use v1_rest::{V1Rest, v1_body, v1_reply};
use v2_rest::V2Rest;

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

pub struct Upstream {
    settings: UpstreamSettings,
    /// The predictor, in its protocol.
    client: Box<dyn PredictorClient>,
    explainer: RestClient,
    retry: RetryPolicy,
    health: Health,
    /// One probe-time check at a time; the probes that wait take its result.
    probe: tokio::sync::Mutex<()>,
    inflight: InflightLimit,
    metadata: RwLock<Option<ModelMetadata>>,
}

/// How long a probe may answer from the last check (or the last request's
/// outcome) instead of asking the predictor again.
const PROBE_CACHE: Duration = Duration::from_millis(500);
/// The longest a probe-time check waits for the predictor (Kubernetes'
/// default probe timeout is 1 s).
const PROBE_TIMEOUT: Duration = Duration::from_millis(900);
/// The active check's interval while the predictor is unhealthy.
const UNHEALTHY_INTERVAL: Duration = Duration::from_millis(250);

impl Upstream {
    pub fn new(settings: UpstreamSettings) -> Result<Arc<Self>, UpstreamError> {
        let client: Box<dyn PredictorClient> = match settings.protocol {
            PredictorProtocol::V1 => Box::new(V1Rest {
                rest: RestClient::new(&settings)?,
            }),
            PredictorProtocol::V2 => Box::new(V2Rest {
                rest: RestClient::new(&settings)?,
                binary: settings.binary,
            }),
            PredictorProtocol::GrpcV2 => Box::new(grpc::GrpcV2 {
                client: grpc::channel(&settings)?,
                host: settings.host.clone(),
                max_response: settings.max_response_bytes,
            }),
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
            client,
            explainer,
            health: Health::default(),
            probe: tokio::sync::Mutex::new(()),
            metadata: RwLock::new(None),
        }))
    }

    /// Checks the predictor now and then every interval, for as long as the
    /// upstream lives; also fetches its metadata once it answers.
    pub fn start_health_checks(self: &Arc<Self>, model: String) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(up) = weak.upgrade() {
                let ok = up.check_ready(&model, up.settings.timeout).await;
                up.health.checked(ok);
                if ok && up.cached_metadata().is_none() {
                    let _ = up.fetch_metadata(&model).await;
                }
                // While unhealthy, look again soon: inference is refused
                // (503) until the predictor is seen back.
                let interval = if ok {
                    up.settings.health_interval
                } else {
                    up.settings.health_interval.min(UNHEALTHY_INTERVAL)
                };
                drop(up);
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// The headers forwarded besides the usual ones (--forward_header).
    pub fn forward_allow_list(&self) -> &[String] {
        &self.settings.forward_headers
    }

    pub fn is_healthy(&self) -> bool {
        self.health.is_healthy()
    }

    /// Health as a readiness probe asks it: what was learnt within
    /// `PROBE_CACHE`, else a check now (one at a time, bounded by
    /// `PROBE_TIMEOUT`), so a probe sees the predictor's death or recovery
    /// within a second while probes cost the predictor at most two checks a
    /// second.
    pub async fn probe_healthy(&self, model: &str) -> bool {
        if let Some(ok) = self.health.fresh(PROBE_CACHE) {
            return ok;
        }
        let _one = self.probe.lock().await;
        if let Some(ok) = self.health.fresh(PROBE_CACHE) {
            return ok;
        }
        let ok = self.check_ready(model, PROBE_TIMEOUT).await;
        self.health.checked(ok);
        ok
    }

    pub fn cached_metadata(&self) -> Option<ModelMetadata> {
        self.metadata.read().ok().and_then(|m| m.clone())
    }

    async fn check_ready(&self, model: &str, within: Duration) -> bool {
        tokio::time::timeout(
            within.min(Duration::from_secs(10)),
            self.client.ready(model),
        )
        .await
        .unwrap_or(false)
    }

    /// The predictor's model metadata (a V1 predictor has none to give).
    pub async fn fetch_metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError> {
        if let Some(m) = self.cached_metadata() {
            return Ok(m);
        }
        let meta = self.client.metadata(model).await?;
        if let Ok(mut cache) = self.metadata.write() {
            *cache = Some(meta.clone());
        }
        Ok(meta)
    }

    /// Sends a request to the predictor in its protocol, retrying what is
    /// safe to retry, within the request timeout.
    pub async fn predict(
        &self,
        model: &str,
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let _place = self.inflight.admit()?;
        let call = async {
            let inputs = match payload {
                Payload::V1(_) if self.client.needs_input_metadata() => self
                    .fetch_metadata(model)
                    .await
                    .map(|m| m.inputs)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let prepared = self.client.prepare(model, payload, &inputs)?;
            let allow = &self.settings.forward_headers;
            self.retry.run(|| prepared.send(ctx, allow)).await
        };
        let result = tokio::time::timeout(self.settings.timeout, call)
            .await
            .unwrap_or(Err(UpstreamError::Timeout(self.settings.timeout)));
        match &result {
            // Refused without being taken (nothing listening, or UNAVAILABLE):
            // readiness turns false at once.
            Err(e) if e.is_retryable() => self.health.refused(),
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
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let body = v1_body(payload)?;
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
                .post(&path, forwarded, RestBody::json(body.clone()))
                .await?
                .ok()?;
            v1_reply(&a.body)
        });
        tokio::time::timeout(self.settings.timeout, call)
            .await
            .unwrap_or(Err(UpstreamError::Timeout(self.settings.timeout)))
    }
}
