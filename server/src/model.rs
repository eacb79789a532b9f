//! The `Model` a server hosts: the Rust counterpart of KServe's Python
//! `Model` class, with the same preprocess -> predict -> postprocess (and
//! explain) hooks.
use std::collections::HashMap;

use async_trait::async_trait;
use infergate_proto::v1::{self, V1Form};
use infergate_proto::{InferRequest, InferResponse, ModelMetadata, TensorMetadata};

use crate::error::{InferError, Result};

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
    /// `x-request-id` of the request (generated when the caller sent none).
    pub request_id: String,
    pub protocol: Protocol,
    /// Request headers (REST) or metadata (gRPC), lower-case names.
    pub headers: HashMap<String, String>,
}

impl RequestContext {
    pub fn new(protocol: Protocol) -> Self {
        RequestContext {
            request_id: uuid::Uuid::new_v4().to_string(),
            protocol,
            headers: HashMap::new(),
        }
    }
}

/// A request body as a model sees it: V1 JSON as it came, or V2 tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    V1(serde_json::Value),
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
    /// The payload as V2 tensors, converting V1 JSON with the model's input
    /// metadata (see docs/protocol.md for the rules).
    pub fn into_v2(self, inputs: &[TensorMetadata]) -> Result<InferRequest> {
        match self {
            Payload::V2(req) => Ok(req),
            Payload::V1(body) => Ok(v1::request_to_v2(&body, inputs)?.0),
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

#[async_trait]
pub trait Model: Send + Sync + 'static {
    fn name(&self) -> &str;

    fn metadata(&self) -> ModelMetadata;

    /// Whether the model can serve now; false makes its ready endpoints and
    /// inference answer 503.
    fn is_ready(&self) -> bool {
        true
    }

    /// Called when the repository loads the model, before it is served
    /// (KServe's `load()`).
    async fn load(&self) -> Result<()> {
        Ok(())
    }

    /// Called when the model is unloaded or replaced, after it stopped
    /// being served.
    async fn unload(&self) -> Result<()> {
        Ok(())
    }

    async fn preprocess(&self, payload: Payload, _ctx: &RequestContext) -> Result<Payload> {
        Ok(payload)
    }

    async fn predict(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply>;

    async fn postprocess(&self, reply: Reply, _ctx: &RequestContext) -> Result<Reply> {
        Ok(reply)
    }

    async fn explain(&self, _payload: Payload, _ctx: &RequestContext) -> Result<Reply> {
        Err(InferError::NotImplemented(format!(
            "Model {} does not support explain",
            self.name()
        )))
    }
}
