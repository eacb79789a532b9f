//! Shared by the tests/proxy_*.rs files: start `infergate proxy` with a
//! configuration on free loopback ports, read mock backends' counts.
#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::time::Duration;

use infergate_tests::{Http, Server, bin, free_port, scratch_dir};

pub struct Proxy {
    pub server: Server,
    pub admin: SocketAddr,
    /// The configuration file (a test may rewrite it and send SIGHUP).
    pub config: std::path::PathBuf,
}

impl Proxy {
    /// Starts the proxy with `config`, whose `[listen]` section is written
    /// here (free ports, 1 s drain); `config` holds pools and routes.
    pub fn start(test: &str, config: &str) -> Proxy {
        Proxy::start_with(test, "", config)
    }

    /// As `start`, with `listen_extra` (lines) added to `[listen]`.
    pub fn start_with(test: &str, listen_extra: &str, config: &str) -> Proxy {
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let listen = format!("127.0.0.1:{}", free_port());
        let text = format!(
            "[listen]\naddress = \"{listen}\"\nadmin = \"{admin}\"\ndrain_seconds = 1\n{listen_extra}\n{config}"
        );
        let path = scratch_dir(test).join("proxy.toml");
        std::fs::write(&path, text).expect("write config");
        let arg = path.to_string_lossy().into_owned();
        let server = Server::spawn(&bin("infergate"), &["proxy", "--config", &arg], &[]);
        Proxy {
            server,
            admin,
            config: path,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.admin, path)
    }

    /// The value of a metric line that starts with `prefix` (0 if absent).
    pub async fn metric(&self, http: &Http, prefix: &str) -> f64 {
        let text = http.get(&self.admin_url("/metrics")).await.text();
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// `host:port` of a server's REST and gRPC ports, for a pool's backends.
/// A gRPC inference client connected to the proxy.
pub async fn grpc_client(
    p: &Proxy,
) -> infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient<
    tonic::transport::Channel,
> {
    infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient::connect(
        p.url(""),
    )
    .await
    .expect("connect to the proxy")
}

pub fn rest(s: &Server) -> String {
    format!("127.0.0.1:{}", s.http.port())
}

pub fn grpc(s: &Server) -> String {
    format!("127.0.0.1:{}", s.grpc.expect("grpc port").port())
}

/// Inference requests a mock backend has served so far.
pub async fn mock_requests(http: &Http, mock: &Server) -> u64 {
    http.get(&mock.url("/mock/stats")).await.json()["requests"]
        .as_u64()
        .expect("requests count")
}

/// A V1 predict body the mock echoes.
pub const V1_BODY: &str = r#"{"instances": [[1.0, 2.0]]}"#;

pub async fn v1_predict(
    http: &Http,
    url: &str,
    headers: &[(&str, &str)],
) -> infergate_tests::Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    http.send(http::Method::POST, url, &all, V1_BODY).await
}

/// Waits until `check` holds (polled every 20 ms), for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
