//! infergate proxy's balancing over real mock backends: least outstanding
//! requests (power of two choices) sends less to a slow backend, a weighted
//! canary split holds its weight, sticky and consistent-hash headers keep a
//! client on one backend.

mod proxy_support;

use std::sync::Arc;

use infergate_tests::{Http, Server};
use proxy_support::{Proxy, mock_requests, rest, v1_predict};

/// `total` V1 predicts through `proxy`, `concurrency` at a time; all 200.
async fn drive(proxy: &Proxy, total: usize, concurrency: usize, headers: &[(&str, &str)]) {
    let http = Arc::new(Http::default());
    let url = proxy.url("/v1/models/m:predict");
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (http, url, headers) = (http.clone(), url.clone(), headers.clone());
        let n = total / concurrency + usize::from(w < total % concurrency);
        tasks.push(tokio::spawn(async move {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for _ in 0..n {
                let r = v1_predict(&http, &url, &h).await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
}

#[tokio::test]
async fn least_request_sends_less_to_a_slow_backend() {
    let fast = Server::mock(&[]);
    let slow = Server::mock(&["--latency", "40ms"]);
    let proxy = Proxy::start(
        "proxy_least_request",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"{}\"]\nbalancing = \"least_request\"\n\
             [[routes]]\nname = \"all\"\npool = \"p\"\n",
            rest(&fast),
            rest(&slow)
        ),
    );
    drive(&proxy, 400, 8, &[]).await;
    let http = Http::default();
    let (f, s) = (
        mock_requests(&http, &fast).await,
        mock_requests(&http, &slow).await,
    );
    assert_eq!(f + s, 400);
    // Round robin would give the slow backend 200; least-request a few dozen.
    assert!(s < 100, "slow backend got {s} of 400 (fast {f})");
}

#[tokio::test]
async fn round_robin_alternates() {
    let (a, b) = (Server::mock(&[]), Server::mock(&["--latency", "20ms"]));
    let proxy = Proxy::start(
        "proxy_round_robin",
        &format!(
            "[pools.p]\nbackends = [\"{}\", \"{}\"]\nbalancing = \"round_robin\"\n\
             [[routes]]\nname = \"all\"\npool = \"p\"\n",
            rest(&a),
            rest(&b)
        ),
    );
    drive(&proxy, 40, 4, &[]).await;
    let http = Http::default();
    assert_eq!(mock_requests(&http, &a).await, 20);
    assert_eq!(mock_requests(&http, &b).await, 20);
}

#[tokio::test]
async fn canary_split_holds_its_weight_and_sticky_users_stay() {
    let (main, canary) = (Server::mock(&[]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_canary",
        &format!(
            "[pools.main]\nbackends = [\"{}\"]\n[pools.canary]\nbackends = [\"{}\"]\n\
             [[routes]]\nname = \"all\"\nsplit = [{{ pool = \"main\", weight = 90 }}, \
             {{ pool = \"canary\", weight = 10 }}]\nsticky_header = \"x-user\"\n",
            rest(&main),
            rest(&canary)
        ),
    );
    let total = 4000;
    drive(&proxy, total, 16, &[]).await;
    let http = Http::default();
    let c = mock_requests(&http, &canary).await as f64;
    let m = mock_requests(&http, &main).await as f64;
    assert_eq!(c + m, total as f64);
    let share = c / total as f64;
    // 2 points is over 4 standard deviations at 4000 requests.
    assert!((share - 0.10).abs() < 0.02, "canary share {share}");

    for user in ["u1", "u2", "u3", "u4"] {
        let before = (
            mock_requests(&http, &main).await,
            mock_requests(&http, &canary).await,
        );
        drive(&proxy, 20, 2, &[("x-user", user)]).await;
        let after = (
            mock_requests(&http, &main).await,
            mock_requests(&http, &canary).await,
        );
        let moved = (after.0 - before.0, after.1 - before.1);
        assert!(
            moved == (20, 0) || moved == (0, 20),
            "user {user} split {moved:?}"
        );
    }
}

#[tokio::test]
async fn consistent_hash_keeps_a_session_on_one_backend() {
    let mocks: Vec<Server> = (0..3).map(|_| Server::mock(&[])).collect();
    let backends: Vec<String> = mocks.iter().map(|m| format!("\"{}\"", rest(m))).collect();
    let proxy = Proxy::start(
        "proxy_consistent_hash",
        &format!(
            "[pools.p]\nbackends = [{}]\nbalancing = \"consistent_hash\"\nhash_header = \"x-session\"\n\
             [[routes]]\nname = \"all\"\npool = \"p\"\n",
            backends.join(", ")
        ),
    );
    let http = Http::default();
    let mut hit = std::collections::HashSet::new();
    // 24 sessions: three backends on random ports get uneven ketama arcs,
    // and six sessions once all landed on one of them.
    for session in (1..=24).map(|i| format!("s{i}")) {
        let before: Vec<u64> = futures_counts(&http, &mocks).await;
        drive(&proxy, 12, 3, &[("x-session", &session)]).await;
        let after: Vec<u64> = futures_counts(&http, &mocks).await;
        let got: Vec<usize> = (0..3).filter(|&i| after[i] > before[i]).collect();
        assert_eq!(got.len(), 1, "session {session} spread over {got:?}");
        assert_eq!(after[got[0]] - before[got[0]], 12);
        hit.insert(got[0]);
    }
    assert!(hit.len() >= 2, "24 sessions all hashed to one backend");
}

async fn futures_counts(http: &Http, mocks: &[Server]) -> Vec<u64> {
    let mut out = Vec::new();
    for m in mocks {
        out.push(mock_requests(http, m).await);
    }
    out
}
