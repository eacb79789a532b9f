//! SIGTERM: readiness turns false at once while the listeners keep serving
//! for the drain grace (so load balancers see it), then they close; requests
//! already in flight still get their answer, and the process exits cleanly.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use infergate_tests::Server;

#[test]
fn in_flight_requests_finish_after_sigterm() {
    let mut s = Server::infergate(&["--builtin_models", "echo", "--drain_grace_seconds", "1"]);
    let body = br#"{"instances": [[1, 2], [3, 4]]}"#;
    let mut conn = TcpStream::connect(s.http).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    s.terminate();
    // During the grace, a new connection is served: not ready, still live.
    std::thread::sleep(Duration::from_millis(300));
    assert!(get(s.http, "/v2/health/ready").starts_with("HTTP/1.1 503"));
    assert!(get(s.http, "/v2/health/live").starts_with("HTTP/1.1 200"));
    // New connections are refused once the listener is closed.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(s.http).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(refused, "the listener should close on SIGTERM");

    // The request that was half sent completes normally.
    conn.write_all(&body[10..]).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer.contains(r#"{"predictions":[[1,2],[3,4]]}"#),
        "{answer}"
    );
    assert_eq!(
        s.wait(Duration::from_secs(10)),
        Some(true),
        "clean exit after draining"
    );
}

/// One GET on a fresh connection, the whole answer.
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_health_watchers_see_not_serving_before_the_listener_closes() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut s = Server::infergate(&["--builtin_models", "echo", "--drain_grace_seconds", "2"]);
    let channel = tonic::transport::Channel::from_shared(s.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut status = watch.message().await.unwrap().unwrap().status;
    for _ in 0..50 {
        if status == ServingStatus::Serving as i32 {
            break;
        }
        status = watch.message().await.unwrap().unwrap().status;
    }
    assert_eq!(status, ServingStatus::Serving as i32);
    s.terminate();
    let next = tokio::time::timeout(Duration::from_secs(2), watch.message())
        .await
        .expect("the watch hears of the drain")
        .expect("the watch is not cut")
        .expect("a status");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // A new check during the grace is answered too.
    let check = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(check.status, ServingStatus::NotServing as i32);
    assert_eq!(
        tokio::task::block_in_place(|| s.wait(Duration::from_secs(10))),
        Some(true),
        "clean exit after the drain"
    );
}

#[test]
fn a_stuck_request_does_not_hold_shutdown_past_the_drain_timeout() {
    let mut s = Server::infergate(&["--builtin_models", "echo", "--drain_timeout_seconds", "1"]);
    let mut conn = TcpStream::connect(s.http).unwrap();
    // Headers promise a body that never comes.
    write!(
        conn,
        "POST /v1/models/echo:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = std::time::Instant::now();
    s.terminate();
    assert!(
        s.wait(Duration::from_secs(10)).is_some(),
        "process must exit"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit within the drain timeout, took {:?}",
        started.elapsed()
    );
}
