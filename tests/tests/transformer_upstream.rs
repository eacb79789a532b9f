//! What the transformer takes from its predictor: answers cut off at
//! --max_predictor_response_bytes (REST, streamed or declared, and gRPC),
//! error text cut short, odd statuses and malformed V1 answers as 502 for
//! every caller, V1 predictions named by the model's outputs, and
//! --predictor_host written as a URL.
use std::time::{Duration, Instant};

use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, PyFixture, Server, bin, example_models, run_to_exit, scratch_dir};
use serde_json::{Value, json};

fn misbehaving() -> Option<(PyFixture, String)> {
    let p = PyFixture::start("misbehaving_predictor.py", &[])?;
    let host = p.address.trim_start_matches("http://").to_string();
    Some((p, host))
}

/// The start of an answer, for messages (a failing answer may be huge).
fn head(r: &infergate_tests::Reply) -> String {
    r.text().chars().take(300).collect()
}

fn v2_body(values: usize) -> Value {
    json!({"inputs": [{"name": "x", "shape": [1, values], "datatype": "FP32",
        "data": vec![1.5; values]}]})
}

/// The gRPC status code a gRPC caller of the transformer gets for `req`.
async fn grpc_code(t: &Server, model: &str, req: &InferRequest) -> tonic::Code {
    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    match c
        .model_infer(request_to_grpc(model, None, req, true).unwrap())
        .await
    {
        Ok(_) => tonic::Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_limit() {
    let Some((p, host)) = misbehaving() else {
        return;
    };
    let t = Server::transformer(
        "endless",
        &host,
        "v1",
        &["--max_predictor_response_bytes", "1048576"],
    );
    let started = Instant::now();
    let r = Http::default()
        .post_json(
            &t.url("/v1/models/endless:predict"),
            &json!({"instances": [[1]]}),
        )
        .await;
    assert_eq!(r.status, 502, "{}", head(&r));
    assert!(
        r.error().contains("larger than the limit of 1048576 bytes")
            && r.error().contains("--max_predictor_response_bytes"),
        "{}",
        head(&r)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The transformer stopped reading: the predictor could not send much
    // more than the limit and the socket buffers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Http::default()
        .get(&format!("{}/stats", p.address))
        .await
        .json()["endless"]
        .as_u64()
        .unwrap();
    assert!(sent < 32 << 20, "the predictor sent {sent} bytes");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let Some((_p, host)) = misbehaving() else {
        return;
    };
    let t = Server::transformer("declared", &host, "v1", &[]);
    let started = Instant::now();
    let (h, url, body) = (
        Http::default(),
        t.url("/v1/models/declared:predict"),
        json!({"instances": [[1]]}),
    );
    let call = h.post_json(&url, &body);
    let r = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("an answer, not a wait for 10 GB");
    assert_eq!(r.status, 502, "{}", head(&r));
    assert!(
        r.error().contains("limit of 67108864 bytes"),
        "{}",
        head(&r)
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no waiting for the body"
    );
}

#[tokio::test]
async fn rest_and_grpc_answers_over_the_limit_are_502() {
    let mock = Server::mock(&[]);
    let limit = ["--max_predictor_response_bytes", "100000"];
    for (host, protocol) in [
        (mock.http.to_string(), "v2"),
        (mock.grpc.unwrap().to_string(), "grpc-v2"),
    ] {
        let t = Server::transformer("m", &host, protocol, &limit);
        let h = Http::default();
        let url = t.url("/v2/models/m/infer");
        let small = h.post_json(&url, &v2_body(100)).await;
        assert_eq!(small.status, 200, "{protocol}: {}", head(&small));
        // The mock echoes: 50000 FP32 values are 200 kB in either form.
        let big = h.post_json(&url, &v2_body(50_000)).await;
        assert_eq!(big.status, 502, "{protocol}: {}", head(&big));
        assert!(
            big.error().contains("--max_predictor_response_bytes"),
            "{protocol}: {}",
            big.error()
        );
    }
}

#[tokio::test]
async fn odd_statuses_are_502_and_error_text_is_cut() {
    let Some((_p, host)) = misbehaving() else {
        return;
    };
    let body = json!({"instances": [[1]]});
    for (model, want, text) in [
        ("status599", 502, "unexpected HTTP status 599: odd"),
        ("status302", 502, "unexpected HTTP status 302"),
        ("longerror", 500, "... (truncated, 100000 bytes)"),
    ] {
        let t = Server::transformer(model, &host, "v1", &[]);
        let r = Http::default()
            .post_json(&t.url(&format!("/v1/models/{model}:predict")), &body)
            .await;
        assert_eq!(r.status, want, "{model}: {}", r.text());
        assert!(r.error().contains(text), "{model}: {}", r.error());
        assert!(r.error().len() < 4200, "{model}: {} bytes", r.error().len());
    }
}

#[tokio::test]
async fn a_malformed_v1_answer_is_502_for_every_caller() {
    let Some((_p, host)) = misbehaving() else {
        return;
    };
    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![1, 2], TensorData::Fp32(vec![1.0, 2.0])).unwrap()],
        ..Default::default()
    };
    for model in ["ragged", "string", "emptyobj", "emptylist"] {
        let t = Server::transformer(model, &host, "v1", &[]);
        let h = Http::default();
        let r = h
            .post_json(
                &t.url(&format!("/v1/models/{model}:predict")),
                &json!({"instances": [[1, 2]]}),
            )
            .await;
        assert_eq!(r.status, 502, "V1 {model}: {}", r.text());
        assert!(r.error().contains("a V1 answer"), "{}", r.error());
        let r = h
            .post_json(&t.url(&format!("/v2/models/{model}/infer")), &v2_body(2))
            .await;
        assert_eq!(r.status, 502, "V2 {model}: {}", r.text());
        assert_eq!(
            grpc_code(&t, model, &req).await,
            tonic::Code::Unavailable,
            "gRPC {model}"
        );
    }
}

