//! The transformer when its predictor misbehaves: down (503 fast), slow (504
//! at the timeout), refused then up (retried), failing (500 passed on, not
//! retried), too many calls in flight (429 at once), TLS trouble (clear
//! errors), and readiness that follows the
//! predictor's health only when asked.
use std::time::{Duration, Instant};

use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, Server, bin, free_port, scratch_dir};
use serde_json::json;

fn body() -> serde_json::Value {
    json!({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]}]})
}

fn transformer(host: &str, extra: &[&str]) -> Server {
    let mut args = vec![
        "--model_name",
        "m",
        "--predictor_host",
        host,
        "--predictor_protocol",
        "v2",
    ];
    args.extend_from_slice(extra);
    Server::infergate(&args)
}

async fn infer(t: &Server) -> infergate_tests::Reply {
    Http::default()
        .post_json(&t.url("/v2/models/m/infer"), &body())
        .await
}

async fn mock_requests(mock: &Server) -> u64 {
    Http::default().get(&mock.url("/mock/stats")).await.json()["requests"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_predictor_that_is_down_gives_503_quickly() {
    let t = transformer(&format!("127.0.0.1:{}", free_port()), &[]);
    let started = Instant::now();
    let r = infer(&t).await;
    assert_eq!(r.status, 503);
    assert!(r.error().contains("is unreachable"), "{}", r.error());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_predictor_gives_504_at_the_timeout() {
    let mock = Server::mock(&["--latency", "5s"]);
    let t = transformer(
        &mock.http.to_string(),
        &["--predictor_request_timeout_seconds", "1"],
    );
    let started = Instant::now();
    let r = infer(&t).await;
    let took = started.elapsed();
    assert_eq!(r.status, 504);
    assert!(
        r.error().contains("did not answer within 1s"),
        "{}",
        r.error()
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[tokio::test]
async fn refused_then_up_is_retried_and_succeeds() {
    for protocol in ["v2", "grpc-v2"] {
        let (http, grpc) = (free_port(), free_port());
        let host = format!("127.0.0.1:{}", if protocol == "v2" { http } else { grpc });
        let t = Server::infergate(&[
            "--model_name",
            "m",
            "--predictor_host",
            &host,
            "--predictor_protocol",
            protocol,
            "--predictor_request_retries",
            "6",
        ]);
        let call = tokio::spawn({
            let url = t.url("/v2/models/m/infer");
            async move { Http::default().post_json(&url, &body()).await }
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _mock = Server::spawn(
            &bin("infergate-loadtest"),
            &[
                "mock",
                "--http-port",
                &http.to_string(),
                "--grpc-port",
                &grpc.to_string(),
            ],
            &[],
        );
        let r = call.await.unwrap();
        assert_eq!(r.status, 200, "{protocol}: {}", r.text());
        assert_eq!(
            r.json()["outputs"][0]["data"],
            json!([1.5, 2.5]),
            "{protocol}"
        );
    }
}

#[tokio::test]
async fn a_predictor_error_is_passed_on_and_not_retried() {
    let mock = Server::mock(&["--error-rate", "1"]);
    let t = transformer(
        &mock.http.to_string(),
        &["--predictor_request_retries", "3"],
    );
    let before = mock_requests(&mock).await;
    let r = infer(&t).await;
    assert_eq!(r.status, 500);
    assert!(!r.error().is_empty());
    assert_eq!(
        mock_requests(&mock).await - before,
        1,
        "a 500 must not be retried"
    );
    // Without retries asked for, an unreachable predictor is tried once too.
    let t = transformer(&format!("127.0.0.1:{}", free_port()), &[]);
    assert_eq!(infer(&t).await.status, 503);
}

#[tokio::test]
async fn calls_past_the_inflight_limit_are_refused_at_once_and_room_comes_back() {
    let mock = Server::mock(&["--latency", "3s"]);
    let t = transformer(
        &mock.http.to_string(),
        &["--predictor_max_inflight_requests", "2"],
    );
    // Two calls fill the limit while the predictor sits on them.
    let held: Vec<_> = (0..2)
        .map(|_| {
            let url = t.url("/v2/models/m/infer");
            tokio::spawn(async move { Http::default().post_json(&url, &body()).await.status })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while mock_requests(&mock).await < 2 {
        assert!(
            Instant::now() < deadline,
            "the two calls never reached the predictor"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The third is refused without waiting for the predictor, over REST and gRPC.
    let started = Instant::now();
    let r = infer(&t).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.error().contains("--predictor_max_inflight_requests"),
        "{}",
        r.error()
    );
    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![2], TensorData::Fp32(vec![1.5, 2.5])).unwrap()],
        ..Default::default()
    };
    let status = c
        .model_infer(request_to_grpc("m", None, &req, false).unwrap())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals took {:?}",
        started.elapsed()
    );
    assert_eq!(
        mock_requests(&mock).await,
        2,
        "refused calls must not reach the predictor"
    );
    // Once the held calls are answered, their places serve new requests.
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(infer(&t).await.status, 200);
}

/// A CA and a server certificate it signed, written as PEM files.
struct Pki {
    dir: std::path::PathBuf,
}

impl Pki {
    fn new(tag: &str, server_names: &[&str]) -> Pki {
        let dir = scratch_dir(tag);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{tag} CA"));
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let sign = |names: Vec<String>, file: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
        };
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        sign(
            server_names.iter().map(|s| s.to_string()).collect(),
            "server",
        );
        sign(vec!["client".into()], "client");
        Pki { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }
}

#[tokio::test]
async fn tls_to_the_predictor_with_ca_mtls_and_server_name() {
    let pki = Pki::new("tls-upstream", &["predictor.internal"]);
    // The predictor: infergate's echo model over TLS, requiring client certificates.
    let predictor = Server::infergate(&[
        "--builtin_models",
        "echo",
        "--ssl_certfile",
        &pki.path("server.pem"),
        "--ssl_keyfile",
        &pki.path("server.key"),
        "--ssl_client_ca_file",
        &pki.path("ca.pem"),
    ]);
    let host = predictor.http.to_string();
    let tls = [
        "--predictor_use_ssl",
        "true",
        "--predictor_ca_file",
        &pki.path("ca.pem"),
    ];
    let mtls = [
        "--predictor_client_cert",
        &pki.path("client.pem"),
        "--predictor_client_key",
        &pki.path("client.key"),
    ];
    let name = ["--predictor_tls_server_name", "predictor.internal"];
    let transformer = [
        "--model_name",
        "echo",
        "--predictor_host",
        &host,
        "--predictor_protocol",
        "v2",
    ];
    // A transformer in front of the predictor with these TLS flag groups.
    let start =
        |groups: &[&[&str]]| Server::infergate(&[&transformer[..], &groups.concat()].concat());

    let ok = start(&[&tls, &mtls, &name]);
    let r = Http::default()
        .post_json(&ok.url("/v2/models/echo/infer"), &body())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The certificate names predictor.internal, not 127.0.0.1.
    let no_name = start(&[&tls, &mtls]);
    let r = Http::default()
        .post_json(&no_name.url("/v2/models/echo/infer"), &body())
        .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.error().contains("TLS to predictor") && r.error().contains("certificate"),
        "{}",
        r.error()
    );

    // Trusting another CA (the system roots) fails clearly, and is not retried.
    let wrong_ca = start(&[&[
        "--predictor_use_ssl",
        "true",
        "--predictor_request_retries",
        "3",
    ]]);
    let started = Instant::now();
    let r = Http::default()
        .post_json(&wrong_ca.url("/v2/models/echo/infer"), &body())
        .await;
    assert_eq!(r.status, 502);
    assert!(
        r.error().contains("invalid peer certificate"),
        "{}",
        r.error()
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    // Without a client certificate the predictor refuses the handshake.
    let no_cert = start(&[&tls, &name]);
    let r = Http::default()
        .post_json(&no_cert.url("/v2/models/echo/infer"), &body())
        .await;
    assert!(
        r.status == 502 || r.status == 503,
        "{}: {}",
        r.status,
        r.text()
    );
}

async fn ready(t: &Server) -> u16 {
    Http::default()
        .get(&t.url("/v2/health/ready"))
        .await
        .status
        .as_u16()
}

async fn wait_ready(t: &Server, want: u16) -> bool {
    for _ in 0..60 {
        if ready(t).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn readiness_follows_the_predictor_only_when_asked() {
    let (http, grpc) = (free_port(), free_port());
    let host = format!("127.0.0.1:{http}");
    let mock_args = [
        "mock",
        "--http-port",
        &http.to_string(),
        "--grpc-port",
        &grpc.to_string(),
    ];
    let mock = Server::spawn(&bin("infergate-loadtest"), &mock_args, &[]);
    let gated = transformer(
        &host,
        &[
            "--enable_predictor_health_check",
            "--predictor_health_check_interval_seconds",
            "0.2",
        ],
    );
    let free = transformer(&host, &["--predictor_health_check_interval_seconds", "0.2"]);
    assert!(wait_ready(&gated, 200).await, "ready once the predictor is");
    assert_eq!(
        Http::default()
            .get(&gated.url("/v2/models/m/ready"))
            .await
            .status,
        200
    );

    drop(mock);
    assert!(
        wait_ready(&gated, 503).await,
        "not ready once the predictor is gone"
    );
    assert_eq!(
        Http::default()
            .get(&gated.url("/v2/models/m/ready"))
            .await
            .status,
        503
    );
    assert_eq!(
        ready(&free).await,
        200,
        "without the flag readiness is the transformer's own"
    );
    assert_eq!(
        Http::default()
            .get(&gated.url("/v2/health/live"))
            .await
            .status,
        200,
        "liveness never depends on the predictor"
    );

    let _mock = Server::spawn(&bin("infergate-loadtest"), &mock_args, &[]);
    assert!(
        wait_ready(&gated, 200).await,
        "ready again when the predictor is back"
    );
}
