//! One client per predictor protocol behind one trait: asking readiness and
//! metadata, putting a request in the protocol's wire form once, and sending
//! it as often as retries need. Adding a protocol is one new type here.
use async_trait::async_trait;
use infergate_proto::{
    InferRequest, ModelMetadata, Payload, Reply, RequestContext, TensorMetadata,
};

use super::UpstreamError;

#[async_trait]
pub trait PredictorClient: Send + Sync {
    /// Whether the predictor says `model` is ready.
    async fn ready(&self, model: &str) -> bool;

    /// The predictor's metadata of `model`.
    async fn metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError>;

    /// Whether a V1 payload needs the model's input metadata (tensor names
    /// and datatypes) to be put in this protocol.
    fn needs_input_metadata(&self) -> bool;

    /// `payload` in this protocol's wire form, built once; `inputs` is the
    /// model's input metadata when `needs_input_metadata` asked for it.
    fn prepare<'a>(
        &'a self,
        model: &str,
        payload: Payload,
        inputs: &[TensorMetadata],
    ) -> Result<Box<dyn PreparedCall + 'a>, UpstreamError>;
}

/// A request ready to send, with the headers of the caller's request that
/// travel upstream (`allow`: --forward_header).
#[async_trait]
pub trait PreparedCall: Send + Sync {
    async fn send(&self, ctx: &RequestContext, allow: &[String]) -> Result<Reply, UpstreamError>;
}

/// A payload as V2 tensors: a V1 body converted with the model's inputs.
pub fn into_v2(payload: Payload, inputs: &[TensorMetadata]) -> Result<InferRequest, UpstreamError> {
    match payload {
        Payload::V2(req) => Ok(req),
        Payload::V1(body) => Ok(body.to_v2(inputs)?.0),
    }
}
