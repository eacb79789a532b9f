//! The gRPC client to a grpc-v2 predictor: one tonic channel (HTTP/2,
//! multiplexed), TLS through rustls when asked.
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::UpstreamSettings;
use super::error::{UpstreamError, tls_cause};
use super::rest::truncate_message;

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
