//! What the logs look like where they are read: plain text without colour
//! codes in a file or pipe, JSON lines with --log_format json, and the
//! latency log written out even though lines go through a queue.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use infergate_tests::{Http, Server, bin};
use serde_json::{Value, json};

fn body() -> Value {
    json!({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]}]})
}

/// A transformer in front of the loadtest mock predictor.
fn transformer(mock: &Server, extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let host = mock.http.to_string();
    let mut args = vec![
        "--model_name",
        "m",
        "--predictor_host",
        &host,
        "--predictor_protocol",
        "v2",
    ];
    args.extend_from_slice(extra);
    Server::start(&bin("infergate"), &args, envs)
}

#[test]
fn logs_into_a_pipe_carry_no_colour_codes() {
    // stderr is a pipe here, as under `bash scripts/run.sh > log 2>&1` or a
    // container runtime; the server logs its "serving" line with fields,
    // which the text format dims on a terminal.
    let mut child = Command::new(bin("infergate"))
        .args([
            "--bind_address",
            "127.0.0.1",
            "--http_port",
            "0",
            "--grpc_port",
            "0",
            "--model_name",
            "m",
            "--predictor_host",
            "127.0.0.1:9",
        ])
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn infergate");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut text = Vec::new();
        let mut stderr = stderr;
        let mut buf = [0u8; 4096];
        // Until the "serving" line has come (or the pipe closed).
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&text).contains("serving") {
                break;
            }
        }
        text
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = reader.join().expect("reader");
    let shown = String::from_utf8_lossy(&text);
    assert!(shown.contains("serving"), "no serving line: {shown}");
    assert!(!text.contains(&0x1b), "colour codes in a pipe: {shown:?}");
}

#[tokio::test]
async fn json_logs_are_one_object_a_line() {
    let mock = Server::mock(&[]);
    // The flag, and its environment variable.
    let by_flag = transformer(&mock, &["--log_format", "json"], &[]);
    let by_env = transformer(&mock, &[], &[("INFERGATE_LOG_FORMAT", "json")]);
    for t in [by_flag, by_env] {
        let r = Http::default()
            .post_json(&t.url("/v2/models/m/infer"), &body())
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // Latency logging is on by default, as in KServe.
        let logs = t.logs_once("request latency");
        let lines: Vec<Value> = logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        for line in &lines {
            assert!(line["level"].is_string(), "{line}");
            assert!(line["fields"]["message"].is_string(), "{line}");
            assert!(line["target"].is_string(), "{line}");
        }
        let latency = lines
            .iter()
            .find(|l| l["fields"]["message"] == "request latency")
            .unwrap_or_else(|| panic!("no latency line in {logs}"));
        assert_eq!(latency["level"], "INFO");
        assert_eq!(latency["fields"]["model"], "m");
        assert!(latency["fields"]["predict_ms"].is_number(), "{latency}");
    }
}

#[tokio::test]
async fn latency_logging_can_be_turned_off() {
    let mock = Server::mock(&[]);
    let t = transformer(&mock, &["--enable_latency_logging", "false"], &[]);
    let r = Http::default()
        .post_json(&t.url("/v2/models/m/infer"), &body())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Terminating flushes the queue, so a line would be there by now.
    t.terminate();
    let mut t = t;
    assert_eq!(t.wait(Duration::from_secs(20)), Some(true));
    let logs = t.logs();
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains("request latency"), "{logs}");
}
