//! Helpers for the end-to-end tests: start a real binary on free ports, read
//! the ports it bound, and talk to it over HTTP.
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A binary of the workspace, built beside the test executable
/// (`cargo test --workspace` and `cargo nextest run --workspace` build them).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace binaries first (cargo build --workspace)",
        path.display()
    );
    path
}

/// Loopback only, ports chosen by the OS (the server prints them).
const LOOPBACK_FREE_PORTS: [&str; 6] = [
    "--bind_address",
    "127.0.0.1",
    "--http_port",
    "0",
    "--grpc_port",
    "0",
];

/// The README's seed request: two iris rows, answered `{"predictions":[1,1]}`.
pub const SEED: &str = r#"{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}"#;

/// A scratch directory for one test, under target/.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target")
        .join("test-scratch")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A running server process, killed when dropped.
pub struct Server {
    child: Child,
    pub http: SocketAddr,
    pub grpc: Option<SocketAddr>,
    pub log: PathBuf,
}

impl Server {
    /// Starts `infergate` on free loopback ports with `args`.
    pub fn infergate(args: &[&str]) -> Server {
        Server::start(&bin("infergate"), args, &[])
    }

    /// `infergate` as the transformer of `model` in front of `host`
    /// speaking `protocol`, with `extra` flags.
    pub fn transformer(model: &str, host: &str, protocol: &str, extra: &[&str]) -> Server {
        let mut args = vec![
            "--model_name",
            model,
            "--predictor_host",
            host,
            "--predictor_protocol",
            protocol,
        ];
        args.extend_from_slice(extra);
        Server::infergate(&args)
    }

    /// Starts `binary` with `args` plus loopback/port-0 flags and `envs`, and
    /// waits for its "listening" line.
    pub fn start(binary: &PathBuf, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut all = LOOPBACK_FREE_PORTS.to_vec();
        all.extend_from_slice(args);
        Server::spawn(binary, &all, envs)
    }

    /// The mock predictor of infergate-loadtest on free loopback ports.
    pub fn mock(args: &[&str]) -> Server {
        let mut all = vec!["mock", "--http-port", "0", "--grpc-port", "0"];
        all.extend_from_slice(args);
        Server::spawn(&bin("infergate-loadtest"), &all, &[])
    }

    /// Starts `binary` with exactly `args` and `envs`, and waits for its
    /// "<program> listening http=ADDR grpc=ADDR" line.
    pub fn spawn(binary: &PathBuf, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let dir = workspace_root()
            .join("target")
            .join("test-scratch")
            .join("server-logs");
        std::fs::create_dir_all(&dir).expect("log dir");
        let log = dir.join(format!(
            "{}-{}.log",
            binary
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("server"),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(binary);
        cmd.args(args).stdout(Stdio::piped()).stderr(stderr);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if line.contains(" listening ") {
                    let _ = tx.send(line);
                    break;
                }
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let logs = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("server did not start; its log:\n{logs}");
            }
        };
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|a| a.parse::<SocketAddr>().ok())
        };
        Server {
            child,
            http: field("http=").expect("http address in the listening line"),
            grpc: field("grpc="),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc.expect("gRPC is enabled"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as Kubernetes does to stop a pod.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns whether it exited cleanly.
    pub fn wait(&mut self, timeout: Duration) -> Option<bool> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it contains `needle`, or as it is after 10 s: lines are
    /// written by a logging thread, a moment after they are logged.
    pub fn logs_once(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) || std::time::Instant::now() > deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply as tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error` message of a KServe error body, checking its form.
    pub fn error(&self) -> String {
        let v = self.json();
        let obj = v.as_object().expect("error body is an object");
        assert_eq!(obj.len(), 1, "error body has only 'error': {v}");
        obj["error"]
            .as_str()
            .expect("error is a string")
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A keep-alive HTTP/1.1 client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl Http {
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let resp = self.client.request(req).await.expect("HTTP request");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("response body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Reply {
        self.send(Method::GET, url, &[], Bytes::new()).await
    }

    /// The README's seed request (two iris rows, V1) to `model` on `s`.
    pub async fn predict_seed(&self, s: &Server, model: &str) -> Reply {
        self.send(
            Method::POST,
            &s.url(&format!("/v1/models/{model}:predict")),
            &[("content-type", "application/json")],
            SEED,
        )
        .await
    }

    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Reply {
        self.send(
            Method::POST,
            url,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }
}

/// The Python interpreter of the test venv (made by scripts/test.sh), or
/// `None` with the reason when it is absent and not required.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("INFERGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("INFERGATE_REQUIRE_PYTHON").is_some() {
        panic!(
            "{} is missing; run scripts/test.sh, which creates the test venv",
            path.display()
        );
    }
    eprintln!(
        "skipped: no test venv at {} (scripts/test.sh creates it)",
        path.display()
    );
    None
}

/// The example models committed in `models/`.
pub fn example_models() -> PathBuf {
    workspace_root().join("models")
}

/// Copies a directory tree (models into a scratch repository).
pub fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// Builds the test-only ONNX models (tests/models/make_test_models.py) into
/// `dir`; `None` when the test venv is absent (see [`python`]).
pub fn make_test_models(dir: &std::path::Path) -> Option<()> {
    let python = python()?;
    let out = Command::new(python)
        .arg(workspace_root().join("tests/models/make_test_models.py"))
        .arg(dir)
        .output()
        .expect("run make_test_models.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// Runs a binary that is expected to exit (a startup failure), returning
/// whether it succeeded and its stderr.
pub fn run_to_exit(binary: &PathBuf, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(binary);
    cmd.args(LOOPBACK_FREE_PORTS).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback port that was free a moment ago (for a server started later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Python fixture process from tests/python that prints one line
/// "<word> <address>" when ready and exits when its stdin closes (on drop).
pub struct PyFixture {
    child: Child,
    pub address: String,
}

impl PyFixture {
    /// `None` when the test venv is absent (see [`python`]).
    pub fn start(script: &str, args: &[&str]) -> Option<PyFixture> {
        let python = python()?;
        let mut child = Command::new(python)
            .arg(workspace_root().join("tests/python").join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python fixture");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("fixture line");
        let address = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("fixture said {line:?}"))
            .to_string();
        Some(PyFixture { child, address })
    }
}

impl Drop for PyFixture {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real KServe Python predictor (tests/python/kserve_iris_predictor.py)
/// serving `sklearn-iris` on the given ports; killed on drop.
pub struct KservePredictor {
    child: Child,
    pub http_port: u16,
    pub grpc_port: u16,
}

impl KservePredictor {
    /// Starts it and waits (up to 90 s) until it is ready; `None` without the venv.
    pub fn start() -> Option<KservePredictor> {
        let python = python()?;
        let (http_port, grpc_port) = (free_port(), free_port());
        let log = std::fs::File::create(scratch_dir("kserve-log").join("kserve.log")).expect("log");
        let child = Command::new(python)
            .arg(workspace_root().join("tests/python/kserve_iris_predictor.py"))
            .args([
                "--http_port",
                &http_port.to_string(),
                "--grpc_port",
                &grpc_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the KServe predictor");
        let p = KservePredictor {
            child,
            http_port,
            grpc_port,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while std::time::Instant::now() < deadline {
            let ready =
                std::net::TcpStream::connect(("127.0.0.1", http_port)).is_ok_and(|mut s| {
                    use std::io::{Read, Write};
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = write!(
                        s,
                        "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    );
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    answer.starts_with("HTTP/1.1 200")
                });
            if ready {
                return Some(p);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the KServe predictor did not become ready in 90 s");
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }
}

impl Drop for KservePredictor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
