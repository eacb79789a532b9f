//! Where the texts of a request come from: V1 `instances` (or `inputs`)
//! that are strings, or a V2 BYTES tensor of UTF-8 strings.
use infergate_proto::{Tensor, TensorData};
use serde_json::Value;

/// The strings of a V1 request's `instances` (or `inputs`) list.
pub fn texts_from_v1(body: &Value) -> Result<Vec<String>, String> {
    let list = body
        .get("instances")
        .or_else(|| body.get("inputs"))
        .and_then(Value::as_array)
        .ok_or("'tokenize' needs a V1 request with an 'instances' list of strings")?;
    list.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!(
                "instance {i} is not a string (it is {}); 'tokenize' takes texts",
                kind(other)
            )),
        })
        .collect()
}

/// The UTF-8 strings of a BYTES tensor of shape `[n]` or `[n, 1]`.
pub fn texts_from_tensor(t: &Tensor) -> Result<Vec<String>, String> {
    let TensorData::Bytes(items) = &t.data else {
        return Err(format!(
            "tensor '{}' is {}; 'tokenize' takes a BYTES tensor of texts",
            t.name,
            t.datatype()
        ));
    };
    if t.shape.len() > 2 || (t.shape.len() == 2 && t.shape[1] != 1) {
        return Err(format!(
            "tensor '{}' has shape {:?}; texts come as [n] or [n, 1]",
            t.name, t.shape
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, b)| {
            String::from_utf8(b.clone())
                .map_err(|_| format!("text {i} of tensor '{}' is not valid UTF-8", t.name))
        })
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn v1_instances_must_be_strings() {
        assert_eq!(
            texts_from_v1(&json!({"instances": ["a", ""]})).unwrap(),
            vec!["a".to_string(), String::new()]
        );
        let err = texts_from_v1(&json!({"instances": ["a", 3]})).unwrap_err();
        assert_eq!(
            err,
            "instance 1 is not a string (it is a number); 'tokenize' takes texts"
        );
        let err = texts_from_v1(&json!({"instances": "a"})).unwrap_err();
        assert!(err.contains("'instances' list"), "{err}");
    }

    #[test]
    fn bytes_must_be_utf8_texts() {
        let t = Tensor::new(
            "text",
            vec![2],
            TensorData::Bytes(vec![b"ok".to_vec(), vec![0xff, 0xfe]]),
        )
        .unwrap();
        assert_eq!(
            texts_from_tensor(&t).unwrap_err(),
            "text 1 of tensor 'text' is not valid UTF-8"
        );
        let t = Tensor::new("text", vec![1, 1], TensorData::Bytes(vec![b"ok".to_vec()])).unwrap();
        assert_eq!(texts_from_tensor(&t).unwrap(), vec!["ok".to_string()]);
        let t = Tensor::new("text", vec![1], TensorData::Fp32(vec![1.0])).unwrap();
        assert!(texts_from_tensor(&t).unwrap_err().contains("FP32"));
    }
}
