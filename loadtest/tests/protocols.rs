//! Every protocol and transport against the mock, answers decoded
//! (`--validate`); payloads from files and from metadata with overrides.
mod common;

use std::time::Duration;

use common::{Mock, run_json, run_tool, u};
use serde_json::Value;

fn all_ok(r: &Value, n: u64) {
    for t in r["targets"].as_array().unwrap() {
        assert_eq!(u(&t["ok"]), n, "{}: {}", t["label"], t["errors"]);
    }
}

#[test]
fn every_protocol_over_http1_and_grpc() {
    let mock = Mock::start(&[]);
    let h = &mock.http;
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "100",
        "-w",
        "0s",
        "-c",
        "4",
        "--validate",
        &format!("v1+http://{h}"),
        &format!("v2+http://{h}"),
        &format!("v2-binary+http://{h}"),
        &format!("grpc://{}", mock.grpc),
    ]);
    all_ok(&r, 100);
    let protos: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protos, ["v1", "v2", "v2-binary", "grpc"]);
    // 1x16 FP32 generated from the mock's metadata: 64 bytes after the JSON.
    let binary = &r["targets"][2];
    assert!(u(&binary["request_bytes"]) > 64);
    assert_eq!(r["targets"][3]["http_version"], "2");
}

#[test]
fn http2_and_tls() {
    let plain = Mock::start(&[]);
    let tls = Mock::start(&["--tls"]);
    let port = tls.http.rsplit(':').next().unwrap();
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "100",
        "-w",
        "0s",
        "-c",
        "4",
        "--validate",
        "--http2",
        "-k",
        &format!("http://{}", plain.http),
        &format!("https://localhost:{port}"),
    ]);
    all_ok(&r, 100);
    assert_eq!(r["targets"][1]["http_version"], "2");
    assert_eq!(r["targets"][1]["tls"], true);
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "50",
        "-w",
        "0s",
        "-c",
        "2",
        "--validate",
        "-k",
        &format!("v1+https://localhost:{port}"),
    ]);
    all_ok(&r, 50);
}

#[test]
fn tls_verification_fails_without_trust() {
    let tls = Mock::start(&["--tls"]);
    let port = tls.http.rsplit(':').next().unwrap();
    let out = run_tool(
        &[
            "run",
            "-m",
            "m",
            "-n",
            "5",
            "--input",
            "x:FP32:1",
            &format!("https://localhost:{port}"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn payloads_come_from_files_in_either_protocol_version() {
    let mock = Mock::start(&["--input", "float_input:FP32:-1,4"]);
    let dir = std::env::temp_dir().join(format!("infergate-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let v1 = dir.join("v1.json");
    std::fs::write(
        &v1,
        r#"{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}"#,
    )
    .unwrap();
    let v2 = dir.join("v2.json");
    std::fs::write(
        &v2,
        r#"{"inputs": [{"name": "INPUT0", "shape": [1, 2], "datatype": "INT32", "data": [1, 2]}]}"#,
    )
    .unwrap();
    let h = &mock.http;
    for file in [&v1, &v2] {
        let r = run_json(&[
            "-m",
            "m",
            "-n",
            "40",
            "-w",
            "0s",
            "-c",
            "2",
            "--validate",
            "--input-data",
            file.to_str().unwrap(),
            &format!("v1+http://{h}"),
            &format!("v2+http://{h}"),
            &format!("grpc://{}", mock.grpc),
        ]);
        all_ok(&r, 40);
    }
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"rows": 1}"#).unwrap();
    let out = run_tool(
        &[
            "run",
            "-m",
            "m",
            "--input-data",
            bad.to_str().unwrap(),
            &format!("http://{h}"),
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a V2"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_payloads_follow_metadata_and_overrides() {
    let mock = Mock::start(&["--input", "ids:INT64:-1,-1", "--input", "text:BYTES:1"]);
    let url = format!("v2-binary+http://{}", mock.http);
    // The second dimension of `ids` is dynamic: without --shape it is refused.
    let out = run_tool(
        &["run", "-m", "m", "-n", "5", &url],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shape ids:DIMS"));
    let r = run_json(&[
        "-m",
        "m",
        "-n",
        "20",
        "-w",
        "0s",
        "--validate",
        "--shape",
        "ids:2,8",
        "--datatype",
        "ids:INT32",
        "--string-length",
        "10",
        &url,
    ]);
    all_ok(&r, 20);
    let json_len_and_blobs = u(&r["targets"][0]["request_bytes"]);
    // 2x8 INT32 (64 bytes) + one 10-byte string with its 4-byte length.
    assert!(json_len_and_blobs > 78, "{json_len_and_blobs}");
}

#[test]
fn the_table_is_the_default_output() {
    let mock = Mock::start(&[]);
    let out = run_tool(
        &[
            "run",
            "-m",
            "m",
            "-n",
            "50",
            "-w",
            "0s",
            "--no-progress",
            &format!("a=http://{}", mock.http),
            &format!("b=grpc://{}", mock.grpc),
        ],
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["target", "p99.9 ms", "a vs b", "rps"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn plots_are_written_when_a_font_is_found() {
    let mock = Mock::start(&[]);
    let dir = std::env::temp_dir().join(format!("infergate-loadtest-plots-{}", std::process::id()));
    let out = run_tool(
        &[
            "run",
            "-m",
            "m",
            "-n",
            "200",
            "-w",
            "0s",
            "--no-progress",
            "--window",
            "100ms",
            "--plot",
            dir.to_str().unwrap(),
            &format!("http://{}", mock.http),
        ],
        Duration::from_secs(60),
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("no TrueType font") {
        return; // a machine without fonts: the numbers still came out
    }
    for name in ["latency-over-time.png", "percentiles.png"] {
        let png = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}; {err}"));
        assert_eq!(&png[1..4], b"PNG", "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
