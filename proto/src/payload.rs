//! A request and its answer as models and transformers see them, whichever
//! protocol they came in: V1 JSON as it came, or V2 tensors; plus the
//! request's context (id, headers, protocol).
use crate::error::ProtoError;
use crate::infer::{InferRequest, InferResponse, TensorMetadata};
use crate::v1::{V1Body, V1Form};

/// The protocol a request arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V1,
    V2Rest,
    Grpc,
}

/// Per-request context handed to every hook.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `x-request-id` of the request (the server generates one when the
    /// caller sent none).
    pub request_id: String,
    pub protocol: Protocol,
    /// Request headers (REST) or metadata (gRPC), moved from the request
    /// rather than copied.
    pub headers: http::HeaderMap,
}

impl RequestContext {
    pub fn new(protocol: Protocol) -> Self {
        RequestContext {
            request_id: String::new(),
            protocol,
            headers: http::HeaderMap::new(),
        }
    }
}

/// A request body as a model sees it: V1 JSON as it came (with its text
/// while unchanged), or V2 tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    V1(V1Body),
    V2(InferRequest),
}

/// A model's answer, in either protocol; the server converts it to the
/// caller's protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    V1(serde_json::Value),
    V2(InferResponse),
}

impl Payload {
    /// A V1 payload from a JSON value (made by code, so without text).
    pub fn v1(value: serde_json::Value) -> Self {
        Payload::V1(value.into())
    }

    /// The payload as V2 tensors, converting V1 JSON with the model's input
    /// metadata (see docs/protocol.md for the rules).
    pub fn into_v2(self, inputs: &[TensorMetadata]) -> Result<InferRequest, ProtoError> {
        match self {
            Payload::V2(req) => Ok(req),
            Payload::V1(body) => Ok(body.to_v2(inputs)?.0),
        }
    }
}

/// Which V1 form a body uses, if any.
pub fn v1_form(body: &serde_json::Value) -> Option<V1Form> {
    let obj = body.as_object()?;
    if obj.contains_key("instances") {
        Some(V1Form::Instances)
    } else if obj.contains_key("inputs") {
        Some(V1Form::Inputs)
    } else {
        None
    }
}