fn labels_config(tag: &str) -> String {
    let config = scratch_dir(tag).join("labels.toml");
    std::fs::write(
        &config,
        "[[postprocess]]\nop = \"labels\"\ntensor = \"label\"\n\
         labels = [\"setosa\", \"versicolor\", \"virginica\"]\n",
    )
    .unwrap();
    config.to_string_lossy().into_owned()
}

#[tokio::test]
async fn v1_predictions_are_named_by_the_predictors_metadata() {
    // infergate's predictor answers V1 with the label output alone, and V2
    // metadata (label, probabilities) on the same port.
    let p = Server::start(
        &bin("infergate-predictor"),
        &["--model_dir", example_models().to_str().unwrap()],
        &[],
    );
    let config = labels_config("v1-output-names");
    let t = Server::transformer(
        "sklearn-iris",
        &p.http.to_string(),
        "v1",
        &["--transformer_config", &config],
    );
    let data = vec![6.8, 2.8, 4.8, 1.4, 5.1, 3.5, 1.4, 0.2];
    let body = json!({"inputs": [{"name": "float_input", "shape": [2, 4], "datatype": "FP32",
        "data": data}]});
    let h = Http::default();
    let r = h
        .post_json(&t.url("/v2/models/sklearn-iris/infer"), &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["name"], "label");
    assert_eq!(
        r.json()["outputs"][0]["data"],
        json!(["versicolor", "setosa"])
    );
    let req = InferRequest {
        inputs: vec![Tensor::new("float_input", vec![2, 4], TensorData::Fp32(data)).unwrap()],
        ..Default::default()
    };
    assert_eq!(grpc_code(&t, "sklearn-iris", &req).await, tonic::Code::Ok);
    let r = h
        .post_json(
            &t.url("/v1/models/sklearn-iris:predict"),
            &json!({"instances": [[6.8, 2.8, 4.8, 1.4]]}),
        )
        .await;
    assert_eq!(r.text(), r#"{"predictions":["versicolor"]}"#);
}

#[tokio::test]
async fn v1_predictions_are_named_by_the_flag_without_metadata() {
    let Some((_p, host)) = misbehaving() else {
        return;
    };
    let config = labels_config("v1-output-flag");
    let url = |t: &Server| t.url("/v2/models/plain/infer");
    let named = Server::transformer(
        "plain",
        &host,
        "v1",
        &[
            "--transformer_config",
            &config,
            "--predictor_v1_output",
            "label",
        ],
    );
    let r = Http::default().post_json(&url(&named), &v2_body(2)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["outputs"][0]["data"],
        json!(["setosa", "virginica"])
    );
    // Without metadata or the flag the tensor keeps V1's default name.
    let unnamed = Server::transformer("plain", &host, "v1", &[]);
    let r = Http::default().post_json(&url(&unnamed), &v2_body(2)).await;
    assert_eq!(r.json()["outputs"][0]["name"], "output-0", "{}", r.text());
}

#[tokio::test]
async fn predictor_host_may_be_a_url() {
    let Some((p, _)) = misbehaving() else {
        return;
    };
    // The fixture's address is http://127.0.0.1:PORT; a slash is added too.
    let t = Server::transformer("plain", &format!("{}/", p.address), "v1", &[]);
    let r = Http::default()
        .post_json(
            &t.url("/v1/models/plain:predict"),
            &json!({"instances": [[1], [2]]}),
        )
        .await;
    assert_eq!(r.text(), r#"{"predictions":[0,2]}"#);
    for (host, extra, why) in [
        (
            "ftp://127.0.0.1:1",
            &[][..],
            "scheme 'ftp' is not supported",
        ),
        (
            "https://127.0.0.1:1",
            &["--predictor_use_ssl", "false"][..],
            "contradicts --predictor_use_ssl false",
        ),
        (
            "http://127.0.0.1:1/v1/models/m",
            &[][..],
            "a path is not allowed",
        ),
    ] {
        let args = [&["--model_name", "m", "--predictor_host", host][..], extra].concat();
        let (ok, stderr) = run_to_exit(&bin("infergate"), &args, &[]);
        assert!(!ok, "{host} must be refused");
        assert!(
            stderr.contains(&format!("--predictor_host '{host}'")) && stderr.contains(why),
            "{host}: {stderr}"
        );
    }
}
