//! `infergate proxy --config`: a bad configuration is refused at start with
//! a message naming the key (exit 2), `--check-config` validates without
//! serving, and the example in docs/proxy.md passes it.

use std::process::Command;

use infergate_tests::{bin, scratch_dir, workspace_root};

fn proxy(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("infergate"))
        .arg("proxy")
        .args(args)
        .output()
        .expect("run infergate proxy");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_is_refused_with_the_key_named() {
    let dir = scratch_dir("proxy_bad_config");
    let path = dir.join("proxy.toml");
    std::fs::write(
        &path,
        "[listen]\naddress = \"127.0.0.1:1\"\n[pools.a]\nbackends = [\"127.0.0.1:2\"]\n\
         [[routes]]\nname = \"r\"\nsplit = [{ pool = \"a\", weight = 9 }, { pool = \"canary\", weight = 1 }]\n",
    )
    .expect("write");
    let path = path.to_string_lossy().into_owned();
    // Serving or only checking: refused before anything listens.
    for args in [
        vec!["--config", &path],
        vec!["--config", &path, "--check-config"],
    ] {
        let (code, _, stderr) = proxy(&args);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("routes[0].split[1].pool: no pool named \"canary\""),
            "{stderr}"
        );
    }
    let (code, _, stderr) = proxy(&["--config", "/no/such/proxy.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read /no/such/proxy.toml"),
        "{stderr}"
    );
}

#[test]
fn check_config_accepts_the_documented_example() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/proxy.md")).expect("docs");
    let start = doc.find("```toml\n").expect("toml block") + 8;
    let end = start + doc[start..].find("```").expect("end");
    let path = scratch_dir("proxy_check_config").join("proxy.toml");
    std::fs::write(&path, &doc[start..end]).expect("write");
    let (code, stdout, stderr) = proxy(&["--config", &path.to_string_lossy(), "--check-config"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("valid (3 routes, 4 pools"), "{stdout}");
}

#[test]
fn a_health_check_service_name_needs_the_grpc_protocol() {
    let path = scratch_dir("proxy_health_service").join("proxy.toml");
    std::fs::write(
        &path,
        "[listen]\naddress = \"127.0.0.1:1\"\n[pools.p]\nbackends = [\"127.0.0.1:2\"]\n\
         [pools.p.health]\nservice = \"inference.GRPCInferenceService\"\n\
         [[routes]]\nname = \"all\"\npool = \"p\"\n",
    )
    .expect("write");
    let (code, _, stderr) = proxy(&["--config", &path.to_string_lossy(), "--check-config"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("pools.p.health.service") && stderr.contains("protocol = \"grpc\""),
        "{stderr}"
    );
    let grpc = std::fs::read_to_string(&path).expect("read").replace(
        "[pools.p.health]\n",
        "[pools.p.health]\nprotocol = \"grpc\"\n",
    );
    std::fs::write(&path, grpc).expect("write");
    let (code, _, stderr) = proxy(&["--config", &path.to_string_lossy(), "--check-config"]);
    assert_eq!(code, 0, "{stderr}");
}
