//! The corpus runner's cases and transports: raw HTTP/1.1, framed gRPC,
//! processes. Shared by corpus.rs and http1_paths.rs, which each use a part.
#![allow(dead_code)]
pub mod cases;
pub mod grpc;
pub mod process;
pub mod wire;
