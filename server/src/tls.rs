//! TLS for the REST port (`--ssl_certfile` / `--ssl_keyfile`), with rustls.
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// An acceptor for the PEM certificate chain and key at these paths; with
/// `client_ca`, clients must present a certificate signed by that CA (mTLS).
pub fn acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> io::Result<TlsAcceptor> {
    let bad = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("cannot read certificate file", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("invalid certificate in", cert, &e))?;
    if certs.is_empty() {
        return Err(bad("no certificate in", cert, &"empty PEM"));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("cannot read private key", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca)
                .map_err(|e| bad("cannot read client CA file", ca, &e))?;
            for c in certs {
                let c = c.map_err(|e| bad("invalid certificate in", ca, &e))?;
                roots
                    .add(c)
                    .map_err(|e| bad("unusable CA certificate in", ca, &e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| bad("client CA", ca, &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("certificate and key do not match: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
