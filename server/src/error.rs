//! The error of the serving layer. Models return it too, so that a model can
//! say "invalid input" or "not ready" the way KServe models raise
//! `InvalidInput` or `ModelNotReady`.
use infergate_proto::{ErrorClass, ProtoError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Proto(#[from] ProtoError),

    #[error("{0}")]
    InvalidInput(String),

    #[error("Model with name {0} does not exist.")]
    ModelNotFound(String),

    #[error("Model with name {0} is not ready.")]
    ModelNotReady(String),

    #[error("Server is not ready.")]
    ServerNotReady,

    #[error("{0}")]
    NotImplemented(String),

    #[error("Not Found")]
    RouteNotFound,

    #[error("Method Not Allowed")]
    MethodNotAllowed,

    #[error("request body is larger than the limit of {0} bytes (--max_request_bytes)")]
    PayloadTooLarge(usize),

    #[error(
        "answer of {size} bytes is larger than the limit of {limit} bytes (--grpc_max_send_message_length)"
    )]
    ResponseTooLarge { size: usize, limit: usize },

    #[error("{0}")]
    Overloaded(String),

    #[error("{0}")]
    Timeout(String),

    #[error("the request body did not arrive within {0:?} (--body_read_timeout_seconds)")]
    BodyTimeout(std::time::Duration),

    #[error("{0}")]
    BadGateway(String),

    #[error("{0}")]
    Internal(String),

    /// An error an upstream answered, passed on with its own HTTP status.
    #[error("{message}")]
    Upstream { status: u16, message: String },

    /// An error of another layer (transforms, the upstream, the predictor)
    /// under the class that layer's error names: its status and code come
    /// from the one class table like every other error's.
    #[error("{message}")]
    Classed { class: ErrorClass, message: String },
}

impl InferError {
    pub fn class(&self) -> ErrorClass {
        match self {
            InferError::Proto(e) => e.class(),
            InferError::InvalidInput(_) => ErrorClass::InvalidInput,
            InferError::ModelNotFound(_) | InferError::RouteNotFound => ErrorClass::NotFound,
            InferError::ModelNotReady(_) | InferError::ServerNotReady => ErrorClass::NotReady,
            InferError::NotImplemented(_) => ErrorClass::NotImplemented,
            InferError::MethodNotAllowed => ErrorClass::MethodNotAllowed,
            InferError::PayloadTooLarge(_) | InferError::ResponseTooLarge { .. } => {
                ErrorClass::PayloadTooLarge
            }
            InferError::Overloaded(_) => ErrorClass::Overloaded,
            InferError::Timeout(_) => ErrorClass::Timeout,
            InferError::BodyTimeout(_) => ErrorClass::RequestTimeout,
            InferError::BadGateway(_) => ErrorClass::BadGateway,
            InferError::Internal(_) => ErrorClass::Internal,
            InferError::Upstream { status, .. } => ErrorClass::from_http_status(*status),
            InferError::Classed { class, .. } => *class,
        }
    }

    /// An error of another layer, by its class.
    pub fn classed(class: ErrorClass, message: impl Into<String>) -> Self {
        InferError::Classed {
            class,
            message: message.into(),
        }
    }

    /// The HTTP status a REST client sees: the class's, or an upstream's own.
    pub fn http_status(&self) -> u16 {
        match self {
            InferError::Upstream { status, .. } => *status,
            other => other.class().http_status(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        InferError::InvalidInput(msg.into())
    }

    /// The gRPC status a client sees for this error. The message travels
    /// as a header (`grpc-message`), so it is cut at `MAX_GRPC_MESSAGE`
    /// bytes: one quoting a huge input (a shape of 10 000 dimensions) made a
    /// header the client's HTTP/2 stack refused, and it never saw the code.
    pub fn to_status(&self) -> tonic::Status {
        let mut msg = self.to_string();
        if msg.len() > MAX_GRPC_MESSAGE {
            let mut end = MAX_GRPC_MESSAGE;
            while !msg.is_char_boundary(end) {
                end -= 1;
            }
            msg.truncate(end);
            msg.push_str("...");
        }
        tonic::Status::new(self.class().grpc_code(), msg)
    }
}

/// Longest gRPC error message sent (percent-encoding may triple it).
const MAX_GRPC_MESSAGE: usize = 2048;

pub type Result<T, E = InferError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_cut_to_fit_a_header() {
        let long = InferError::invalid("é".repeat(100_000));
        let status = long.to_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().len() <= MAX_GRPC_MESSAGE + 3);
        assert!(status.message().ends_with("..."));
        let short = InferError::invalid("bad shape");
        assert_eq!(short.to_status().message(), "bad shape");
    }
}
