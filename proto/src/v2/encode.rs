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

/// The JSON head of a body is written here by hand: serde_json escapes every
/// key of every struct it writes (a loop over its bytes), and for a small
/// tensor that was the largest single cost of a V2 answer (callgrind). Keys
/// are fixed ASCII; every value that can hold anything (names, ids,
/// parameters, data) still goes through serde_json.
struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, empty: true }
    }

    /// Starts the member `key` (a constant that needs no escaping).
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn value(&mut self, key: &str, value: &impl Serialize) -> Result<()> {
        let out = self.key(key);
        serde_json::to_writer(out, value).map_err(|e| ProtoError::request(e.to_string()))
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// `[item, item, ...]`, each written by `write`.
fn write_array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut write: impl FnMut(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item)?;
    }
    out.push(b']');
    Ok(())
}

struct WireTensorOut<'a> {
    name: &'a str,
    datatype: DataType,
    shape: &'a [usize],
    parameters: WireParameters<'a>,
    data: Option<JsonElements<'a>>,
}

impl WireTensorOut<'_> {
    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut obj = JsonObject::new(out);
        obj.value("name", &self.name)?;
        // A datatype's name is plain ASCII.
        let dt = obj.key("datatype");
        dt.push(b'"');
        dt.extend_from_slice(self.datatype.as_str().as_bytes());
        dt.push(b'"');
        obj.value("shape", &self.shape)?;
        if !self.parameters.is_empty() {
            obj.value("parameters", &self.parameters)?;
        }
        if let Some(data) = &self.data {
            obj.value("data", data)?;
        }
        obj.end();
        Ok(())
    }
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

/// The body: the JSON head that `head` writes, then the binary parts.
fn finish(blobs: Blobs, head: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<Encoded> {
    let mut body = Vec::with_capacity(256 + blobs.bytes.len());
    head(&mut body)?;
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

/// Encodes a response; outputs that `format` marks binary go in the binary
/// extension.
pub fn encode_response(resp: &InferResponse, format: &OutputFormat) -> Result<Encoded> {
    let mut blobs = Blobs::default();
    let outputs = wire_tensors(&resp.outputs, |t| format.is_binary(&t.name), &mut blobs)?;
    finish(blobs, |out| {
        let mut obj = JsonObject::new(out);
        obj.value("model_name", &resp.model_name)?;
        if let Some(version) = &resp.model_version {
            obj.value("model_version", version)?;
        }
        if let Some(id) = &resp.id {
            obj.value("id", id)?;
        }
        if !resp.parameters.is_empty() {
            obj.value("parameters", &resp.parameters)?;
        }
        write_array(obj.key("outputs"), &outputs, |out, t| t.write(out))?;
        obj.end();
        Ok(())
    })
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
    finish(blobs, |out| {
        let mut obj = JsonObject::new(out);
        if let Some(id) = &req.id {
            obj.value("id", id)?;
        }
        if !req.parameters.is_empty() {
            obj.value("parameters", &req.parameters)?;
        }
        write_array(obj.key("inputs"), &inputs, |out, t| t.write(out))?;
        if !req.outputs.is_empty() {
            write_array(
                obj.key("outputs"),
                &req.outputs,
                |out, o: &RequestedOutput| {
                    let mut obj = JsonObject::new(out);
                    obj.value("name", &o.name)?;
                    if !o.parameters.is_empty() {
                        obj.value("parameters", &o.parameters)?;
                    }
                    obj.end();
                    Ok(())
                },
            )?;
        }
        obj.end();
        Ok(())
    })
}
