//! Wire types of infergate, with no I/O: KServe V1 JSON, Open Inference
//! Protocol (V2) JSON and its binary tensor extension, the V2 gRPC messages,
//! the lossless conversions between them, and the error-to-status tables.
//!
//! Everything decodes into [`InferRequest`] / [`InferResponse`] holding typed
//! [`Tensor`]s, and encodes back out of them.
pub mod datatype;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
pub mod infer;
mod json;
pub mod parameters;
pub mod payload;
pub mod raw;
pub mod status;
pub mod tensor;
pub mod v1;
pub mod v2;

pub use datatype::DataType;
pub use error::ProtoError;
pub use infer::{
    InferRequest, InferResponse, ModelMetadata, OutputFormat, RequestedOutput, ServerMetadata,
    TensorMetadata,
};
pub use parameters::{ParamValue, Parameters};
pub use payload::{Payload, Protocol, Reply, RequestContext};
pub use status::ErrorClass;
pub use tensor::{Tensor, TensorData};
