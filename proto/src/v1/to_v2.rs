//! V1 JSON -> V2 tensors.
use serde_json::Value;

use super::exact::{Origin, reread};
use super::{DEFAULT_INPUT_NAME, DEFAULT_OUTPUT_NAME, V1Form};
use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::infer::{InferRequest, InferResponse, TensorMetadata};
use crate::json::{FastNumber, JsonElement, flatten, settle};
use crate::tensor::{Tensor, TensorData};

/// A V1 request as a V2 request. `inputs` is the model's input metadata (may
/// be empty): it names the tensor of a non-object request and gives each
/// tensor its datatype. Numbers are the f64 values `body` holds; to read
/// FP32 values from the text a body came in, use `V1Body::to_v2`.
pub fn request_to_v2(body: &Value, inputs: &[TensorMetadata]) -> Result<(InferRequest, V1Form)> {
    request_with_text(body, None, inputs)
}

/// `request_to_v2`, with the text `body` was parsed from when there is one.
pub(super) fn request_with_text(
    body: &Value,
    text: Option<&str>,
    inputs: &[TensorMetadata],
) -> Result<(InferRequest, V1Form)> {
    let obj = body
        .as_object()
        .ok_or_else(|| ProtoError::request("a V1 request must be a JSON object"))?;
    let (form, tensors) = match (obj.get("instances"), obj.get("inputs")) {
        (Some(_), Some(_)) => {
            return Err(ProtoError::request(
                "a V1 request must have 'instances' or 'inputs', not both",
            ));
        }
        (Some(rows), None) => (
            V1Form::Instances,
            from_rows(rows, inputs, DEFAULT_INPUT_NAME, "instances", text)?,
        ),
        (None, Some(cols)) => (
            V1Form::Inputs,
            from_columns(cols, inputs, DEFAULT_INPUT_NAME, "inputs", text)?,
        ),
        (None, None) => {
            return Err(ProtoError::request(
                "a V1 request needs an 'instances' list or an 'inputs' value",
            ));
        }
    };
    let req = InferRequest {
        inputs: tensors,
        ..Default::default()
    };
    req.check_unique_inputs()?;
    Ok((req, form))
}

/// A V1 answer (`predictions` or `outputs`) as a V2 response.
pub fn response_to_v2(
    body: &Value,
    model_name: &str,
    outputs: &[TensorMetadata],
) -> Result<InferResponse> {
    let obj = body
        .as_object()
        .ok_or_else(|| ProtoError::request("a V1 response must be a JSON object"))?;
    let tensors = match (obj.get("predictions"), obj.get("outputs")) {
        (Some(rows), _) => from_rows(rows, outputs, DEFAULT_OUTPUT_NAME, "predictions", None)?,
        (None, Some(cols)) => from_columns(cols, outputs, DEFAULT_OUTPUT_NAME, "outputs", None)?,
        (None, None) => {
            return Err(ProtoError::request(
                "a V1 response needs 'predictions' or 'outputs'",
            ));
        }
    };
    Ok(InferResponse {
        model_name: model_name.to_string(),
        outputs: tensors,
        ..Default::default()
    })
}

fn is_b64(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("b64").is_some_and(Value::is_string))
}

fn is_keyed_object(v: &Value) -> bool {
    v.is_object() && !is_b64(v)
}

/// `instances` / `predictions`: a list of rows.
fn from_rows(
    rows: &Value,
    meta: &[TensorMetadata],
    default_name: &str,
    what: &str,
    text: Option<&str>,
) -> Result<Vec<Tensor>> {
    let origin = |key| Origin {
        field: what,
        key,
        rows: true,
    };
    let list = rows
        .as_array()
        .ok_or_else(|| ProtoError::request(format!("'{what}' must be a list")))?;
    if list.is_empty() {
        return Err(ProtoError::request(format!("'{what}' is empty")));
    }
    if !list.iter().any(is_keyed_object) {
        let (name, dt) = single_tensor_target(meta, default_name)?;
        return Ok(vec![tensor_from_value(name, rows, dt, text, origin(None))?]);
    }
    if !list.iter().all(is_keyed_object) {
        return Err(ProtoError::request(format!(
            "'{what}' mixes objects with other values; use one form for every row"
        )));
    }
    // Keys in the order of the first row; every row must have the same set.
    let first = list[0]
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    for (i, row) in list.iter().enumerate() {
        let keys = row.as_object().map(|o| o.len()).unwrap_or(0);
        if let Some(missing) = first.iter().find(|k| row.get(k.as_str()).is_none()) {
            return Err(ProtoError::request(format!(
                "'{what}' row {i} lacks key '{missing}'"
            )));
        }
        if keys != first.len() {
            return Err(ProtoError::request(format!(
                "'{what}' row {i} has keys that row 0 does not have"
            )));
        }
    }
    first
        .iter()
        .map(|key| {
            let column = Value::Array(list.iter().map(|row| row[key.as_str()].clone()).collect());
            let dt = datatype_of(meta, key);
            tensor_from_value(key, &column, dt, text, origin(Some(key)))
        })
        .collect()
}

