//! The error of the predictor layer, and how it reaches clients.
use infergate_server::InferError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PredictorError {
    /// ONNX Runtime itself could not be loaded or started.
    #[error("{0}")]
    Runtime(String),

    /// A model could not be loaded (bad file, unsupported graph, bad config).
    #[error("cannot load model '{model}': {reason}")]
    Load { model: String, reason: String },

    /// The request does not fit the model.
    #[error("{0}")]
    Input(String),

    /// ONNX Runtime rejected the inputs it was given.
    #[error("ONNX Runtime rejected the input: {0}")]
    OrtInput(String),

    /// ONNX Runtime failed while running.
    #[error("ONNX Runtime failed: {0}")]
    OrtRun(String),

    /// The queue of a batching model is full.
    #[error("model '{0}' is overloaded: its queue is full")]
    QueueFull(String),

    /// A request waited in a batching queue past its timeout.
    #[error("model '{0}': request timed out in the queue after {1} ms")]
    QueueTimeout(String, u64),

    /// The session worker is gone (the model was unloaded mid-request).
    #[error("model '{0}' stopped while the request was in flight")]
    Stopped(String),

    #[error("storage: {0}")]
    Storage(String),
}

impl PredictorError {
    /// An ONNX Runtime error, as input fault or runtime fault by its code.
    pub fn from_ort(e: &ort::Error) -> Self {
        match e.code() {
            ort::ErrorCode::InvalidArgument => PredictorError::OrtInput(e.message().to_string()),
            _ => PredictorError::OrtRun(e.message().to_string()),
        }
    }
}

impl From<PredictorError> for InferError {
    fn from(e: PredictorError) -> Self {
        let msg = e.to_string();
        match e {
            PredictorError::Input(_) | PredictorError::OrtInput(_) => InferError::InvalidInput(msg),
            PredictorError::QueueFull(_) => InferError::Overloaded(msg),
            PredictorError::QueueTimeout(..) => InferError::Timeout(msg),
            PredictorError::Stopped(_) => InferError::ModelNotReady(msg),
            PredictorError::Runtime(_)
            | PredictorError::Load { .. }
            | PredictorError::OrtRun(_)
            | PredictorError::Storage(_) => InferError::Internal(msg),
        }
    }
}

pub type Result<T, E = PredictorError> = std::result::Result<T, E>;
