//! The gRPC client to a grpc-v2 predictor: one tonic channel (HTTP/2,
//! multiplexed), TLS through rustls when asked.
use async_trait::async_trait;
use infergate_proto::grpc::pb::{self, grpc_inference_service_client::GrpcInferenceServiceClient};
use infergate_proto::{
    ModelMetadata, Payload, Reply, RequestContext, TensorMetadata, grpc as pgrpc,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::client::{PredictorClient, PreparedCall, into_v2};
use super::error::{UpstreamError, tls_cause};
use super::rest::truncate_message;
use super::{UpstreamSettings, headers};

pub fn channel(s: &UpstreamSettings) -> Result<GrpcInferenceServiceClient<Channel>, UpstreamError> {
    let scheme = if s.use_ssl { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", s.host))
        .map_err(|e| UpstreamError::Config(format!("--predictor_host {}: {e}", s.host)))?
        .connect_timeout(s.connect_timeout)
        .tcp_nodelay(true);
    if s.use_ssl {
        let mut tls = ClientTlsConfig::new();
        tls = match &s.ca_file {
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| {
                    UpstreamError::Config(format!("cannot read {}: {e}", ca.display()))
                })?;
                tls.ca_certificate(Certificate::from_pem(pem))
            }
            None => tls.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&s.client_cert, &s.client_key) {
            let read = |p: &std::path::Path| {
                std::fs::read(p)
                    .map_err(|e| UpstreamError::Config(format!("cannot read {}: {e}", p.display())))
            };
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        if let Some(name) = &s.tls_server_name {
            tls = tls.domain_name(name.clone());
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| UpstreamError::Config(format!("predictor TLS: {e}")))?;
    }
    Ok(GrpcInferenceServiceClient::new(endpoint.connect_lazy())
        .max_decoding_message_size(s.max_response_bytes)
        .max_encoding_message_size(s.grpc_max_message))
}

/// Sorts a gRPC status into the upstream errors.
pub fn classify(host: &str, status: tonic::Status, max_response: usize) -> UpstreamError {
    let text = truncate_message(status.message().to_string());
    match status.code() {
        // tonic's own refusal of an answer over the decoding limit.
        tonic::Code::OutOfRange if text.contains("decoded message length too large") => {
            UpstreamError::TooLarge {
                limit: max_response,
            }
        }
        tonic::Code::Unavailable => {
            let reason = if text.is_empty() {
                format!("{status:?}")
            } else {
                text
            };
            match tls_cause(&status) {
                // A TLS failure will not heal by retrying.
                Some(tls) => UpstreamError::Tls {
                    host: host.to_string(),
                    reason: tls,
                },
                None => UpstreamError::Unavailable {
                    host: host.to_string(),
                    reason,
                },
            }
        }
        code => UpstreamError::Status {
            status: infergate_proto::ErrorClass::from_grpc_code(code).http_status(),
            message: text,
        },
    }
}

/// A grpc-v2 predictor: `ModelInfer` over one multiplexed channel; a V1
/// payload is converted with the model's input metadata.
pub struct GrpcV2 {
    pub client: GrpcInferenceServiceClient<Channel>,
    pub host: String,
    pub max_response: usize,
}

impl GrpcV2 {
    fn classify(&self, status: tonic::Status) -> UpstreamError {
        classify(&self.host, status, self.max_response)
    }
}

#[async_trait]
impl PredictorClient for GrpcV2 {
    async fn ready(&self, model: &str) -> bool {
        let req = pb::ModelReadyRequest {
            name: model.to_string(),
            version: String::new(),
        };
        self.client
            .clone()
            .model_ready(req)
            .await
            .is_ok_and(|r| r.into_inner().ready)
    }

    async fn metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError> {
        let req = pb::ModelMetadataRequest {
            name: model.to_string(),
            version: String::new(),
        };
        let resp = self
            .client
            .clone()
            .model_metadata(req)
            .await
            .map_err(|s| self.classify(s))?;
        Ok(pgrpc::metadata_from_grpc(resp.into_inner())?)
    }

    fn needs_input_metadata(&self) -> bool {
        true
    }

    fn prepare<'a>(
        &'a self,
        model: &str,
        payload: Payload,
        inputs: &[TensorMetadata],
    ) -> Result<Box<dyn PreparedCall + 'a>, UpstreamError> {
        let req = into_v2(payload, inputs)?;
        Ok(Box::new(GrpcCall {
            client: self,
            msg: pgrpc::request_to_grpc(model, None, &req, true)?,
        }))
    }
}

struct GrpcCall<'a> {
    client: &'a GrpcV2,
    msg: pb::ModelInferRequest,
}

#[async_trait]
impl PreparedCall for GrpcCall<'_> {
    async fn send(&self, ctx: &RequestContext, allow: &[String]) -> Result<Reply, UpstreamError> {
        let mut req = tonic::Request::new(self.msg.clone());
        for (k, v) in headers::forwarded(&ctx.request_id, &ctx.headers, allow) {
            if let (Ok(k), Ok(v)) = (k.parse::<tonic::metadata::MetadataKey<_>>(), v.parse()) {
                req.metadata_mut().insert(k, v);
            }
        }
        let resp = self
            .client
            .client
            .clone()
            .model_infer(req)
            .await
            .map_err(|s| self.client.classify(s))?;
        pgrpc::response_from_grpc(resp.into_inner())
            .map(Reply::V2)
            .map_err(|e| UpstreamError::BadAnswer(e.to_string()))
    }
}