/// `inputs` / `outputs`: one tensor, or an object of named tensors.
fn from_columns(
    cols: &Value,
    meta: &[TensorMetadata],
    default_name: &str,
    what: &str,
    text: Option<&str>,
) -> Result<Vec<Tensor>> {
    let origin = |key| Origin {
        field: what,
        key,
        rows: false,
    };
    match cols.as_object() {
        Some(map) if !is_b64(cols) => map
            .iter()
            .map(|(key, value)| {
                let dt = datatype_of(meta, key);
                tensor_from_value(key, value, dt, text, origin(Some(key)))
            })
            .collect(),
        _ => {
            let (name, dt) = single_tensor_target(meta, default_name)?;
            Ok(vec![tensor_from_value(name, cols, dt, text, origin(None))?])
        }
    }
}

fn datatype_of(meta: &[TensorMetadata], name: &str) -> Option<DataType> {
    meta.iter().find(|m| m.name == name).map(|m| m.datatype)
}

fn single_tensor_target<'a>(
    meta: &'a [TensorMetadata],
    default_name: &'a str,
) -> Result<(&'a str, Option<DataType>)> {
    match meta {
        [] => Ok((default_name, None)),
        [only] => Ok((&only.name, Some(only.datatype))),
        many => Err(ProtoError::request(format!(
            "the model takes {} tensors ({}); send objects keyed by those names",
            many.len(),
            many.iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The datatype plain JSON values suggest: BOOL, INT64, FP64 or BYTES.
fn infer_datatype(name: &str, v: &Value) -> Result<DataType> {
    #[derive(Default)]
    struct Seen {
        bool: bool,
        int: bool,
        float: bool,
        text: bool,
    }
    fn walk(v: &Value, seen: &mut Seen) {
        match v {
            Value::Bool(_) => seen.bool = true,
            Value::Number(n) if n.is_f64() => seen.float = true,
            Value::Number(_) => seen.int = true,
            Value::String(_) => seen.text = true,
            Value::Array(items) => items.iter().for_each(|i| walk(i, seen)),
            Value::Object(_) if is_b64(v) => seen.text = true,
            // Nulls and other objects are reported by the reader, with context.
            Value::Object(_) | Value::Null => {}
        }
    }
    let mut s = Seen::default();
    walk(v, &mut s);
    let kinds = [s.bool, s.int || s.float, s.text]
        .iter()
        .filter(|&&k| k)
        .count();
    if kinds > 1 {
        return Err(ProtoError::tensor(
            name,
            "values mix booleans, numbers and strings; a tensor holds one kind",
        ));
    }
    Ok(if s.text {
        DataType::Bytes
    } else if s.bool {
        DataType::Bool
    } else if s.float {
        DataType::Fp64
    } else {
        DataType::Int64
    })
}

/// One tensor from a JSON value whose nesting is its shape; `text` (the
/// body's text, if known) and `at` find the values' decimal text for the
/// FP32 values that narrowing from f64 could round twice.
fn tensor_from_value(
    name: &str,
    v: &Value,
    datatype: Option<DataType>,
    text: Option<&str>,
    at: Origin<'_>,
) -> Result<Tensor> {
    let dt = match datatype {
        Some(dt) => dt,
        None => infer_datatype(name, v)?,
    };
    fn go<T: JsonElement>(
        v: &Value,
        wrap: fn(Vec<T>) -> TensorData,
    ) -> Result<(TensorData, Vec<usize>), String> {
        flatten::<T, _>(v, 0).map(|f| (wrap(f.values), f.dims))
    }
    // Numbers whose f64 does not say what the text said are read from the
    // text, as the V2 reader does: FP32 midpoints rounded once, and an
    // integer's `-0` read as 0 while `-0.0` / `-1e-400` are refused.
    fn exact<T: JsonElement + FastNumber>(
        v: &Value,
        wrap: fn(Vec<T>) -> TensorData,
        text: Option<&str>,
        at: Origin<'_>,
    ) -> Result<(TensorData, Vec<usize>), String> {
        let read = flatten::<T, _>(v, 0)?;
        let f = match text {
            Some(text) => settle(read, || reread::<T>(text, at))?,
            // A body changed by code has no text to ask.
            None => read,
        };
        Ok((wrap(f.values), f.dims))
    }
    let result = match dt {
        DataType::Bool => go(v, TensorData::Bool),
        DataType::Uint8 => exact(v, TensorData::Uint8, text, at),
        DataType::Uint16 => exact(v, TensorData::Uint16, text, at),
        DataType::Uint32 => exact(v, TensorData::Uint32, text, at),
        DataType::Uint64 => exact(v, TensorData::Uint64, text, at),
        DataType::Int8 => exact(v, TensorData::Int8, text, at),
        DataType::Int16 => exact(v, TensorData::Int16, text, at),
        DataType::Int32 => exact(v, TensorData::Int32, text, at),
        DataType::Int64 => exact(v, TensorData::Int64, text, at),
        // V1 has no binary form, so FP16 is read as numbers and narrowed.
        DataType::Fp16 => go(v, |x: Vec<f32>| {
            TensorData::Fp16(x.into_iter().map(half::f16::from_f32).collect())
        }),
        DataType::Fp32 => exact(v, TensorData::Fp32, text, at),
        DataType::Fp64 => go(v, TensorData::Fp64),
        DataType::Bytes => go(v, TensorData::Bytes),
    };
    let (data, shape) = result.map_err(|msg| ProtoError::tensor(name, msg))?;
    Tensor::new(name, shape, data)
}
