//! Every REST endpoint of the KServe data plane against the real binary:
//! response shapes, status codes and `{"error": ...}` bodies.
use http::{Method, StatusCode};
use infergate_proto::{TensorData, v2};
use infergate_tests::{Http, Server};
use serde_json::json;

fn start() -> Server {
    Server::infergate(&[
        "--builtin_models",
        "simple,echo",
        "--max_request_bytes",
        "65536",
    ])
}

fn simple_request(id: &str) -> serde_json::Value {
    let a: Vec<i32> = (0..16).collect();
    let b: Vec<i32> = vec![1; 16];
    json!({
        "id": id,
        "inputs": [
            {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": a},
            {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": [b]}
        ]
    })
}

#[tokio::test]
async fn health_metadata_and_listing_endpoints() {
    let s = start();
    let h = Http::default();
    assert_eq!(h.get(&s.url("/")).await.json(), json!({"status": "alive"}));
    assert_eq!(
        h.get(&s.url("/v1/models")).await.json(),
        json!({"models": ["echo", "simple"]})
    );
    assert_eq!(
        h.get(&s.url("/v2/models")).await.json(),
        json!({"models": ["echo", "simple"]})
    );
    assert_eq!(
        h.get(&s.url("/v1/models/simple")).await.json(),
        json!({"name": "simple", "ready": true})
    );
    assert_eq!(
        h.get(&s.url("/v2/health/live")).await.json(),
        json!({"live": true})
    );
    assert_eq!(
        h.get(&s.url("/v2/health/ready")).await.json(),
        json!({"ready": true})
    );
    assert_eq!(
        h.get(&s.url("/v2/models/simple/ready")).await.json(),
        json!({"name": "simple", "ready": true})
    );
    assert_eq!(
        h.get(&s.url("/v2/models/simple/versions/1/ready"))
            .await
            .json(),
        json!({"name": "simple", "ready": true})
    );
    let server = h.get(&s.url("/v2")).await.json();
    assert_eq!(server["name"], "infergate");
    assert!(server["version"].is_string());
    assert!(
        server["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!("binary_tensor_data"))
    );
    let meta = h.get(&s.url("/v2/models/simple")).await.json();
    assert_eq!(meta["name"], "simple");
    assert_eq!(meta["versions"], json!(["1"]));
    assert_eq!(
        meta["inputs"][0],
        json!({"name": "INPUT0", "datatype": "INT32", "shape": [-1, 16]})
    );
    assert_eq!(meta["outputs"][1]["name"], "OUTPUT1");
    assert_eq!(
        h.get(&s.url("/v2/models/simple/versions/1")).await.json(),
        meta
    );
}

#[tokio::test]
async fn v2_json_inference_echoes_the_id_and_selects_outputs() {
    let s = start();
    let h = Http::default();
    let r = h
        .post_json(&s.url("/v2/models/simple/infer"), &simple_request("42"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["id"], "42");
    assert_eq!(body["model_name"], "simple");
    let sum: Vec<i64> = (1..17).collect();
    assert_eq!(
        body["outputs"][0],
        json!({"name": "OUTPUT0", "datatype": "INT32", "shape": [1, 16], "data": sum})
    );
    assert_eq!(body["outputs"][1]["data"][0], -1);

    let mut only_diff = simple_request("43");
    only_diff["outputs"] = json!([{"name": "OUTPUT1"}]);
    let body = h
        .post_json(&s.url("/v2/models/simple/versions/1/infer"), &only_diff)
        .await
        .json();
    assert_eq!(body["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(body["outputs"][0]["name"], "OUTPUT1");

    let mut unknown_output = simple_request("44");
    unknown_output["outputs"] = json!([{"name": "OUTPUT9"}]);
    let r = h
        .post_json(&s.url("/v2/models/simple/infer"), &unknown_output)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.error(),
        "Unexpected inference output 'OUTPUT9' for model 'simple'"
    );
}

#[tokio::test]
async fn v2_binary_extension_both_ways() {
    let s = start();
    let h = Http::default();
    // Inputs binary, outputs binary on request, as tritonclient sends them.
    let mut req = v2::decode_request(simple_request("b").to_string().as_bytes(), None).unwrap();
    req.parameters.insert(
        "binary_data_output".into(),
        infergate_proto::ParamValue::Bool(true),
    );
    let enc = v2::encode_request(&req, true).unwrap();
    let n = enc.json_len.unwrap().to_string();
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[
                ("inference-header-content-length", &n),
                ("content-type", "application/octet-stream"),
            ],
            enc.body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let json_len: usize = r
        .header("inference-header-content-length")
        .expect("binary answer")
        .parse()
        .unwrap();
    let resp = v2::decode_response(&r.body, Some(json_len)).unwrap();
    assert_eq!(resp.id.as_deref(), Some("b"));
    assert_eq!(resp.outputs[0].data, TensorData::Int32((1..17).collect()));
    assert_eq!(resp.outputs[1].data, TensorData::Int32((-1..15).collect()));

    // A malformed binary body is a 400 that names the problem.
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[("inference-header-content-length", "5000")],
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.error()
            .contains("Inference-Header-Content-Length is 5000"),
        "{}",
        r.error()
    );
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[("inference-header-content-length", "x")],
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn v1_predict_and_explain() {
    let s = start();
    let h = Http::default();
    let iris = json!({"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]});
    let r = h.post_json(&s.url("/v1/models/echo:predict"), &iris).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"predictions": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]})
    );
    // curl -d without a content type still works for V1, as in KServe.
    let r = h
        .send(
            Method::POST,
            &s.url("/v1/models/echo:predict"),
            &[],
            iris.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Object instances map to the model's named inputs; rows come back as objects.
    let row = |k: i32| json!({"INPUT0": (0..16).map(|i| i * k).collect::<Vec<_>>(), "INPUT1": vec![2; 16]});
    let r = h
        .post_json(
            &s.url("/v1/models/simple:predict"),
            &json!({"instances": [row(1), row(2)]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let preds = r.json()["predictions"].clone();
    assert_eq!(preds.as_array().unwrap().len(), 2);
    assert_eq!(preds[1]["OUTPUT0"][3], 8);
    assert_eq!(preds[1]["OUTPUT1"][3], 4);

    let ones = vec![vec![1; 16]];
    let cols = json!({"inputs": {"INPUT0": ones, "INPUT1": ones}});
    let r = h
        .post_json(&s.url("/v1/models/simple:predict"), &cols)
        .await;
    assert_eq!(r.json()["outputs"]["OUTPUT0"][0][0], 2);

    let r = h
        .post_json(
            &s.url("/v1/models/echo:explain"),
            &json!({"instances": [1, 2]}),
        )
        .await;
    assert_eq!(r.json(), json!({"predictions": [1, 2]}));
    let r = h
        .post_json(
            &s.url("/v1/models/simple:explain"),
            &json!({"instances": [1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(r.error(), "Model simple does not support explain");
}

#[tokio::test]
async fn unknown_models_and_versions_are_404_with_kserve_message() {
    let s = start();
    let h = Http::default();
    let msg = "Model with name nope does not exist.";
    for r in [
        h.get(&s.url("/v1/models/nope")).await,
        h.get(&s.url("/v2/models/nope")).await,
        h.get(&s.url("/v2/models/nope/ready")).await,
        h.post_json(
            &s.url("/v1/models/nope:predict"),
            &json!({"instances": [1]}),
        )
        .await,
        h.post_json(&s.url("/v2/models/nope/infer"), &simple_request("1"))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.error(), msg);
    }
    let r = h
        .post_json(
            &s.url("/v2/models/simple/versions/7/infer"),
            &simple_request("1"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.error(),
        "Model with name simple version 7 does not exist."
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_400_and_the_server_stays_up() {
    let s = start();
    let h = Http::default();
    let infer = s.url("/v2/models/simple/infer");
    let json_ct = [("content-type", "application/json")];
    type Case<'a> = (Vec<(&'a str, &'a str)>, String, &'a str);
    let cases: Vec<Case> = vec![
        (json_ct.to_vec(), "{not json".into(), "Unrecognized request format"),
        (json_ct.to_vec(), "[]".into(), "Unrecognized request format"),
        (vec![], "{not json".into(), "Unrecognized request format"),
        (
            vec![("content-type", "text/csv")],
            simple_request("1").to_string(),
            "must be JSON (Content-Type: application/json) or use the binary tensor extension",
        ),
        (vec![("content-type", "text/plain")], simple_request("1").to_string(), "got Content-Type 'text/plain'"),
        (
            json_ct.to_vec(),
            simple_request("1").to_string().replace("[1,16]", "[2,16]"),
            "tensor 'INPUT0': shape [2, 16] needs 32 elements but 16 were given",
        ),
        (
            json_ct.to_vec(),
            simple_request("1").to_string().replace("\"INT32\"", "\"FP32\""),
            "input 'INPUT0' must be INT32, got FP32",
        ),
        (
            json_ct.to_vec(),
            json!({"inputs": [{"name": "INPUT0", "shape": [2], "datatype": "INT32", "data": [[1, 2], [3]]}]}).to_string(),
            "tensor 'INPUT0': ragged data",
        ),
        (
            json_ct.to_vec(),
            json!({"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "INT8", "data": [1000]}]}).to_string(),
            "tensor 'INPUT0': value 1000 is out of range for INT8",
        ),
        (
            json_ct.to_vec(),
            json!({"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FLOAT", "data": [1]}]}).to_string(),
            "tensor 'INPUT0': unsupported datatype 'FLOAT'",
        ),
    ];
    for (headers, body, want) in cases {
        let r = h.send(Method::POST, &infer, &headers, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.error().contains(want), "{body}\n -> {}", r.error());
    }
    let r = h
        .send(Method::POST, &s.url("/v1/models/echo:predict"), &[], "{]")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.error().starts_with("Unrecognized request format"),
        "{}",
        r.error()
    );
    let r = h
        .post_json(
            &s.url("/v1/models/echo:predict"),
            &json!({"instances": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "'instances' must be a list");
    // No Content-Type at all is read as JSON, as tritonclient sends it.
    let r = h
        .send(Method::POST, &infer, &[], simple_request("1").to_string())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Still serving.
    assert_eq!(
        h.get(&s.url("/v2/health/live")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn routes_methods_and_body_limits() {
    let s = start();
    let h = Http::default();
    let r = h.get(&s.url("/v3/anything")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error(), "Not Found");
    let r = h.get(&s.url("/v2/models/simple/infer")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error(), "Method Not Allowed");
    let big = vec![b' '; 70_000];
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[("content-type", "application/json")],
            big,
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.error().contains("65536 bytes"), "{}", r.error());
    assert_eq!(h.get(&s.url("/")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    let s = start();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let chunks = (0..20).map(|_| {
        Ok::<_, std::convert::Infallible>(Frame::data(bytes::Bytes::from(vec![b' '; 8192])))
    });
    let body = StreamBody::new(tokio_stream::iter(chunks));
    let req = http::Request::post(s.url("/v1/models/echo:predict"))
        .body(body)
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn repository_load_and_unload() {
    let s = start();
    let h = Http::default();
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/repository/models/echo/unload"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.json(), json!({"name": "echo", "unload": true}));
    assert_eq!(
        h.get(&s.url("/v1/models")).await.json(),
        json!({"models": ["simple"]})
    );
    let r = h
        .post_json(
            &s.url("/v1/models/echo:predict"),
            &json!({"instances": [1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/repository/models/echo/unload"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = h
        .send(
            Method::POST,
            &s.url("/v2/repository/models/echo/load"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.json(), json!({"name": "echo", "load": true}));
    let r = h
        .post_json(
            &s.url("/v1/models/echo:predict"),
            &json!({"instances": [1]}),
        )
        .await;
    assert_eq!(r.json(), json!({"predictions": [1]}));

    let r = h
        .send(
            Method::POST,
            &s.url("/v2/repository/models/nothing-here/load"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error(), "Model with name nothing-here does not exist.");
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/repository/models/..%2Fetc/load"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().starts_with("invalid model name"), "{}", r.error());
}

#[tokio::test]
async fn request_ids_metrics_and_latency_log() {
    let s = start();
    let h = Http::default();
    let r = h
        .send(
            Method::POST,
            &s.url("/v2/models/simple/infer"),
            &[
                ("content-type", "application/json"),
                ("x-request-id", "trace-123"),
            ],
            simple_request("1").to_string(),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-123"));
    let generated = h.get(&s.url("/")).await;
    assert_eq!(
        generated.header("x-request-id").map(str::len),
        Some(36),
        "a UUID is generated"
    );

    // Names no model has get no series (else any client could grow the page).
    let unknown = h
        .post_json(
            &s.url("/v2/models/made-up-name/infer"),
            &simple_request("1"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let metrics = h.get(&s.url("/metrics")).await.text();
    assert!(!metrics.contains("made-up-name"), "{metrics}");
    for name in [
        "request_preprocess_seconds",
        "request_predict_seconds",
        "request_postprocess_seconds",
    ] {
        assert!(
            metrics.contains(&format!(
                "{name}_bucket{{model_name=\"simple\",le=\"0.005\"}}"
            )),
            "{name} histogram missing:\n{metrics}"
        );
        assert!(
            metrics.contains(&format!("{name}_count{{model_name=\"simple\"}} 1")),
            "{metrics}"
        );
    }
    assert!(
        metrics.contains(
            "infergate_requests_total{model_name=\"simple\",protocol=\"v2\",outcome=\"200\"} 1"
        ),
        "{metrics}"
    );
    // Latency lines are written in batches, up to 50 ms after the request.
    let logs = s.logs_once("request latency");
    assert!(
        logs.contains("request latency") && logs.contains("trace-123"),
        "{logs}"
    );
}

#[tokio::test]
async fn http2_cleartext_is_served() {
    let s = start();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let resp = client
        .get(s.url("/v2/health/ready").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), StatusCode::OK);
}
