//! KServe's agent batcher (`--enable-batcher`, `--max-batchsize`,
//! `--max-latency`), for every protocol: requests for the predictor that
//! arrive close together go to it as one call, and each caller gets its own
//! rows of the answer with its own status. The queue is the shared batcher
//! of `infergate_server::batching`, the one the predictor runs.
//!
//! A V1 batch joins `instances` lists, a V2 batch joins tensors along the
//! first dimension (gRPC callers are V2 here); the answer is split by rows,
//! a V1 `predictions` list or V2 outputs, whichever the predictor speaks.
//! Requests share a batch only when everything but their rows agrees,
//! including the headers that travel upstream (so no request is sent under
//! another caller's credentials). Unlike KServe's agent, an error is
//! answered with its status: when the predictor refuses a batch as bad
//! input, each member is sent again alone, so only the request at fault
//! gets the error.
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use infergate_proto::v1::V1Body;
use infergate_proto::{ErrorClass, InferRequest, InferResponse, Payload, Reply, RequestContext};
use infergate_server::batching::tensors::{batch_key, concat, key_hasher, split};
use infergate_server::batching::{BatchError, BatchKey, BatchRunner, BatchSettings, Batcher};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::BatcherFlags;
use crate::upstream::{Upstream, UpstreamError, forwarded_headers, is_per_request_header};

/// The batching settings of the flags, or none when batching is off.
pub fn settings(flags: &BatcherFlags) -> Option<BatchSettings> {
    flags.enable_batcher.then(|| BatchSettings {
        max_batch_size: flags.max_batchsize.max(1),
        max_queue_delay: Duration::from_millis(flags.max_latency),
        preferred_batch_sizes: vec![],
        max_queue_size: flags.batcher_max_queue_size.max(1),
        timeout: None,
    })
}

/// One caller's request in the queue.
pub struct Member {
    payload: Payload,
    ctx: RequestContext,
}

struct PredictorCalls {
    upstream: Arc<Upstream>,
    model: String,
}

pub struct PredictBatcher {
    max_batch_size: usize,
    calls: Arc<PredictorCalls>,
    batcher: Batcher<PredictorCalls>,
}

impl PredictBatcher {
    pub fn start(
        model: &str,
        settings: BatchSettings,
        workers: usize,
        upstream: Arc<Upstream>,
    ) -> Self {
        let calls = Arc::new(PredictorCalls {
            upstream,
            model: model.to_string(),
        });
        PredictBatcher {
            max_batch_size: settings.max_batch_size,
            batcher: Batcher::start(model, settings, workers, calls.clone()),
            calls,
        }
    }

    /// Whether a request would find room in the queue now (429 if not).
    pub fn admit(&self) -> Result<(), UpstreamError> {
        Ok(self.batcher.admit()?)
    }

    /// The predictor's answer to `payload`, batched with others when it can
    /// be; a request that cannot share a batch (no rows, more rows than a
    /// batch holds) goes to the predictor as it is.
    pub async fn predict(
        &self,
        payload: Payload,
        ctx: &RequestContext,
    ) -> Result<Reply, UpstreamError> {
        let allow = self.calls.upstream.forward_allow_list();
        match key(&payload, ctx, allow) {
            Some((key, rows)) if rows <= self.max_batch_size => {
                let member = Member {
                    payload,
                    ctx: ctx.clone(),
                };
                self.batcher.infer(key, rows, member).await
            }
            _ => self.calls.one(payload, ctx).await,
        }
    }
}

