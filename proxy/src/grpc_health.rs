//! The active health check of a pool of gRPC backends: `grpc.health.v1`
//! `Check` (what Kubernetes gRPC probes and grpc-health-probe ask), plugged
//! into pingora-load-balancing's health view as its `HealthCheck`. A backend
//! is healthy while it answers SERVING for the configured service; a
//! draining infergate answers NOT_SERVING before it closes its port.
use std::time::Duration;

use async_trait::async_trait;
use pingora::{Error, ErrorType, Result};
use pingora_load_balancing::Backend;
use pingora_load_balancing::health_check::HealthCheck;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub struct GrpcHealthCheck {
    /// The service asked about ("" is the server as a whole).
    pub service: String,
    pub timeout: Duration,
    pub rise: usize,
    pub fall: usize,
}

fn failed(why: String) -> Box<Error> {
    Error::explain(ErrorType::CustomCode("grpc health check", 0), why)
}

#[async_trait]
impl HealthCheck for GrpcHealthCheck {
    async fn check(&self, target: &Backend) -> Result<()> {
        let url = format!("http://{}", target.addr);
        let endpoint = tonic::transport::Endpoint::from_shared(url)
            .map_err(|e| failed(e.to_string()))?
            .connect_timeout(self.timeout)
            .timeout(self.timeout);
        let ask = async {
            let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
            let request = HealthCheckRequest {
                service: self.service.clone(),
            };
            let answer = HealthClient::new(channel)
                .check(request)
                .await
                .map_err(|s| format!("{}: {}", s.code(), s.message()))?;
            Ok::<_, String>(answer.into_inner().status)
        };
        match tokio::time::timeout(self.timeout, ask).await {
            Ok(Ok(status)) if status == ServingStatus::Serving as i32 => Ok(()),
            Ok(Ok(status)) => Err(failed(format!(
                "{} answers {:?}",
                target.addr,
                ServingStatus::try_from(status).unwrap_or(ServingStatus::Unknown)
            ))),
            Ok(Err(why)) => Err(failed(format!("{}: {why}", target.addr))),
            Err(_) => Err(failed(format!(
                "{}: no answer in {:?}",
                target.addr, self.timeout
            ))),
        }
    }

    fn health_threshold(&self, success: bool) -> usize {
        if success { self.rise } else { self.fall }
    }
}
