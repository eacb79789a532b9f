//! Request, response and tensor `parameters`: a map of name to a string,
//! number or boolean.
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parameter value. Integers keep their sign class so that a value crosses
/// between JSON and gRPC (`int64_param`, `uint64_param`, `double_param`)
/// unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    String(String),
}

pub type Parameters = BTreeMap<String, ParamValue>;

impl ParamValue {
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ParamValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as a non-negative integer, whichever integer form it came in.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            ParamValue::Int(i) => u64::try_from(*i).ok(),
            ParamValue::Uint(u) => Some(*u),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Bool(b) => s.serialize_bool(*b),
            ParamValue::Int(i) => s.serialize_i64(*i),
            ParamValue::Uint(u) => s.serialize_u64(*u),
            ParamValue::Float(f) => s.serialize_f64(*f),
            ParamValue::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParamValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a parameter value: a string, a number or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ParamValue, E> {
                Ok(ParamValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamValue, E> {
                // Small non-negative integers read as Int, the common gRPC form.
                Ok(i64::try_from(v).map_or(ParamValue::Uint(v), ParamValue::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParamValue, E> {
                Ok(ParamValue::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::String(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ParamValue, E> {
                Ok(ParamValue::String(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_json_kind() {
        let p: Parameters = serde_json::from_str(
            r#"{"a": true, "b": -3, "c": 18446744073709551615, "d": 0.5, "e": "x", "f": 7}"#,
        )
        .unwrap();
        assert_eq!(p["a"], ParamValue::Bool(true));
        assert_eq!(p["b"], ParamValue::Int(-3));
        assert_eq!(p["c"], ParamValue::Uint(u64::MAX));
        assert_eq!(p["d"], ParamValue::Float(0.5));
        assert_eq!(p["e"], ParamValue::String("x".into()));
        assert_eq!(p["f"].as_u64(), Some(7));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"a":true,"b":-3,"c":18446744073709551615,"d":0.5,"e":"x","f":7}"#
        );
    }

    #[test]
    fn nested_values_are_rejected() {
        let err = serde_json::from_str::<Parameters>(r#"{"a": [1]}"#).unwrap_err();
        assert!(err.to_string().contains("a parameter value"), "{err}");
    }
}
