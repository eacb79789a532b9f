//! Tensors between the wire form and ONNX Runtime values. Inputs are lent to
//! ONNX Runtime without copying where the element type allows; outputs are
//! copied out once.
use infergate_proto::{DataType, Tensor, TensorData, TensorMetadata};
use ort::value::{DynValue, TensorElementType, TensorRef, ValueType};

use crate::error::{PredictorError, Result};

/// The wire datatype of an ONNX element type, if the protocol has one.
pub fn datatype_of(t: TensorElementType) -> Option<DataType> {
    Some(match t {
        TensorElementType::Bool => DataType::Bool,
        TensorElementType::Uint8 => DataType::Uint8,
        TensorElementType::Uint16 => DataType::Uint16,
        TensorElementType::Uint32 => DataType::Uint32,
        TensorElementType::Uint64 => DataType::Uint64,
        TensorElementType::Int8 => DataType::Int8,
        TensorElementType::Int16 => DataType::Int16,
        TensorElementType::Int32 => DataType::Int32,
        TensorElementType::Int64 => DataType::Int64,
        TensorElementType::Float16 => DataType::Fp16,
        TensorElementType::Float32 => DataType::Fp32,
        TensorElementType::Float64 => DataType::Fp64,
        TensorElementType::String => DataType::Bytes,
        _ => return None,
    })
}

/// Metadata of a graph input or output; an error names what the protocol
/// cannot carry (sequences, maps, exotic element types).
pub fn metadata_of(name: &str, ty: &ValueType) -> std::result::Result<TensorMetadata, String> {
    match ty {
        ValueType::Tensor { ty, shape, .. } => Ok(TensorMetadata {
            name: name.to_string(),
            datatype: datatype_of(*ty).ok_or_else(|| {
                format!("'{name}' has element type {ty:?}, which V2 has no datatype for")
            })?,
            shape: shape.iter().map(|&d| if d < 0 { -1 } else { d }).collect(),
        }),
        ValueType::Sequence(_) | ValueType::Map { .. } => Err(format!(
            "'{name}' is a {}, not a tensor; export the model without ZipMap (skl2onnx option zipmap=False)",
            if matches!(ty, ValueType::Map { .. }) {
                "map"
            } else {
                "sequence"
            }
        )),
        ValueType::Optional(_) => Err(format!("'{name}' is an optional value, not a tensor")),
    }
}

/// A session input borrowing `t`'s data (strings are converted).
pub fn to_ort(t: &Tensor) -> Result<ort::session::SessionInputValue<'_>> {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    let bad = |e: ort::Error| PredictorError::Input(format!("input '{}': {e}", t.name));
    macro_rules! view {
        ($v:expr) => {
            TensorRef::from_array_view((shape, &$v[..]))
                .map_err(bad)?
                .into()
        };
    }
    Ok(match &t.data {
        TensorData::Bool(v) => view!(v),
        TensorData::Uint8(v) => view!(v),
        TensorData::Uint16(v) => view!(v),
        TensorData::Uint32(v) => view!(v),
        TensorData::Uint64(v) => view!(v),
        TensorData::Int8(v) => view!(v),
        TensorData::Int16(v) => view!(v),
        TensorData::Int32(v) => view!(v),
        TensorData::Int64(v) => view!(v),
        TensorData::Fp16(v) => view!(v),
        TensorData::Fp32(v) => view!(v),
        TensorData::Fp64(v) => view!(v),
        TensorData::Bytes(v) => {
            let strings = v
                .iter()
                .map(|b| String::from_utf8(b.clone()))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| {
                    PredictorError::Input(format!(
                        "input '{}': BYTES elements must be UTF-8 text for ONNX string tensors",
                        t.name
                    ))
                })?;
            ort::value::Tensor::from_string_array((shape, &strings[..]))
                .map_err(bad)?
                .into()
        }
    })
}

/// Copies an output value into a wire tensor.
pub fn from_ort(name: &str, value: &DynValue) -> Result<Tensor> {
    let fail = |e: ort::Error| PredictorError::OrtRun(format!("output '{name}': {e}"));
    let ValueType::Tensor { ty, .. } = value.dtype() else {
        return Err(PredictorError::OrtRun(
            metadata_of(name, value.dtype()).err().unwrap_or_default(),
        ));
    };
    macro_rules! copy {
        ($t:ty, $variant:ident) => {{
            let (shape, data) = value.try_extract_tensor::<$t>().map_err(fail)?;
            (shape.to_vec(), TensorData::$variant(data.to_vec()))
        }};
    }
    let (shape, data) = match ty {
        TensorElementType::Bool => copy!(bool, Bool),
        TensorElementType::Uint8 => copy!(u8, Uint8),
        TensorElementType::Uint16 => copy!(u16, Uint16),
        TensorElementType::Uint32 => copy!(u32, Uint32),
        TensorElementType::Uint64 => copy!(u64, Uint64),
        TensorElementType::Int8 => copy!(i8, Int8),
        TensorElementType::Int16 => copy!(i16, Int16),
        TensorElementType::Int32 => copy!(i32, Int32),
        TensorElementType::Int64 => copy!(i64, Int64),
        TensorElementType::Float16 => copy!(half::f16, Fp16),
        TensorElementType::Float32 => copy!(f32, Fp32),
        TensorElementType::Float64 => copy!(f64, Fp64),
        TensorElementType::String => {
            let (shape, strings) = value.try_extract_strings().map_err(fail)?;
            (
                shape.to_vec(),
                TensorData::Bytes(strings.into_iter().map(String::into_bytes).collect()),
            )
        }
        other => {
            return Err(PredictorError::OrtRun(format!(
                "output '{name}' has element type {other:?}, which V2 has no datatype for"
            )));
        }
    };
    let shape = shape.into_iter().map(|d| d.max(0) as usize).collect();
    Ok(Tensor::new(name, shape, data)?)
}

impl From<infergate_proto::ProtoError> for PredictorError {
    fn from(e: infergate_proto::ProtoError) -> Self {
        PredictorError::OrtRun(e.to_string())
    }
}
