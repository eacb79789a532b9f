//! ONNX models served end to end: the seed iris request, the text
//! classifier, V2 JSON / binary / gRPC, by `infergate` (embedded predictor)
//! and by `infergate-predictor`.
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::{request_to_grpc, response_from_grpc};
use infergate_proto::{InferRequest, Tensor, TensorData, v2};
use infergate_tests::{Http, Server, bin, example_models};
use serde_json::json;

fn models_arg() -> String {
    example_models().to_string_lossy().into_owned()
}

#[tokio::test]
async fn the_seed_request_answers_like_scikit_learn() {
    for binary in ["infergate", "infergate-predictor"] {
        let s = Server::start(&bin(binary), &["--model_dir", &models_arg()], &[]);
        let r = Http::default().predict_seed(&s, "sklearn-iris").await;
        assert_eq!(r.status, 200, "{binary}: {}", r.text());
        assert_eq!(r.text(), r#"{"predictions":[1,1]}"#, "{binary}");
        // KServe's three step histograms count the request, although an
        // ONNX model has no pre/post-processing (the data plane skips those
        // calls and records the empty steps as zero).
        let metrics = Http::default().get(&s.url("/metrics")).await.text();
        for step in ["preprocess", "predict", "postprocess"] {
            let count = format!("request_{step}_seconds_count{{model_name=\"sklearn-iris\"}} 1");
            assert!(
                metrics.contains(&count),
                "{binary}: no `{count}` in\n{metrics}"
            );
        }
        let zero = "request_preprocess_seconds_sum{model_name=\"sklearn-iris\"} 0\n";
        assert!(metrics.contains(zero), "{binary}: {metrics}");
        // A request that fails in predict counts there, not in postprocess.
        let bad = Http::default()
            .post_json(
                &s.url("/v1/models/sklearn-iris:predict"),
                &json!({"instances": [[1.0, 2.0]]}),
            )
            .await;
        assert_eq!(bad.status, 400, "{binary}: {}", bad.text());
        let metrics = Http::default().get(&s.url("/metrics")).await.text();
        for (step, n) in [("predict", 2), ("postprocess", 1)] {
            let count = format!("request_{step}_seconds_count{{model_name=\"sklearn-iris\"}} {n}");
            assert!(
                metrics.contains(&count),
                "{binary}: no `{count}` in\n{metrics}"
            );
        }
    }
}

#[tokio::test]
async fn the_intent_classifier_answers_string_instances() {
    let s = Server::infergate(&["--model_dir", &models_arg()]);
    let h = Http::default();
    let body = json!({"instances": ["I want to book a flight", "will it rain tomorrow", "play some jazz", "wake me up at seven"]});
    let r = h
        .post_json(&s.url("/v1/models/intent:predict"), &body)
        .await;
    assert_eq!(
        r.json(),
        json!({"predictions": ["book_flight", "weather", "play_music", "set_alarm"]})
    );
    // V2 with a BYTES tensor gets both outputs.
    let v2_body = json!({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["book me a plane ticket"]}]});
    let r = h
        .post_json(&s.url("/v2/models/intent/infer"), &v2_body)
        .await
        .json();
    assert_eq!(
        r["outputs"][0],
        json!({"name": "label", "datatype": "BYTES", "shape": [1], "data": ["book_flight"]})
    );
    assert_eq!(r["outputs"][1]["shape"], json!([1, 4]));
}

#[tokio::test]
async fn metadata_comes_from_the_graph() {
    let s = Server::infergate(&["--model_dir", &models_arg()]);
    let h = Http::default();
    assert_eq!(
        h.get(&s.url("/v1/models")).await.json(),
        json!({"models": ["intent", "mlp", "sklearn-iris"]})
    );
    let m = h.get(&s.url("/v2/models/sklearn-iris")).await.json();
    assert_eq!(m["platform"], "onnx_onnxv1");
    assert_eq!(
        m["inputs"],
        json!([{"name": "float_input", "datatype": "FP32", "shape": [-1, 4]}])
    );
    assert_eq!(
        m["outputs"],
        json!([{"name": "label", "datatype": "INT64", "shape": [-1]}, {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}])
    );
    assert_eq!(
        h.get(&s.url("/v2/models/mlp")).await.json()["inputs"][0]["shape"],
        json!([-1, 256])
    );
    assert_eq!(
        h.get(&s.url("/v2/health/ready")).await.json(),
        json!({"ready": true})
    );
}

