//! Flag parsing without the environment: precedence with environment
//! variables is tested against the real binary (tests/config.rs), since the
//! environment is shared by every test thread here.
use std::ffi::OsString;
use std::io::Write;

use clap::CommandFactory;

use super::*;

fn args(list: &[&str]) -> Vec<OsString> {
    std::iter::once("infergate")
        .chain(list.iter().copied())
        .map(OsString::from)
        .collect()
}

fn parse(list: &[&str]) -> Loaded<Flags> {
    load(args(list)).unwrap()
}

#[test]
fn defaults_match_kserve() {
    let f = parse(&[]).flags;
    assert_eq!(
        (
            f.serve.http_port,
            f.serve.grpc_port,
            f.serve.workers,
            f.serve.max_threads
        ),
        (8080, 8081, 1, 4)
    );
    assert!(f.serve.enable_grpc && f.serve.enable_latency_logging && f.serve.configure_logging);
    assert!(
        f.upstream.predictor_use_ssl.is_none()
            && !f.upstream.enable_predictor_health_check
            && !f.serve.enable_docs_url
    );
    assert_eq!(f.upstream.predictor_protocol, PredictorProtocol::V1);
    assert_eq!(f.upstream.predictor_request_timeout_seconds, 600);
    assert_eq!(f.upstream.predictor_request_retries, 0);
    assert_eq!(f.serve.grpc_max_send_message_length, 8_388_608);
    assert_eq!(f.serve.grpc_max_receive_message_length, 8_388_608);
    assert_eq!(f.serve.timeout_keep_alive, 65);
    assert_eq!(f.serve.model_name, "model");
    assert_eq!(f.upstream.max_predictor_response_bytes, 64 << 20);
}

#[test]
fn the_controller_command_line_parses() {
    let f = parse(&[
        "--model_name",
        "iris",
        "--predictor_host",
        "iris-predictor.default",
        "--http_port",
        "8080",
        "--workers",
        "1",
    ])
    .flags;
    assert_eq!(f.serve.model_name, "iris");
    assert_eq!(
        f.upstream.predictor_host.as_deref(),
        Some("iris-predictor.default")
    );
}

#[test]
fn boolean_flags_take_strtobool_values_and_bare_switches() {
    for (text, want) in [
        ("true", true),
        ("False", false),
        ("yes", true),
        ("no", false),
        ("on", true),
        ("off", false),
        ("1", true),
        ("0", false),
    ] {
        let f = parse(&["--predictor_use_ssl", text, "--enable_grpc", text]).flags;
        assert_eq!(
            (f.upstream.predictor_use_ssl, f.serve.enable_grpc),
            (Some(want), want),
            "{text}"
        );
    }
    let f = parse(&["--enable_predictor_health_check", "--predictor_use_ssl"]).flags;
    assert!(f.upstream.enable_predictor_health_check && f.upstream.predictor_use_ssl == Some(true));
    let f = parse(&["--enable_grpc=false"]).flags;
    assert!(!f.serve.enable_grpc);
    assert!(load(args(&["--enable_grpc", "maybe"])).is_err());
}

#[test]
fn dashed_kserve_flags_and_protocols_parse() {
    let f = parse(&[
        "--event-loop",
        "uvloop",
        "--timeout-keep-alive",
        "5",
        "--predictor_protocol",
        "grpc-v2",
        "--protocol",
        "v2",
    ])
    .flags;
    assert_eq!(f.serve.event_loop, "uvloop");
    assert_eq!(f.serve.timeout_keep_alive, 5);
    assert_eq!(f.upstream.predictor_protocol, PredictorProtocol::GrpcV2);
    assert_eq!(f.upstream.protocol, Some(PredictorProtocol::V2));
}

#[test]
fn unknown_flags_are_warned_about_not_fatal() {
    let loaded = parse(&[
        "--http_port",
        "9000",
        "--http_timeout",
        "5",
        "--frobnicate",
        "--color=blue",
        "-z",
        "--grpc_port",
        "9001",
    ]);
    assert_eq!(
        (loaded.flags.serve.http_port, loaded.flags.serve.grpc_port),
        (9000, 9001)
    );
    assert_eq!(
        loaded.warnings,
        [
            "unknown flag ignored: --http_timeout 5",
            "unknown flag ignored: --frobnicate",
            "unknown flag ignored: --color=blue",
            "unknown flag ignored: -z",
        ]
    );
}

