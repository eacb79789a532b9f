//! The corpus runner's transports: raw HTTP/1.1, framed gRPC, processes.
pub mod grpc;
pub mod process;
pub mod wire;
