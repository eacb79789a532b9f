//! The `Model` a server hosts: the Rust counterpart of KServe's Python
//! `Model` class, with the same preprocess -> predict -> postprocess (and
//! explain) hooks.
use async_trait::async_trait;
use infergate_proto::ModelMetadata;
pub use infergate_proto::payload::{Payload, Protocol, Reply, RequestContext, v1_form};

use crate::error::{InferError, Result};

#[async_trait]
pub trait Model: Send + Sync + 'static {
    fn name(&self) -> &str;

    fn metadata(&self) -> ModelMetadata;

    /// The model that serves `version`, when this one hosts several versions
    /// each with its own metadata and sessions; `None` when it serves only
    /// the versions its metadata lists, itself.
    fn version(&self, _version: &str) -> Option<std::sync::Arc<dyn Model>> {
        None
    }

    /// Whether the model can serve now; false makes its ready endpoints and
    /// inference answer 503.
    fn is_ready(&self) -> bool {
        true
    }

    /// Whether a request would be queued now. An error (a full queue: 429)
    /// is answered before the request's body is read and decoded, so that
    /// under overload a refusal costs little of what serving costs;
    /// `predict` still has the last word.
    fn admits(&self) -> Result<()> {
        Ok(())
    }

    /// Readiness as a probe (the ready endpoints, ServerReady, ModelReady)
    /// asks it: may find out now, as a transformer asks its predictor;
    /// inference keeps using `is_ready`.
    async fn probe_ready(&self) -> bool {
        self.is_ready()
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

    /// Whether `preprocess` / `postprocess` do anything. A model that keeps
    /// both as the identity says false, and the data plane skips the two
    /// calls (a boxed future and two clock reads each) on its hot path; their
    /// histograms then record zero, the time the empty steps took.
    fn transforms(&self) -> bool {
        true
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
