//! KServe's agent batcher in the transformer (`--enable-batcher`), in front
//! of a real predictor without batching of its own: V1, V2 REST and gRPC
//! callers batched into fewer predictor calls for each predictor protocol,
//! every caller getting exactly its own rows; a member the predictor
//! refuses gets its own error while the others get their answers; a full
//! queue refuses at once; KServe's Python predictor behind it answers as
//! it does unbatched.
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::{request_to_grpc, response_from_grpc};
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{
    Http, KservePredictor, Server, bin, example_models, make_test_models, run_to_exit, scratch_dir,
};
use serde_json::{Value, json};

/// A predictor serving the test models (rowsum: `x` [n, w] -> `sum` [n]),
/// with no batching of its own.
fn predictor(test: &str) -> Option<Server> {
    let repo = scratch_dir(test);
    make_test_models(&repo)?;
    Some(Server::infergate(&["--model_dir", repo.to_str().unwrap()]))
}

fn batching_transformer(model: &str, host: &str, protocol: &str, extra: &[&str]) -> Server {
    let args = [&["--enable-batcher"], extra].concat();
    Server::transformer(model, host, protocol, &args)
}

/// The sum of a counter's series whose labels contain `model_name="{model}"`.
async fn counter(h: &Http, s: &Server, name: &str, model: &str) -> f64 {
    let text = h.get(&s.url("/metrics")).await.text();
    let label = format!("model_name=\"{model}\"");
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Request `i`'s rows: 1 to 3 rows of width 2, values unique to it.
fn rows_of(i: usize) -> Vec<[f32; 2]> {
    (0..1 + i % 3)
        .map(|r| [(100 * i + 10 * r) as f32, 1.0 + (100 * i + r) as f32])
        .collect()
}

fn sums(rows: &[[f32; 2]]) -> Vec<f64> {
    rows.iter().map(|r| f64::from(r[0] + r[1])).collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Sends request `i` in the protocol `i % 3` picks (V1 REST, V2 REST, gRPC)
/// and returns the sums it got back.
async fn call(i: usize, t: (String, String), h: Http) -> Vec<f64> {
    let (rest, grpc) = t;
    let rows = rows_of(i);
    match i % 3 {
        0 => {
            let r = h
                .post_json(
                    &format!("{rest}/v1/models/rowsum:predict"),
                    &json!({ "instances": rows }),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            numbers(&r.json()["predictions"])
        }
        1 => {
            let body = json!({"id": format!("req-{i}"), "inputs": [{"name": "x", "shape": [rows.len(), 2],
                "datatype": "FP32", "data": rows}]});
            let r = h
                .post_json(&format!("{rest}/v2/models/rowsum/infer"), &body)
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.json()["id"], json!(format!("req-{i}")), "its own id");
            numbers(&r.json()["outputs"][0]["data"])
        }
        _ => {
            let req = InferRequest {
                inputs: vec![
                    Tensor::new(
                        "x",
                        vec![rows.len(), 2],
                        TensorData::Fp32(rows.iter().flatten().copied().collect()),
                    )
                    .unwrap(),
                ],
                ..Default::default()
            };
            let mut c = GrpcInferenceServiceClient::connect(grpc).await.unwrap();
            let answer = c
                .model_infer(request_to_grpc("rowsum", None, &req, true).unwrap())
                .await
                .unwrap()
                .into_inner();
            let resp = response_from_grpc(answer).unwrap();
            // A v1 predictor's JSON numbers come back as FP64 (docs/protocol.md).
            match &resp.outputs[0].data {
                TensorData::Fp32(v) => v.iter().map(|x| f64::from(*x)).collect(),
                TensorData::Fp64(v) => v.clone(),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn callers_of_every_protocol_share_predictor_calls_and_get_their_own_rows() {
    let Some(p) = predictor("batcher-protocols") else {
        return;
    };
    let h = Http::default();
    for protocol in ["v1", "v2", "grpc-v2"] {
        let host = match protocol {
            "grpc-v2" => p.grpc_url().trim_start_matches("http://").to_string(),
            _ => p.http.to_string(),
        };
        let t = batching_transformer(
            "rowsum",
            &host,
            protocol,
            &["--max-batchsize", "16", "--max-latency", "100"],
        );
        let before = counter(&h, &p, "infergate_requests_total", "rowsum").await;
        let calls: Vec<_> = (0..30)
            .map(|i| {
                let addr = (t.url(""), t.grpc_url());
                tokio::spawn(call(i, addr, h.clone()))
            })
            .collect();
        for (i, c) in calls.into_iter().enumerate() {
            let got = c.await.unwrap();
            assert_eq!(
                got,
                sums(&rows_of(i)),
                "{protocol}: request {i} got rows not its own"
            );
        }
        let predictor_calls = counter(&h, &p, "infergate_requests_total", "rowsum").await - before;
        let batches = counter(&h, &t, "infergate_batch_size_count", "rowsum").await;
        assert!(
            (1.0..30.0).contains(&predictor_calls) && batches == predictor_calls,
            "{protocol}: 30 requests made {predictor_calls} predictor calls in {batches} batches"
        );
    }
}

#[tokio::test]
async fn a_member_the_predictor_refuses_gets_its_error_and_the_others_their_answers() {
    let Some(p) = predictor("batcher-refusal") else {
        return;
    };
    let t = batching_transformer(
        "rowsum",
        &p.http.to_string(),
        "v1",
        &["--max-batchsize", "32", "--max-latency", "300"],
    );
    let h = Http::default();
    let url = t.url("/v1/models/rowsum:predict");
    let mut calls = Vec::new();
    for i in 0..6 {
        let (h, url) = (h.clone(), url.clone());
        let body = if i == 3 {
            json!({"instances": [["not", "numbers"]]})
        } else {
            json!({ "instances": rows_of(i) })
        };
        calls.push(tokio::spawn(async move { h.post_json(&url, &body).await }));
    }
    for (i, c) in calls.into_iter().enumerate() {
        let r = c.await.unwrap();
        if i == 3 {
            assert_eq!(r.status, 400, "{}", r.text());
            assert!(!r.error().is_empty());
        } else {
            assert_eq!(r.status, 200, "request {i}: {}", r.text());
            assert_eq!(numbers(&r.json()["predictions"]), sums(&rows_of(i)));
        }
    }
    assert_eq!(
        counter(&h, &t, "infergate_batch_size_count", "rowsum").await,
        1.0,
        "all six went as one batch first"
    );
}

#[tokio::test]
async fn a_full_queue_is_refused_at_once_with_429_and_resource_exhausted() {
    let Some(p) = predictor("batcher-full") else {
        return;
    };
    // The first request waits 3 s for company; the queue holds just it.
    let t = batching_transformer(
        "rowsum",
        &p.http.to_string(),
        "v2",
        &["--max-latency", "3000", "--batcher_max_queue_size", "1"],
    );
    let h = Http::default();
    let body =
        json!({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]});
    let first = tokio::spawn({
        let (h, url, body) = (h.clone(), t.url("/v2/models/rowsum/infer"), body.clone());
        async move { h.post_json(&url, &body).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let r = h.post_json(&t.url("/v2/models/rowsum/infer"), &body).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.error(), "model 'rowsum' is overloaded: its queue is full");
    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![1, 2], TensorData::Fp32(vec![5.0, 6.0])).unwrap()],
        ..Default::default()
    };
    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    let err = c
        .model_infer(request_to_grpc("rowsum", None, &req, true).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    assert!(started.elapsed().as_millis() < 1000, "refused at once");
    let r = first.await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outputs"][0]["data"], json!([3.0]));
}

#[tokio::test]
async fn kserves_sklearn_predictor_answers_batched_as_it_does_alone() {
    let Some(k) = KservePredictor::start() else {
        return;
    };
    let t = batching_transformer(
        "sklearn-iris",
        &k.host(),
        "v1",
        &["--max-batchsize", "8", "--max-latency", "200"],
    );
    let h = Http::default();
    let samples = [
        [6.8, 2.8, 4.8, 1.4],
        [5.1, 3.5, 1.4, 0.2],
        [6.3, 3.3, 6.0, 2.5],
        [6.0, 3.4, 4.5, 1.6],
        [4.9, 3.0, 1.4, 0.2],
        [7.7, 3.0, 6.1, 2.3],
    ];
    let alone_url = format!("http://{}/v1/models/sklearn-iris:predict", k.host());
    let mut expected = Vec::new();
    for s in samples {
        let r = h.post_json(&alone_url, &json!({"instances": [s]})).await;
        expected.push(r.json()["predictions"].clone());
    }
    let calls: Vec<_> = samples
        .iter()
        .map(|s| {
            let (h, url, body) = (
                h.clone(),
                t.url("/v1/models/sklearn-iris:predict"),
                json!({"instances": [s]}),
            );
            tokio::spawn(async move { h.post_json(&url, &body).await })
        })
        .collect();
    for (c, want) in calls.into_iter().zip(expected) {
        let r = c.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["predictions"], want);
    }
    let batches = counter(&h, &t, "infergate_batch_size_count", "sklearn-iris").await;
    assert!(batches < 6.0, "six requests ran in {batches} batches");
}

#[test]
fn the_batcher_without_a_predictor_host_is_refused_at_start() {
    let models = example_models();
    let (ok, stderr) = run_to_exit(
        &bin("infergate"),
        &["--model_dir", models.to_str().unwrap(), "--enable_batcher"],
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("--enable-batcher batches the calls to --predictor_host"),
        "{stderr}"
    );
}
