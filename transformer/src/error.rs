//! The error of the transformer layer.
use infergate_proto::{ErrorClass, ProtoError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransformError {
    #[error(transparent)]
    Proto(#[from] ProtoError),

    /// The request does not fit what the transform expects.
    #[error("{0}")]
    InvalidInput(String),

    /// The predictor's answer does not fit what the transform expects.
    #[error("{0}")]
    BadAnswer(String),

    /// The transformer configuration is wrong (found at startup).
    #[error("transformer config: {0}")]
    Config(String),
}

impl TransformError {
    pub fn class(&self) -> ErrorClass {
        match self {
            TransformError::Proto(e) => e.class(),
            TransformError::InvalidInput(_) => ErrorClass::InvalidInput,
            TransformError::BadAnswer(_) | TransformError::Config(_) => ErrorClass::Internal,
        }
    }
}
