//! How one JSON value becomes one tensor element of a given datatype.
//!
//! Integers must be JSON integers within the datatype's range; floats accept
//! any JSON number in range and the strings "NaN", "Infinity", "-Infinity"
//! (JSON has no literal for them); BOOL takes true/false; BYTES takes strings
//! and `{"b64": "..."}` objects.
use half::f16;

use crate::datatype::DataType;

pub(crate) trait JsonElement: Sized {
    const DATATYPE: DataType;

    fn from_bool(v: bool) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
    fn from_i64(v: i64) -> Result<Self, String>;
    fn from_u64(v: u64) -> Result<Self, String>;
    fn from_f64(v: f64) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
    fn from_str(v: &str) -> Result<Self, String> {
        Err(mismatch::<Self>(&format!("{v:?}")))
    }
    /// A `{"b64": "..."}` object (the TensorFlow-serving form of binary data).
    fn from_b64(_: &str) -> Result<Self, String> {
        Err(mismatch::<Self>("a {\"b64\": ...} object"))
    }
}

fn mismatch<T: JsonElement>(got: &str) -> String {
    let want = match T::DATATYPE {
        DataType::Bool => "true or false",
        DataType::Bytes => "a string",
        d if d.is_float() => "a number",
        _ => "an integer",
    };
    format!("{} element must be {want}, got {got}", T::DATATYPE)
}

fn out_of_range<T: JsonElement>(v: impl std::fmt::Display) -> String {
    format!("value {v} is out of range for {}", T::DATATYPE)
}

impl JsonElement for bool {
    const DATATYPE: DataType = DataType::Bool;
    fn from_bool(v: bool) -> Result<Self, String> {
        Ok(v)
    }
    fn from_i64(v: i64) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
    fn from_u64(v: u64) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
}

macro_rules! integer_element {
    ($($t:ty => $dt:ident),*) => {$(
        impl JsonElement for $t {
            const DATATYPE: DataType = DataType::$dt;
            fn from_i64(v: i64) -> Result<Self, String> {
                <$t>::try_from(v).map_err(|_| out_of_range::<Self>(v))
            }
            fn from_u64(v: u64) -> Result<Self, String> {
                <$t>::try_from(v).map_err(|_| out_of_range::<Self>(v))
            }
            // serde_json reads the JSON integer `-0` as the float -0.0; it is
            // zero, as the fast reader reads it (found by the differential
            // fuzz target). Other floats stay refused.
            fn from_f64(v: f64) -> Result<Self, String> {
                if v == 0.0 && v.is_sign_negative() {
                    Ok(0)
                } else {
                    Err(mismatch::<Self>(&v.to_string()))
                }
            }
        }
    )*};
}
integer_element!(u8 => Uint8, u16 => Uint16, u32 => Uint32, u64 => Uint64,
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64);

/// Parses the spellings of non-finite floats that JSON clients use.
pub(crate) fn parse_non_finite(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

macro_rules! float_element {
    ($($t:ty => $dt:ident),*) => {$(
        impl JsonElement for $t {
            const DATATYPE: DataType = DataType::$dt;
            fn from_i64(v: i64) -> Result<Self, String> {
                Ok(v as $t)
            }
            fn from_u64(v: u64) -> Result<Self, String> {
                Ok(v as $t)
            }
            fn from_f64(v: f64) -> Result<Self, String> {
                let x = v as $t;
                if x.is_finite() { Ok(x) } else { Err(out_of_range::<Self>(v)) }
            }
            fn from_str(v: &str) -> Result<Self, String> {
                parse_non_finite(v).map(|x| x as $t).ok_or_else(|| {
                    mismatch::<Self>(&format!("{v:?} (only \"NaN\", \"Infinity\" and \"-Infinity\" may be strings)"))
                })
            }
        }
    )*};
}
float_element!(f32 => Fp32, f64 => Fp64);

/// FP16 has no JSON form (as in KServe and Triton); this impl exists only so
/// that the error says so plainly.
impl JsonElement for f16 {
    const DATATYPE: DataType = DataType::Fp16;
    fn from_i64(_: i64) -> Result<Self, String> {
        Err(FP16_JSON.to_string())
    }
    fn from_u64(_: u64) -> Result<Self, String> {
        Err(FP16_JSON.to_string())
    }
    fn from_f64(_: f64) -> Result<Self, String> {
        Err(FP16_JSON.to_string())
    }
}

pub(crate) const FP16_JSON: &str =
    "FP16 data cannot travel as JSON; send it with the binary tensor extension";

impl JsonElement for Vec<u8> {
    const DATATYPE: DataType = DataType::Bytes;
    fn from_i64(v: i64) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
    fn from_u64(v: u64) -> Result<Self, String> {
        Err(mismatch::<Self>(&v.to_string()))
    }
    fn from_str(v: &str) -> Result<Self, String> {
        Ok(v.as_bytes().to_vec())
    }
    fn from_b64(v: &str) -> Result<Self, String> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .map_err(|e| format!("invalid base64 in {{\"b64\": ...}}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::JsonElement;

    #[test]
    fn minus_zero_is_an_integer_zero_as_the_fast_reader_reads_it() {
        assert_eq!(i64::from_f64(-0.0), Ok(0));
        assert_eq!(u8::from_f64(-0.0), Ok(0));
        assert!(i64::from_f64(0.5).is_err());
        assert!(i32::from_f64(1.0).is_err());
    }
}
