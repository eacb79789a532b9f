//! Helpers for the tool's own tests: start the mock (killed on drop), run
//! the generator with a deadline, read its JSON report.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_infergate-loadtest");

/// A running mock, killed when dropped.
pub struct Mock {
    child: Child,
    pub http: String,
    pub grpc: String,
}

impl Mock {
    /// `infergate-loadtest mock` on free loopback ports, one thread, plus `args`.
    pub fn start(args: &[&str]) -> Mock {
        let mut child = Command::new(BIN)
            .args([
                "mock",
                "--http-port",
                "0",
                "--grpc-port",
                "0",
                "--threads",
                "1",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the mock");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("the mock printed no listening line");
            }
        };
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or_else(|| panic!("no {k} in {line:?}"))
                .to_string()
        };
        assert!(line.starts_with("mock listening "), "{line:?}");
        Mock {
            http: field("http="),
            grpc: field("grpc="),
            child,
        }
    }

    /// (inference requests, errors) the mock has answered.
    pub fn stats(&self) -> (u64, u64) {
        let v = http_get_json(&self.http, "/mock/stats");
        (
            v["requests"].as_u64().unwrap(),
            v["errors"].as_u64().unwrap(),
        )
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GET over HTTP/1.0 (the connection closes after the answer).
pub fn http_get_json(addr: &str, path: &str) -> Value {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("JSON body")
}

/// Runs the generator with `args`, killing it after `deadline`.
pub fn run_tool(args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start infergate-loadtest");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "infergate-loadtest ran past {deadline:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `infergate-loadtest run ARGS --json - --no-progress --threads 1`, its report.
pub fn run_json(args: &[&str]) -> Value {
    let mut all = vec!["run", "--json", "-", "--no-progress", "--threads", "1"];
    all.extend_from_slice(args);
    let out = run_tool(&all, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "run {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}
