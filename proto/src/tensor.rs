//! Tensors as the gateway holds them: a name, a shape, parameters and typed,
//! flattened row-major data. Every wire form converts to and from this.
use half::f16;

use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::parameters::Parameters;

/// Flattened, row-major tensor elements, one variant per datatype.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Bool(Vec<bool>),
    Uint8(Vec<u8>),
    Uint16(Vec<u16>),
    Uint32(Vec<u32>),
    Uint64(Vec<u64>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Fp16(Vec<f16>),
    Fp32(Vec<f32>),
    Fp64(Vec<f64>),
    Bytes(Vec<Vec<u8>>),
}

/// Runs `$body` with `$v` bound to the vector inside any numeric variant
/// (everything but BOOL and BYTES), and `$other` otherwise.
#[macro_export]
#[doc(hidden)]
macro_rules! with_numeric {
    ($data:expr, $v:ident => $body:expr, $other:pat => $otherwise:expr) => {
        match $data {
            $crate::TensorData::Uint8($v) => $body,
            $crate::TensorData::Uint16($v) => $body,
            $crate::TensorData::Uint32($v) => $body,
            $crate::TensorData::Uint64($v) => $body,
            $crate::TensorData::Int8($v) => $body,
            $crate::TensorData::Int16($v) => $body,
            $crate::TensorData::Int32($v) => $body,
            $crate::TensorData::Int64($v) => $body,
            $crate::TensorData::Fp16($v) => $body,
            $crate::TensorData::Fp32($v) => $body,
            $crate::TensorData::Fp64($v) => $body,
            $other => $otherwise,
        }
    };
}

impl TensorData {
    pub fn datatype(&self) -> DataType {
        match self {
            TensorData::Bool(_) => DataType::Bool,
            TensorData::Uint8(_) => DataType::Uint8,
            TensorData::Uint16(_) => DataType::Uint16,
            TensorData::Uint32(_) => DataType::Uint32,
            TensorData::Uint64(_) => DataType::Uint64,
            TensorData::Int8(_) => DataType::Int8,
            TensorData::Int16(_) => DataType::Int16,
            TensorData::Int32(_) => DataType::Int32,
            TensorData::Int64(_) => DataType::Int64,
            TensorData::Fp16(_) => DataType::Fp16,
            TensorData::Fp32(_) => DataType::Fp32,
            TensorData::Fp64(_) => DataType::Fp64,
            TensorData::Bytes(_) => DataType::Bytes,
        }
    }

