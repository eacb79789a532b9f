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

#[test]
fn headers_go_on_the_metadata_request_too() {
    // A target behind a token: without -H the run fails at its first step
    // (metadata), with it every request passes, over REST and gRPC.
    let mock = Mock::start(&["--require-header", "authorization: Bearer t0k"]);
    for url in [
        format!("http://{}", mock.http),
        format!("grpc://{}", mock.grpc),
    ] {
        let out = run_tool(
            &[
                "run",
                "--no-progress",
                "-m",
                "m",
                "-n",
                "20",
                "-w",
                "0s",
                "-c",
                "2",
                &url,
            ],
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{url}: a run without the token must fail: {stderr}"
        );
        assert!(
            stderr.contains("metadata")
                || stderr.contains("401")
                || stderr.contains("Unauthenticated"),
            "{url}: {stderr}"
        );
        let r = run_json(&[
            "-m",
            "m",
            "-n",
            "20",
            "-w",
            "0s",
            "-c",
            "2",
            "-H",
            "authorization: Bearer t0k",
            &url,
        ]);
        assert_eq!(u(&r["targets"][0]["ok"]), 20, "{url}: {r}");
    }
}

#[test]
fn a_run_where_every_request_times_out_prints_no_latency() {
    // Every answer takes 2 s and the client waits 100 ms: no latency to show.
    let mock = Mock::start(&["--latency", "2s"]);
    let url = format!("http://{}", mock.http);
    let out = run_tool(
        &[
            "run",
            "--no-progress",
            "-m",
            "m",
            "-n",
            "4",
            "-w",
            "0s",
            "-c",
            "2",
            "--timeout",
            "100ms",
            &url,
        ],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.contains("v2") && l.contains(&mock.http.to_string()))
        .unwrap_or_else(|| panic!("no row for the target: {stdout}"));
    assert!(row.contains("n/a"), "{row}");
    assert!(!row.contains("0.000"), "{row}");
}
