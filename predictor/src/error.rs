//! The error of the predictor layer, and how it reaches clients.
use infergate_proto::ErrorClass;
use infergate_server::InferError;
pub use infergate_server::batching::BatchError;

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

    /// A queue's answer, the batcher's or the sessions': full (429), timed
    /// out (504), stopped with the request in it (503: the model was
    /// unloaded mid-request), or a batch that could not be formed.
    #[error(transparent)]
    Queue(#[from] BatchError),

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

impl PredictorError {
    /// The class callers see this error under: the request's fault is
    /// invalid input (400), a full queue overload (429), a queue timeout 504,
    /// a model stopped mid-request not ready (503), the rest internal (500).
    pub fn class(&self) -> ErrorClass {
        match self {
            PredictorError::Input(_) | PredictorError::OrtInput(_) => ErrorClass::InvalidInput,
            PredictorError::Queue(q) => q.class(),
            PredictorError::Runtime(_)
            | PredictorError::Load { .. }
            | PredictorError::OrtRun(_)
            | PredictorError::Storage(_) => ErrorClass::Internal,
        }
    }
}

impl From<PredictorError> for InferError {
    fn from(e: PredictorError) -> Self {
        InferError::classed(e.class(), e.to_string())
    }
}

pub type Result<T, E = PredictorError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each predictor error as REST and gRPC callers see it.
    #[test]
    fn every_predictor_error_gets_its_class_status_and_code() {
        use tonic::Code;
        let cases = [
            (
                PredictorError::Input("bad shape".into()),
                400,
                Code::InvalidArgument,
            ),
            (
                PredictorError::OrtInput("rank".into()),
                400,
                Code::InvalidArgument,
            ),
            (
                BatchError::QueueFull("mlp".into()).into(),
                429,
                Code::ResourceExhausted,
            ),
            (
                BatchError::QueueTimeout("mlp".into(), 5).into(),
                504,
                Code::DeadlineExceeded,
            ),
            (
                BatchError::Stopped("mlp".into()).into(),
                503,
                Code::Unavailable,
            ),
            (
                PredictorError::Runtime("no ORT".into()),
                500,
                Code::Internal,
            ),
            (
                PredictorError::Load {
                    model: "m".into(),
                    reason: "bad".into(),
                },
                500,
                Code::Internal,
            ),
            (PredictorError::OrtRun("failed".into()), 500, Code::Internal),
            (PredictorError::Storage("gone".into()), 500, Code::Internal),
        ];
        for (e, status, code) in cases {
            let (class, text) = (e.class(), e.to_string());
            let infer = InferError::from(e);
            assert_eq!(infer.class(), class, "{text}");
            assert_eq!(infer.http_status(), status, "{text}");
            assert_eq!(infer.to_status().code(), code, "{text}");
            assert_eq!(infer.to_string(), text);
        }
    }
}
