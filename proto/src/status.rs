//! The one table per protocol that turns an error class into an HTTP status
//! and a gRPC code. Every layer's error enum names its class; nothing else in
//! the project picks status codes.

/// The kinds of failure a KServe client can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// KServe `InvalidInput`.
    InvalidInput,
    /// KServe `ModelNotFound`, and unknown routes.
    NotFound,
    /// KServe `ModelNotReady` / `ServerNotReady`.
    NotReady,
    /// KServe `NotImplementedError`.
    NotImplemented,
    MethodNotAllowed,
    PayloadTooLarge,
    /// Admission control: a queue or concurrency limit is full.
    Overloaded,
    /// A deadline passed before the answer was ready.
    Timeout,
    /// The client did not send its request in time (a stalled body).
    RequestTimeout,
    /// An upstream could not be reached or answered badly.
    BadGateway,
    /// Anything else.
    Internal,
}

impl ErrorClass {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorClass::InvalidInput => 400,
            ErrorClass::NotFound => 404,
            ErrorClass::MethodNotAllowed => 405,
            ErrorClass::PayloadTooLarge => 413,
            ErrorClass::RequestTimeout => 408,
            ErrorClass::Overloaded => 429,
            ErrorClass::Internal => 500,
            ErrorClass::NotImplemented => 501,
            ErrorClass::BadGateway => 502,
            ErrorClass::NotReady => 503,
            ErrorClass::Timeout => 504,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorClass::InvalidInput => tonic::Code::InvalidArgument,
            ErrorClass::NotFound => tonic::Code::NotFound,
            ErrorClass::MethodNotAllowed => tonic::Code::Unimplemented,
            ErrorClass::PayloadTooLarge => tonic::Code::ResourceExhausted,
            ErrorClass::Overloaded => tonic::Code::ResourceExhausted,
            ErrorClass::Internal => tonic::Code::Internal,
            ErrorClass::NotImplemented => tonic::Code::Unimplemented,
            ErrorClass::BadGateway => tonic::Code::Unavailable,
            ErrorClass::NotReady => tonic::Code::Unavailable,
            ErrorClass::Timeout => tonic::Code::DeadlineExceeded,
            ErrorClass::RequestTimeout => tonic::Code::DeadlineExceeded,
        }
    }

    /// The class an HTTP status from an upstream belongs to.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            404 => ErrorClass::NotFound,
            405 => ErrorClass::MethodNotAllowed,
            408 => ErrorClass::RequestTimeout,
            413 => ErrorClass::PayloadTooLarge,
            429 => ErrorClass::Overloaded,
            501 => ErrorClass::NotImplemented,
            502 => ErrorClass::BadGateway,
            503 => ErrorClass::NotReady,
            504 => ErrorClass::Timeout,
            400..=499 => ErrorClass::InvalidInput,
            _ => ErrorClass::Internal,
        }
    }

    /// The class a gRPC status from an upstream belongs to.
    pub fn from_grpc_code(code: tonic::Code) -> Self {
        match code {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => ErrorClass::InvalidInput,
            tonic::Code::NotFound => ErrorClass::NotFound,
            tonic::Code::Unimplemented => ErrorClass::NotImplemented,
            tonic::Code::ResourceExhausted => ErrorClass::Overloaded,
            tonic::Code::DeadlineExceeded => ErrorClass::Timeout,
            tonic::Code::Unavailable => ErrorClass::NotReady,
            _ => ErrorClass::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kserve_error_table_is_honoured() {
        // ../shared/spec/kserve-compat.md, "Errors".
        assert_eq!(ErrorClass::InvalidInput.http_status(), 400);
        assert_eq!(
            ErrorClass::InvalidInput.grpc_code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(ErrorClass::NotFound.http_status(), 404);
        assert_eq!(ErrorClass::NotFound.grpc_code(), tonic::Code::NotFound);
        assert_eq!(ErrorClass::NotReady.http_status(), 503);
        assert_eq!(ErrorClass::NotReady.grpc_code(), tonic::Code::Unavailable);
        assert_eq!(ErrorClass::NotImplemented.http_status(), 501);
        assert_eq!(
            ErrorClass::NotImplemented.grpc_code(),
            tonic::Code::Unimplemented
        );
        assert_eq!(ErrorClass::Internal.http_status(), 500);
        assert_eq!(ErrorClass::Internal.grpc_code(), tonic::Code::Internal);
    }
}
