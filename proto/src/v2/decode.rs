//! V2 JSON (and binary extension) bodies into [`InferRequest`] / [`InferResponse`].
use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::infer::{BINARY_DATA_SIZE, InferRequest, InferResponse, RequestedOutput};
use crate::json::{FastNumber, JsonElement, flatten, flatten_text, parse_numbers};
use crate::parameters::{ParamValue, Parameters};
use crate::raw;
use crate::tensor::{Tensor, TensorData, check_count, element_count};

/// `"parameters": null` (as KServe writes it) means no parameters.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Parameters, D::Error> {
    Ok(Option::<Parameters>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct WireTensor<'a> {
    name: String,
    shape: Vec<usize>,
    #[serde(borrow)]
    datatype: Cow<'a, str>,
    #[serde(default)]
    parameters: TensorParameters,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A tensor's `parameters`, with `binary_data_size` (on every binary tensor)
/// kept apart: it is a wire detail, and a map entry per tensor would cost two
/// allocations on the hot path.
#[derive(Default)]
struct TensorParameters {
    binary_data_size: Option<ParamValue>,
    rest: Parameters,
}

/// A map key, borrowed from the body unless it has escapes (serde's own
/// `Cow` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a parameter name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for TensorParameters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TensorParameters;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of parameters")
            }
            fn visit_unit<E: de::Error>(self) -> Result<TensorParameters, E> {
                Ok(TensorParameters::default())
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TensorParameters, A::Error> {
                let mut p = TensorParameters::default();
                while let Some(Key(key)) = map.next_key()? {
                    let value: ParamValue = map.next_value()?;
                    if key == BINARY_DATA_SIZE {
                        p.binary_data_size = Some(value);
                    } else {
                        p.rest.insert(key.into_owned(), value);
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct WireRequestedOutput {
    name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    parameters: Parameters,
}

#[derive(Deserialize)]
struct WireRequest<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    parameters: Parameters,
    #[serde(borrow)]
    inputs: Vec<WireTensor<'a>>,
    #[serde(default)]
    outputs: Vec<WireRequestedOutput>,
}

#[derive(Deserialize)]
struct WireResponse<'a> {
    #[serde(default)]
    model_name: String,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    parameters: Parameters,
    #[serde(borrow)]
    outputs: Vec<WireTensor<'a>>,
}

/// Splits a body into its JSON part and its binary part (binary extension).
fn split_body(body: &[u8], json_len: Option<usize>) -> Result<(&[u8], Option<&[u8]>)> {
    match json_len {
        None => Ok((body, None)),
        Some(n) if n <= body.len() => {
            let (json, bin) = body.split_at(n);
            Ok((json, Some(bin)))
        }
        Some(n) => Err(ProtoError::Binary(format!(
            "Inference-Header-Content-Length is {n} but the body has only {} bytes",
            body.len()
        ))),
    }
}

fn parse<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T> {
    serde_json::from_slice(json).map_err(|e| ProtoError::Json(e.to_string()))
}

/// Decodes a V2 inference request. `json_len` is the value of the
/// `Inference-Header-Content-Length` header when the binary extension is used.
pub fn decode_request(body: &[u8], json_len: Option<usize>) -> Result<InferRequest> {
    let (json, binary) = split_body(body, json_len)?;
    let wire: WireRequest = parse(json)?;
    let req = InferRequest {
        id: wire.id,
        parameters: wire.parameters,
        inputs: decode_tensors(wire.inputs, binary)?,
        outputs: wire
            .outputs
            .into_iter()
            .map(|o| RequestedOutput {
                name: o.name,
                parameters: o.parameters,
            })
            .collect(),
    };
    req.check_unique_inputs()?;
    Ok(req)
}

/// Decodes a V2 inference response (what an upstream V2 server answered).
pub fn decode_response(body: &[u8], json_len: Option<usize>) -> Result<InferResponse> {
    let (json, binary) = split_body(body, json_len)?;
    let wire: WireResponse = parse(json)?;
    Ok(InferResponse {
        model_name: wire.model_name,
        model_version: wire.model_version,
        id: wire.id,
        parameters: wire.parameters,
        outputs: decode_tensors(wire.outputs, binary)?,
    })
}

fn decode_tensors(wire: Vec<WireTensor<'_>>, binary: Option<&[u8]>) -> Result<Vec<Tensor>> {
    let mut cursor = 0usize;
    let mut tensors = Vec::with_capacity(wire.len());
    for w in wire {
        let datatype: DataType = w
            .datatype
            .parse()
            .map_err(|e: ProtoError| ProtoError::tensor(&w.name, e.to_string()))?;
        let TensorParameters {
            binary_data_size,
            rest: parameters,
        } = w.parameters;
        let expected = element_count(&w.shape).ok_or_else(|| {
            ProtoError::tensor(&w.name, format!("shape {:?} is too large", w.shape))
        })?;
        let data = match binary_data_size {
            Some(size) => {
                if w.data.is_some() {
                    return Err(ProtoError::tensor(
                        &w.name,
                        "gives both 'data' and a binary_data_size parameter",
                    ));
                }
                let size = size.as_u64().ok_or_else(|| {
                    ProtoError::tensor(&w.name, "binary_data_size must be a non-negative integer")
                })?;
                let bin = binary.ok_or_else(|| {
                    ProtoError::Binary(format!(
                        "tensor '{}' has binary_data_size but the request has no \
                         Inference-Header-Content-Length header",
                        w.name
                    ))
                })?;
                let end = usize::try_from(size)
                    .ok()
                    .and_then(|s| cursor.checked_add(s))
                    .filter(|&end| end <= bin.len())
                    .ok_or_else(|| {
                        ProtoError::Binary(format!(
                            "tensor '{}' has binary_data_size {size} but only {} bytes of binary data remain",
                            w.name,
                            bin.len() - cursor
                        ))
                    })?;
                let data = raw::from_raw(&w.name, datatype, &bin[cursor..end])?;
                cursor = end;
                data
            }
            None => {
                let raw = w.data.ok_or_else(|| {
                    ProtoError::tensor(
                        &w.name,
                        "has neither 'data' nor a binary_data_size parameter",
                    )
                })?;
                json_data(&w.name, datatype, raw, expected)?
            }
        };
        check_count(&w.name, &w.shape, data.len())?;
        tensors.push(Tensor {
            name: w.name,
            shape: w.shape,
            parameters,
            data,
        });
    }
    if let Some(bin) = binary
        && cursor != bin.len()
    {
        return Err(ProtoError::Binary(format!(
            "{} bytes of binary data follow the JSON but no tensor claims them",
            bin.len() - cursor
        )));
    }
    Ok(tensors)
}

fn json_data(
    tensor: &str,
    datatype: DataType,
    raw: &RawValue,
    expected: usize,
) -> Result<TensorData> {
    // A shape cannot make us allocate more than the text could hold.
    let cap = expected.min(raw.get().len() / 2 + 1);
    /// Elements of `T`, through the fast numeric path when it applies.
    fn numeric<T: JsonElement + FastNumber>(
        tensor: &str,
        raw: &RawValue,
        cap: usize,
        wrap: fn(Vec<T>) -> TensorData,
    ) -> Result<TensorData> {
        match parse_numbers::<T>(raw.get(), cap) {
            Some(f) => Ok(wrap(f.values)),
            None => flatten_text::<T>(raw.get(), cap)
                .map(|f| wrap(f.values))
                .map_err(|msg| ProtoError::tensor(tensor, msg)),
        }
    }
    fn general<T: JsonElement>(
        tensor: &str,
        raw: &RawValue,
        cap: usize,
        wrap: fn(Vec<T>) -> TensorData,
    ) -> Result<TensorData> {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        flatten::<T, _>(&mut de, cap)
            .map(|f| wrap(f.values))
            .map_err(|msg| ProtoError::tensor(tensor, msg))
    }
    match datatype {
        DataType::Bool => general(tensor, raw, cap, TensorData::Bool),
        DataType::Uint8 => numeric(tensor, raw, cap, TensorData::Uint8),
        DataType::Uint16 => numeric(tensor, raw, cap, TensorData::Uint16),
        DataType::Uint32 => numeric(tensor, raw, cap, TensorData::Uint32),
        DataType::Uint64 => numeric(tensor, raw, cap, TensorData::Uint64),
        DataType::Int8 => numeric(tensor, raw, cap, TensorData::Int8),
        DataType::Int16 => numeric(tensor, raw, cap, TensorData::Int16),
        DataType::Int32 => numeric(tensor, raw, cap, TensorData::Int32),
        DataType::Int64 => numeric(tensor, raw, cap, TensorData::Int64),
        DataType::Fp16 => general(tensor, raw, cap, TensorData::Fp16),
        DataType::Fp32 => numeric(tensor, raw, cap, TensorData::Fp32),
        DataType::Fp64 => numeric(tensor, raw, cap, TensorData::Fp64),
        DataType::Bytes => general(tensor, raw, cap, TensorData::Bytes),
    }
}