/// What a request must share with the others of its batch, and its rows;
/// none when it has no rows to batch. `allow` is --forward_header.
fn key(payload: &Payload, ctx: &RequestContext, allow: &[String]) -> Option<(BatchKey, usize)> {
    let mut h = key_hasher();
    for (name, value) in forwarded_headers(&ctx.request_id, &ctx.headers, allow) {
        // Ids and trace context are the request's own; the rest travels
        // with the batch.
        if !is_per_request_header(name) {
            (name, value).hash(&mut h);
        }
    }
    let rows = match payload {
        Payload::V1(body) => {
            let Value::Object(fields) = &**body else {
                return None;
            };
            let Some(Value::Array(instances)) = fields.get("instances") else {
                return None;
            };
            1u8.hash(&mut h);
            for (k, v) in fields.iter().filter(|(k, _)| *k != "instances") {
                (k, v.to_string()).hash(&mut h);
            }
            instances.len()
        }
        Payload::V2(req) => {
            let (inputs, rows) = batch_key(&req.inputs).ok()?;
            2u8.hash(&mut h);
            inputs.0.hash(&mut h);
            for t in &req.inputs {
                format!("{:?}", t.parameters).hash(&mut h);
            }
            format!("{:?}{:?}", req.parameters, req.outputs).hash(&mut h);
            rows
        }
    };
    (rows > 0).then(|| (BatchKey(h.finish()), rows))
}

impl PredictorCalls {
    async fn one(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, UpstreamError> {
        self.upstream.predict(&self.model, payload, ctx).await
    }
}

#[async_trait]
impl BatchRunner for PredictorCalls {
    type Input = Member;
    type Output = Reply;
    type Error = UpstreamError;

