//! infergate proxy mirrors a fraction of a route's requests to a shadow
//! pool: the shadow gets its copies, and a slow or dead shadow neither
//! delays nor fails the primary answers.

mod proxy_support;

use std::time::{Duration, Instant};

use infergate_tests::{Http, Server, free_port};
use proxy_support::{Proxy, eventually, mock_requests, rest, v1_predict};

fn config(primary: &str, shadow: &str, fraction: f64) -> String {
    format!(
        "[pools.primary]\nbackends = [\"{primary}\"]\n[pools.shadow]\nbackends = [\"{shadow}\"]\n\
         [[routes]]\nname = \"all\"\npool = \"primary\"\n\
         mirror = {{ pool = \"shadow\", fraction = {fraction} }}\n"
    )
}

#[tokio::test]
async fn a_slow_shadow_gets_every_copy_without_delaying_the_primary() {
    let (primary, shadow) = (Server::mock(&[]), Server::mock(&["--latency", "1s"]));
    let proxy = Proxy::start(
        "proxy_mirror_slow",
        &config(&rest(&primary), &rest(&shadow), 1.0),
    );
    let http = Http::default();
    let t = Instant::now();
    for _ in 0..20 {
        let r = v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // 20 answers through a 1 s shadow: had the copies been waited for, 20 s.
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(mock_requests(&http, &primary).await, 20);
    assert!(
        eventually(Duration::from_secs(5), || async {
            mock_requests(&http, &shadow).await == 20
        })
        .await,
        "the shadow got {} copies of 20",
        mock_requests(&http, &shadow).await
    );
}

#[tokio::test]
async fn a_fraction_is_mirrored_and_a_dead_shadow_costs_nothing() {
    let (primary, shadow) = (Server::mock(&[]), Server::mock(&[]));
    let proxy = Proxy::start(
        "proxy_mirror_fraction",
        &config(&rest(&primary), &rest(&shadow), 0.25),
    );
    let http = Http::default();
    for _ in 0..400 {
        assert_eq!(
            v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
                .await
                .status,
            200
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies = mock_requests(&http, &shadow).await;
    // 100 expected; 60..140 is over 4 standard deviations either side
    assert!(
        (60..140).contains(&copies),
        "{copies} copies of 400 at 0.25"
    );

    let dead = format!("127.0.0.1:{}", free_port());
    let proxy = Proxy::start("proxy_mirror_dead", &config(&rest(&primary), &dead, 1.0));
    for _ in 0..50 {
        assert_eq!(
            v1_predict(&http, &proxy.url("/v1/models/m:predict"), &[])
                .await
                .status,
            200
        );
    }
}
