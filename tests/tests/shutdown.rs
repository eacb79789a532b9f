//! SIGTERM: readiness and the listener go away at once, requests already in
//! flight still get their answer, and the process exits cleanly.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use infergate_tests::Server;

#[test]
fn in_flight_requests_finish_after_sigterm() {
    let mut s = Server::infergate(&["--builtin_models", "echo"]);
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
