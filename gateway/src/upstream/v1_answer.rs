//! A v1 predictor's answer, checked before anyone uses it, and put in V2
//! tensors for callers and transforms that need tensors. A malformed answer
//! is the predictor's fault, so it is a bad gateway (502), never the
//! caller's invalid input (400).
use infergate_proto::{InferResponse, ModelMetadata, Payload, v1};
use serde_json::Value;

use super::UpstreamError;

/// Whether a request holds any rows (tensor elements, V1 instances).
pub fn has_rows(payload: &Payload) -> bool {
    match payload {
        Payload::V1(body) => {
            body.get("instances")
                .and_then(Value::as_array)
                .is_some_and(|rows| !rows.is_empty())
                || body.get("inputs").is_some()
        }
        Payload::V2(req) => req.inputs.iter().any(|t| !t.shape.contains(&0)),
    }
}

/// Checks a V1 predict answer: a JSON object with a `predictions` list
/// (not empty when the request had rows) whose nested lists are
/// rectangular, or with `outputs`.
pub fn check(body: &Value, rows_sent: bool) -> Result<(), UpstreamError> {
    let bad = |why: String| Err(UpstreamError::BadAnswer(format!("a V1 answer {why}")));
    let Some(obj) = body.as_object() else {
        return bad("must be a JSON object".into());
    };
    match (obj.get("predictions"), obj.get("outputs")) {
        (Some(predictions @ Value::Array(rows)), _) => {
            if rows.is_empty() && rows_sent {
                return bad("has no 'predictions' for a request with rows".into());
            }
            shape(predictions, 0)
                .map(|_| ())
                .or_else(|why| bad(format!("has ragged 'predictions': {why}")))
        }
        (Some(_), _) => bad("has 'predictions' that is not a list".into()),
        (None, Some(cols)) => shape(cols, 0)
            .map(|_| ())
            .or_else(|why| bad(format!("has ragged 'outputs': {why}"))),
        (None, None) => bad("needs 'predictions' or 'outputs'".into()),
    }
}

/// The shape of nested lists (objects and scalars are leaves), or why the
/// nesting is not rectangular.
fn shape(v: &Value, depth: usize) -> Result<Vec<usize>, String> {
    let Value::Array(items) = v else {
        return Ok(Vec::new());
    };
    let mut inner: Option<Vec<usize>> = None;
    for (i, item) in items.iter().enumerate() {
        let s = shape(item, depth + 1)?;
        match &inner {
            None => inner = Some(s),
            Some(first) if *first != s => {
                return Err(format!(
                    "at depth {depth}, item {i} has shape {s:?} but item 0 has {first:?}"
                ));
            }
            Some(_) => {}
        }
    }
    let mut out = vec![items.len()];
    out.extend(inner.unwrap_or_default());
    Ok(out)
}

/// The name a v1 predictor's single `predictions` tensor gets: the one set
/// by --predictor_v1_output, else the predictor's one output, else its label
/// output (label / output_label / labels) among several; None keeps the V1
/// default `output-0`.
pub fn output_name(configured: Option<&str>, meta: Option<&ModelMetadata>) -> Option<String> {
    if let Some(name) = configured {
        return Some(name.to_string());
    }
    match meta.map(|m| m.outputs.as_slice()) {
        Some([only]) => Some(only.name.clone()),
        Some(many) => v1::label_output(many.iter().map(|t| t.name.as_str())).map(str::to_string),
        None => None,
    }
}

/// A checked V1 answer as V2 tensors; a single unnamed tensor is called
/// `name` when given.
pub fn to_v2(
    body: &Value,
    model: &str,
    name: Option<&str>,
) -> Result<InferResponse, UpstreamError> {
    let mut resp = v1::response_to_v2(body, model, &[])
        .map_err(|e| UpstreamError::BadAnswer(format!("a V1 answer that is no tensor: {e}")))?;
    if let (Some(name), [only]) = (name, resp.outputs.as_mut_slice())
        && only.name == v1::DEFAULT_OUTPUT_NAME
    {
        only.name = name.to_string();
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use infergate_proto::{DataType, TensorMetadata};
    use serde_json::json;

    use super::*;

    #[test]
    fn malformed_answers_are_bad_answers() {
        for (body, rows, why) in [
            (
                json!({"predictions": [[1, 2], [3]]}),
                true,
                "ragged 'predictions'",
            ),
            (
                json!({"predictions": [[1, 2], 3]}),
                true,
                "ragged 'predictions'",
            ),
            (json!({"predictions": "x"}), true, "not a list"),
            (json!({}), true, "needs 'predictions' or 'outputs'"),
            (json!([1, 2]), true, "must be a JSON object"),
            (json!({"predictions": []}), true, "no 'predictions'"),
            (json!({"outputs": [[1], [2, 3]]}), true, "ragged 'outputs'"),
        ] {
            let err = check(&body, rows).unwrap_err();
            assert!(matches!(err, UpstreamError::BadAnswer(_)), "{err}");
            assert!(err.to_string().contains(why), "{body}: {err}");
        }
        for body in [
            json!({"predictions": [[1, 2], [3, 4]]}),
            json!({"predictions": [{"a": 1}, {"b": [1, 2]}]}),
            json!({"predictions": ["x", 1]}),
            json!({"outputs": {"a": [1, 2]}}),
        ] {
            check(&body, true).unwrap();
        }
        check(&json!({"predictions": []}), false).unwrap();
    }

    #[test]
    fn predictions_are_named_by_the_metadata_or_the_setting() {
        let meta = |names: &[&str]| ModelMetadata {
            name: "m".into(),
            versions: vec![],
            platform: String::new(),
            inputs: vec![],
            outputs: names
                .iter()
                .map(|n| TensorMetadata {
                    name: n.to_string(),
                    datatype: DataType::Int64,
                    shape: vec![-1],
                })
                .collect(),
        };
        let with = |names: &[&str]| output_name(None, Some(&meta(names)));
        assert_eq!(with(&["y"]).as_deref(), Some("y"));
        assert_eq!(with(&["probabilities", "label"]).as_deref(), Some("label"));
        assert_eq!(with(&["a", "b"]), None);
        assert_eq!(with(&[]), None);
        assert_eq!(output_name(None, None), None);
        assert_eq!(
            output_name(Some("k"), Some(&meta(&["y"]))).as_deref(),
            Some("k")
        );

        let resp = to_v2(&json!({"predictions": [0, 2]}), "m", Some("label")).unwrap();
        assert_eq!(resp.outputs[0].name, "label");
        assert_eq!(resp.outputs[0].shape, [2]);
        let keyed = to_v2(&json!({"predictions": [{"a": 1}]}), "m", Some("label")).unwrap();
        assert_eq!(keyed.outputs[0].name, "a");
        let err = to_v2(&json!({"predictions": [1, "x"]}), "m", None).unwrap_err();
        assert!(matches!(err, UpstreamError::BadAnswer(_)), "{err}");
    }
}
