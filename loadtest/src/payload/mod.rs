//! The request every worker sends, read from a file or generated, and encoded
//! once for the target's protocol: the generator's per-request cost is then a
//! reference-counted copy of the same bytes.
mod generate;

use std::path::Path;

use bytes::Bytes;
use infergate_proto::grpc::request_to_grpc;
use infergate_proto::v2::{decode_request, encode_request};
use infergate_proto::{InferRequest, ParamValue, TensorMetadata, v1};
use prost::Message;
use serde_json::Value;

pub use generate::{GenerateSpec, generate, parse_input_spec, resolve_inputs};

use crate::error::{LoadError, Result};
use crate::target::Protocol;

/// A request before it is encoded for a protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// V2 tensors (from a V2 JSON file or generated).
    V2(InferRequest),
    /// A V1 body, `{"instances": ...}` or `{"inputs": ...}`.
    V1(Value),
}

/// Reads `--input-data`: a V2 inference request, else a V1 body.
pub fn read_file(path: &Path) -> Result<Source> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let v2_err = match decode_request(&bytes, None) {
        Ok(req) => return Ok(Source::V2(req)),
        Err(e) => e,
    };
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| LoadError::payload(format!("{}: {e}", path.display())))?;
    if value.get("instances").is_some() || value.get("inputs").is_some() {
        return Ok(Source::V1(value));
    }
    Err(LoadError::payload(format!(
        "{}: neither a V2 inference request ({v2_err}) nor a V1 body with 'instances' or 'inputs'",
        path.display()
    )))
}

/// One request, encoded for one protocol.
#[derive(Debug, Clone)]
pub enum Encoded {
    Http {
        body: Bytes,
        /// `Inference-Header-Content-Length` (binary extension).
        json_len: Option<usize>,
    },
    /// A protobuf `ModelInferRequest`.
    Grpc(Bytes),
}

impl Encoded {
    pub fn len(&self) -> usize {
        match self {
            Encoded::Http { body, .. } | Encoded::Grpc(body) => body.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn to_v2(source: &Source, inputs: &[TensorMetadata]) -> Result<InferRequest> {
    match source {
        Source::V2(req) => Ok(req.clone()),
        Source::V1(body) => Ok(v1::request_to_v2(body, inputs)?.0),
    }
}

/// Encodes `source` for `protocol`. `inputs` (the model's metadata, may be
/// empty) names and types tensors when a V1 body is sent over V2 or gRPC.
pub fn encode(
    source: &Source,
    protocol: Protocol,
    model: &str,
    version: Option<&str>,
    inputs: &[TensorMetadata],
) -> Result<Encoded> {
    Ok(match protocol {
        Protocol::V1 => {
            let body = match source {
                Source::V1(body) => serde_json::to_vec(body)?,
                Source::V2(req) => v1::request_to_v1(req)?.0,
            };
            Encoded::Http {
                body: body.into(),
                json_len: None,
            }
        }
        Protocol::V2 => {
            let e = encode_request(&to_v2(source, inputs)?, false)?;
            Encoded::Http {
                body: e.body.into(),
                json_len: e.json_len,
            }
        }
        Protocol::V2Binary => {
            let mut req = to_v2(source, inputs)?;
            // Binary both ways, as tritonclient and perf_analyzer do.
            req.parameters
                .insert("binary_data_output".into(), ParamValue::Bool(true));
            let e = encode_request(&req, true)?;
            Encoded::Http {
                body: e.body.into(),
                json_len: e.json_len,
            }
        }
        Protocol::Grpc => {
            let req = to_v2(source, inputs)?;
            let msg = request_to_grpc(model, version, &req, true)?;
            Encoded::Grpc(msg.encode_to_vec().into())
        }
    })
}

#[cfg(test)]
mod tests {
    use infergate_proto::{DataType, Tensor, TensorData};

    use super::*;

    fn request() -> InferRequest {
        InferRequest {
            inputs: vec![Tensor::new("x", vec![1, 2], TensorData::Fp32(vec![0.5, 1.5])).unwrap()],
            ..Default::default()
        }
    }

    #[test]
    fn one_request_encodes_for_every_protocol() {
        let src = Source::V2(request());
        let Encoded::Http {
            body,
            json_len: None,
        } = encode(&src, Protocol::V1, "m", None, &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(&body[..], br#"{"instances":[[0.5,1.5]]}"#);
        let Encoded::Http {
            body,
            json_len: None,
        } = encode(&src, Protocol::V2, "m", None, &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(decode_request(&body, None).unwrap(), request());
        let Encoded::Http {
            body,
            json_len: Some(n),
        } = encode(&src, Protocol::V2Binary, "m", None, &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(body.len(), n + 8);
        let Encoded::Grpc(msg) = encode(&src, Protocol::Grpc, "m", Some("3"), &[]).unwrap() else {
            panic!()
        };
        let msg = infergate_proto::grpc::pb::ModelInferRequest::decode(msg).unwrap();
        assert_eq!(
            (msg.model_name.as_str(), msg.model_version.as_str()),
            ("m", "3")
        );
        assert_eq!(msg.raw_input_contents.len(), 1);
    }

    #[test]
    fn a_v1_body_takes_names_and_types_from_the_metadata() {
        let src = Source::V1(serde_json::json!({"instances": [[1.0, 2.0]]}));
        let md = [TensorMetadata {
            name: "float_input".into(),
            datatype: DataType::Fp32,
            shape: vec![-1, 2],
        }];
        let Encoded::Http { body, .. } = encode(&src, Protocol::V2, "m", None, &md).unwrap() else {
            panic!()
        };
        let req = decode_request(&body, None).unwrap();
        assert_eq!(req.inputs[0].name, "float_input");
        assert_eq!(req.inputs[0].data, TensorData::Fp32(vec![1.0, 2.0]));
    }
}
