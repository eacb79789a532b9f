//! Datatype conversion. Integers must fit the target type; floats cast to an
//! integer type must be whole numbers; nothing is silently wrapped or
//! truncated.
use half::f16;
use infergate_proto::{DataType, TensorData};

/// One element in a form every numeric type fits into.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn numbers(tensor: &str, data: &TensorData) -> Result<Vec<Num>, String> {
    macro_rules! ints {
        ($v:expr) => {
            $v.iter().map(|&x| Num::Int(x as i128)).collect()
        };
    }
    Ok(match data {
        TensorData::Bool(v) => v.iter().map(|&b| Num::Int(b as i128)).collect(),
        TensorData::Uint8(v) => ints!(v),
        TensorData::Uint16(v) => ints!(v),
        TensorData::Uint32(v) => ints!(v),
        TensorData::Uint64(v) => ints!(v),
        TensorData::Int8(v) => ints!(v),
        TensorData::Int16(v) => ints!(v),
        TensorData::Int32(v) => ints!(v),
        TensorData::Int64(v) => ints!(v),
        TensorData::Fp16(v) => v.iter().map(|x| Num::Float(x.to_f64())).collect(),
        TensorData::Fp32(v) => v.iter().map(|&x| Num::Float(f64::from(x))).collect(),
        TensorData::Fp64(v) => v.iter().map(|&x| Num::Float(x)).collect(),
        TensorData::Bytes(_) => {
            return Err(format!(
                "tensor '{tensor}': BYTES cannot be cast to a number type"
            ));
        }
    })
}

fn to_int<T: TryFrom<i128>>(tensor: &str, dt: DataType, v: &[Num]) -> Result<Vec<T>, String> {
    v.iter()
        .map(|n| {
            let i = match *n {
                Num::Int(i) => i,
                Num::Float(f) if f.fract() == 0.0 && f.is_finite() => f as i128,
                Num::Float(f) => {
                    return Err(format!(
                        "tensor '{tensor}': {f} is not a whole number, cannot cast to {dt}"
                    ));
                }
            };
            T::try_from(i).map_err(|_| format!("tensor '{tensor}': {i} is out of range for {dt}"))
        })
        .collect()
}

fn to_float(v: &[Num]) -> Vec<f64> {
    v.iter()
        .map(|n| match *n {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        })
        .collect()
}

/// `data` converted to `to`.
pub fn cast(tensor: &str, data: &TensorData, to: DataType) -> Result<TensorData, String> {
    if data.datatype() == to {
        return Ok(data.clone());
    }
    if to == DataType::Bytes {
        return Err(format!(
            "tensor '{tensor}': casting to BYTES is not supported"
        ));
    }
    let v = numbers(tensor, data)?;
    Ok(match to {
        DataType::Bool => TensorData::Bool(
            to_int::<u8>(tensor, to, &v)?
                .into_iter()
                .map(|x| match x {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(format!(
                        "tensor '{tensor}': {other} is not 0 or 1, cannot cast to BOOL"
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        DataType::Uint8 => TensorData::Uint8(to_int(tensor, to, &v)?),
        DataType::Uint16 => TensorData::Uint16(to_int(tensor, to, &v)?),
        DataType::Uint32 => TensorData::Uint32(to_int(tensor, to, &v)?),
        DataType::Uint64 => TensorData::Uint64(to_int(tensor, to, &v)?),
        DataType::Int8 => TensorData::Int8(to_int(tensor, to, &v)?),
        DataType::Int16 => TensorData::Int16(to_int(tensor, to, &v)?),
        DataType::Int32 => TensorData::Int32(to_int(tensor, to, &v)?),
        DataType::Int64 => TensorData::Int64(to_int(tensor, to, &v)?),
        DataType::Fp16 => TensorData::Fp16(to_float(&v).into_iter().map(f16::from_f64).collect()),
        DataType::Fp32 => TensorData::Fp32(to_float(&v).into_iter().map(|x| x as f32).collect()),
        DataType::Fp64 => TensorData::Fp64(to_float(&v)),
        DataType::Bytes => unreachable!("refused above"),
    })
}

/// Values as f64, for the arithmetic transforms.
pub(crate) fn as_f64(tensor: &str, data: &TensorData) -> Result<Vec<f64>, String> {
    Ok(to_float(&numbers(tensor, data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_check_what_they_convert() {
        assert_eq!(
            cast("t", &TensorData::Fp64(vec![1.0, 2.5]), DataType::Fp32).unwrap(),
            TensorData::Fp32(vec![1.0, 2.5])
        );
        assert_eq!(
            cast("t", &TensorData::Int64(vec![3, 255]), DataType::Uint8).unwrap(),
            TensorData::Uint8(vec![3, 255])
        );
        assert_eq!(
            cast("t", &TensorData::Fp32(vec![4.0]), DataType::Int32).unwrap(),
            TensorData::Int32(vec![4])
        );
        assert_eq!(
            cast("t", &TensorData::Int32(vec![0, 1]), DataType::Bool).unwrap(),
            TensorData::Bool(vec![false, true])
        );
        let err = cast("t", &TensorData::Int64(vec![256]), DataType::Uint8).unwrap_err();
        assert_eq!(err, "tensor 't': 256 is out of range for UINT8");
        let err = cast("t", &TensorData::Fp32(vec![1.5]), DataType::Int64).unwrap_err();
        assert!(err.contains("not a whole number"), "{err}");
        assert!(cast("t", &TensorData::Bytes(vec![]), DataType::Fp32).is_err());
        assert!(cast("t", &TensorData::Int32(vec![2]), DataType::Bool).is_err());
    }
}
