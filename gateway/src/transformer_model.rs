//! A KServe transformer as a `Model` of the data plane: the transformer's
//! preprocess, the predictor call (in the predictor's protocol), the
//! transformer's postprocess; explain goes to the explainer.
use std::sync::Arc;

use async_trait::async_trait;
use infergate_proto::{ModelMetadata, Protocol, v1};
use infergate_server::{InferError, Model, ModelRepository, Payload, Reply, RequestContext};
use infergate_transformer::{TransformError, Transformer};

use crate::batcher::PredictBatcher;
use crate::upstream::Upstream;

pub struct TransformerModel {
    name: String,
    transformer: Arc<dyn Transformer>,
    upstream: Arc<Upstream>,
    /// Predictor calls batched (--enable-batcher), or sent one by one.
    batcher: Option<PredictBatcher>,
    /// Readiness follows the predictor's (--enable_predictor_health_check).
    readiness_follows_predictor: bool,
    /// The transformer's postprocess works on tensors (the declarative
    /// steps), so a v1 predictor's answer reaches it as named V2 tensors
    /// whatever the caller's protocol.
    tensor_postprocess: bool,
}

impl TransformerModel {
    pub fn new(
        name: String,
        transformer: Arc<dyn Transformer>,
        upstream: Arc<Upstream>,
        batcher: Option<PredictBatcher>,
        readiness_follows_predictor: bool,
        tensor_postprocess: bool,
    ) -> Self {
        upstream.start_health_checks(name.clone());
        TransformerModel {
            name,
            transformer,
            upstream,
            batcher,
            readiness_follows_predictor,
            tensor_postprocess,
        }
    }
}

/// The repository of a transformer: the one model it fronts, so that
/// `load` brings back what `unload` took away (REST and gRPC alike).
pub struct TransformerRepository {
    model: Arc<TransformerModel>,
}

impl TransformerRepository {
    pub fn new(model: Arc<TransformerModel>) -> Self {
        TransformerRepository { model }
    }
}

#[async_trait]
impl ModelRepository for TransformerRepository {
    async fn load(&self, name: &str) -> Result<Arc<dyn Model>, InferError> {
        if name == self.model.name {
            Ok(self.model.clone())
        } else {
            Err(InferError::ModelNotFound(name.to_string()))
        }
    }
}

/// A transform's error under the class it names (`TransformError::class`).
fn from_transform(e: TransformError) -> InferError {
    match e {
        TransformError::Proto(p) => InferError::Proto(p),
        other => InferError::classed(other.class(), other.to_string()),
    }
}

#[async_trait]
impl Model for TransformerModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn metadata(&self) -> ModelMetadata {
        let predictor = self
            .upstream
            .cached_metadata()
            .unwrap_or_else(|| ModelMetadata {
                name: self.name.clone(),
                versions: vec![],
                platform: String::new(),
                inputs: vec![],
                outputs: vec![],
            });
        self.transformer.metadata(ModelMetadata {
            name: self.name.clone(),
            ..predictor
        })
    }

    /// A full batcher queue refuses a request before its body is read.
    fn admits(&self) -> Result<(), InferError> {
        match &self.batcher {
            Some(b) => Ok(b.admit()?),
            None => Ok(()),
        }
    }

    fn is_ready(&self) -> bool {
        !self.readiness_follows_predictor || self.upstream.is_healthy()
    }

    async fn probe_ready(&self) -> bool {
        !self.readiness_follows_predictor || self.upstream.probe_healthy(&self.name).await
    }

    async fn preprocess(
        &self,
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Payload, InferError> {
        self.transformer
            .preprocess(payload, ctx)
            .await
            .map_err(from_transform)
    }

    async fn predict(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, InferError> {
        let mut reply = match &self.batcher {
            Some(b) => b.predict(payload, ctx).await?,
            None => self.upstream.predict(&self.name, payload, ctx).await?,
        };
        // A v1 predictor's answer becomes tensors here, not in the front
        // end: named by the rule of docs/protocol.md, and a malformed one is
        // the predictor's fault (502), not the caller's (400).
        if let Reply::V1(body) = &reply
            && (ctx.protocol != Protocol::V1 || self.tensor_postprocess)
        {
            reply = Reply::V2(self.upstream.v1_answer_to_v2(&self.name, body).await?);
        }
        // A V1 caller of a classifier behind a V2 predictor gets the labels,
        // as it would from the model served directly.
        if ctx.protocol == Protocol::V1
            && !self.transformer.has_postprocess()
            && let Reply::V2(resp) = &mut reply
            && let Some(label) =
                v1::label_output(resp.outputs.iter().map(|t| t.name.as_str())).map(str::to_string)
        {
            resp.outputs.retain(|t| t.name == label);
        }
        Ok(reply)
    }

    async fn postprocess(&self, reply: Reply, ctx: &RequestContext) -> Result<Reply, InferError> {
        self.transformer
            .postprocess(reply, ctx)
            .await
            .map_err(from_transform)
    }

    async fn explain(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, InferError> {
        Ok(self.upstream.explain(&self.name, payload, ctx).await?)
    }
}

#[cfg(test)]
mod tests {
    use infergate_proto::ProtoError;

    use super::*;

    /// Each transform error as REST and gRPC callers see it.
    #[test]
    fn every_transform_error_gets_its_class_status_and_code() {
        use tonic::Code;
        let cases = [
            (
                TransformError::InvalidInput("no field 'x'".into()),
                400,
                Code::InvalidArgument,
            ),
            (
                TransformError::Proto(ProtoError::tensor("x", "bad")),
                400,
                Code::InvalidArgument,
            ),
            (
                TransformError::BadAnswer("no output".into()),
                500,
                Code::Internal,
            ),
            (
                TransformError::Config("bad step".into()),
                500,
                Code::Internal,
            ),
        ];
        for (e, status, code) in cases {
            let (class, text) = (e.class(), e.to_string());
            let infer = from_transform(e);
            assert_eq!(infer.class(), class, "{text}");
            assert_eq!(infer.http_status(), status, "{text}");
            assert_eq!(infer.to_status().code(), code, "{text}");
            assert_eq!(infer.to_string(), text);
        }
    }
}
