//! Writes tensor data as JSON: flat (V2 `data`) or nested by shape (V1
//! `predictions`). Non-finite floats become "NaN" / "Infinity" /
//! "-Infinity"; FP16 is written as a number; BYTES that are not UTF-8 become
//! `{"b64": "..."}` (V2 rejects both before writing).
use std::ops::Range;

use base64::Engine;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::tensor::TensorData;

/// Spelling of non-finite floats in JSON (read back by the element rules).
pub(crate) fn non_finite_str(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// One element's JSON form.
trait WriteJson {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
}

macro_rules! write_plain {
    ($($t:ty),*) => {$(
        impl WriteJson for $t {
            fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.serialize(s)
            }
        }
    )*};
}
write_plain!(bool, u8, u16, u32, u64, i8, i16, i32, i64);

impl WriteJson for f32 {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f32(*self)
        } else {
            s.serialize_str(non_finite_str(f64::from(*self)))
        }
    }
}

impl WriteJson for f64 {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f64(*self)
        } else {
            s.serialize_str(non_finite_str(*self))
        }
    }
}

impl WriteJson for half::f16 {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_f32().write(s)
    }
}

impl WriteJson for Vec<u8> {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "b64",
                    &base64::engine::general_purpose::STANDARD.encode(self),
                )?;
                m.end()
            }
        }
    }
}

struct One<'a, T>(&'a T);

impl<T: WriteJson> Serialize for One<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.write(s)
    }
}

fn write_slice<S: Serializer, T: WriteJson>(
    s: S,
    v: &[T],
    scalar: bool,
) -> Result<S::Ok, S::Error> {
    if scalar {
        return match v.first() {
            Some(x) => x.write(s),
            None => s.serialize_unit(),
        };
    }
    let mut q = s.serialize_seq(Some(v.len()))?;
    for x in v {
        q.serialize_element(&One(x))?;
    }
    q.end()
}

/// Elements `range` of `data` as a flat JSON list, or as a lone value when
/// `scalar`.
pub(crate) struct JsonElements<'a> {
    pub data: &'a TensorData,
    pub range: Range<usize>,
    pub scalar: bool,
}

impl<'a> JsonElements<'a> {
    pub fn all(data: &'a TensorData) -> Self {
        JsonElements {
            data,
            range: 0..data.len(),
            scalar: false,
        }
    }
}

impl Serialize for JsonElements<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.range.clone();
        match self.data {
            TensorData::Bool(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Uint8(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Uint16(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Uint32(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Uint64(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Int8(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Int16(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Int32(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Int64(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Fp16(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Fp32(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Fp64(v) => write_slice(s, &v[r], self.scalar),
            TensorData::Bytes(v) => write_slice(s, &v[r], self.scalar),
        }
    }
}

/// Elements starting at `offset`, nested as `shape` describes (a scalar for
/// an empty shape).
pub(crate) struct NestedJson<'a> {
    pub data: &'a TensorData,
    pub shape: &'a [usize],
    pub offset: usize,
}

impl Serialize for NestedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.shape {
            [] => JsonElements {
                data: self.data,
                range: self.offset..self.offset + 1,
                scalar: true,
            }
            .serialize(s),
            [n] => JsonElements {
                data: self.data,
                range: self.offset..self.offset + n,
                scalar: false,
            }
            .serialize(s),
            [n, rest @ ..] => {
                let stride: usize = rest.iter().product();
                let mut q = s.serialize_seq(Some(*n))?;
                for i in 0..*n {
                    q.serialize_element(&NestedJson {
                        data: self.data,
                        shape: rest,
                        offset: self.offset + i * stride,
                    })?;
                }
                q.end()
            }
        }
    }
}
