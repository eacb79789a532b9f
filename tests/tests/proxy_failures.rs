//! infergate proxy when backends fail: failover on connect failures, 504 on
//! a slow backend, 502/503 for an unreachable pool, passive ejection, active
//! health checks, admission limits, SIGTERM drain. Real mock backends.

mod proxy_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use infergate_proto::grpc::pb::ModelReadyRequest;
use infergate_proto::grpc::pb::grpc_inference_service_client::GrpcInferenceServiceClient;
use infergate_tests::{Http, Server, free_port};
use proxy_support::{Proxy, V1_BODY, eventually, grpc, mock_requests, rest, v1_predict};

fn one_route(pool: &str) -> String {
    format!("[[routes]]\nname = \"all\"\npool = \"{pool}\"\n")
}

#[tokio::test]
async fn a_backend_killed_while_idle_costs_no_client_errors() {
    let (a, b) = (Server::mock(&[]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_killed_idle",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"{}\"]\nbalancing = \"round_robin\"\n{}",
            rest(&a),
            rest(&b),
            one_route("p")
        ),
    );
    let http = Http::default();
    for _ in 0..20 {
        assert_eq!(
            v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
                .await
                .status,
            200
        );
    }
    drop(b); // killed while the proxy holds idle connections to it
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A client that counts failures instead of panicking on them.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut errors = Vec::new();
    for _ in 0..100 {
        let req = http::Request::post(proxy.url("/v1/models/m:predict"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(V1_BODY)))
            .expect("request");
        match client.request(req).await {
            Ok(resp) if resp.status() == 200 => {
                let _ = resp.into_body().collect().await;
            }
            Ok(resp) => {
                let status = resp.status();
                let body = resp.into_body().collect().await.map(|b| b.to_bytes());
                errors.push(format!("{status} {body:?}"));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(
        errors.is_empty(),
        "{} client errors: {:?}",
        errors.len(),
        errors
    );
    assert_eq!(mock_requests(&http, &a).await, 10 + 100);
    // the requests that met the dead backend moved to the live one
    assert!(proxy.metric(&http, "infergate_proxy_retries_total").await >= 1.0);
}

#[tokio::test]
async fn a_slow_backend_answers_504_on_rest_and_deadline_exceeded_on_grpc() {
    let slow = Server::mock(&["--latency", "3s"]);
    let proxy = Proxy::start(
        "proxy_timeout",
        &format!(
            "[pools.p]\nbackends = [\"{}\"]\n[pools.g]\nbackends = [\"{}\"]\n\
             [[routes]]\nname = \"all\"\npool = \"p\"\ngrpc_pool = \"g\"\ntimeout_ms = 300\n",
            rest(&slow),
            grpc(&slow)
        ),
    );
    let http = Http::default();
    let t = Instant::now();
    let r = v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[]).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.error().contains("timed out"), "{}", r.text());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );

    let mut client = GrpcInferenceServiceClient::connect(proxy.url(""))
        .await
        .expect("connect");
    let e = client
        .model_infer(infergate_proto::grpc::pb::ModelInferRequest {
            model_name: "m".into(),
            ..Default::default()
        })
        .await
        .expect_err("timed out");
    assert_eq!(e.code(), tonic::Code::DeadlineExceeded, "{e:?}");
}

#[tokio::test]
async fn an_unreachable_pool_answers_502_then_503_once_ejected() {
    let dead = format!("127.0.0.1:{}", free_port());
    let proxy = Proxy::start(
        "proxy_unreachable",
        &format!(
            "[pools.p]\nbackends = [\"{dead}\"]\n[pools.p.ejection]\nconsecutive_failures = 2\n\
             base_ms = 10000\nmax_ms = 20000\n{}",
            one_route("p")
        ),
    );
    let http = Http::default();
    assert_eq!(http.get(&proxy.admin_url("/ready")).await.status, 200);
    for _ in 0..2 {
        let r = v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[]).await;
        assert_eq!(r.status, 502, "{}", r.text());
        assert!(r.error().contains("unreachable"), "{}", r.text());
    }
    let r = v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[]).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.error().contains("no healthy backend"), "{}", r.text());
    let ready = http.get(&proxy.admin_url("/ready")).await;
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("all"), "{}", ready.text());
    assert_eq!(
        proxy.metric(&http, "infergate_proxy_ejections_total").await,
        1.0
    );
    // gRPC clients get UNAVAILABLE, not an HTML page
    let mut client = GrpcInferenceServiceClient::connect(proxy.url(""))
        .await
        .expect("connect");
    let e = client
        .model_ready(ModelReadyRequest {
            name: "m".into(),
            version: String::new(),
        })
        .await
        .expect_err("no backend");
    assert_eq!(e.code(), tonic::Code::Unavailable, "{e:?}");
}

#[tokio::test]
async fn a_backend_answering_5xx_is_ejected_passively() {
    let (bad, good) = (Server::mock(&["--error-rate", "1.0"]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_passive_ejection",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"{}\"]\nbalancing = \"round_robin\"\n\
             [pools.p.ejection]\nconsecutive_failures = 3\nbase_ms = 10000\nmax_ms = 20000\n{}",
            rest(&bad),
            rest(&good),
            one_route("p")
        ),
    );
    let http = Http::default();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(
            v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
                .await
                .status,
        );
    }
    // the backend's own 500s pass through unchanged until it is ejected
    assert_eq!(
        statuses.iter().filter(|s| **s == 500).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(mock_requests(&http, &bad).await, 3);
    assert_eq!(
        proxy.metric(&http, "infergate_proxy_ejections_total").await,
        1.0
    );
}

