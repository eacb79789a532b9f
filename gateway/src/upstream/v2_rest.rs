//! A v2 (Open Inference Protocol) predictor over REST: `POST
//! /v2/models/{m}/infer`, JSON or the binary tensor extension
//! (--predictor_binary_data); a V1 payload is converted with the model's
//! input metadata.
use async_trait::async_trait;
use bytes::Bytes;
use infergate_proto::v2::{self, INFERENCE_HEADER_CONTENT_LENGTH};
use infergate_proto::{ModelMetadata, Payload, Reply, RequestContext, TensorMetadata};

use super::client::{PredictorClient, PreparedCall, into_v2};
use super::rest::{RestBody, RestClient};
use super::{UpstreamError, headers};

pub struct V2Rest {
    pub rest: RestClient,
    /// Send tensors in the binary extension (and ask for binary answers).
    pub binary: bool,
}

#[async_trait]
impl PredictorClient for V2Rest {
    async fn ready(&self, model: &str) -> bool {
        let path = format!("/v2/models/{model}/ready");
        self.rest.get(&path).await.is_ok_and(|a| a.status == 200)
    }

    async fn metadata(&self, model: &str) -> Result<ModelMetadata, UpstreamError> {
        let a = self.rest.get(&format!("/v2/models/{model}")).await?.ok()?;
        serde_json::from_slice(&a.body)
            .map_err(|e| UpstreamError::BadAnswer(format!("model metadata: {e}")))
    }

    fn needs_input_metadata(&self) -> bool {
        true
    }

    fn prepare<'a>(
        &'a self,
        model: &str,
        payload: Payload,
        inputs: &[TensorMetadata],
    ) -> Result<Box<dyn PreparedCall + 'a>, UpstreamError> {
        let req = into_v2(payload, inputs)?;
        let enc = v2::encode_request(&req, self.binary)?;
        Ok(Box::new(V2Call {
            rest: &self.rest,
            path: format!("/v2/models/{model}/infer"),
            body: enc.body.into(),
            json_len: enc.json_len,
        }))
    }
}

struct V2Call<'a> {
    rest: &'a RestClient,
    path: String,
    body: Bytes,
    /// Length of the JSON head before binary tensors, if any.
    json_len: Option<usize>,
}

#[async_trait]
impl PreparedCall for V2Call<'_> {
    async fn send(&self, ctx: &RequestContext, allow: &[String]) -> Result<Reply, UpstreamError> {
        let body = match self.json_len {
            Some(n) => RestBody::binary(self.body.clone(), n),
            None => RestBody::json(self.body.clone()),
        };
        let a = self
            .rest
            .post(
                &self.path,
                headers::forwarded(&ctx.request_id, &ctx.headers, allow),
                body,
            )
            .await?
            .ok()?;
        let json_len = a
            .headers
            .get(INFERENCE_HEADER_CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        v2::decode_response(&a.body, json_len)
            .map(Reply::V2)
            .map_err(|e| UpstreamError::BadAnswer(e.to_string()))
    }
}
