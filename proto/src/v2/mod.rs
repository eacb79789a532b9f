//! Open Inference Protocol (V2) REST bodies: JSON, and the binary tensor
//! extension (`Inference-Header-Content-Length`, `binary_data_size`).
mod decode;
mod encode;

pub use decode::{decode_request, decode_response};
pub use encode::{Encoded, encode_request, encode_response};

/// Header that carries the size of the JSON part of a binary-extension body.
pub const INFERENCE_HEADER_CONTENT_LENGTH: &str = "inference-header-content-length";

#[cfg(test)]
mod tests;
