//! The proxy's active gRPC health checks (`[pools.NAME.health] protocol =
//! "grpc"`): `grpc.health.v1` Check against real infergate backends. A dead
//! port is marked down, and so is a backend that still accepts connections
//! but answers NOT_SERVING (infergate draining after SIGTERM), while gRPC
//! traffic keeps flowing to the healthy one.
mod proxy_support;

use std::time::Duration;

use infergate_proto::grpc::pb::ModelMetadataRequest;
use infergate_tests::{Http, Server, free_port};
use proxy_support::{Proxy, eventually, grpc, grpc_client, rest};

fn available(backend: &str) -> String {
    format!("infergate_proxy_backend_available{{backend=\"{backend}\"")
}

#[tokio::test]
async fn grpc_checks_mark_dead_and_draining_backends_down() {
    let a = Server::infergate(&["--builtin_models", "simple,echo"]);
    // Drains for 5 s after SIGTERM: NOT_SERVING with its ports still open.
    let b = Server::infergate(&[
        "--builtin_models",
        "simple,echo",
        "--drain_grace_seconds",
        "5",
    ]);
    let dead = format!("127.0.0.1:{}", free_port());
    let proxy = Proxy::start(
        "proxy_grpc_health",
        &format!(
            r#"
[pools.rest]
backends = ["{}"]
[pools.g]
backends = ["{}", "{}", "{dead}"]
balancing = "round_robin"
[pools.g.ejection]
consecutive_failures = 0
[pools.g.health]
protocol = "grpc"
interval_ms = 50
timeout_ms = 300
rise = 1
fall = 1
[[routes]]
name = "all"
pool = "rest"
grpc_pool = "g"
"#,
            rest(&a),
            grpc(&a),
            grpc(&b),
        ),
    );
    let http = Http::default();
    let (ga, gb) = (grpc(&a), grpc(&b));
    assert!(
        eventually(Duration::from_secs(3), || async {
            proxy.metric(&http, &available(&dead)).await == 0.0
                && proxy.metric(&http, &available(&ga)).await == 1.0
                && proxy.metric(&http, &available(&gb)).await == 1.0
        })
        .await,
        "the dead port was not marked down, or a live backend was"
    );

    b.terminate();
    assert!(
        eventually(Duration::from_secs(3), || async {
            proxy.metric(&http, &available(&gb)).await == 0.0
        })
        .await,
        "a backend answering NOT_SERVING stayed in the pool"
    );
    assert_eq!(proxy.metric(&http, &available(&ga)).await, 1.0);
    let mut client = grpc_client(&proxy).await;
    for _ in 0..10 {
        let meta = client
            .model_metadata(ModelMetadataRequest {
                name: "echo".into(),
                version: String::new(),
            })
            .await
            .expect("gRPC through the proxy goes to the healthy backend");
        assert_eq!(meta.get_ref().name, "echo");
    }
}
