//! Error accounting: by HTTP status and gRPC code, exactly; failures to
//! connect; a server that goes away mid-run.
mod common;

use std::time::Duration;

use common::{Mock, run_json, run_tool, u};

#[test]
fn http_errors_are_counted_by_status_exactly() {
    // The mock fails exactly every tenth request.
    let mock = Mock::start(&["--error-rate", "0.1"]);
    let url = format!("http://{}", mock.http);
    let r = run_json(&["-m", "m", "-n", "1000", "-w", "0s", "-c", "4", &url]);
    let t = &r["targets"][0];
    assert_eq!(u(&t["requests"]), 1000);
    assert_eq!(u(&t["ok"]), 900);
    assert_eq!(u(&t["errors"]["total"]), 100);
    assert_eq!(t["errors"]["by_kind"], serde_json::json!({"http 500": 100}));
    assert_eq!(mock.stats(), (1000, 100));
    // Answered errors have a latency too.
    assert_eq!(u(&t["latency_ms"]["samples"]), 1000);
}

#[test]
fn grpc_errors_are_counted_by_code() {
    let mock = Mock::start(&["--error-rate", "0.25"]);
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "400",
        "-w",
        "0s",
        "-c",
        "4",
        &format!("grpc://{}", mock.grpc),
    ]);
    let t = &r["targets"][0];
    assert_eq!(
        t["errors"]["by_kind"],
        serde_json::json!({"grpc INTERNAL": 100})
    );
    assert_eq!(u(&t["ok"]), 300);
}

#[test]
fn other_statuses_are_their_own_kind() {
    // A wrong base path: every infer is a 404 (metadata too, so --input says
    // what to send).
    let mock = Mock::start(&[]);
    let url = format!("http://{}/nowhere", mock.http);
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "50",
        "-w",
        "0s",
        "-c",
        "2",
        "--input",
        "x:FP32:1,4",
        &url,
    ]);
    let t = &r["targets"][0];
    assert_eq!(t["errors"]["by_kind"], serde_json::json!({"http 404": 50}));
    assert_eq!(u(&t["ok"]), 0);
}

#[test]
fn an_unreachable_target_stops_the_run_with_a_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_tool(
        &[
            "run",
            "-m",
            "m",
            "-n",
            "10",
            "--input",
            "x:FP32:1",
            &format!("http://127.0.0.1:{port}"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to 127.0.0.1"), "{err}");
}

#[test]
fn a_server_that_goes_away_is_counted_not_fatal() {
    let mut mock = Mock::start(&["--latency", "2ms"]);
    let url = format!("http://{}", mock.http);
    let args = [
        "-m",
        "m",
        "-d",
        "2s",
        "-w",
        "0s",
        "-c",
        "4",
        "--timeout",
        "1s",
        &url,
    ];
    let r = std::thread::scope(|s| {
        let run = s.spawn(|| run_json(&args));
        std::thread::sleep(Duration::from_millis(800));
        mock.kill();
        run.join().unwrap()
    });
    let t = &r["targets"][0];
    let by_kind = t["errors"]["by_kind"].as_object().unwrap();
    assert!(u(&t["ok"]) > 50, "{t}");
    let lost: u64 = ["connect", "io"]
        .iter()
        .filter_map(|k| by_kind.get(*k)?.as_u64())
        .sum();
    assert!(lost > 0, "{by_kind:?}");
}
