//! TLS to the predictor with rustls: the system's roots or a given CA file,
//! an optional client certificate (mTLS), and an optional server-name
//! override.
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::UpstreamSettings;
use super::error::UpstreamError;

fn config_error(what: &str, path: &Path, e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Config(format!("{what} {}: {e}", path.display()))
}

pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, UpstreamError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| config_error("cannot read", path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error("bad certificate in", path, e))?;
    if certs.is_empty() {
        return Err(config_error("no certificate in", path, "empty PEM"));
    }
    Ok(certs)
}

/// The rustls client configuration the REST client uses.
pub fn client_config(s: &UpstreamSettings) -> Result<rustls::ClientConfig, UpstreamError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &s.ca_file {
        Some(ca) => {
            for cert in certificates(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| config_error("unusable CA certificate in", ca, e))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Config(e.to_string()))?
        .with_root_certificates(roots);
    // ALPN is left to hyper-rustls, which sets it from the enabled protocols.
    let config = match (&s.client_cert, &s.client_key) {
        (Some(cert), Some(key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| config_error("cannot read private key", key, e))?;
            builder
                .with_client_auth_cert(certificates(cert)?, key)
                .map_err(|e| config_error("client certificate and key do not match:", cert, e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(config)
}
