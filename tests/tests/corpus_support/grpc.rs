//! gRPC cases: a `ModelInferRequest` written as JSON (or raw message
//! bytes in hex), framed with its 5-byte prefix (or a prefix the case
//! gives, to lie about the length) and sent over HTTP/2 as any client
//! would, so that the server's own framing code is what answers.
use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use infergate_proto::grpc::pb::{
    InferParameter, InferTensorContents, ModelInferRequest,
    infer_parameter::ParameterChoice,
    model_infer_request::{InferInputTensor, InferRequestedOutputTensor},
};
use prost::Message;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct GrpcAnswer {
    pub code: i32,
    pub message: String,
}

/// gRPC status codes by the names the corpus uses.
pub fn code_number(name: &str) -> Option<i32> {
    const NAMES: [&str; 17] = [
        "Ok",
        "Cancelled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    NAMES.iter().position(|n| *n == name).map(|i| i as i32)
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex in a corpus case"))
        .collect()
}

fn params(v: Option<&Value>) -> HashMap<String, InferParameter> {
    let Some(Value::Object(m)) = v else {
        return HashMap::new();
    };
    m.iter()
        .map(|(k, v)| {
            let choice = match v {
                Value::Bool(b) => ParameterChoice::BoolParam(*b),
                Value::String(s) => ParameterChoice::StringParam(s.clone()),
                Value::Number(n) if n.is_i64() => ParameterChoice::Int64Param(n.as_i64().unwrap()),
                Value::Number(n) if n.is_u64() => ParameterChoice::Uint64Param(n.as_u64().unwrap()),
                Value::Number(n) => ParameterChoice::DoubleParam(n.as_f64().unwrap_or(0.0)),
                other => panic!("parameter {k}: {other} is not a scalar"),
            };
            (
                k.clone(),
                InferParameter {
                    parameter_choice: Some(choice),
                },
            )
        })
        .collect()
}

fn list<T>(v: &Value, key: &str, f: impl Fn(&Value) -> T) -> Vec<T> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default()
}

fn contents(v: Option<&Value>) -> Option<InferTensorContents> {
    let v = v?;
    let f = |x: &Value| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0.0)
    };
    Some(InferTensorContents {
        bool_contents: list(v, "bool", |x| x.as_bool().unwrap_or(false)),
        int_contents: list(v, "int", |x| x.as_i64().unwrap_or(0) as i32),
        int64_contents: list(v, "int64", |x| x.as_i64().unwrap_or(0)),
        uint_contents: list(v, "uint", |x| x.as_u64().unwrap_or(0) as u32),
        uint64_contents: list(v, "uint64", |x| x.as_u64().unwrap_or(0)),
        fp32_contents: list(v, "fp32", |x| f(x) as f32),
        fp64_contents: list(v, "fp64", f),
        bytes_contents: list(v, "bytes", |x| x.as_str().unwrap_or("").as_bytes().to_vec()),
    })
}

/// The request a case's `message` JSON describes.
pub fn infer_request(m: &Value) -> ModelInferRequest {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    ModelInferRequest {
        model_name: s(m, "model_name"),
        model_version: s(m, "model_version"),
        id: s(m, "id"),
        parameters: params(m.get("parameters")),
        inputs: list(m, "inputs", |t| InferInputTensor {
            name: s(t, "name"),
            datatype: s(t, "datatype"),
            // `shape_fill: [d, n]`: n dimensions of d (a shape too long to write).
            shape: match t.get("shape_fill") {
                Some(f) => vec![f[0].as_i64().unwrap(); f[1].as_u64().unwrap() as usize],
                None => list(t, "shape", |d| d.as_i64().unwrap_or(0)),
            },
            parameters: params(t.get("parameters")),
            contents: contents(t.get("contents")),
        }),
        outputs: list(m, "outputs", |o| InferRequestedOutputTensor {
            name: s(o, "name"),
            parameters: params(o.get("parameters")),
        }),
        raw_input_contents: list(m, "raw_hex", |h| hex(h.as_str().unwrap_or("")).into()),
    }
}

/// The message bytes of a case: `message_hex`, or `message` encoded.
pub fn message_bytes(case: &Value) -> Vec<u8> {
    match case.get("message_hex").and_then(Value::as_str) {
        Some(h) => hex(h),
        None => infer_request(case.get("message").unwrap_or(&Value::Null)).encode_to_vec(),
    }
}

fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends one framed call to `rpc` and reads its status (from the headers
/// of a trailers-only answer, or from the trailers).
pub async fn call(addr: SocketAddr, rpc: &str, frame: Vec<u8>) -> Result<GrpcAnswer, String> {
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let req = http::Request::post(format!(
        "http://{addr}/inference.GRPCInferenceService/{rpc}"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(Full::new(Bytes::from(frame)))
    .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.map_err(|e| format!("{e:?}"))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let field = |k: &str| {
        trailers
            .get(k)
            .or_else(|| parts.headers.get(k))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let code = field("grpc-status")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no grpc-status (HTTP {})", parts.status))?;
    Ok(GrpcAnswer {
        code,
        message: percent_decoded(&field("grpc-message").unwrap_or_default()),
    })
}
