//! The opt-in access log: one line per request, REST and gRPC, with request
//! id, model, protocol, status, duration and bytes; none by default.
use http::Method;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, Server};
use serde_json::{Value, json};

fn simple_body() -> String {
    json!({"inputs": [
        {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": (0..16).collect::<Vec<_>>()},
        {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": vec![1; 16]}
    ]})
    .to_string()
}

/// Sends one REST and one gRPC inference request with the given request ids.
async fn two_requests(s: &Server, rest_id: &str, grpc_id: &str) -> usize {
    let body = simple_body();
    let r = Http::default()
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[
                ("content-type", "application/json"),
                ("x-request-id", rest_id),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let req = InferRequest {
        inputs: vec![
            Tensor::new("INPUT0", vec![1, 16], TensorData::Int32((0..16).collect())).unwrap(),
            Tensor::new("INPUT1", vec![1, 16], TensorData::Int32(vec![1; 16])).unwrap(),
        ],
        ..Default::default()
    };
    let mut grpc = GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .expect("connect");
    let mut call = tonic::Request::new(request_to_grpc("simple", None, &req, false).unwrap());
    call.metadata_mut()
        .insert("x-request-id", grpc_id.parse().unwrap());
    grpc.model_infer(call).await.expect("gRPC infer");
    body.len()
}

fn access_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "infergate::access")
        .collect()
}

/// The log and its access lines once there are `n` (or after 10 s).
fn access_lines_once(s: &Server, n: usize) -> (String, Vec<Value>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logs = s.logs();
        let lines = access_lines(&logs);
        if lines.len() >= n || std::time::Instant::now() > deadline {
            return (logs, lines);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn the_access_log_has_one_line_per_request() {
    for flag in ["--enable_access_log", "--access_log"] {
        let s = Server::infergate(&["--builtin_models", "simple", "--log_format", "json", flag]);
        let sent = two_requests(&s, "rest-1", "grpc-1").await;
        let (logs, lines) = access_lines_once(&s, 2);
        let rest = lines
            .iter()
            .find(|l| l["fields"]["request_id"] == "rest-1")
            .unwrap_or_else(|| panic!("{flag}: no REST access line in {logs}"));
        let f = &rest["fields"];
        assert_eq!(f["model"], "simple", "{f}");
        assert_eq!(f["protocol"], "v2", "{f}");
        assert_eq!(f["status"], "200", "{f}");
        assert_eq!(f["method"], "POST", "{f}");
        assert_eq!(f["path"], "/v2/models/simple/infer", "{f}");
        assert_eq!(f["bytes_in"], sent as u64, "{f}");
        assert!(f["bytes_out"].as_u64().unwrap_or(0) > 0, "{f}");
        assert!(f["duration_ms"].as_f64().unwrap_or(-1.0) >= 0.0, "{f}");
        let grpc = lines
            .iter()
            .find(|l| l["fields"]["request_id"] == "grpc-1")
            .unwrap_or_else(|| panic!("{flag}: no gRPC access line in {logs}"));
        let f = &grpc["fields"];
        assert_eq!(f["model"], "simple", "{f}");
        assert_eq!(f["protocol"], "grpc", "{f}");
        assert_eq!(f["status"], "OK", "{f}");
        assert!(f["bytes_in"].as_u64().unwrap_or(0) > 0, "{f}");
        assert!(f["bytes_out"].as_u64().unwrap_or(0) > 0, "{f}");
        assert_eq!(lines.len(), 2, "one line per request: {logs}");
    }
}

#[tokio::test]
async fn there_is_no_access_log_by_default() {
    let s = Server::infergate(&["--builtin_models", "simple", "--log_format", "json"]);
    two_requests(&s, "rest-2", "grpc-2").await;
    // The latency line of the gRPC request comes after its access line would.
    let logs = s.logs_once("request latency");
    assert!(logs.contains("request latency"), "{logs}");
    let mut s = s;
    s.terminate();
    assert_eq!(s.wait(std::time::Duration::from_secs(20)), Some(true));
    let logs = s.logs();
    assert!(access_lines(&logs).is_empty(), "{logs}");
}
