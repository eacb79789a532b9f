//! SIGHUP reloads infergate proxy's routes and pools under load with no
//! client error; a bad file on reload is refused and the running
//! configuration stays.

mod proxy_support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use infergate_tests::{Http, Server};
use proxy_support::{Proxy, V1_BODY, eventually, mock_requests, rest, v1_predict};

fn routes_to(backend: &str) -> String {
    format!("[pools.p]\nbackends = [\"{backend}\"]\n[[routes]]\nname = \"all\"\npool = \"p\"\n")
}

/// Replaces the pools and routes of the proxy's file (keeps `[listen]`).
fn rewrite(proxy: &Proxy, config: &str) {
    let text = std::fs::read_to_string(&proxy.config).expect("config");
    let listen_end = text.find("\n\n").expect("listen section") + 2;
    std::fs::write(&proxy.config, format!("{}{config}", &text[..listen_end])).expect("write");
}

fn hangup(s: &Server) {
    let ok = Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
}

#[tokio::test]
async fn sighup_moves_traffic_to_the_new_pool_without_errors() {
    let (old, new) = (
        Server::mock(&["--latency", "5ms"]),
        Server::mock(&["--latency", "5ms"]),
    );
    let proxy = Proxy::start("proxy_reload", &routes_to(&rest(&old)));
    let (stop, ok, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let url = proxy.url("/v1/models/m:predict");
        workers.push(tokio::spawn(async move {
            let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
            while !stop.load(Relaxed) {
                let req = http::Request::post(&url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(V1_BODY)))
                    .expect("request");
                let good = match client.request(req).await {
                    Ok(r) => r.status() == 200 && r.into_body().collect().await.is_ok(),
                    Err(_) => false,
                };
                let n = if good { &ok } else { &failed };
                n.fetch_add(1, Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    rewrite(&proxy, &routes_to(&rest(&new)));
    hangup(&proxy.server);
    let http = Http::default();
    let moved = eventually(Duration::from_secs(3), || async {
        mock_requests(&http, &new).await > 20
    })
    .await;
    let old_count = mock_requests(&http, &old).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    assert!(moved, "no traffic reached the new pool after SIGHUP");
    assert_eq!(
        mock_requests(&http, &old).await,
        old_count,
        "the old pool still got requests"
    );
    assert_eq!(failed.load(Relaxed), 0, "client errors during the reload");
    assert!(ok.load(Relaxed) > 50);

    // A bad file is refused: the running configuration stays.
    rewrite(&proxy, "[pools.p]\nbackends = []\n");
    hangup(&proxy.server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = mock_requests(&http, &new).await;
    assert_eq!(
        v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
            .await
            .status,
        200
    );
    assert_eq!(mock_requests(&http, &new).await, before + 1);
    assert!(
        proxy.server.logs().contains("reload refused"),
        "{}",
        proxy.server.logs()
    );
}
