//! The V2 gRPC API (`inference.GRPCInferenceService`) generated from
//! `proto/inference.proto`, and its conversions to and from the
//! protocol-independent messages.
mod convert;

/// Generated messages, client and server of package `inference`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("inference");
}

/// Encoded `FileDescriptorSet` of `inference.proto`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/inference_descriptor.bin"));

/// Fully qualified service name, as health checks and reflection list it.
pub const SERVICE_NAME: &str = "inference.GRPCInferenceService";

pub use convert::{
    GrpcInferRequest, metadata_from_grpc, metadata_to_grpc, request_from_grpc, request_to_grpc,
    response_from_grpc, response_to_grpc,
};

#[cfg(test)]
mod tests;
