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
    /// Whether `from_f64(v)` may differ from reading the number's decimal
    /// text straight into `Self`: an FP32 value that narrowing could round
    /// twice, or an integer's -0.0 (the JSON integer `-0`, or a float such
    /// as `-0.0` or `-1e-400` that must be refused).
    fn needs_text(_: f64) -> bool {
        false
    }
}

pub(crate) fn mismatch<T: JsonElement>(got: &str) -> String {
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
            // fuzz target). Other floats stay refused; so are `-0.0` and
            // `-1e-400`, which reach here as the same -0.0: the text tells
            // them apart (`needs_text`, `flatten_text`).
            fn needs_text(v: f64) -> bool {
                v == 0.0 && v.is_sign_negative()
            }
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
            fn needs_text(v: f64) -> bool {
                Self::DATATYPE == DataType::Fp32 && is_f32_midpoint(v)
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

/// Whether `v` lies exactly halfway between two f32 values. Reading a
/// decimal as f64 and then narrowing it to f32 rounds twice, and that gives
/// a different f32 than reading the decimal straight to f32 only when the
/// first rounding lands exactly on such a midpoint (rounding is monotonic,
/// and every f32 midpoint is an f64), so only these values need the text.
pub(crate) fn is_f32_midpoint(v: f64) -> bool {
    let near = v as f32;
    if !near.is_finite() || f64::from(near) == v {
        return false;
    }
    let other = if f64::from(near) < v {
        near.next_up()
    } else {
        near.next_down()
    };
    // Two neighbouring f32 values add exactly in f64, and halving is exact.
    (f64::from(near) + f64::from(other)) / 2.0 == v
}

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
    use super::{JsonElement, is_f32_midpoint};

    #[test]
    fn only_exact_f32_midpoints_can_round_twice() {
        let one_up = f64::from(1.0f32.next_up());
        let mid = (1.0 + one_up) / 2.0;
        assert!(is_f32_midpoint(mid));
        assert!(f32::needs_text(mid));
        assert!(!f64::needs_text(mid));
        for v in [
            1.0,
            one_up,
            mid.next_up(),
            mid.next_down(),
            0.1,
            -2.5e-40,
            1e300,
        ] {
            assert!(!is_f32_midpoint(v), "{v}");
        }
        assert!(is_f32_midpoint(-mid));
        // Halfway between the two smallest subnormals.
        let sub = f64::from(f32::from_bits(1)) * 1.5;
        assert!(is_f32_midpoint(sub));
    }

    #[test]
    fn minus_zero_is_an_integer_zero_as_the_fast_reader_reads_it() {
        assert_eq!(i64::from_f64(-0.0), Ok(0));
        assert_eq!(u8::from_f64(-0.0), Ok(0));
        assert!(i64::from_f64(0.5).is_err());
        assert!(i32::from_f64(1.0).is_err());
    }
}
