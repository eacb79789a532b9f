//! Inputs at the edges of the wire formats, against the real binary: the
//! codes and messages a client gets, and what it must never get (a panic, a
//! hang, memory spent on a shape with nothing in it).
use http::{Method, StatusCode};
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, Server};
use serde_json::json;
use tonic::Code;

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--builtin_models", "simple,echo"];
    args.extend_from_slice(extra);
    Server::infergate(&args)
}

fn echo_request(values: usize) -> InferRequest {
    InferRequest {
        inputs: vec![
            Tensor::new("x", vec![1, values], TensorData::Fp32(vec![0.5; values])).unwrap(),
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn grpc_size_limits_are_resource_exhausted_and_counted_so() {
    let s = start(&[
        "--grpc_max_receive_message_length",
        "4096",
        "--grpc_max_send_message_length",
        "2048",
    ]);
    let mut c = GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .unwrap();
    // Over the receive limit.
    let big = request_to_grpc("echo", None, &echo_request(2000), true).unwrap();
    let err = c.model_infer(big).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("--grpc_max_receive_message_length"),
        "{err:?}"
    );
    // Under the receive limit, but the echo answer is over the send limit.
    let mid = request_to_grpc("echo", None, &echo_request(700), true).unwrap();
    let err = c.model_infer(mid).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("--grpc_max_send_message_length"),
        "{err:?}"
    );
    // A small one still works on the same connection.
    let small = request_to_grpc("echo", None, &echo_request(4), true).unwrap();
    assert!(c.model_infer(small).await.is_ok());
    let metrics = Http::default().get(&s.url("/metrics")).await.text();
    let outcome = |o: &str| {
        metrics.lines().any(|l| {
            l.starts_with("infergate_requests_total")
                && l.contains("model_name=\"echo\"")
                && l.contains("protocol=\"grpc\"")
                && l.contains(&format!("outcome=\"{o}\""))
        })
    };
    assert!(outcome("ResourceExhausted"), "{metrics}");
    assert!(outcome("OK"), "{metrics}");
}

#[tokio::test]
async fn rest_paths_content_types_and_shapes() {
    let s = start(&[]);
    let h = Http::default();
    let body =
        json!({"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", "data": [1, 2]}]});
    // A percent-encoded model name is the model's.
    let r = h.post_json(&s.url("/v2/models/%65cho/infer"), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // curl -d's default content type, as KServe's docs paste it.
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/echo/infer"),
            &[("content-type", "application/x-www-form-urlencoded")],
            body.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["data"], json!([1, 2]));
    // A form body that is not JSON is a clear 400.
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/echo/infer"),
            &[("content-type", "application/x-www-form-urlencoded")],
            "a=1&b=2",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // `simple` accepts what its metadata says ([-1, 16]) and nothing else.
    let eight: Vec<i32> = (0..8).collect();
    let r = h
        .post_json(
            &s.url("/v2/models/simple/infer"),
            &json!({"inputs": [
                {"name": "INPUT0", "shape": [1, 8], "datatype": "INT32", "data": eight},
                {"name": "INPUT1", "shape": [1, 8], "datatype": "INT32", "data": eight}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("[-1, 16]"), "{}", r.error());
}

#[tokio::test]
async fn empty_tensors_with_huge_dimensions_are_refused_fast() {
    let s = start(&[]);
    let h = Http::default();
    for shape in [json!([1u64 << 40, 0]), json!([0, 1u64 << 61])] {
        let body =
            json!({"inputs": [{"name": "x", "shape": shape, "datatype": "FP32", "data": []}]});
        let r = h.post_json(&s.url("/v2/models/echo/infer"), &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{shape}: {}", r.text());
        assert!(r.error().contains("holds no elements"), "{}", r.error());
    }
    // Still alive and quick.
    let r = h.get(&s.url("/v2/health/live")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn deep_nesting_has_one_answer_for_every_datatype() {
    let s = start(&[]);
    let h = Http::default();
    for (datatype, leaf) in [("FP32", "1.5"), ("BYTES", "\"a\""), ("BOOL", "true")] {
        let data = format!("{}{leaf}{}", "[".repeat(100), "]".repeat(100));
        let body = format!(
            r#"{{"inputs": [{{"name": "x", "shape": [1], "datatype": "{datatype}", "data": {data}}}]}}"#
        );
        let r = h
            .send(Method::POST, &s.url("/v2/models/echo/infer"), &[], body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{datatype}");
        assert!(
            r.error().contains("nested deeper than 64"),
            "{datatype}: {}",
            r.error()
        );
    }
}

#[test]
fn unreadable_tls_files_fail_before_listening() {
    for bin in ["infergate", "infergate-predictor"] {
        let model = if bin == "infergate" {
            ["--builtin_models", "echo"]
        } else {
            ["--model_dir", "../models"]
        };
        let out = std::process::Command::new(infergate_tests::bin(bin))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "--bind_address",
                "127.0.0.1",
                "--http_port",
                "0",
                "--grpc_port",
                "0",
            ])
            .args(model)
            .args(["--ssl_certfile", "/nonexistent/cert.pem"])
            .args(["--ssl_keyfile", "/nonexistent/key.pem"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bin}: {stderr}");
        assert!(
            !stdout.contains("listening"),
            "{bin} said it was listening: {stdout}"
        );
        assert!(stderr.contains("/nonexistent/cert.pem"), "{bin}: {stderr}");
    }
}