#[tokio::test]
async fn active_health_checks_take_a_dead_backend_out() {
    let live = Server::mock(&[]);
    let dead = format!("127.0.0.1:{}", free_port());
    let proxy = Proxy::start(
        "proxy_health_checks",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"{dead}\"]\nbalancing = \"round_robin\"\n\
             [pools.p.ejection]\nconsecutive_failures = 0\n\
             [pools.p.health]\ninterval_ms = 50\ntimeout_ms = 200\nrise = 1\nfall = 1\n{}",
            rest(&live),
            one_route("p")
        ),
    );
    let http = Http::default();
    let dead_label = format!("infergate_proxy_backend_available{{backend=\"{dead}\"");
    assert!(
        eventually(Duration::from_secs(3), || async {
            proxy.metric(&http, &dead_label).await == 0.0
        })
        .await,
        "the dead backend was never marked down"
    );
    for _ in 0..20 {
        assert_eq!(
            v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
                .await
                .status,
            200
        );
    }
    assert_eq!(http.get(&proxy.admin_url("/ready")).await.status, 200);
    drop(live);
    assert!(
        eventually(Duration::from_secs(3), || async {
            http.get(&proxy.admin_url("/ready")).await.status == 503
        })
        .await,
        "/ready stayed 200 with no live backend"
    );
}

#[tokio::test]
async fn admission_limits_answer_429_and_413() {
    let slow = Server::mock(&["--latency", "600ms"]);
    let proxy = Proxy::start(
        "proxy_admission",
        &format!(
            "[pools.p]\nbackends = [\"{}\"]\n[[routes]]\nname = \"all\"\npool = \"p\"\n\
             max_in_flight = 1\nmax_body_bytes = 100\n",
            rest(&slow)
        ),
    );
    let url = proxy.url("/v1/models/m:predict");
    let first = tokio::spawn({
        let url = url.clone();
        async move { v1_predict(&Http::default(), &url, &[]).await.status }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = Http::default();
    let r = v1_predict(&http, &url, &[]).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.error().contains("too many requests"), "{}", r.text());
    assert_eq!(first.await.expect("first"), 200);
    // The proxy lets go of the first request's place after its answer is
    // written: wait for that before the next request.
    assert!(
        eventually(Duration::from_secs(2), || async {
            proxy.metric(&http, "infergate_proxy_in_flight").await == 0.0
        })
        .await,
        "the first request's place was not given back"
    );
    let big = format!("{{\"instances\": [[{}]]}}", vec!["1.0"; 100].join(","));
    let r = http
        .send(
            http::Method::POST,
            &url,
            &[("content-type", "application/json")],
            big,
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    r.error();
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let slow = Server::mock(&["--latency", "700ms"]);
    let mut proxy = Proxy::start(
        "proxy_sigterm",
        &format!(
            "[pools.p]\nbackends = [\"{}\"]\n{}",
            rest(&slow),
            one_route("p")
        ),
    );
    let url = proxy.url("/v1/models/m:predict");
    let in_flight =
        tokio::spawn(async move { v1_predict(&Http::default(), &url, &[]).await.status });
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.server.terminate();
    assert_eq!(in_flight.await.expect("request"), 200);
    assert!(
        proxy.server.wait(Duration::from_secs(10)).is_some(),
        "the proxy did not exit after SIGTERM"
    );
}

#[tokio::test]
async fn a_backend_killed_mid_load_fails_only_its_requests_in_flight_and_comes_back() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    let port = free_port().to_string();
    let start_b = || {
        Server::spawn(
            &infergate_tests::bin("infergate-loadtest"),
            &[
                "mock",
                "--http-port",
                &port,
                "--grpc-port",
                "0",
                "--latency",
                "20ms",
            ],
            &[],
        )
    };
    let a = Server::mock(&["--latency", "20ms"]);
    let b = start_b();
    let proxy = Proxy::start(
        "proxy_killed_mid_load",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"127.0.0.1:{port}\"]\nbalancing = \"round_robin\"\n\
             [pools.p.ejection]\nconsecutive_failures = 3\nbase_ms = 300\nmax_ms = 600\n{}",
            rest(&a),
            one_route("p")
        ),
    );
    let (stop, ok, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let concurrency = 8;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (stop, ok, failed, url) = (
            stop.clone(),
            ok.clone(),
            failed.clone(),
            proxy.url("/v1/models/m:predict"),
        );
        workers.push(tokio::spawn(async move {
            let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
            while !stop.load(Relaxed) {
                let req = http::Request::post(&url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(V1_BODY)))
                    .expect("request");
                let good = match client.request(req).await {
                    Ok(resp) => resp.status() == 200 && resp.into_body().collect().await.is_ok(),
                    Err(_) => false,
                };
                if good {
                    ok.fetch_add(1, Relaxed)
                } else {
                    failed.fetch_add(1, Relaxed)
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(b); // killed with requests in flight on it
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let failed_after_kill = failed.load(Relaxed);
    let http = Http::default();
    assert!(proxy.metric(&http, "infergate_proxy_ejections_total").await >= 1.0);
    let b = start_b();
    let back = eventually(Duration::from_secs(5), || async {
        mock_requests(&http, &b).await > 0
    })
    .await;
    stop.store(true, Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    assert!(back, "the restarted backend got no traffic back");
    // At most the requests in flight on the killed backend failed.
    assert!(
        failed_after_kill <= concurrency,
        "{failed_after_kill} failed (more than the {concurrency} that can be in flight)"
    );
    assert_eq!(
        failed.load(Relaxed),
        failed_after_kill,
        "failures after the ejection"
    );
    assert!(ok.load(Relaxed) > 100);
}
