//! Readiness of a transformer whose readiness follows its predictor
//! (`--enable_predictor_health_check`), as Kubernetes probes see it: a real
//! `infergate-predictor` is killed and started again, and the next probe
//! after it (REST V1 and V2, gRPC ServerReady / ModelReady) tells, although
//! the background check runs only every 5 s (the default).
use std::time::Duration;

use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_proto::grpc::pb::{ModelReadyRequest, ServerReadyRequest};
use infergate_tests::{Http, Server, bin, example_models, free_port};

/// Longer than the transformer's probe cache (500 ms): the next probe asks.
const PAST_THE_CACHE: Duration = Duration::from_millis(700);

fn predictor(http: u16, grpc: u16) -> Server {
    let (http, grpc) = (http.to_string(), grpc.to_string());
    let models = example_models();
    let args = [
        "--bind_address",
        "127.0.0.1",
        "--http_port",
        &http,
        "--grpc_port",
        &grpc,
        "--model_dir",
        models.to_str().unwrap(),
    ];
    Server::spawn(&bin("infergate-predictor"), &args, &[])
}

/// Every probe kind's answer: (V2 server, V2 model, V1 model, gRPC server,
/// gRPC model), as "is it ready".
async fn probes(t: &Server) -> [bool; 5] {
    let h = Http::default();
    let v2 = h.get(&t.url("/v2/health/ready")).await.status == 200;
    let v2_model = h.get(&t.url("/v2/models/sklearn-iris/ready")).await.status == 200;
    let v1_model = h.get(&t.url("/v1/models/sklearn-iris")).await.status == 200;
    let mut c = GrpcInferenceServiceClient::connect(t.grpc_url())
        .await
        .unwrap();
    let server = c.server_ready(ServerReadyRequest {}).await.unwrap();
    let model = c
        .model_ready(ModelReadyRequest {
            name: "sklearn-iris".into(),
            version: String::new(),
        })
        .await
        .unwrap();
    [
        v2,
        v2_model,
        v1_model,
        server.into_inner().ready,
        model.into_inner().ready,
    ]
}

async fn predict(t: &Server) -> infergate_tests::Reply {
    let body = serde_json::json!({"instances": [[6.8, 2.8, 4.8, 1.4]]});
    Http::default()
        .post_json(&t.url("/v1/models/sklearn-iris:predict"), &body)
        .await
}

async fn wait_own_ready(s: &Server) {
    for _ in 0..200 {
        if Http::default().get(&s.url("/v2/health/ready")).await.status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the predictor did not become ready");
}

/// A ready predictor on the given ports, and a transformer whose readiness
/// follows it.
async fn predictor_and_transformer(http: u16, grpc: u16) -> (Server, Server) {
    let p = predictor(http, grpc);
    wait_own_ready(&p).await;
    let host = format!("127.0.0.1:{http}");
    let t = Server::infergate(&[
        "--model_name",
        "sklearn-iris",
        "--predictor_host",
        &host,
        "--predictor_protocol",
        "v1",
        "--enable_predictor_health_check",
    ]);
    (p, t)
}

#[tokio::test]
async fn the_next_probe_sees_the_predictor_die_and_come_back() {
    let (http, grpc) = (free_port(), free_port());
    let (p, t) = predictor_and_transformer(http, grpc).await;
    tokio::time::sleep(PAST_THE_CACHE).await;
    assert_eq!(probes(&t).await, [true; 5], "ready with its predictor");

    drop(p); // killed
    tokio::time::sleep(PAST_THE_CACHE).await;
    assert_eq!(
        probes(&t).await,
        [false; 5],
        "the first probe after the predictor died says not ready"
    );
    let h = Http::default();
    assert_eq!(
        h.get(&t.url("/v2/health/live")).await.status,
        200,
        "liveness never depends on the predictor"
    );

    let p = predictor(http, grpc);
    wait_own_ready(&p).await;
    tokio::time::sleep(PAST_THE_CACHE).await;
    assert_eq!(
        probes(&t).await,
        [true; 5],
        "the first probe after the predictor is back says ready"
    );
    let r = predict(&t).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_refused_request_marks_the_transformer_not_ready_at_once() {
    let (http, grpc) = (free_port(), free_port());
    let (p, t) = predictor_and_transformer(http, grpc).await;
    wait_own_ready(&t).await;
    let h = Http::default();
    assert_eq!(predict(&t).await.status, 200);
    drop(p);
    // Within the probe cache: only the refused request can have told it.
    let r = predict(&t).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        h.get(&t.url("/v2/health/ready")).await.status,
        503,
        "not ready right after a refused connection"
    );
}
