//! Dynamic batching through the real server and ONNX Runtime: split-back
//! and ordering under concurrency, mixed shapes, queue full (429 /
//! RESOURCE_EXHAUSTED), queue timeout (504), a batch that fails, V1 and
//! gRPC alike.
use std::path::Path;

use http::Method;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::{InferRequest, Tensor, TensorData};
use infergate_tests::{Http, Server, copy_dir, example_models, make_test_models, scratch_dir};
use serde_json::json;

fn configure(repo: &Path, model: &str, config: &str) {
    std::fs::write(repo.join(model).join("config.toml"), config).unwrap();
}

fn rowsum_request(rows: &[Vec<f32>]) -> serde_json::Value {
    let width = rows[0].len();
    json!({"inputs": [{"name": "x", "shape": [rows.len(), width], "datatype": "FP32", "data": rows}]})
}

/// Writes `bytes` on `conn` and reads until `until` has come (at most 5 s).
async fn raw_exchange(conn: &mut tokio::net::TcpStream, bytes: &[u8], until: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(bytes).await.unwrap();
    let mut got = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(until) {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), read).await;
    String::from_utf8_lossy(&got).into_owned()
}

async fn batch_size_count(h: &Http, s: &Server, model: &str) -> u64 {
    let metrics = h.get(&s.url("/metrics")).await.text();
    let key = format!("infergate_batch_size_count{{model_name=\"{model}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn concurrent_requests_are_batched_and_each_gets_its_own_rows() {
    let repo = scratch_dir("batch-split");
    let Some(()) = make_test_models(&repo) else {
        return;
    };
    configure(
        &repo,
        "rowsum",
        "max_batch_size = 64\n[dynamic_batching]\nmax_queue_delay_microseconds = 20000\n",
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    let mut calls = Vec::new();
    for i in 0..24 {
        // Widths 2 and 3 may not share a batch; 1 to 3 rows per request.
        let width = 2 + i % 2;
        let rows: Vec<Vec<f32>> = (0..1 + i % 3)
            .map(|r| (0..width).map(|c| (100 * i + 10 * r + c) as f32).collect())
            .collect();
        let expected: Vec<f32> = rows.iter().map(|r| r.iter().sum()).collect();
        let (h, url) = (h.clone(), s.url("/v2/models/rowsum/infer"));
        calls.push(tokio::spawn(async move {
            let r = h.post_json(&url, &rowsum_request(&rows)).await;
            assert_eq!(r.status, 200, "{}", r.text());
            (r.json()["outputs"][0]["data"].clone(), json!(expected))
        }));
    }
    for c in calls {
        let (got, want) = c.await.unwrap();
        assert_eq!(got, want, "a caller got rows that are not its own");
    }
    let batches = batch_size_count(&h, &s, "rowsum").await;
    assert!(
        (2..24).contains(&batches),
        "24 requests of two shapes ran in {batches} batches"
    );
}

#[tokio::test]
async fn batched_mlp_answers_like_the_unbatched_one() {
    let repo = scratch_dir("batch-mlp");
    copy_dir(&example_models().join("mlp"), &repo.join("mlp"));
    copy_dir(&example_models().join("mlp"), &repo.join("mlp-plain"));
    // models/mlp ships batched (its config.toml); the plain copy must not be.
    std::fs::remove_file(repo.join("mlp-plain/config.toml")).unwrap();
    configure(
        &repo,
        "mlp",
        "max_batch_size = 32\n[dynamic_batching]\nmax_queue_delay_microseconds = 10000\n",
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    let input = |i: usize| {
        json!({"inputs": [{"name": "input", "shape": [1, 256], "datatype": "FP32",
        "data": (0..256).map(|j| ((i * 31 + j) % 17) as f32 / 17.0 - 0.5).collect::<Vec<_>>()}]})
    };
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let (h, url) = (h.clone(), s.url("/v2/models/mlp/infer"));
            tokio::spawn(async move {
                h.post_json(&url, &input(i)).await.json()["outputs"][0]["data"].clone()
            })
        })
        .collect();
    for (i, c) in calls.into_iter().enumerate() {
        let batched = c.await.unwrap();
        let plain = h
            .post_json(&s.url("/v2/models/mlp-plain/infer"), &input(i))
            .await
            .json()["outputs"][0]["data"]
            .clone();
        let (b, p) = (batched.as_array().unwrap(), plain.as_array().unwrap());
        assert_eq!(b.len(), 10);
        for (x, y) in b.iter().zip(p) {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "request {i}: {x} vs {y}"
            );
        }
    }
    assert!(batch_size_count(&h, &s, "mlp").await < 16);
}

#[tokio::test]
async fn the_example_mlp_is_served_batched() {
    let s = Server::infergate(&["--model_dir", example_models().to_str().unwrap()]);
    let h = Http::default();
    let body = json!({"inputs": [{"name": "input", "shape": [1, 256], "datatype": "FP32",
        "data": vec![0.5f32; 256]}]});
    let r = h.post_json(&s.url("/v2/models/mlp/infer"), &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        batch_size_count(&h, &s, "mlp").await,
        1,
        "through the batcher"
    );
}

