//! Transformers: what a KServe user overrides in `Model.preprocess` /
//! `Model.postprocess`, as a Rust trait ([`Transformer`]), plus declarative
//! built-in transforms configured from a file ([`Declarative`]) for the
//! common cases: rename, cast, reshape, scale, pick V1 fields, class labels,
//! top-k. No networking: the gateway wires a transformer to its predictor.
mod declarative;
mod error;
pub mod ops;
pub mod text;

use async_trait::async_trait;
use infergate_proto::{ModelMetadata, Payload, Reply, RequestContext};

pub use declarative::{Declarative, TransformConfig};
pub use error::TransformError;

/// Hooks around the predictor call. Both default to passing the payload
/// through unchanged, so a transformer implements only what it needs.
#[async_trait]
pub trait Transformer: Send + Sync + 'static {
    /// Runs before the request goes to the predictor (KServe's `preprocess`).
    async fn preprocess(
        &self,
        payload: Payload,
        _ctx: &RequestContext,
    ) -> Result<Payload, TransformError> {
        Ok(payload)
    }

    /// Runs on the predictor's answer (KServe's `postprocess`).
    async fn postprocess(
        &self,
        reply: Reply,
        _ctx: &RequestContext,
    ) -> Result<Reply, TransformError> {
        Ok(reply)
    }

    /// The metadata clients see; by default the predictor's.
    fn metadata(&self, predictor: ModelMetadata) -> ModelMetadata {
        predictor
    }

    /// Whether `postprocess` shapes the answer. When it does not, a V1
    /// caller of a classifier gets just its label output, as from the model
    /// served directly.
    fn has_postprocess(&self) -> bool {
        true
    }
}

/// Forwards requests and answers untouched.
pub struct PassThrough;

impl Transformer for PassThrough {
    fn has_postprocess(&self) -> bool {
        false
    }
}