fn iris_request() -> InferRequest {
    InferRequest {
        id: Some("iris-1".into()),
        inputs: vec![
            Tensor::new(
                "float_input",
                vec![2, 4],
                TensorData::Fp32(vec![6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]),
            )
            .unwrap(),
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn v2_json_binary_and_grpc_agree() {
    let s = Server::infergate(&["--model_dir", &models_arg()]);
    let h = Http::default();
    let json_body =
        String::from_utf8(v2::encode_request(&iris_request(), false).unwrap().body).unwrap();
    let r = h
        .send(
            http::Method::POST,
            &s.url("/v2/models/sklearn-iris/infer"),
            &[("content-type", "application/json")],
            json_body,
        )
        .await;
    let from_json = v2::decode_response(&r.body, None).unwrap();
    assert_eq!(from_json.id.as_deref(), Some("iris-1"));
    assert_eq!(from_json.outputs[0].data, TensorData::Int64(vec![1, 1]));

    let mut binary_req = iris_request();
    binary_req.parameters.insert(
        "binary_data_output".into(),
        infergate_proto::ParamValue::Bool(true),
    );
    let enc = v2::encode_request(&binary_req, true).unwrap();
    let n = enc.json_len.unwrap().to_string();
    let r = h
        .send(
            http::Method::POST,
            &s.url("/v2/models/sklearn-iris/infer"),
            &[("inference-header-content-length", &n)],
            enc.body,
        )
        .await;
    let len: usize = r
        .header("inference-header-content-length")
        .unwrap()
        .parse()
        .unwrap();
    let from_binary = v2::decode_response(&r.body, Some(len)).unwrap();
    assert_eq!(from_binary.outputs, from_json.outputs);

    let mut c = GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .unwrap();
    let resp = c
        .model_infer(request_to_grpc("sklearn-iris", None, &iris_request(), true).unwrap())
        .await
        .unwrap();
    let from_grpc = response_from_grpc(resp.into_inner()).unwrap();
    assert_eq!(from_grpc.outputs, from_json.outputs);
}

#[tokio::test]
async fn inputs_that_do_not_fit_the_graph_are_400s() {
    let s = Server::infergate(&["--model_dir", &models_arg()]);
    let h = Http::default();
    let infer = s.url("/v2/models/sklearn-iris/infer");
    let cases = [
        (
            json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}),
            "model 'sklearn-iris' has no input 'x' (inputs: float_input)",
        ),
        (
            json!({"inputs": []}),
            "model 'sklearn-iris' needs input 'float_input'",
        ),
        (
            json!({"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}),
            "input 'float_input' must be FP32, got FP64",
        ),
        (
            json!({"inputs": [{"name": "float_input", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}),
            "input 'float_input' must have 2 dimensions [-1, 4], got shape [4]",
        ),
        (
            json!({"inputs": [{"name": "float_input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}),
            "input 'float_input' dimension 1 must be 4, got 3",
        ),
    ];
    for (body, want) in cases {
        let r = h.post_json(&infer, &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.error().contains(want), "{body}: {}", r.error());
    }
    let r = h
        .post_json(
            &s.url("/v1/models/intent:predict"),
            &json!({"instances": [1, 2]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error().contains("BYTES element must be a string"),
        "{}",
        r.error()
    );
    assert_eq!(h.get(&s.url("/v2/health/live")).await.status, 200);
}

/// The ONNX model answers what scikit-learn answers for every iris row
/// (tests/python/sklearn_parity.py trains the same model and compares).
#[test]
fn predictions_match_scikit_learn_on_the_whole_dataset() {
    let Some(python) = infergate_tests::python() else {
        return;
    };
    let s = Server::infergate(&["--model_dir", &models_arg()]);
    let out = std::process::Command::new(python)
        .arg(infergate_tests::workspace_root().join("tests/python/sklearn_parity.py"))
        .arg(s.url("/v1/models/sklearn-iris:predict"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
