//! Credentials never reach the logs, at any level: a transformer that
//! forwards `authorization` (and allow-listed API key headers) to its
//! predictor, over REST and gRPC, logging at trace with the access log on.
use std::time::Duration;

use http::Method;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, Server, bin};
use serde_json::json;

const SECRET: &str = "SECRET123";

fn credentials() -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {SECRET}")),
        ("proxy-authorization", format!("Basic {SECRET}")),
        ("cookie", format!("session={SECRET}")),
        ("x-api-key", SECRET.to_string()),
        ("x-auth-token", SECRET.to_string()),
        ("x-client-secret", SECRET.to_string()),
    ]
}

fn transformer(upstream: &str, protocol: &str) -> Server {
    Server::start(
        &bin("infergate"),
        &[
            "--model_name",
            "m",
            "--predictor_host",
            upstream,
            "--predictor_protocol",
            protocol,
            // Forwarded upstream as well, so that they pass through the
            // client code too.
            "--forward_header",
            "x-api-key,x-auth-token,x-client-secret",
            "--enable_access_log",
        ],
        &[("RUST_LOG", "trace")],
    )
}

async fn send_with_credentials(t: &Server) {
    let body =
        json!({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]}]});
    let creds = credentials();
    let mut headers: Vec<(&str, &str)> = creds.iter().map(|(k, v)| (*k, v.as_str())).collect();
    headers.push(("content-type", "application/json"));
    let r = Http::default()
        .send(
            Method::POST,
            &t.url("/v2/models/m/infer"),
            &headers,
            body.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A failing request too: its error paths log more.
    let r = Http::default()
        .send(Method::POST, &t.url("/v2/models/m/infer"), &headers, "{")
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![2], TensorData::Fp32(vec![1.5, 2.5])).unwrap()],
        ..Default::default()
    };
    let mut grpc = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .expect("connect");
    let mut call = tonic::Request::new(request_to_grpc("m", None, &req, false).unwrap());
    for (k, v) in &creds {
        call.metadata_mut()
            .insert(*k, v.parse().expect("metadata value"));
    }
    grpc.model_infer(call).await.expect("gRPC infer");
}

#[tokio::test]
async fn credentials_never_reach_the_logs_even_at_trace() {
    let mock = Server::mock(&[]);
    let rest = transformer(&mock.http.to_string(), "v2");
    let grpc_host = mock.grpc.expect("mock gRPC").to_string();
    let grpc = transformer(&grpc_host, "grpc-v2");
    for t in [rest, grpc] {
        send_with_credentials(&t).await;
        let mut t = t;
        // Stopping flushes every queued line.
        t.terminate();
        assert_eq!(t.wait(Duration::from_secs(20)), Some(true));
        let logs = t.logs();
        assert!(logs.contains("TRACE"), "trace level was not on: {logs}");
        assert!(logs.contains("infergate::access"), "{logs}");
        if let Some(at) = logs.find(SECRET) {
            let line = logs[..at].rsplit('\n').next().unwrap_or_default();
            panic!("a credential reached the log: {line}{}", &logs[at..]);
        }
    }
}
