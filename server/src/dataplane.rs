//! What every protocol front end shares: model lookup, readiness, and the
//! preprocess -> predict -> postprocess pipeline with its timings.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use infergate_proto::v1::{self, V1Form};
use infergate_proto::{InferResponse, ServerMetadata};

use tracing::Instrument;

use crate::error::{InferError, Result};
use crate::metrics;
use crate::model::{Model, Payload, Reply, RequestContext};
use crate::registry::ModelRegistry;

pub struct DataPlane {
    pub registry: Arc<ModelRegistry>,
    server: ServerMetadata,
    draining: AtomicBool,
    latency_logging: bool,
}

impl DataPlane {
    pub fn new(
        registry: Arc<ModelRegistry>,
        server: ServerMetadata,
        latency_logging: bool,
    ) -> Self {
        // Install the recorder before the first request records anything.
        metrics::prometheus();
        DataPlane {
            registry,
            server,
            draining: AtomicBool::new(false),
            latency_logging,
        }
    }

    pub fn server_metadata(&self) -> &ServerMetadata {
        &self.server
    }

    /// Live while the process runs: liveness never depends on models.
    pub fn live(&self) -> bool {
        true
    }

    /// Ready when not shutting down and every model is ready.
    pub fn ready(&self) -> bool {
        !self.draining.load(Ordering::Acquire) && self.registry.all_ready()
    }

    /// `ready` as a probe asks it: models may find out now
    /// (`Model::probe_ready`).
    pub async fn probe_ready(&self) -> bool {
        !self.draining.load(Ordering::Acquire) && self.registry.probe_all_ready().await
    }

    /// Marks the server as going away: readiness turns false at once so that
    /// load balancers stop sending while in-flight requests finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// The ready model `name`, checking `version` when one is asked for.
    pub fn model(&self, name: &str, version: Option<&str>) -> Result<Arc<dyn Model>> {
        let model = self.registry.get_ready(name)?;
        Self::at_version(model, name, version)
    }

    /// `model` as a probe asks it (a model's ready endpoint, ModelReady).
    pub async fn probe_model(&self, name: &str, version: Option<&str>) -> Result<Arc<dyn Model>> {
        let model = self.registry.get(name)?;
        if !model.probe_ready().await {
            return Err(InferError::ModelNotReady(name.to_string()));
        }
        Self::at_version(model, name, version)
    }

    fn at_version(
        model: Arc<dyn Model>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Arc<dyn Model>> {
        if let Some(v) = version {
            if let Some(one) = model.version(v) {
                return Ok(one);
            }
            let versions = model.metadata().versions;
            if !versions.iter().any(|known| known == v) {
                return Err(InferError::ModelNotFound(format!("{name} version {v}")));
            }
        }
        Ok(model)
    }

    /// Runs preprocess -> predict -> postprocess, timing each step under
    /// KServe's metric names.
    pub async fn infer(
        &self,
        model: &dyn Model,
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Reply> {
        let name = model.name();
        let series = metrics::for_model(name);
        let transforms = model.transforms();
        let t0 = Instant::now();
        let (pre, t1) = if transforms {
            let pre = model
                .preprocess(payload, ctx)
                .instrument(crate::step_span!("preprocess"))
                .await;
            (pre, Instant::now())
        } else {
            (Ok(payload), t0)
        };
        series.preprocess.record(t1 - t0);
        let span = crate::step_span!("predict");
        let traced = crate::otel::enabled().then(|| traced_context(ctx, &span));
        let reply = model
            .predict(pre?, traced.as_ref().unwrap_or(ctx))
            .instrument(span)
            .await;
        let t2 = Instant::now();
        series.predict.record(t2 - t1);
        // A failed prediction has no postprocess step, skipped or not.
        let reply = reply?;
        let (post, t3) = if transforms {
            let post = model
                .postprocess(reply, ctx)
                .instrument(crate::step_span!("postprocess"))
                .await;
            (post, Instant::now())
        } else {
            (Ok(reply), t2)
        };
        series.postprocess.record(t3 - t2);
        if self.latency_logging {
            tracing::info!(
                target: "infergate::latency",
                model = name,
                request_id = %ctx.request_id,
                preprocess_ms = ms(t1 - t0),
                predict_ms = ms(t2 - t1),
                postprocess_ms = ms(t3 - t2),
                "request latency"
            );
        }
        post
    }

    /// Runs preprocess -> explain.
    pub async fn explain(
        &self,
        model: &dyn Model,
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Reply> {
        let t0 = Instant::now();
        let pre = model.preprocess(payload, ctx).await?;
        let reply = model.explain(pre, ctx).await;
        metrics::for_model(model.name())
            .explain
            .record(t0.elapsed());
        reply
    }
}

/// A copy of `ctx` whose trace headers name `span`: an upstream call made
/// by the model carries them, so the predictor's spans hang under it.
fn traced_context(ctx: &RequestContext, span: &tracing::Span) -> RequestContext {
    let mut traced = ctx.clone();
    span.in_scope(|| crate::otel::inject_current(&mut traced.headers));
    traced
}

/// Milliseconds, to the microsecond.
fn ms(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// A reply as the V2 answer to a request: converted from V1 if need be, named
/// after the model, the request id echoed, and cut to the requested outputs.
pub fn v2_answer<'n>(
    reply: Reply,
    model: &dyn Model,
    id: Option<String>,
    requested: impl IntoIterator<Item = &'n str>,
) -> Result<InferResponse> {
    let mut resp = match reply {
        Reply::V2(resp) => resp,
        Reply::V1(body) => v1::response_to_v2(&body, model.name(), &model.metadata().outputs)?,
    };
    if resp.model_name.is_empty() {
        resp.model_name = model.name().to_string();
    }
    if resp.id.is_none() {
        resp.id = id;
    }
    resp.select_outputs(requested)?;
    Ok(resp)
}

/// A reply as the V1 answer (JSON bytes) to a request of `form`.
pub fn v1_answer(reply: Reply, form: V1Form) -> Result<Vec<u8>> {
    match reply {
        Reply::V1(body) => {
            serde_json::to_vec(&body).map_err(|e| InferError::Internal(e.to_string()))
        }
        Reply::V2(resp) => Ok(v1::response_to_v1(&resp, form)?),
    }
}
