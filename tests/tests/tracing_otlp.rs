//! OpenTelemetry tracing end to end: a client's `traceparent` -> transformer
//! -> predictor, exported over OTLP/gRPC to a real receiver (grpcio with the
//! collector's proto), as one trace with the right parent links; the
//! predictor's batching shows as a batch span linked to each request's queue
//! span.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::Method;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, PyFixture, Server, bin, example_models, scratch_dir};
use serde_json::{Value, json};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Spans the receiver has written so far.
fn spans(file: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until `done` holds for the spans received, or fails with them.
fn wait_for(file: &std::path::Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got = spans(file);
        if done(&got) {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: spans so far:\n{}",
            got.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A service's spans named `name`; "request" finds the request spans, which
/// are named for display ("v1 sklearn-iris") and carry the request id.
fn find<'a>(spans: &'a [Value], service: &str, name: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["service"] == service)
        .filter(|s| match name {
            "request" => s["attributes"]["request_id"].is_string(),
            _ => s["name"] == name,
        })
        .collect()
}

/// A real OTLP receiver writing the spans it gets to a file.
struct Receiver {
    fixture: PyFixture,
    file: std::path::PathBuf,
}

impl Receiver {
    /// `None` without the test venv.
    fn start(test: &str) -> Option<Receiver> {
        let file = scratch_dir(test).join("spans.jsonl");
        let fixture = PyFixture::start("otlp_receiver.py", &[&file.to_string_lossy()])?;
        Some(Receiver { fixture, file })
    }

    /// `binary` exporting its spans here as `service`, flushing every 100 ms.
    fn serve(&self, binary: &str, args: &[&str], service: &str) -> Server {
        Server::start(
            &bin(binary),
            args,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", self.fixture.address.as_str()),
                ("OTEL_SERVICE_NAME", service),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ],
        )
    }

    /// The example models' predictor, exporting as "predictor".
    fn predictor(&self) -> Server {
        let models = example_models();
        self.serve(
            "infergate-predictor",
            &["--model_dir", &models.to_string_lossy()],
            "predictor",
        )
    }
}

