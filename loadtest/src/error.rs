//! The crate's one error type. Per-request failures are not errors here:
//! they are counted in the report ([`crate::stats::Outcome`]); these are the
//! failures that stop a run or the mock from starting.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid argument: {0}")]
    Usage(String),
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("payload: {0}")]
    Payload(String),
    #[error(transparent)]
    Proto(#[from] infergate_proto::ProtoError),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("metadata of model '{model}' from {target}: {reason}")]
    Metadata {
        model: String,
        target: String,
        reason: String,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("plot: {0}")]
    Plot(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl LoadError {
    pub fn usage(msg: impl Into<String>) -> Self {
        LoadError::Usage(msg.into())
    }

    pub fn payload(msg: impl Into<String>) -> Self {
        LoadError::Payload(msg.into())
    }
}

pub type Result<T, E = LoadError> = std::result::Result<T, E>;
