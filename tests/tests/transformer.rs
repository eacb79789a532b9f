//! infergate as a KServe transformer in front of real predictors: a KServe
//! Python predictor over v1 and v2, infergate-predictor over grpc-v2, V1
//! callers of V2 predictors and the reverse, declarative transforms, explain
//! and the headers that travel upstream.
use http::Method;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::{request_to_grpc, response_from_grpc};
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, KservePredictor, PyFixture, Server, bin, example_models, scratch_dir};
use serde_json::{Value, json};

fn transformer(host: &str, protocol: &str, extra: &[&str]) -> Server {
    Server::transformer("sklearn-iris", host, protocol, extra)
}

async fn seed(s: &Server) -> (u16, String) {
    let r = Http::default().predict_seed(s, "sklearn-iris").await;
    (r.status.as_u16(), r.text())
}

fn iris_v2() -> Value {
    json!({"id": "t1", "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
        "data": [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]}]})
}

#[tokio::test]
async fn a_kserve_python_predictor_over_v1_and_v2() {
    let Some(kserve) = KservePredictor::start() else {
        return;
    };
    let h = Http::default();
    // The controller's command line: v1 is the default protocol.
    let t = Server::infergate(&[
        "--model_name",
        "sklearn-iris",
        "--predictor_host",
        &kserve.host(),
        "--workers",
        "1",
    ]);
    assert_eq!(seed(&t).await, (200, r#"{"predictions":[1,1]}"#.into()));
    // A V2 caller in front of the V1 predictor.
    let r = h
        .post_json(&t.url("/v2/models/sklearn-iris/infer"), &iris_v2())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["data"], json!([1, 1]));
    assert_eq!(r.json()["id"], "t1");

    let t = transformer(&kserve.host(), "v2", &[]);
    // A V1 caller in front of the V2 predictor.
    assert_eq!(seed(&t).await, (200, r#"{"predictions":[1,1]}"#.into()));
    let r = h
        .post_json(&t.url("/v2/models/sklearn-iris/infer"), &iris_v2())
        .await
        .json();
    assert_eq!(r["outputs"][0]["data"], json!([1, 1]));
    // Metadata comes from the predictor.
    let m = h.get(&t.url("/v2/models/sklearn-iris")).await.json();
    assert_eq!(m["name"], "sklearn-iris");
}

#[tokio::test]
async fn infergate_predictor_over_grpc_v2_for_every_caller() {
    let p = Server::start(
        &bin("infergate-predictor"),
        &["--model_dir", example_models().to_str().unwrap()],
        &[],
    );
    let grpc_host = p.grpc.unwrap().to_string();
    let t = transformer(&grpc_host, "grpc-v2", &[]);
    assert_eq!(
        seed(&t).await,
        (200, r#"{"predictions":[1,1]}"#.into()),
        "the label output, as the model answers V1"
    );
    let h = Http::default();
    let body = json!({"inputs": [{"name": "float_input", "shape": [1, 4], "datatype": "FP32", "data": [6.8, 2.8, 4.8, 1.4]}]});
    let r = h
        .post_json(&t.url("/v2/models/sklearn-iris/infer"), &body)
        .await
        .json();
    assert_eq!(r["outputs"][0]["name"], "label");
    assert_eq!(r["outputs"][1]["shape"], json!([1, 3]));
    // A gRPC caller, through the transformer's own gRPC port.
    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    let req = InferRequest {
        inputs: vec![
            Tensor::new(
                "float_input",
                vec![1, 4],
                TensorData::Fp32(vec![6.8, 2.8, 4.8, 1.4]),
            )
            .unwrap(),
        ],
        ..Default::default()
    };
    let resp = c
        .model_infer(request_to_grpc("sklearn-iris", None, &req, true).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response_from_grpc(resp.into_inner()).unwrap().outputs[0].data,
        TensorData::Int64(vec![1])
    );
    // Metadata is the predictor's, under the transformer's name.
    let m = h.get(&t.url("/v2/models/sklearn-iris")).await.json();
    assert_eq!(m["inputs"][0]["name"], "float_input");
}

#[tokio::test]
async fn declarative_transforms_reshape_requests_and_answers() {
    let p = Server::start(
        &bin("infergate-predictor"),
        &["--model_dir", example_models().to_str().unwrap()],
        &[],
    );
    let config = scratch_dir("transformer-config").join("transform.toml");
    std::fs::write(
        &config,
        r#"
[[preprocess]]
op = "pick"
fields = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
name = "float_input"

[[postprocess]]
op = "labels"
tensor = "label"
labels = ["setosa", "versicolor", "virginica"]

[[postprocess]]
op = "top_k"
tensor = "probabilities"
k = 1
"#,
    )
    .unwrap();
    let t = transformer(
        &p.http.to_string(),
        "v2",
        &["--transformer_config", config.to_str().unwrap()],
    );
    let body = json!({"instances": [
        {"sepal_length": 6.8, "sepal_width": 2.8, "petal_length": 4.8, "petal_width": 1.4},
        {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]});
    let r = Http::default()
        .post_json(&t.url("/v1/models/sklearn-iris:predict"), &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let preds = r.json()["predictions"].clone();
    assert_eq!(preds[0]["label"], "versicolor");
    assert_eq!(preds[1]["label"], "setosa");
    assert_eq!(preds[0]["probabilities_top_k_indices"], json!([1]));
    let bad = json!({"instances": [{"sepal_length": 6.8}]});
    let r = Http::default()
        .post_json(&t.url("/v1/models/sklearn-iris:predict"), &bad)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.error()),
        (400, "instance 0 lacks field 'sepal_width'".to_string())
    );
}

#[tokio::test]
async fn explain_goes_to_the_explainer_host() {
    // infergate's built-in echo model explains by echoing: a real explain route.
    let explainer = Server::infergate(&["--builtin_models", "echo"]);
    let predictor = Server::infergate(&["--builtin_models", "echo"]);
    let t = Server::infergate(&[
        "--model_name",
        "echo",
        "--predictor_host",
        &predictor.http.to_string(),
        "--predictor_protocol",
        "v2",
        "--explainer_host",
        &explainer.http.to_string(),
        "--enable_access_log",
    ]);
    let r = Http::default()
        .post_json(
            &t.url("/v1/models/echo:explain"),
            &json!({"instances": [[1, 2]]}),
        )
        .await;
    assert_eq!(r.json(), json!({"predictions": [[1, 2]]}));
    assert!(
        !predictor.logs().contains(":explain"),
        "explain must not reach the predictor"
    );
}

#[tokio::test]
async fn only_allowed_headers_reach_the_predictor_and_the_request_id_comes_back() {
    let Some(echo) = PyFixture::start("header_echo_predictor.py", &[]) else {
        return;
    };
    let host = echo.address.trim_start_matches("http://").to_string();
    let t = transformer(&host, "v2", &["--forward_header", "x-tenant"]);
    let body = json!({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1]}]});
    let r = Http::default()
        .send(
            Method::POST,
            &t.url("/v2/models/sklearn-iris/infer"),
            &[
                ("content-type", "application/json"),
                ("x-request-id", "req-42"),
                (
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                ),
                ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
                ("authorization", "Bearer token"),
                ("cookie", "session=secret"),
                ("x-tenant", "acme"),
                ("x-internal", "no"),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("req-42"));
    let seen: Value =
        serde_json::from_str(r.json()["outputs"][0]["data"][0].as_str().unwrap()).unwrap();
    for (k, v) in [
        ("x-request-id", "req-42"),
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("authorization", "Bearer token"),
        ("x-tenant", "acme"),
    ] {
        assert_eq!(seen[k], v, "{k} must be forwarded: {seen}");
    }
    for k in ["cookie", "x-internal"] {
        assert!(seen.get(k).is_none(), "{k} must not leak upstream: {seen}");
    }
    // Without an incoming id, one is generated, sent and returned.
    let r = Http::default()
        .post_json(&t.url("/v2/models/sklearn-iris/infer"), &body)
        .await;
    let id = r.header("x-request-id").unwrap().to_string();
    let seen: Value =
        serde_json::from_str(r.json()["outputs"][0]["data"][0].as_str().unwrap()).unwrap();
    assert_eq!(seen["x-request-id"], id.as_str());
}

#[tokio::test]
async fn load_undoes_unload_over_rest_and_grpc() {
    use infergate_proto::grpc::pb::{
        ModelReadyRequest, RepositoryModelLoadRequest, RepositoryModelUnloadRequest,
    };
    let mock = Server::mock(&[]);
    let t = Server::infergate(&[
        "--model_name",
        "m",
        "--predictor_host",
        &mock.http.to_string(),
        "--predictor_protocol",
        "v2",
    ]);
    let h = Http::default();
    let body = json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.5]}]});
    let url = t.url("/v2/models/m/infer");
    let infer = || h.post_json(&url, &body);
    let repo = |op: &str| t.url(&format!("/v2/repository/models/m/{op}"));
    assert_eq!(infer().await.status, 200);
    let r = h.post_json(&repo("unload"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(infer().await.status, 404);
    let r = h.post_json(&repo("load"), &json!({})).await;
    assert_eq!(
        r.status,
        200,
        "load brings back what unload took: {}",
        r.text()
    );
    assert_eq!(infer().await.status, 200);
    let r = h
        .post_json(&t.url("/v2/repository/models/other/load"), &json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());

    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    let ready = |mut c: GrpcInferenceServiceClient<_>| async move {
        let req = ModelReadyRequest {
            name: "m".into(),
            version: String::new(),
        };
        c.model_ready(req).await.unwrap().into_inner().ready
    };
    c.repository_model_unload(RepositoryModelUnloadRequest {
        model_name: "m".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(!ready(c.clone()).await);
    let r = c
        .repository_model_load(RepositoryModelLoadRequest {
            model_name: "m".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(r.into_inner().is_loaded);
    assert!(ready(c.clone()).await);
    assert_eq!(infer().await.status, 200);
}