    /// An empty vector of the given datatype with room for `capacity` elements.
    pub fn with_capacity(datatype: DataType, capacity: usize) -> Self {
        match datatype {
            DataType::Bool => TensorData::Bool(Vec::with_capacity(capacity)),
            DataType::Uint8 => TensorData::Uint8(Vec::with_capacity(capacity)),
            DataType::Uint16 => TensorData::Uint16(Vec::with_capacity(capacity)),
            DataType::Uint32 => TensorData::Uint32(Vec::with_capacity(capacity)),
            DataType::Uint64 => TensorData::Uint64(Vec::with_capacity(capacity)),
            DataType::Int8 => TensorData::Int8(Vec::with_capacity(capacity)),
            DataType::Int16 => TensorData::Int16(Vec::with_capacity(capacity)),
            DataType::Int32 => TensorData::Int32(Vec::with_capacity(capacity)),
            DataType::Int64 => TensorData::Int64(Vec::with_capacity(capacity)),
            DataType::Fp16 => TensorData::Fp16(Vec::with_capacity(capacity)),
            DataType::Fp32 => TensorData::Fp32(Vec::with_capacity(capacity)),
            DataType::Fp64 => TensorData::Fp64(Vec::with_capacity(capacity)),
            DataType::Bytes => TensorData::Bytes(Vec::with_capacity(capacity)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TensorData::Bool(v) => v.len(),
            TensorData::Bytes(v) => v.len(),
            other => with_numeric!(other, v => v.len(), _ => 0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `additional` more elements, so that joining many tensors
    /// allocates once.
    pub fn reserve(&mut self, additional: usize) {
        macro_rules! res {
            ($($var:ident),*) => {
                match self {
                    $(TensorData::$var(v) => v.reserve(additional),)*
                }
            };
        }
        res!(
            Bool, Uint8, Uint16, Uint32, Uint64, Int8, Int16, Int32, Int64, Fp16, Fp32, Fp64, Bytes
        );
    }

    /// Appends the elements of `other`, which must have the same datatype.
    pub fn extend_from(&mut self, other: &TensorData) -> Result<()> {
        macro_rules! ext {
            ($($var:ident),*) => {
                match (self, other) {
                    $((TensorData::$var(a), TensorData::$var(b)) => a.extend_from_slice(b),)*
                    (a, b) => {
                        return Err(ProtoError::request(format!(
                            "cannot join {} elements to a {} tensor",
                            b.datatype(),
                            a.datatype()
                        )))
                    }
                }
            };
        }
        ext!(
            Bool, Uint8, Uint16, Uint32, Uint64, Int8, Int16, Int32, Int64, Fp16, Fp32, Fp64, Bytes
        );
        Ok(())
    }

    /// Elements `range` as a new vector of the same datatype.
    pub fn slice(&self, range: std::ops::Range<usize>) -> TensorData {
        match self {
            TensorData::Bool(v) => TensorData::Bool(v[range].to_vec()),
            TensorData::Uint8(v) => TensorData::Uint8(v[range].to_vec()),
            TensorData::Uint16(v) => TensorData::Uint16(v[range].to_vec()),
            TensorData::Uint32(v) => TensorData::Uint32(v[range].to_vec()),
            TensorData::Uint64(v) => TensorData::Uint64(v[range].to_vec()),
            TensorData::Int8(v) => TensorData::Int8(v[range].to_vec()),
            TensorData::Int16(v) => TensorData::Int16(v[range].to_vec()),
            TensorData::Int32(v) => TensorData::Int32(v[range].to_vec()),
            TensorData::Int64(v) => TensorData::Int64(v[range].to_vec()),
            TensorData::Fp16(v) => TensorData::Fp16(v[range].to_vec()),
            TensorData::Fp32(v) => TensorData::Fp32(v[range].to_vec()),
            TensorData::Fp64(v) => TensorData::Fp64(v[range].to_vec()),
            TensorData::Bytes(v) => TensorData::Bytes(v[range].to_vec()),
        }
    }
}

/// Number of elements a shape holds, or `None` when the product overflows.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// One named tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub parameters: Parameters,
    pub data: TensorData,
}

impl Tensor {
    /// A tensor whose element count is checked against its shape.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: TensorData) -> Result<Self> {
        let tensor = Tensor {
            name: name.into(),
            shape,
            parameters: Parameters::new(),
            data,
        };
        tensor.check_element_count()?;
        Ok(tensor)
    }

    pub fn datatype(&self) -> DataType {
        self.data.datatype()
    }

    /// Fails unless the data holds exactly the elements the shape asks for.
    pub fn check_element_count(&self) -> Result<()> {
        check_count(&self.name, &self.shape, self.data.len())
    }

    /// Size of the first dimension (the batch), or 1 for a scalar.
    pub fn batch_size(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
}

/// The most rows, columns or cells a tensor with no elements may declare:
/// the product of its dimensions with each 0 counted as 1. A non-empty
/// tensor's dimensions are bounded by its data; an empty one's only by this,
/// and every conversion that walks a shape (V1 rows, per-channel ops) costs
/// up to that product. 2^20 allows any real empty batch (`[0, 512, 512, 3]`
/// is 786,432) and keeps the worst such walk to a few megabytes.
pub const MAX_EMPTY_EXTENT: usize = 1 << 20;

/// The product of `shape` with each 0 counted as 1, or `None` on overflow.
fn extent(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
}

/// Fails unless `shape` holds exactly `actual` elements, and, for a shape
/// with no elements, unless its dimensions stay within [`MAX_EMPTY_EXTENT`].
pub fn check_count(tensor: &str, shape: &[usize], actual: usize) -> Result<()> {
    let expected = element_count(shape)
        .ok_or_else(|| ProtoError::tensor(tensor, format!("shape {shape:?} is too large")))?;
    if expected != actual {
        return Err(ProtoError::ElementCount {
            tensor: tensor.to_string(),
            shape: shape.to_vec(),
            expected,
            actual,
        });
    }
    if expected == 0 && extent(shape).is_none_or(|e| e > MAX_EMPTY_EXTENT) {
        return Err(ProtoError::tensor(
            tensor,
            format!(
                "shape {shape:?} holds no elements but its other dimensions multiply to more \
                 than {MAX_EMPTY_EXTENT}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_count_is_checked_against_the_shape() {
        assert!(Tensor::new("x", vec![2, 2], TensorData::Fp32(vec![1.0; 4])).is_ok());
        let err = Tensor::new("x", vec![2, 3], TensorData::Fp32(vec![1.0; 4])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor 'x': shape [2, 3] needs 6 elements but 4 were given"
        );
        assert!(Tensor::new("s", vec![], TensorData::Int64(vec![7])).is_ok());
        let huge = Tensor::new("h", vec![usize::MAX, 2], TensorData::Int8(vec![]));
        assert!(huge.unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn an_empty_shape_may_not_declare_huge_dimensions() {
        // 2^40 rows of nothing: passes the element count, but a V1 answer
        // would write 2^40 `[]`.
        let rows = Tensor::new("x", vec![1 << 40, 0], TensorData::Fp32(vec![]));
        assert!(rows.unwrap_err().to_string().contains("holds no elements"));
        let cols = Tensor::new("x", vec![0, 1 << 61], TensorData::Fp32(vec![]));
        assert!(cols.unwrap_err().to_string().contains("holds no elements"));
        let overflow = Tensor::new("x", vec![0, usize::MAX, 2], TensorData::Fp32(vec![]));
        assert!(overflow.is_err());
        // Real empty batches still pass.
        Tensor::new("img", vec![0, 512, 512, 3], TensorData::Uint8(vec![])).unwrap();
        Tensor::new("x", vec![0], TensorData::Fp32(vec![])).unwrap();
        Tensor::new("x", vec![MAX_EMPTY_EXTENT, 0], TensorData::Fp32(vec![])).unwrap();
    }

    #[test]
    fn extend_and_slice_keep_the_datatype() {
        let mut a = TensorData::Int32(vec![1, 2]);
        a.extend_from(&TensorData::Int32(vec![3])).unwrap();
        assert_eq!(a, TensorData::Int32(vec![1, 2, 3]));
        assert_eq!(a.slice(1..3), TensorData::Int32(vec![2, 3]));
        assert!(a.extend_from(&TensorData::Fp32(vec![1.0])).is_err());
    }
}
