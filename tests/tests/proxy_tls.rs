//! infergate proxy's TLS listener (rustls): HTTP/1.1 and h2 by ALPN, with a
//! certificate generated for the test; curl is the client.

mod proxy_support;

use std::process::Command;

use infergate_tests::{Server, free_port, scratch_dir};
use proxy_support::{Proxy, mock_requests, rest};

/// curl over TLS trusting `ca`: (HTTP version, status).
fn curl(ca: &str, url: &str, version_flag: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "--cacert",
            ca,
        ])
        .arg(version_flag)
        .args([
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"instances": [[1.0]]}"#,
            url,
        ])
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn tls_listener_serves_http1_and_h2() {
    let dir = scratch_dir("proxy_tls_certs");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("key");
    let tls = format!("127.0.0.1:{}", free_port());
    let mock = Server::mock(&[]);
    let proxy = Proxy::start_with(
        "proxy_tls",
        &format!(
            "tls = {{ address = \"{tls}\", cert = \"{}\", key = \"{}\" }}\n",
            cert.display(),
            key.display()
        ),
        &format!(
            "[pools.p]\nbackends = [\"{}\"]\n[[routes]]\nname = \"all\"\npool = \"p\"\n",
            rest(&mock)
        ),
    );
    let ca = cert.to_string_lossy().into_owned();
    let url = format!("https://{tls}/v1/models/m:predict");
    assert_eq!(curl(&ca, &url, "--http1.1"), "1.1 200");
    assert_eq!(curl(&ca, &url, "--http2"), "2 200");
    let http = infergate_tests::Http::default();
    assert_eq!(mock_requests(&http, &mock).await, 2);
    drop(proxy);
}

#[test]
fn a_missing_certificate_is_refused_with_its_key() {
    let dir = scratch_dir("proxy_tls_missing");
    let path = dir.join("proxy.toml");
    std::fs::write(
        &path,
        "[listen]\naddress = \"127.0.0.1:1\"\ntls = { address = \"127.0.0.1:2\", cert = \"/no/cert.pem\", key = \"/no/key.pem\" }\n\
         [pools.a]\nbackends = [\"127.0.0.1:3\"]\n[[routes]]\nname = \"r\"\npool = \"a\"\n",
    )
    .expect("write");
    let out = Command::new(infergate_tests::bin("infergate"))
        .args([
            "proxy",
            "--config",
            &path.to_string_lossy(),
            "--check-config",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("listen.tls.cert: cannot read /no/cert.pem"),
        "{stderr}"
    );
}
