//! The error of the wire layer. Every variant is a fault in what a client sent
//! (or in a tensor that cannot be written in the asked-for form), so all of
//! them map to the KServe `InvalidInput` class: HTTP 400, gRPC INVALID_ARGUMENT.
use crate::status::ErrorClass;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoError {
    #[error("Unrecognized request format: {0}")]
    Json(String),

    #[error(
        "unsupported datatype '{0}': expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES"
    )]
    UnknownDatatype(String),

    #[error("tensor '{tensor}': shape {shape:?} needs {expected} elements but {actual} were given")]
    ElementCount {
        tensor: String,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },

    #[error("tensor '{tensor}': {detail}")]
    Tensor { tensor: String, detail: String },

    #[error("binary tensor extension: {0}")]
    Binary(String),

    #[error("{0}")]
    Request(String),
}

impl ProtoError {
    pub fn tensor(tensor: &str, detail: impl Into<String>) -> Self {
        ProtoError::Tensor {
            tensor: tensor.to_string(),
            detail: detail.into(),
        }
    }

    pub fn request(detail: impl Into<String>) -> Self {
        ProtoError::Request(detail.into())
    }

    pub fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }
}

pub type Result<T, E = ProtoError> = std::result::Result<T, E>;
