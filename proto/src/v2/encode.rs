//! [`InferRequest`] / [`InferResponse`] into V2 JSON, with chosen tensors in
//! the binary extension.
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::infer::{BINARY_DATA_SIZE, InferRequest, InferResponse, OutputFormat, RequestedOutput};
use crate::json::JsonElements;
use crate::parameters::Parameters;
use crate::raw;
use crate::tensor::{Tensor, TensorData};

/// An encoded body. `json_len` is set when binary data follows the JSON; it
/// goes in the `Inference-Header-Content-Length` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub body: Vec<u8>,
    pub json_len: Option<usize>,
}

/// Fails for tensors that JSON cannot carry without loss; the message tells
/// the client to ask for binary output.
fn check_json_representable(t: &Tensor) -> Result<()> {
    match &t.data {
        TensorData::Fp16(_) => Err(ProtoError::tensor(
            &t.name,
            "FP16 data cannot travel as JSON; request it with the binary tensor extension \
             (parameters {\"binary_data\": true})",
        )),
        TensorData::Bytes(v) if v.iter().any(|b| std::str::from_utf8(b).is_err()) => {
            Err(ProtoError::tensor(
                &t.name,
                "BYTES data is not valid UTF-8 and cannot travel as JSON; request it with the \
                 binary tensor extension (parameters {\"binary_data\": true})",
            ))
        }
        _ => Ok(()),
    }
}

#[derive(Serialize)]
struct WireTensorOut<'a> {
    name: &'a str,
    datatype: DataType,
    shape: &'a [usize],
    #[serde(skip_serializing_if = "WireParameters::is_empty")]
    parameters: WireParameters<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<JsonElements<'a>>,
}

/// A tensor's parameters plus, for a binary tensor, its `binary_data_size`,
/// written as one map without copying the tensor's own.
struct WireParameters<'a> {
    own: &'a Parameters,
    binary_data_size: Option<u64>,
}

impl WireParameters<'_> {
    fn is_empty(&self) -> bool {
        self.own.is_empty() && self.binary_data_size.is_none()
    }
}

impl Serialize for WireParameters<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.own {
            // A stale size from an upstream answer must not be written twice.
            if self.binary_data_size.is_none() || k != BINARY_DATA_SIZE {
                map.serialize_entry(k, v)?;
            }
        }
        if let Some(size) = self.binary_data_size {
            map.serialize_entry(BINARY_DATA_SIZE, &size)?;
        }
        map.end()
    }
}

/// Binary parts that follow the JSON, and whether any tensor went there
/// (an empty tensor takes no bytes but still needs the header).
#[derive(Default)]
struct Blobs {
    bytes: Vec<u8>,
    used: bool,
}

/// Serializes tensors, moving those `binary` picks into `blobs`.
fn wire_tensors<'a>(
    tensors: &'a [Tensor],
    binary: impl Fn(&Tensor) -> bool,
    blobs: &mut Blobs,
) -> Result<Vec<WireTensorOut<'a>>> {
    tensors
        .iter()
        .map(|t| {
            let mut parameters = WireParameters {
                own: &t.parameters,
                binary_data_size: None,
            };
            let data = if binary(t) {
                let start = blobs.bytes.len();
                raw::write_raw(&t.data, &mut blobs.bytes)?;
                blobs.used = true;
                parameters.binary_data_size = Some((blobs.bytes.len() - start) as u64);
                None
            } else {
                check_json_representable(t)?;
                Some(JsonElements::all(&t.data))
            };
            Ok(WireTensorOut {
                name: &t.name,
                datatype: t.datatype(),
                shape: &t.shape,
                parameters,
                data,
            })
        })
        .collect()
}

fn finish(head: &impl Serialize, blobs: Blobs) -> Result<Encoded> {
    let mut body = Vec::with_capacity(256 + blobs.bytes.len());
    serde_json::to_writer(&mut body, head).map_err(|e| ProtoError::request(e.to_string()))?;
    if !blobs.used {
        return Ok(Encoded {
            body,
            json_len: None,
        });
    }
    let json_len = body.len();
    body.extend_from_slice(&blobs.bytes);
    Ok(Encoded {
        body,
        json_len: Some(json_len),
    })
}

#[derive(Serialize)]
struct WireResponseOut<'a> {
    model_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Parameters::is_empty")]
    parameters: &'a Parameters,
    outputs: Vec<WireTensorOut<'a>>,
}

/// Encodes a response; outputs that `format` marks binary go in the binary
/// extension.
pub fn encode_response(resp: &InferResponse, format: &OutputFormat) -> Result<Encoded> {
    let mut blobs = Blobs::default();
    let outputs = wire_tensors(&resp.outputs, |t| format.is_binary(&t.name), &mut blobs)?;
    let head = WireResponseOut {
        model_name: &resp.model_name,
        model_version: resp.model_version.as_deref(),
        id: resp.id.as_deref(),
        parameters: &resp.parameters,
        outputs,
    };
    finish(&head, blobs)
}

#[derive(Serialize)]
struct WireRequestedOutputOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Parameters::is_empty")]
    parameters: &'a Parameters,
}

#[derive(Serialize)]
struct WireRequestOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Parameters::is_empty")]
    parameters: &'a Parameters,
    inputs: Vec<WireTensorOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<WireRequestedOutputOut<'a>>,
}

/// Encodes a request; with `binary_inputs` every input travels in the binary
/// extension (as tritonclient sends them), otherwise only those JSON cannot
/// carry (FP16, non-UTF-8 BYTES).
pub fn encode_request(req: &InferRequest, binary_inputs: bool) -> Result<Encoded> {
    let mut blobs = Blobs::default();
    let inputs = wire_tensors(
        &req.inputs,
        |t| binary_inputs || check_json_representable(t).is_err(),
        &mut blobs,
    )?;
    let head = WireRequestOut {
        id: req.id.as_deref(),
        parameters: &req.parameters,
        inputs,
        outputs: req
            .outputs
            .iter()
            .map(|o: &RequestedOutput| WireRequestedOutputOut {
                name: &o.name,
                parameters: &o.parameters,
            })
            .collect(),
    };
    finish(&head, blobs)
}