#[tokio::test]
async fn a_full_queue_answers_429_and_resource_exhausted_at_once() {
    let repo = scratch_dir("batch-full");
    let Some(()) = make_test_models(&repo) else {
        return;
    };
    // The first request waits 2 s for company; the queue holds just it.
    configure(
        &repo,
        "rowsum",
        "max_batch_size = 8\n[dynamic_batching]\nmax_queue_delay_microseconds = 2000000\nmax_queue_size = 1\n",
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    let first = tokio::spawn({
        let (h, url) = (h.clone(), s.url("/v2/models/rowsum/infer"));
        async move { h.post_json(&url, &rowsum_request(&[vec![1.0, 2.0]])).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let r = h
        .post_json(
            &s.url("/v2/models/rowsum/infer"),
            &rowsum_request(&[vec![3.0, 4.0]]),
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.error(), "model 'rowsum' is overloaded: its queue is full");
    let mut c = GrpcInferenceServiceClient::connect(s.grpc_url())
        .await
        .unwrap();
    let req = InferRequest {
        inputs: vec![Tensor::new("x", vec![1, 2], TensorData::Fp32(vec![5.0, 6.0])).unwrap()],
        ..Default::default()
    };
    let err = c
        .model_infer(request_to_grpc("rowsum", None, &req, true).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    // Refused from the head alone, before any of the body is sent: a body
    // larger than the fast path takes (it streams through hyper), and one
    // the fast path would buffer, whose bytes are then read past so that
    // the connection serves its next request.
    let head = |len: usize| {
        format!("POST /v2/models/rowsum/infer HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\n\r\n")
    };
    for len in [4 << 20, 100] {
        let mut conn = tokio::net::TcpStream::connect(s.http).await.unwrap();
        let answer = raw_exchange(&mut conn, head(len).as_bytes(), "\"error\"").await;
        assert!(answer.starts_with("HTTP/1.1 429"), "{len}: {answer}");
        assert!(answer.contains("its queue is full"), "{len}: {answer}");
        if len == 100 {
            let next = [
                &[b' '; 100][..],
                b"GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n",
            ]
            .concat();
            let answer = raw_exchange(&mut conn, &next, "live").await;
            // hyper (`--http1_fast_path false`) closes a connection whose
            // body was left unread, after the answer; it must never read
            // the body as a next request.
            let hyper_only = std::env::var("INFERGATE_HTTP1_FAST_PATH").is_ok_and(|v| v == "false");
            let served_on = answer.starts_with("HTTP/1.1 200");
            assert!(served_on || (hyper_only && answer.is_empty()), "{answer}");
        }
    }
    assert!(
        started.elapsed().as_millis() < 1000,
        "refused at once, not after the queue delay"
    );
    assert_eq!(
        first.await.unwrap().json()["outputs"][0]["data"],
        json!([3.0])
    );
}

#[tokio::test]
async fn a_request_past_its_queue_timeout_gets_504() {
    let repo = scratch_dir("batch-timeout");
    let Some(()) = make_test_models(&repo) else {
        return;
    };
    configure(
        &repo,
        "rowsum",
        "max_batch_size = 8\n[dynamic_batching]\nmax_queue_delay_microseconds = 5000000\ntimeout_microseconds = 100000\n",
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let started = std::time::Instant::now();
    let r = Http::default()
        .post_json(
            &s.url("/v2/models/rowsum/infer"),
            &rowsum_request(&[vec![1.0, 2.0]]),
        )
        .await;
    assert_eq!(r.status, 504);
    assert_eq!(
        r.error(),
        "model 'rowsum': request timed out in the queue after 100 ms"
    );
    assert!(started.elapsed().as_millis() < 2000);
}

#[tokio::test]
async fn a_batch_that_cannot_be_split_fails_every_member_and_v1_works_through_the_batcher() {
    let repo = scratch_dir("batch-fail");
    let Some(()) = make_test_models(&repo) else {
        return;
    };
    configure(
        &repo,
        "allsum",
        "max_batch_size = 8\n[dynamic_batching]\nmax_queue_delay_microseconds = 200000\n",
    );
    configure(
        &repo,
        "rowsum",
        "max_batch_size = 4\n[dynamic_batching]\nmax_queue_delay_microseconds = 1000\n",
    );
    let s = Server::infergate(&["--model_dir", repo.to_str().unwrap()]);
    let h = Http::default();
    let body =
        json!({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]});
    let url = s.url("/v2/models/allsum/infer");
    let (a, b) = tokio::join!(h.post_json(&url, &body), h.post_json(&url, &body));
    for r in [a, b] {
        assert_eq!(r.status, 500, "never a 200 with an error inside");
        assert!(r.error().contains("cannot be batched"), "{}", r.error());
    }
    let r = h
        .send(
            Method::POST,
            &s.url("/v1/models/rowsum:predict"),
            &[("content-type", "application/json")],
            r#"{"instances": [[1, 2], [3, 4]]}"#,
        )
        .await;
    assert_eq!(r.json(), json!({"predictions": [3.0, 7.0]}));
    let r = h
        .post_json(
            &s.url("/v1/models/rowsum:predict"),
            &json!({"instances": [[1], [2], [3], [4], [5]]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "batch of 5 rows exceeds max_batch_size 4 of model 'rowsum'"
    );
}
