//! A model's input metadata, from `GET /v2/models/{m}` or gRPC
//! `ModelMetadata`, read leniently (servers differ in the other fields).
use std::time::Duration;

use infergate_proto::TensorMetadata;
use infergate_proto::grpc::pb::ModelMetadataRequest;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use serde::Deserialize;

use crate::client::{self, HttpVersion, tls::TlsOptions};
use crate::error::{LoadError, Result};
use crate::target::{Protocol, TargetSpec, model_path};

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct RestMetadata {
    #[serde(default)]
    inputs: Vec<TensorMetadata>,
}

/// The inputs model `model` declares on `spec`.
pub async fn inputs(
    spec: &TargetSpec,
    protocol: Protocol,
    model: &str,
    version: Option<&str>,
    tls: &TlsOptions,
    headers: &[String],
) -> Result<Vec<TensorMetadata>> {
    // The run's -H headers go on this request too: a target that wants a
    // token wants it here first.
    let headers = headers
        .iter()
        .map(|h| client::parse_header(h))
        .collect::<Result<Vec<_>>>()?;
    let fail = |reason: String| LoadError::Metadata {
        model: model.to_string(),
        target: spec.label.clone(),
        reason,
    };
    let fetch = async {
        if protocol == Protocol::Grpc {
            let dialer = client::dialer(spec, HttpVersion::H2, tls)?;
            let channel = client::grpc_channel(&dialer).await?;
            let mut req = tonic::Request::new(ModelMetadataRequest {
                name: model.to_string(),
                version: version.unwrap_or_default().to_string(),
            });
            for (k, v) in &headers {
                if let (Ok(k), Ok(v)) = (
                    tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes()),
                    tonic::metadata::MetadataValue::try_from(v.as_bytes()),
                ) {
                    req.metadata_mut().insert(k, v);
                }
            }
            let resp = GrpcInferenceServiceClient::new(channel)
                .model_metadata(req)
                .await
                .map_err(|s| fail(format!("{}: {}", s.code(), s.message())))?;
            let md = infergate_proto::grpc::metadata_from_grpc(resp.into_inner())?;
            Ok(md.inputs)
        } else {
            let dialer = client::dialer(spec, HttpVersion::H1, tls)?;
            let path = model_path(&spec.base_path, model, version);
            let (status, body) = client::get(&dialer, &path, &headers).await?;
            if status != 200 {
                return Err(fail(format!(
                    "GET {path}: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            let md: RestMetadata =
                serde_json::from_slice(&body).map_err(|e| fail(format!("GET {path}: {e}")))?;
            Ok(md.inputs)
        }
    };
    tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| fail(format!("no answer in {TIMEOUT:?}")))?
}