#[test]
fn bad_values_are_errors() {
    let err = load(args(&["--http_port", "eighty"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--http_port"), "{err}");
    let err = load(args(&["--predictor_protocol", "v3"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("v3"), "{err}");
}

#[test]
fn config_file_fills_what_the_command_line_leaves() {
    let mut file = tempfile();
    writeln!(file.1, "http_port = 9100\ngrpc_port = 9101\nenable_grpc = false\nbuiltin_models = [\"simple\", \"echo\"]\nno_such_key = 1").unwrap();
    let path = file.0.to_str().unwrap().to_string();
    let loaded = parse(&["--config_file", &path, "--grpc_port", "7000"]);
    let f = loaded.flags;
    assert_eq!(f.serve.http_port, 9100, "from the file");
    assert_eq!(f.serve.grpc_port, 7000, "the command line wins");
    assert!(!f.serve.enable_grpc);
    assert_eq!(f.builtin_models, ["simple", "echo"]);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("unknown key 'no_such_key'"));
    std::fs::remove_file(&file.0).unwrap();
}

#[test]
fn config_file_errors_name_the_file() {
    let err = load(args(&["--config_file", "/nonexistent/infergate.toml"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/infergate.toml"), "{err}");
    let mut file = tempfile();
    writeln!(file.1, "http_port = ").unwrap();
    let path = file.0.to_str().unwrap().to_string();
    let err = load(args(&["--config_file", &path]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&path), "{err}");
    std::fs::remove_file(&file.0).unwrap();
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("infergate-config-{}-{n}.toml", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

#[test]
fn help_explains_every_flag() {
    let mut cmd = Flags::command();
    let help = cmd.render_long_help().to_string();
    for arg in Flags::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                help.contains(&format!("--{long}")),
                "--{long} missing from --help"
            );
            assert!(
                arg.get_help().is_some() || arg.get_long_help().is_some(),
                "--{long} has no help text"
            );
        }
    }
    assert!(help.contains("[env: INFERGATE_HTTP_PORT="), "{help}");
}

fn host(text: &str, use_ssl: Option<bool>) -> Result<(String, bool), String> {
    parse_predictor_host("--predictor_host", text, use_ssl).map(|h| (h.authority, h.use_ssl))
}

#[test]
fn predictor_host_takes_a_scheme_and_trailing_slashes() {
    let ok = |a: &str, ssl: bool| Ok((a.to_string(), ssl));
    assert_eq!(
        host("iris-predictor.default", None),
        ok("iris-predictor.default", false)
    );
    assert_eq!(host("10.0.0.1:8080", Some(true)), ok("10.0.0.1:8080", true));
    assert_eq!(host("http://p:8080", None), ok("p:8080", false));
    assert_eq!(host("http://p:8080/", None), ok("p:8080", false));
    assert_eq!(host("p:8080//", None), ok("p:8080", false));
    assert_eq!(host("HTTPS://p.example", None), ok("p.example", true));
    assert_eq!(
        host("https://[::1]:8443/", Some(true)),
        ok("[::1]:8443", true)
    );
    assert_eq!(host("http://p", Some(false)), ok("p", false));
}

#[test]
fn predictor_host_refuses_bad_forms_naming_the_flag() {
    for (text, ssl, why) in [
        (
            "https://p:8443",
            Some(false),
            "contradicts --predictor_use_ssl false",
        ),
        (
            "http://p:8080",
            Some(true),
            "contradicts --predictor_use_ssl true",
        ),
        ("ftp://p", None, "scheme 'ftp' is not supported"),
        ("grpc://p:8081", None, "scheme 'grpc' is not supported"),
        ("http://p:8080/v1/models/m", None, "a path is not allowed"),
        ("http://", None, "no host"),
        ("", None, "no host"),
        ("p:", None, "the port is missing"),
        ("p:http", None, "not a valid host[:port]"),
        ("user:pw@p:80", None, "user information is not allowed"),
    ] {
        let err = host(text, ssl).unwrap_err();
        assert!(
            err.starts_with(&format!("--predictor_host '{text}'")),
            "{err}"
        );
        assert!(err.contains(why), "{text}: {err}");
    }
}

#[test]
fn the_agents_batcher_flags_parse_under_both_spellings() {
    let f = parse(&[]).flags.batcher;
    assert!(!f.enable_batcher);
    assert_eq!(
        (f.max_batchsize, f.max_latency),
        (32, 5000),
        "the agent's defaults"
    );
    for spelling in [
        [
            "--enable-batcher",
            "--max-batchsize",
            "8",
            "--max-latency",
            "20",
        ],
        [
            "--enable_batcher",
            "--max_batchsize",
            "8",
            "--max_latency",
            "20",
        ],
    ] {
        let f = parse(&spelling).flags.batcher;
        assert!(f.enable_batcher, "{spelling:?}");
        assert_eq!((f.max_batchsize, f.max_latency), (8, 20), "{spelling:?}");
    }
    let f = parse(&["--enable-batcher", "false", "--batcher_max_queue_size", "4"]).flags;
    assert!(!f.batcher.enable_batcher);
    assert_eq!(f.batcher.batcher_max_queue_size, 4);
}
