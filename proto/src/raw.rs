//! The raw little-endian tensor layout shared by the REST binary extension and
//! gRPC `raw_input_contents` / `raw_output_contents`: fixed-size elements back
//! to back; BOOL as one byte 0 or 1; BYTES elements as a 4-byte little-endian
//! length followed by that many bytes.
use half::f16;

use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::tensor::TensorData;

/// A fixed-size element with a little-endian wire form.
trait LeElement: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le_element {
    ($($t:ty),*) => {$(
        impl LeElement for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut buf = [0u8; std::mem::size_of::<$t>()];
                buf.copy_from_slice(bytes);
                <$t>::from_le_bytes(buf)
            }
        }
    )*};
}
le_element!(u8, u16, u32, u64, i8, i16, i32, i64, f16, f32, f64);

fn put_all<T: LeElement>(values: &[T], out: &mut Vec<u8>) {
    out.reserve(values.len() * T::SIZE);
    for &v in values {
        v.put(out);
    }
}

fn get_all<T: LeElement>(tensor: &str, dt: DataType, bytes: &[u8]) -> Result<Vec<T>> {
    if !bytes.len().is_multiple_of(T::SIZE) {
        return Err(ProtoError::tensor(
            tensor,
            format!(
                "{} raw bytes are not a whole number of {dt} elements ({} bytes each)",
                bytes.len(),
                T::SIZE
            ),
        ));
    }
    Ok(bytes.chunks_exact(T::SIZE).map(T::get).collect())
}

/// Number of bytes `data` takes in raw form.
pub fn raw_size(data: &TensorData) -> usize {
    match data {
        TensorData::Bytes(v) => v.iter().map(|b| 4 + b.len()).sum(),
        other => other.len() * other.datatype().element_size().unwrap_or(0),
    }
}

/// Appends the raw form of `data` to `out`.
pub fn write_raw(data: &TensorData, out: &mut Vec<u8>) -> Result<()> {
    match data {
        TensorData::Bool(v) => out.extend(v.iter().map(|&b| b as u8)),
        TensorData::Uint8(v) => out.extend_from_slice(v),
        TensorData::Uint16(v) => put_all(v, out),
        TensorData::Uint32(v) => put_all(v, out),
        TensorData::Uint64(v) => put_all(v, out),
        TensorData::Int8(v) => put_all(v, out),
        TensorData::Int16(v) => put_all(v, out),
        TensorData::Int32(v) => put_all(v, out),
        TensorData::Int64(v) => put_all(v, out),
        TensorData::Fp16(v) => put_all(v, out),
        TensorData::Fp32(v) => put_all(v, out),
        TensorData::Fp64(v) => put_all(v, out),
        TensorData::Bytes(v) => {
            out.reserve(raw_size(data));
            for element in v {
                let len = u32::try_from(element.len()).map_err(|_| {
                    ProtoError::request("a BYTES element longer than 4 GiB cannot be encoded")
                })?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(element);
            }
        }
    }
    Ok(())
}

/// The raw form of `data` as a new buffer.
pub fn to_raw(data: &TensorData) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw_size(data));
    write_raw(data, &mut out)?;
    Ok(out)
}

/// Decodes raw bytes of `datatype`; `tensor` names it in errors.
pub fn from_raw(tensor: &str, datatype: DataType, bytes: &[u8]) -> Result<TensorData> {
    Ok(match datatype {
        DataType::Bool => TensorData::Bool(
            bytes
                .iter()
                .map(|&b| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(ProtoError::tensor(
                        tensor,
                        format!("BOOL raw byte must be 0 or 1, got {other}"),
                    )),
                })
                .collect::<Result<_>>()?,
        ),
        DataType::Uint8 => TensorData::Uint8(bytes.to_vec()),
        DataType::Uint16 => TensorData::Uint16(get_all(tensor, datatype, bytes)?),
        DataType::Uint32 => TensorData::Uint32(get_all(tensor, datatype, bytes)?),
        DataType::Uint64 => TensorData::Uint64(get_all(tensor, datatype, bytes)?),
        DataType::Int8 => TensorData::Int8(get_all(tensor, datatype, bytes)?),
        DataType::Int16 => TensorData::Int16(get_all(tensor, datatype, bytes)?),
        DataType::Int32 => TensorData::Int32(get_all(tensor, datatype, bytes)?),
        DataType::Int64 => TensorData::Int64(get_all(tensor, datatype, bytes)?),
        DataType::Fp16 => TensorData::Fp16(get_all(tensor, datatype, bytes)?),
        DataType::Fp32 => TensorData::Fp32(get_all(tensor, datatype, bytes)?),
        DataType::Fp64 => TensorData::Fp64(get_all(tensor, datatype, bytes)?),
        DataType::Bytes => TensorData::Bytes(split_bytes_elements(tensor, bytes)?),
    })
}

fn split_bytes_elements(tensor: &str, mut bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut elements = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(ProtoError::tensor(
                tensor,
                format!(
                    "BYTES raw data ends inside a 4-byte length prefix ({} bytes left)",
                    bytes.len()
                ),
            ));
        };
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(ProtoError::tensor(
                tensor,
                format!(
                    "BYTES element claims {len} bytes but only {} remain",
                    rest.len()
                ),
            ));
        }
        let (element, rest) = rest.split_at(len);
        elements.push(element.to_vec());
        bytes = rest;
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_elements_are_length_prefixed() {
        let data = TensorData::Bytes(vec![b"ab".to_vec(), vec![], b"xyz".to_vec()]);
        let raw = to_raw(&data).unwrap();
        assert_eq!(raw, b"\x02\0\0\0ab\0\0\0\0\x03\0\0\0xyz");
        assert_eq!(raw.len(), raw_size(&data));
        assert_eq!(from_raw("t", DataType::Bytes, &raw).unwrap(), data);
    }

    #[test]
    fn truncated_or_misaligned_raw_data_is_rejected_with_the_tensor_name() {
        let err = from_raw("in0", DataType::Fp32, &[0, 0, 0]).unwrap_err();
        assert!(err.to_string().starts_with("tensor 'in0':"), "{err}");
        let err = from_raw("in1", DataType::Bytes, b"\x05\0\0\0ab").unwrap_err();
        assert!(err.to_string().contains("claims 5 bytes"), "{err}");
        let err = from_raw("in2", DataType::Bytes, b"\x05\0").unwrap_err();
        assert!(err.to_string().contains("length prefix"), "{err}");
        let err = from_raw("in3", DataType::Bool, &[0, 2]).unwrap_err();
        assert!(err.to_string().contains("0 or 1"), "{err}");
    }

    #[test]
    fn numbers_are_little_endian() {
        let raw = to_raw(&TensorData::Int32(vec![1, -2])).unwrap();
        assert_eq!(raw, [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
        let raw = to_raw(&TensorData::Fp16(vec![f16::from_f32(1.0)])).unwrap();
        assert_eq!(raw, [0x00, 0x3c]);
    }
}
