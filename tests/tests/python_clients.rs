//! Real Python clients against the real binary. They run from the test venv
//! that scripts/test.sh creates; without it these tests say why and skip
//! (scripts/test.sh sets INFERGATE_REQUIRE_PYTHON so that CI cannot skip).
use std::process::Command;

use infergate_tests::{Server, python, workspace_root};

#[test]
fn tritonclient_http_and_grpc() {
    let Some(python) = python() else { return };
    let s = Server::infergate(&["--builtin_models", "simple,echo"]);
    let script = workspace_root().join("tests/python/tritonclient_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(s.http.to_string())
        .arg(s.grpc.unwrap().to_string())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tritonclient check failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        s.logs()
    );
    assert!(
        stdout.contains("tritonclient.http: ok") && stdout.contains("tritonclient.grpc: ok"),
        "{stdout}"
    );
}
