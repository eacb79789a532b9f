//! The mock's REST API: KServe V1 predict, V2 infer (JSON and binary
//! extension), V2 metadata and health, and `GET /mock/stats`.
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use infergate_proto::v2::{INFERENCE_HEADER_CONTENT_LENGTH, decode_request, encode_response};
use infergate_proto::{InferResponse, OutputFormat};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::State;

pub type HttpResponse = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    respond(status, "application/json", body)
}

fn error(status: StatusCode, msg: &str) -> HttpResponse {
    json(status, serde_json::json!({ "error": msg }).to_string())
}

enum Route<'a> {
    Health,
    Stats,
    V1Predict,
    V2Infer(&'a str, Option<&'a str>),
    V2Metadata(&'a str),
    V2ModelReady,
    NotFound,
}

/// `name`, `name/versions/v`, each optionally followed by `suffix`.
fn model_and_version<'a>(rest: &'a str, suffix: &str) -> Option<(&'a str, Option<&'a str>)> {
    let rest = rest.strip_suffix(suffix)?;
    match rest.split_once("/versions/") {
        Some((m, v)) if !m.contains('/') && !v.contains('/') => Some((m, Some(v))),
        Some(_) => None,
        None if !rest.contains('/') && !rest.is_empty() => Some((rest, None)),
        None => None,
    }
}

fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    match path {
        "/" | "/v2" | "/v2/health/ready" | "/v2/health/live" if get => return Route::Health,
        "/mock/stats" if get => return Route::Stats,
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/v1/models/")
        && rest.ends_with(":predict")
        && post
    {
        return Route::V1Predict;
    }
    if let Some(rest) = path.strip_prefix("/v2/models/") {
        if post && let Some((m, v)) = model_and_version(rest, "/infer") {
            return Route::V2Infer(m, v);
        }
        if get && model_and_version(rest, "/ready").is_some() {
            return Route::V2ModelReady;
        }
        if get && let Some((m, _)) = model_and_version(rest, "") {
            return Route::V2Metadata(m);
        }
    }
    Route::NotFound
}

pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let route = route(&parts.method, path);
    if !matches!(route, Route::Stats) && !state.admits(&parts.headers) {
        return Ok(error(
            StatusCode::UNAUTHORIZED,
            "missing the required header",
        ));
    }
    let resp = match route {
        Route::Health => json(StatusCode::OK, r#"{"ready":true}"#),
        Route::V2ModelReady => json(StatusCode::OK, r#"{"ready":true}"#),
        Route::Stats => {
            let (requests, errors) = state.behavior.counts();
            json(
                StatusCode::OK,
                serde_json::json!({ "requests": requests, "errors": errors }).to_string(),
            )
        }
        Route::V2Metadata(m) => json(StatusCode::OK, state.metadata_json(m)),
        Route::NotFound => error(StatusCode::NOT_FOUND, "Not Found"),
        Route::V1Predict | Route::V2Infer(..) => {
            let body = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e.to_string())),
            };
            if state.behavior.serve().await {
                error(StatusCode::INTERNAL_SERVER_ERROR, "mock error")
            } else if let Route::V2Infer(m, v) = route {
                let json_len = parts
                    .headers
                    .get(INFERENCE_HEADER_CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                v2_echo(&body, json_len, m, v)
            } else {
                v1_echo(&body)
            }
        }
    };
    Ok(resp)
}

#[derive(Deserialize)]
struct V1Body<'a> {
    #[serde(borrow, default)]
    instances: Option<&'a RawValue>,
    #[serde(borrow, default)]
    inputs: Option<&'a RawValue>,
}

/// `{"instances": X}` -> `{"predictions": X}`, `{"inputs": X}` -> `{"outputs": X}`,
/// copying X as text.
fn v1_echo(body: &[u8]) -> HttpResponse {
    let parsed: V1Body = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let (key, value) = match (parsed.instances, parsed.inputs) {
        (Some(v), None) => ("predictions", v),
        (None, Some(v)) => ("outputs", v),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "a V1 request needs 'instances' or 'inputs'",
            );
        }
    };
    json(StatusCode::OK, format!("{{\"{key}\":{}}}", value.get()))
}

/// The inputs back as outputs, in the form (JSON or binary) the request asked for.
fn v2_echo(
    body: &[u8],
    json_len: Option<usize>,
    model: &str,
    version: Option<&str>,
) -> HttpResponse {
    let req = match decode_request(body, json_len) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let format = OutputFormat::from_request(&req);
    let resp = InferResponse {
        model_name: model.to_string(),
        model_version: version.map(str::to_string),
        id: req.id,
        parameters: Default::default(),
        outputs: req.inputs,
    };
    match encode_response(&resp, &format) {
        Ok(e) => match e.json_len {
            None => json(StatusCode::OK, e.body),
            Some(n) => {
                let mut r = respond(StatusCode::OK, "application/octet-stream", e.body);
                r.headers_mut()
                    .insert(INFERENCE_HEADER_CONTENT_LENGTH, HeaderValue::from(n));
                r
            }
        },
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_kserve_paths() {
        let post = Method::POST;
        let get = Method::GET;
        assert!(matches!(
            route(&post, "/v1/models/m:predict"),
            Route::V1Predict
        ));
        assert!(matches!(
            route(&post, "/v2/models/m/infer"),
            Route::V2Infer("m", None)
        ));
        assert!(matches!(
            route(&post, "/v2/models/m/versions/2/infer"),
            Route::V2Infer("m", Some("2"))
        ));
        assert!(matches!(
            route(&get, "/v2/models/m"),
            Route::V2Metadata("m")
        ));
        assert!(matches!(
            route(&get, "/v2/models/m/ready"),
            Route::V2ModelReady
        ));
        assert!(matches!(route(&get, "/v2/health/ready"), Route::Health));
        assert!(matches!(route(&get, "/v2/models/m/infer"), Route::NotFound));
        assert!(matches!(
            route(&post, "/v2/models/a/b/infer"),
            Route::NotFound
        ));
    }

    #[test]
    fn v1_echo_copies_instances() {
        let r = v1_echo(br#"{"instances": [[1, 2.5]]}"#);
        assert_eq!(r.status(), StatusCode::OK);
        let r = v1_echo(br#"{"x": 1}"#);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
