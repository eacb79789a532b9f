//! V2 tensors -> V1 JSON.
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::V1Form;
use crate::error::{ProtoError, Result};
use crate::infer::{InferRequest, InferResponse};
use crate::json::NestedJson;
use crate::tensor::Tensor;

/// Row `i` of every tensor, as one object keyed by tensor name.
struct RowObject<'a> {
    tensors: &'a [Tensor],
    row: usize,
}

impl Serialize for RowObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.tensors.len()))?;
        for t in self.tensors {
            let rest = &t.shape[1..];
            let stride: usize = rest.iter().product();
            m.serialize_entry(
                &t.name,
                &NestedJson {
                    data: &t.data,
                    shape: rest,
                    offset: self.row * stride,
                },
            )?;
        }
        m.end()
    }
}

struct Rows<'a> {
    tensors: &'a [Tensor],
    n: usize,
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.n))?;
        for row in 0..self.n {
            q.serialize_element(&RowObject {
                tensors: self.tensors,
                row,
            })?;
        }
        q.end()
    }
}

struct Columns<'a>(&'a [Tensor]);

impl Serialize for Columns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for t in self.0 {
            m.serialize_entry(&t.name, &nested(t))?;
        }
        m.end()
    }
}

fn nested(t: &Tensor) -> NestedJson<'_> {
    NestedJson {
        data: &t.data,
        shape: &t.shape,
        offset: 0,
    }
}

/// The common first dimension of all tensors, if they have one.
fn common_batch(tensors: &[Tensor]) -> Option<usize> {
    let n = *tensors.first()?.shape.first()?;
    tensors
        .iter()
        .all(|t| t.shape.first() == Some(&n))
        .then_some(n)
}

fn write(key: &str, value: &impl Serialize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::new(&mut out);
    let mut m = ser
        .serialize_map(Some(1))
        .map_err(|e| ProtoError::request(e.to_string()))?;
    m.serialize_entry(key, value)
        .and_then(|()| SerializeMap::end(m))
        .map_err(|e| ProtoError::request(e.to_string()))?;
    Ok(out)
}

/// `tensors` in row form under `key`: one tensor nested by its shape (a
/// scalar becomes a one-element list), several as one object per row.
fn write_rows(key: &str, tensors: &[Tensor]) -> Result<Vec<u8>> {
    match tensors {
        [] => write(key, &Vec::<()>::new()),
        [t] if t.shape.is_empty() => write(key, &[nested(t)]),
        [t] => write(key, &nested(t)),
        many => {
            let n = common_batch(many).ok_or_else(|| {
                ProtoError::request(format!(
                    "outputs {} differ in their first dimension, so they cannot be \
                     returned as V1 '{key}' rows; use the 'inputs' form",
                    many.iter()
                        .map(|t| format!("'{}' {:?}", t.name, t.shape))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            write(key, &Rows { tensors: many, n })
        }
    }
}

fn write_columns(key: &str, tensors: &[Tensor]) -> Result<Vec<u8>> {
    match tensors {
        [t] => write(key, &nested(t)),
        many => write(key, &Columns(many)),
    }
}

/// A V2 response as the V1 answer to a request of `form`.
pub fn response_to_v1(resp: &InferResponse, form: V1Form) -> Result<Vec<u8>> {
    match form {
        V1Form::Instances => write_rows("predictions", &resp.outputs),
        V1Form::Inputs => write_columns("outputs", &resp.outputs),
    }
}

/// A V2 request as a V1 request: `instances` when the inputs share a batch
/// dimension (or there is one input), `inputs` otherwise.
pub fn request_to_v1(req: &InferRequest) -> Result<(Vec<u8>, V1Form)> {
    if req.inputs.len() == 1 || common_batch(&req.inputs).is_some() {
        Ok((write_rows("instances", &req.inputs)?, V1Form::Instances))
    } else {
        Ok((write_columns("inputs", &req.inputs)?, V1Form::Inputs))
    }
}
