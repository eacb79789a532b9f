//! A V1 JSON body together with the bytes it was read from, while it is
//! unchanged: FP32 values are then read from their decimal text (rounded
//! once), and a pass-through can forward the bytes as they came.
use std::ops::{Deref, DerefMut};

use bytes::Bytes;
use serde_json::Value;

use super::V1Form;
use crate::error::Result;
use crate::infer::{InferRequest, TensorMetadata};

#[derive(Clone)]
pub struct V1Body {
    value: Value,
    /// The JSON text `value` was parsed from; dropped on the first mutable
    /// access, since the two may differ from then on.
    text: Option<Bytes>,
}

impl V1Body {
    /// Parses a request body, keeping its bytes.
    pub fn parse(text: Bytes) -> serde_json::Result<Self> {
        let value = serde_json::from_slice(&text)?;
        Ok(V1Body {
            value,
            text: Some(text),
        })
    }

    /// A body and a JSON text of it, made together by code that knows they
    /// agree (the transformer's batcher splices members' texts as it joins
    /// their values).
    pub fn from_parts(value: Value, text: Bytes) -> Self {
        V1Body {
            value,
            text: Some(text),
        }
    }

    /// The bytes the body was read from, if it has not been changed since.
    pub fn text(&self) -> Option<&Bytes> {
        self.text.as_ref()
    }

    pub fn into_value(self) -> Value {
        self.value
    }

    /// The body as V2 tensors (see `request_to_v2`), reading FP32 values
    /// from the text when narrowing their f64 could round them twice.
    pub fn to_v2(&self, inputs: &[TensorMetadata]) -> Result<(InferRequest, V1Form)> {
        let text = self
            .text
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok());
        super::to_v2::request_with_text(&self.value, text, inputs)
    }
}

impl From<Value> for V1Body {
    fn from(value: Value) -> Self {
        V1Body { value, text: None }
    }
}

impl Deref for V1Body {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

impl DerefMut for V1Body {
    fn deref_mut(&mut self) -> &mut Value {
        self.text = None;
        &mut self.value
    }
}

/// Equal when the JSON values are equal, whatever text they came from.
impl PartialEq for V1Body {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl std::fmt::Debug for V1Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_drops_the_text() {
        let mut body = V1Body::parse(Bytes::from_static(br#"{"instances": [1]}"#)).unwrap();
        assert!(body.text().is_some());
        assert_eq!(body["instances"][0], 1);
        body["instances"][0] = 2.into();
        assert!(body.text().is_none());
        assert_eq!(body, V1Body::from(serde_json::json!({"instances": [2]})));
    }
}