#[tokio::test]
async fn one_trace_spans_client_transformer_and_predictor() {
    let Some(receiver) = Receiver::start("tracing_otlp") else {
        return;
    };
    let file = receiver.file.clone();
    let predictor = receiver.predictor();
    let host = predictor.http.to_string();
    let transformer = receiver.serve(
        "infergate",
        &[
            "--model_name",
            "sklearn-iris",
            "--predictor_host",
            &host,
            "--predictor_protocol",
            "v2",
        ],
        "transformer",
    );
    let h = Http::default();
    let traceparent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let r = h
        .send(
            Method::POST,
            &transformer.url("/v1/models/sklearn-iris:predict"),
            &[
                ("content-type", "application/json"),
                ("traceparent", &traceparent),
            ],
            json!({"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}).to_string(),
        )
        .await;
    assert_eq!(r.json(), json!({"predictions": [1, 1]}));

    let got = wait_for(&file, "both services' request spans", |s| {
        !find(s, "transformer", "request").is_empty()
            && !find(s, "predictor", "request").is_empty()
            && !find(s, "predictor", "predict").is_empty()
    });
    let by_id: HashMap<&str, &Value> = got
        .iter()
        .map(|s| (s["span_id"].as_str().unwrap(), s))
        .collect();
    let t_request = find(&got, "transformer", "request")[0];
    assert_eq!(t_request["trace_id"], CLIENT_TRACE, "{t_request}");
    assert_eq!(t_request["parent_span_id"], CLIENT_SPAN, "{t_request}");
    assert_eq!(t_request["attributes"]["model"], "sklearn-iris");
    assert_eq!(t_request["attributes"]["protocol"], "v1");
    assert_eq!(t_request["attributes"]["status"], "200");
    assert_eq!(t_request["name"], "v1 sklearn-iris");
    assert_eq!(t_request["kind"], 2, "SPAN_KIND_SERVER");
    assert!(t_request["attributes"]["request_id"].is_string());
    // The transformer's steps hang under its request span.
    for step in ["decode", "preprocess", "predict", "postprocess", "encode"] {
        let s = find(&got, "transformer", step);
        assert!(
            s.iter()
                .any(|s| s["parent_span_id"] == t_request["span_id"]),
            "transformer {step} under its request: {s:?}"
        );
    }
    let t_predict = find(&got, "transformer", "predict")
        .into_iter()
        .find(|s| s["parent_span_id"] == t_request["span_id"])
        .unwrap();
    // The predictor's request span is a child of the transformer's predict
    // (upstream) span, in the same trace.
    let p_request = find(&got, "predictor", "request")[0];
    assert_eq!(p_request["trace_id"], CLIENT_TRACE, "{p_request}");
    assert_eq!(
        p_request["parent_span_id"], t_predict["span_id"],
        "{p_request}"
    );
    assert_eq!(p_request["attributes"]["protocol"], "v2");
    let p_predict = find(&got, "predictor", "predict")[0];
    assert_eq!(p_predict["parent_span_id"], p_request["span_id"]);
    assert!(by_id.contains_key(p_request["span_id"].as_str().unwrap()));

    // gRPC: the trace context comes in the call's metadata.
    let grpc_trace = "0af7651916cd43dd8448eb211c80319c";
    let mut client = GrpcInferenceServiceClient::connect(transformer.grpc_url())
        .await
        .unwrap();
    let iris = InferRequest {
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
    let mut call = tonic::Request::new(request_to_grpc("sklearn-iris", None, &iris, true).unwrap());
    call.metadata_mut().insert(
        "traceparent",
        format!("00-{grpc_trace}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    client.model_infer(call).await.unwrap();
    let got = wait_for(&file, "the gRPC request's span", |s| {
        find(s, "transformer", "request")
            .iter()
            .any(|r| r["trace_id"] == grpc_trace)
    });
    let g_request = find(&got, "transformer", "request")
        .into_iter()
        .find(|r| r["trace_id"] == grpc_trace)
        .unwrap();
    assert_eq!(g_request["parent_span_id"], "b7ad6b7169203331");
    assert_eq!(g_request["attributes"]["protocol"], "grpc");
    assert_eq!(g_request["attributes"]["status"], "OK");
    drop(transformer);
    drop(predictor);
    drop(receiver);
}

#[tokio::test]
async fn a_batch_span_links_to_each_request_it_served() {
    let Some(receiver) = Receiver::start("tracing_otlp_batch") else {
        return;
    };
    let file = receiver.file.clone();
    let predictor = receiver.predictor();
    // Eight MLP requests at once: the batcher (models/mlp/config.toml) joins them.
    let h = Http::default();
    let row: Vec<f32> = (0..256).map(|i| i as f32 / 256.0).collect();
    let body =
        json!({"inputs": [{"name": "input", "shape": [1, 256], "datatype": "FP32", "data": row}]});
    let url = predictor.url("/v2/models/mlp/infer");
    let calls = (0..8).map(|_| h.post_json(&url, &body));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.status, http::StatusCode::OK, "{}", r.text());
    }
    let got = wait_for(&file, "batch and queue spans", |s| {
        !find(s, "predictor", "batch").is_empty() && find(s, "predictor", "queue").len() >= 8
    });
    let queues: HashMap<&str, &Value> = find(&got, "predictor", "queue")
        .into_iter()
        .map(|s| (s["span_id"].as_str().unwrap(), s))
        .collect();
    let mut linked = 0;
    for batch in find(&got, "predictor", "batch") {
        for link in batch["links"].as_array().unwrap() {
            let q = queues
                .get(link["span_id"].as_str().unwrap())
                .unwrap_or_else(|| panic!("a batch links to a queue span: {batch}"));
            assert_eq!(q["trace_id"], link["trace_id"]);
            linked += 1;
        }
    }
    assert_eq!(
        linked, 8,
        "every request's queue span is linked from its batch"
    );
    drop(predictor);
    drop(receiver);
}

#[tokio::test]
async fn retries_of_the_upstream_call_are_events_on_its_span() {
    let Some(receiver) = Receiver::start("tracing_otlp_retry") else {
        return;
    };
    let file = receiver.file.clone();
    // Nothing listens on the predictor's port: each attempt is refused, and
    // refused connections are retried.
    let dead = infergate_tests::free_port().to_string();
    let host = format!("127.0.0.1:{dead}");
    let transformer = receiver.serve(
        "infergate",
        &[
            "--model_name",
            "m",
            "--predictor_host",
            &host,
            "--predictor_request_retries",
            "2",
        ],
        "transformer",
    );
    let r = Http::default()
        .post_json(
            &transformer.url("/v1/models/m:predict"),
            &json!({"instances": [[1]]}),
        )
        .await;
    assert!(r.status.is_server_error(), "{}", r.text());
    let got = wait_for(&file, "the failed request's predict span", |s| {
        find(s, "transformer", "predict")
            .iter()
            .any(|p| p["events"].as_array().is_some_and(|e| !e.is_empty()))
    });
    let predict = find(&got, "transformer", "predict")[0];
    let events: Vec<&str> = predict["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "retry").count(),
        2,
        "{predict}"
    );
    let request = find(&got, "transformer", "request")[0];
    assert!(
        request["attributes"]["status"]
            .as_str()
            .unwrap()
            .starts_with('5')
    );
    drop(transformer);
    drop(receiver);
}

#[tokio::test]
async fn a_caller_that_does_not_sample_its_trace_gets_no_spans() {
    let Some(receiver) = Receiver::start("tracing_otlp_unsampled") else {
        return;
    };
    let file = receiver.file.clone();
    let predictor = receiver.predictor();
    let h = Http::default();
    let url = predictor.url("/v1/models/sklearn-iris:predict");
    let body = json!({"instances": [[6.8, 2.8, 4.8, 1.4]]}).to_string();
    let unsampled = "11111111111111111111111111111111";
    let sampled = "22222222222222222222222222222222";
    for (trace, flags) in [(unsampled, "00"), (sampled, "01")] {
        let tp = format!("00-{trace}-3333333333333333-{flags}");
        let r = h
            .send(
                Method::POST,
                &url,
                &[("content-type", "application/json"), ("traceparent", &tp)],
                body.clone(),
            )
            .await;
        assert_eq!(r.status, http::StatusCode::OK);
    }
    let got = wait_for(&file, "the sampled request's spans", |s| {
        !find(s, "predictor", "request").is_empty()
    });
    assert!(got.iter().any(|s| s["trace_id"] == sampled));
    assert!(got.iter().all(|s| s["trace_id"] != unsampled), "{got:?}");
    drop(predictor);
    drop(receiver);
}
