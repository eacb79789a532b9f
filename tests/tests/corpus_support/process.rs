//! Command-line cases: a binary started with bad flags or bad files must
//! exit (never serve, never hang) with a message that names the mistake.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use infergate_tests::{bin, workspace_root};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ExitAnswer {
    Exited {
        code: Option<i32>,
        stderr: String,
    },
    /// Still running after the deadline (it started serving, or hung).
    StillRunning,
}

/// Writes the case's `files` (text) and `copy` (paths in the workspace)
/// under `dir`, then runs its binary with `{dir}` in args replaced.
pub fn run(case: &Value, dir: &Path) -> ExitAnswer {
    std::fs::create_dir_all(dir).expect("case dir");
    if let Some(Value::Object(files)) = case.get("files") {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text.as_str().expect("file text")).unwrap();
        }
    }
    if let Some(Value::Object(copies)) = case.get("copy") {
        for (name, from) in copies {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::copy(workspace_root().join(from.as_str().unwrap()), path).unwrap();
        }
    }
    let dir_s = dir.to_str().unwrap();
    let args: Vec<String> = case["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap().replace("{dir}", dir_s))
        .collect();
    let binary = case
        .get("binary")
        .and_then(Value::as_str)
        .unwrap_or("infergate");
    let stderr_path = dir.join("stderr.log");
    let mut cmd = Command::new(bin(binary));
    if case.get("ports") != Some(&Value::Bool(false)) {
        cmd.args([
            "--bind_address",
            "127.0.0.1",
            "--http_port",
            "0",
            "--grpc_port",
            "0",
        ]);
    }
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    if let Some(Value::Object(env)) = case.get("env") {
        for (k, v) in env {
            cmd.env(k, v.as_str().unwrap());
        }
    }
    let mut child = cmd.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return ExitAnswer::Exited {
                code: status.code(),
                stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return ExitAnswer::StillRunning;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