    async fn run(
        &self,
        mut batch: Vec<Member>,
        rows: &[usize],
    ) -> Vec<Result<Reply, UpstreamError>> {
        if batch.len() == 1 {
            let m = batch.swap_remove(0);
            return vec![self.one(m.payload, &m.ctx).await];
        }
        // Kept to send each member alone if the predictor refuses the batch.
        let originals: Vec<Payload> = batch.iter().map(|m| m.payload.clone()).collect();
        let ids: Vec<Option<String>> = batch.iter().map(|m| v2_id(&m.payload)).collect();
        // The batch travels with its oldest member's headers (the key made
        // sure the others' credentials and forwarded headers are the same).
        let (payloads, contexts): (Vec<Payload>, Vec<RequestContext>) =
            batch.into_iter().map(|m| (m.payload, m.ctx)).unzip();
        let Some(ctx) = contexts.into_iter().next() else {
            return Vec::new();
        };
        let answer = match join(payloads) {
            Ok(joined) => self.one(joined, &ctx).await,
            Err(e) => Err(e),
        };
        match answer.and_then(|reply| split_reply(reply, rows, ids)) {
            Ok(parts) => parts.into_iter().map(Ok).collect(),
            Err(e) if is_callers_fault(&e) => {
                let alone = originals.into_iter().map(|p| self.one(p, &ctx));
                futures::future::join_all(alone).await
            }
            Err(e) => rows.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

/// A refusal the predictor may have made because of one member's rows.
fn is_callers_fault(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Status { status, .. } => (400..500).contains(status) && *status != 429,
        other => other.class() == ErrorClass::InvalidInput,
    }
}

fn v2_id(p: &Payload) -> Option<String> {
    match p {
        Payload::V2(req) => req.id.clone(),
        Payload::V1(_) => None,
    }
}

/// The members' payloads as one: V1 `instances` lists, or V2 inputs, joined
/// in order (the batch key made sure the rest agrees).
fn join(payloads: Vec<Payload>) -> Result<Payload, UpstreamError> {
    match payloads.first() {
        Some(Payload::V1(_)) => join_v1(payloads),
        Some(Payload::V2(_)) => join_v2(payloads),
        None => Err(joining("an empty batch")),
    }
}

fn join_v2(payloads: Vec<Payload>) -> Result<Payload, UpstreamError> {
    let mut requests = payloads.into_iter().map(|p| match p {
        Payload::V2(req) => Ok(req),
        Payload::V1(_) => Err(joining("a V1 request in a V2 batch")),
    });
    let Some(first) = requests.next().transpose()? else {
        return Err(joining("an empty batch"));
    };
    let mut inputs = vec![first.inputs];
    for req in requests {
        inputs.push(req?.inputs);
    }
    Ok(Payload::V2(InferRequest {
        inputs: concat(inputs)?,
        ..first
    }))
}

fn join_v1(mut payloads: Vec<Payload>) -> Result<Payload, UpstreamError> {
    // The members' texts spliced before their values are taken apart.
    let text = join_v1_text(&payloads);
    let mut joined: Vec<Value> = Vec::new();
    for p in &mut payloads {
        match p {
            Payload::V1(body) => match body.get_mut("instances").map(Value::take) {
                Some(Value::Array(rows)) => joined.extend(rows),
                _ => return Err(joining("a V1 request without instances")),
            },
            Payload::V2(_) => return Err(joining("a V2 request in a V1 batch")),
        }
    }
    let Some(Payload::V1(mut body)) = payloads.into_iter().next() else {
        return Err(joining("an empty batch"));
    };
    body["instances"] = Value::Array(joined);
    Ok(Payload::V1(match text {
        Some(text) => V1Body::from_parts(body.into_value(), text),
        None => body,
    }))
}

/// The joined body's text, when every member is unchanged and holds only
/// `instances`: their instances as they came, so a v1 predictor gets the
/// callers' own digits and no number is written again (writing them was a
/// tenth of the transformer's time in bench/transformer/batcher.sh).
fn join_v1_text(payloads: &[Payload]) -> Option<Bytes> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OnlyInstances<'a> {
        #[serde(borrow)]
        instances: &'a RawValue,
    }
    let mut texts = Vec::with_capacity(payloads.len());
    for p in payloads {
        let Payload::V1(body) = p else { return None };
        // Duplicate keys fail here too, so the text is the value's.
        let raw: OnlyInstances = serde_json::from_slice(body.text()?).ok()?;
        let list = raw.instances.get().trim();
        let inner = list.strip_prefix('[')?.strip_suffix(']')?.trim();
        texts.push(inner);
    }
    let mut out = Vec::with_capacity(texts.iter().map(|t| t.len() + 1).sum::<usize>() + 16);
    out.extend_from_slice(br#"{"instances":["#);
    for (i, t) in texts.iter().filter(|t| !t.is_empty()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(b"]}");
    Some(out.into())
}

fn joining(what: &str) -> UpstreamError {
    UpstreamError::Batch(BatchError::Join(format!("cannot batch {what}")))
}

/// The predictor's answer to a batch, one part per member (`rows[i]` rows
/// each): a V1 `predictions` list cut in order, or V2 outputs split along
/// the first dimension. An answer without a row per request row cannot be
/// split: the predictor's model does not batch (502).
fn split_reply(
    reply: Reply,
    rows: &[usize],
    ids: Vec<Option<String>>,
) -> Result<Vec<Reply>, UpstreamError> {
    let total: usize = rows.iter().sum();
    match reply {
        Reply::V1(mut body) => {
            let predictions = match body.get_mut("predictions").map(Value::take) {
                Some(Value::Array(p)) if p.len() == total => p,
                other => {
                    return Err(UpstreamError::BadAnswer(format!(
                        "the predictor answered a batch of {total} instances with {}; \
                         its model cannot be batched (turn --enable-batcher off)",
                        describe(other.as_ref())
                    )));
                }
            };
            let mut rest = predictions.into_iter();
            Ok(rows
                .iter()
                .map(|&n| {
                    let mut part = body.clone();
                    part["predictions"] = Value::Array(rest.by_ref().take(n).collect());
                    Reply::V1(part)
                })
                .collect())
        }
        Reply::V2(resp) => {
            let parts = split(resp.outputs, rows).map_err(|e| {
                UpstreamError::BadAnswer(format!(
                    "{e}; the predictor's answer cannot be split (turn --enable-batcher off)"
                ))
            })?;
            Ok(parts
                .into_iter()
                .zip(ids)
                .map(|(outputs, id)| {
                    Reply::V2(InferResponse {
                        model_name: resp.model_name.clone(),
                        model_version: resp.model_version.clone(),
                        id,
                        parameters: resp.parameters.clone(),
                        outputs,
                    })
                })
                .collect())
        }
    }
}

fn describe(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(p)) => format!("{} predictions", p.len()),
        Some(_) => "predictions that are not a list".into(),
        None => "no predictions".into(),
    }
}

#[cfg(test)]
mod tests;
