//! A v1 predictor over REST: `POST /v1/models/{m}:predict` with the V1 body
//! (a V2 payload converted to V1); the answer is checked and kept as V1 JSON.
use async_trait::async_trait;
use bytes::Bytes;
use infergate_proto::{ModelMetadata, Payload, Reply, RequestContext, TensorMetadata, v1};

use super::client::{PredictorClient, PreparedCall};
use super::rest::{RestBody, RestClient};
use super::{UpstreamError, headers, v1_answer};

pub struct V1Rest {
    pub rest: RestClient,
}

#[async_trait]
impl PredictorClient for V1Rest {
    async fn ready(&self, model: &str) -> bool {
        let path = format!("/v1/models/{model}");
        self.rest.get(&path).await.is_ok_and(|a| a.status == 200)
    }

    /// V1 has no metadata; many V1 predictors (KServe's, infergate's) also
    /// answer V2 metadata on the same port, which names the outputs. Without
    /// it the metadata is empty.
    async fn metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError> {
        let a = self.rest.get(&format!("/v2/models/{model}")).await?;
        Ok((a.status == 200)
            .then(|| serde_json::from_slice::<ModelMetadata>(&a.body).ok())
            .flatten()
            .unwrap_or_else(|| ModelMetadata {
                name: model.to_string(),
                versions: vec![],
                platform: String::new(),
                inputs: vec![],
                outputs: vec![],
            }))
    }

    fn needs_input_metadata(&self) -> bool {
        false
    }

    fn prepare<'a>(
        &'a self,
        model: &str,
        payload: Payload,
        _inputs: &[TensorMetadata],
    ) -> Result<Box<dyn PreparedCall + 'a>, UpstreamError> {
        let rows = v1_answer::has_rows(&payload);
        let body = v1_body(payload)?;
        Ok(Box::new(V1Call {
            rest: &self.rest,
            path: format!("/v1/models/{model}:predict"),
            body,
            rows,
        }))
    }
}

/// A payload as a V1 JSON body: the bytes the caller sent when no transform
/// changed them (no re-encoding on a pass-through), else the value encoded.
pub fn v1_body(payload: Payload) -> Result<Bytes, UpstreamError> {
    Ok(match payload {
        Payload::V1(v) => match v.text() {
            Some(text) => text.clone(),
            None => serde_json::to_vec(&*v)
                .map_err(|e| UpstreamError::BadAnswer(e.to_string()))?
                .into(),
        },
        Payload::V2(req) => v1::request_to_v1(&req)?.0.into(),
    })
}

/// A V1 answer body (any JSON; checked by the caller where it must be a
/// predict answer).
pub fn v1_reply(body: &[u8]) -> Result<Reply, UpstreamError> {
    serde_json::from_slice(body)
        .map(Reply::V1)
        .map_err(|e| UpstreamError::BadAnswer(format!("not JSON: {e}")))
}

struct V1Call<'a> {
    rest: &'a RestClient,
    path: String,
    body: Bytes,
    /// Whether the request holds rows (the answer must then have some).
    rows: bool,
}

#[async_trait]
impl PreparedCall for V1Call<'_> {
    async fn send(&self, ctx: &RequestContext, allow: &[String]) -> Result<Reply, UpstreamError> {
        let a = self
            .rest
            .post(
                &self.path,
                headers::forwarded(&ctx.request_id, &ctx.headers, allow),
                RestBody::json(self.body.clone()),
            )
            .await?
            .ok()?;
        let reply = v1_reply(&a.body)?;
        if let Reply::V1(body) = &reply {
            v1_answer::check(body, self.rows)?;
        }
        Ok(reply)
    }
}
