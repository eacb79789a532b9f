//! Configuration as the real binary sees it: flag / environment / file
//! precedence, unknown flags, --help and startup errors.
use std::process::Command;

use infergate_tests::{Http, Server, bin, scratch_dir};
use serde_json::json;

async fn models(s: &Server) -> serde_json::Value {
    Http::default().get(&s.url("/v1/models")).await.json()["models"].clone()
}

#[tokio::test]
async fn precedence_is_args_then_env_then_file() {
    let dir = scratch_dir("config-precedence");
    let file = dir.join("infergate.toml");
    std::fs::write(
        &file,
        "builtin_models = [\"simple\", \"echo\"]\nenable_grpc = false\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let infergate = bin("infergate");

    let s = Server::start(&infergate, &["--config_file", file], &[]);
    assert_eq!(models(&s).await, json!(["echo", "simple"]), "from the file");
    assert_eq!(s.grpc, None, "enable_grpc = false in the file");

    let s = Server::start(
        &infergate,
        &["--config_file", file],
        &[("INFERGATE_BUILTIN_MODELS", "echo")],
    );
    assert_eq!(
        models(&s).await,
        json!(["echo"]),
        "environment beats the file"
    );

    let s = Server::start(
        &infergate,
        &[
            "--config_file",
            file,
            "--builtin_models",
            "simple",
            "--enable_grpc",
            "true",
        ],
        &[("INFERGATE_BUILTIN_MODELS", "echo")],
    );
    assert_eq!(
        models(&s).await,
        json!(["simple"]),
        "command line beats the environment"
    );
    assert!(s.grpc.is_some());

    let s = Server::start(&infergate, &[], &[("INFERGATE_CONFIG_FILE", file)]);
    assert_eq!(
        models(&s).await,
        json!(["echo", "simple"]),
        "config file named by the environment"
    );
}

#[tokio::test]
async fn kserve_container_args_with_unknown_flags_start() {
    let s = Server::infergate(&[
        "--builtin_models",
        "echo",
        "--model_name",
        "echo",
        "--workers",
        "1",
        "--model_version_policy",
        "latest",
        "--some_future_flag",
        "--enable_docs_url",
        "false",
        "--event-loop",
        "uvloop",
        "--max_threads",
        "8",
    ]);
    assert_eq!(models(&s).await, json!(["echo"]));
    let logs = s.logs();
    assert!(
        logs.contains("unknown flag ignored: --model_version_policy latest"),
        "{logs}"
    );
    assert!(
        logs.contains("unknown flag ignored: --some_future_flag"),
        "{logs}"
    );
}

#[test]
fn help_documents_the_kserve_flags() {
    let out = Command::new(bin("infergate"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--http_port",
        "--grpc_port",
        "--workers",
        "--max_threads",
        "--max_asyncio_workers",
        "--enable_grpc",
        "--enable_docs_url",
        "--enable_latency_logging",
        "--configure_logging",
        "--log_config_file",
        "--access_log_format",
        "--event-loop",
        "--timeout-keep-alive",
        "--model_name",
        "--predictor_host",
        "--protocol",
        "--predictor_protocol",
        "--predictor_use_ssl",
        "--predictor_request_timeout_seconds",
        "--grpc_max_send_message_length",
        "--grpc_max_receive_message_length",
        "--predictor_request_retries",
        "--enable_predictor_health_check",
        "--ssl_certfile",
        "--ssl_keyfile",
        "--max_request_bytes",
        "--config_file",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(help.contains("INFERGATE_HTTP_PORT"));
}

#[test]
fn startup_errors_are_clear() {
    let run = |args: &[&str]| {
        let out = Command::new(bin("infergate")).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(&["--http_port", "x"]);
    assert!(!ok && err.contains("--http_port"), "{err}");
    let (ok, err) = run(&["--http_port", "0", "--grpc_port", "0"]);
    assert!(!ok && err.contains("nothing to serve"), "{err}");
    let (ok, err) = run(&[
        "--builtin_models",
        "resnet",
        "--http_port",
        "0",
        "--grpc_port",
        "0",
    ]);
    assert!(
        !ok && err.contains("unknown built-in model 'resnet'"),
        "{err}"
    );
    let (ok, err) = run(&["--config_file", "/nonexistent.toml"]);
    assert!(
        !ok && err.contains("cannot read config file /nonexistent.toml"),
        "{err}"
    );
    let (ok, err) = run(&["--ssl_certfile", "/nonexistent.pem"]);
    assert!(!ok && err.contains("--ssl_keyfile"), "{err}");
}
