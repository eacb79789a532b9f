//! One function per REST endpoint, all answering KServe's response shapes.
use std::sync::Arc;

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use infergate_proto::OutputFormat;
use infergate_proto::v1::{V1Body, V1Form};
use infergate_proto::v2::{self, INFERENCE_HEADER_CONTENT_LENGTH};
use serde_json::json;

use super::body::{self, HttpResponse, RequestBody, read_body};
use super::router::Route;
use crate::dataplane::{DataPlane, v1_answer, v2_answer};
use crate::error::{InferError, Result};
use crate::metrics;
use crate::model::{Payload, RequestContext, v1_form};

/// Made once: a name given as `&str` is parsed and checked on every use.
static INFERENCE_HEADER: HeaderName = HeaderName::from_static(INFERENCE_HEADER_CONTENT_LENGTH);

pub struct RestApi {
    pub dataplane: Arc<DataPlane>,
    pub max_request_bytes: usize,
    /// Log one line per request (method, path, status, time).
    pub access_log: bool,
    /// How long a streamed body may take to arrive (408 beyond it).
    pub body_read_timeout: std::time::Duration,
}

impl RestApi {
    pub async fn dispatch(
        &self,
        route: Route<'_>,
        body: RequestBody,
        ctx: &RequestContext,
    ) -> Result<HttpResponse> {
        let dp = &self.dataplane;
        match route {
            Route::Root => Ok(body::json(&json!({"status": "alive"}))),
            Route::Metrics => Ok(body::respond(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                metrics::render(),
            )),
            Route::V1Models | Route::V2Models => {
                Ok(body::json(&json!({"models": dp.registry.names()})))
            }
            Route::V1ModelReady(name) => {
                dp.probe_model(name, None).await?;
                Ok(body::json(&json!({"name": name, "ready": true})))
            }
            Route::V2ModelReady(name, version) => {
                dp.probe_model(name, version).await?;
                Ok(body::json(&json!({"name": name, "ready": true})))
            }
            Route::V2ServerMetadata => Ok(body::json(&json!(dp.server_metadata()))),
            Route::V2Live => Ok(body::json(&json!({"live": dp.live()}))),
            Route::V2Ready if dp.probe_ready().await => Ok(body::json(&json!({"ready": true}))),
            Route::V2Ready => Err(InferError::ServerNotReady),
            Route::V2ModelMetadata(name, version) => {
                let model = dp.registry.get(name)?;
                if version.is_some() {
                    dp.model(name, version)?;
                }
                Ok(body::json(&json!(model.metadata())))
            }
            Route::RepositoryLoad(name) => {
                dp.registry.load(name).await?;
                Ok(body::json(&json!({"name": name, "load": true})))
            }
            Route::RepositoryUnload(name) => {
                dp.registry.unload(name).await?;
                Ok(body::json(&json!({"name": name, "unload": true})))
            }
            Route::V1Predict(name) => self.v1(name, false, body, ctx).await,
            Route::V1Explain(name) => self.v1(name, true, body, ctx).await,
            Route::V2Infer(name, version) => self.v2_infer(name, version, body, ctx).await,
        }
    }

    async fn v1(
        &self,
        name: &str,
        explain: bool,
        body: RequestBody,
        ctx: &RequestContext,
    ) -> Result<HttpResponse> {
        let model = self.dataplane.model(name, None)?;
        model.admits()?;
        let bytes = read_body(
            &ctx.headers,
            body,
            self.max_request_bytes,
            self.body_read_timeout,
        )
        .await?;
        let body = {
            let _decode = crate::step_span!("decode").entered();
            V1Body::parse(bytes)
                .map_err(|e| InferError::invalid(format!("Unrecognized request format: {e}")))?
        };
        let form = v1_form(&body).unwrap_or(V1Form::Instances);
        let payload = Payload::V1(body);
        let reply = if explain {
            self.dataplane.explain(&*model, payload, ctx).await?
        } else {
            self.dataplane.infer(&*model, payload, ctx).await?
        };
        let _encode = crate::step_span!("encode").entered();
        Ok(body::respond(
            StatusCode::OK,
            body::JSON,
            v1_answer(reply, form)?,
        ))
    }

    async fn v2_infer(
        &self,
        name: &str,
        version: Option<&str>,
        body: RequestBody,
        ctx: &RequestContext,
    ) -> Result<HttpResponse> {
        let model = self.dataplane.model(name, version)?;
        let json_len = match ctx.headers.get(&INFERENCE_HEADER) {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        InferError::invalid(format!(
                            "{INFERENCE_HEADER_CONTENT_LENGTH} must be a byte count"
                        ))
                    })?,
            ),
            None => None,
        };
        // tritonclient sends JSON bodies with no Content-Type and curl -d
        // sends form-urlencoded ones: both mean JSON; others are refused.
        if json_len.is_none()
            && let Some(ct) = ctx.headers.get(CONTENT_TYPE)
            && !body::may_hold_json(&ctx.headers)
        {
            return Err(InferError::invalid(format!(
                "V2 inference requests must be JSON (Content-Type: application/json) or use the binary \
                 tensor extension (Inference-Header-Content-Length header); got Content-Type '{}'",
                ct.to_str().unwrap_or("?")
            )));
        }
        model.admits()?;
        let bytes = read_body(
            &ctx.headers,
            body,
            self.max_request_bytes,
            self.body_read_timeout,
        )
        .await?;
        let req = {
            let _decode = crate::step_span!("decode").entered();
            v2::decode_request(&bytes, json_len)?
        };
        let format = OutputFormat::from_request(&req);
        let id = req.id.clone();
        let reply = self.dataplane.infer(&*model, Payload::V2(req), ctx).await?;
        let _encode = crate::step_span!("encode").entered();
        let resp = v2_answer(reply, &*model, id, format.requested())?;
        let encoded = v2::encode_response(&resp, &format)?;
        Ok(match encoded.json_len {
            None => body::respond(StatusCode::OK, body::JSON, encoded.body),
            Some(n) => {
                let mut r = body::respond(StatusCode::OK, "application/octet-stream", encoded.body);
                r.headers_mut()
                    .insert(INFERENCE_HEADER.clone(), HeaderValue::from(n));
                r
            }
        })
    }
}
