//! The REST port over TLS (--ssl_certfile / --ssl_keyfile) with a
//! certificate generated for the test.
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use infergate_tests::{Server, scratch_dir};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

fn certificate(dir: &std::path::Path) -> (String, String, rustls::RootCertStore) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    (
        cert.to_str().unwrap().into(),
        key.to_str().unwrap().into(),
        roots,
    )
}

async fn get_over_tls(
    addr: std::net::SocketAddr,
    roots: rustls::RootCertStore,
    path: &str,
) -> Result<(u16, String), String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn rest_port_serves_tls_with_the_given_certificate() {
    let dir = scratch_dir("tls-rest");
    let (cert, key, roots) = certificate(&dir);
    let s = Server::infergate(&[
        "--builtin_models",
        "echo",
        "--ssl_certfile",
        &cert,
        "--ssl_keyfile",
        &key,
    ]);
    let (status, body) = get_over_tls(s.http, roots, "/v2/health/ready")
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"ready":true}"#));

    // A client that trusts another CA is refused during the handshake.
    let (_, _, other_roots) = certificate(&scratch_dir("tls-other-ca"));
    let err = get_over_tls(s.http, other_roots, "/").await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");

    // Plain HTTP to the TLS port gets no HTTP answer; the server stays up.
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<Bytes>>();
        client.get(s.url("/").parse().unwrap()).await
    })
    .await
    .expect("no hang");
    assert!(r.is_err(), "plain HTTP must not be served on the TLS port");
    // The certificate file on disk is the one served.
    let (status, _) = get_over_tls(s.http, certificate_roots(&cert), "/")
        .await
        .unwrap();
    assert_eq!(status, 200);
    // The gRPC port has no TLS: the operator is told so.
    let logs = s.logs_once("plaintext");
    assert!(logs.contains("gRPC (--grpc_port) is plaintext"), "{logs}");
}

fn certificate_roots(cert_pem: &str) -> rustls::RootCertStore {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    roots
}

#[test]
fn unreadable_or_mismatched_certificates_stop_startup_with_a_reason() {
    let dir = scratch_dir("tls-bad");
    let (cert, _, _) = certificate(&dir);
    let (_, other_key, _) = certificate(&scratch_dir("tls-bad-other"));
    let out = std::process::Command::new(infergate_tests::bin("infergate"))
        .args([
            "--builtin_models",
            "echo",
            "--http_port",
            "0",
            "--grpc_port",
            "0",
        ])
        .args(["--ssl_certfile", &cert, "--ssl_keyfile", &other_key])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate and key do not match"), "{err}");
    let out = std::process::Command::new(infergate_tests::bin("infergate"))
        .args([
            "--builtin_models",
            "echo",
            "--http_port",
            "0",
            "--grpc_port",
            "0",
        ])
        .args([
            "--ssl_certfile",
            "/nonexistent/cert.pem",
            "--ssl_keyfile",
            &other_key,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("/nonexistent/cert.pem"),
        "{err}"
    );
}
