//! A transformer configured from a TOML file instead of code:
//!
//! ```toml
//! [[preprocess]]
//! op = "pick"                 # V1 object instances -> one FP32 tensor
//! fields = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
//! name = "float_input"
//!
//! [[postprocess]]
//! op = "labels"
//! tensor = "label"
//! labels = ["setosa", "versicolor", "virginica"]
//! ```
//!
//! Steps run in order. Tensor steps on a V1 request first turn it into V2
//! tensors (inferred datatypes; add a `cast` step to pin one); tensor steps
//! on a V1 answer likewise. With no steps, payloads pass through untouched.
use std::path::Path;

use async_trait::async_trait;
use infergate_proto::{InferRequest, Payload, Reply, RequestContext, Tensor, TensorData, v1};
use serde::Deserialize;
use serde_json::Value;

use crate::Transformer;
use crate::error::TransformError;
use crate::ops::Op;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    #[serde(default)]
    pub preprocess: Vec<Op>,
    #[serde(default)]
    pub postprocess: Vec<Op>,
}

#[derive(Debug, Clone)]
pub struct Declarative {
    config: TransformConfig,
}

impl Declarative {
    pub fn from_toml(text: &str) -> Result<Self, TransformError> {
        let config: TransformConfig =
            toml::from_str(text).map_err(|e| TransformError::Config(e.to_string()))?;
        if config
            .postprocess
            .iter()
            .any(|op| matches!(op, Op::Pick { .. }))
        {
            return Err(TransformError::Config(
                "'pick' is a preprocess step (it reads V1 instances)".into(),
            ));
        }
        if let Some(pos) = config
            .preprocess
            .iter()
            .rposition(|op| matches!(op, Op::Pick { .. }))
            && config.preprocess[..pos]
                .iter()
                .any(|op| !matches!(op, Op::Pick { .. }))
        {
            return Err(TransformError::Config(
                "'pick' steps must come before tensor steps".into(),
            ));
        }
        Ok(Declarative { config })
    }

    pub fn from_file(path: &Path) -> Result<Self, TransformError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TransformError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
            .map_err(|e| TransformError::Config(format!("{}: {e}", path.display())))
    }
}

/// Builds one tensor from V1 object instances, a row per instance.
fn pick(
    body: &Value,
    fields: &[String],
    name: &str,
    datatype: infergate_proto::DataType,
) -> Result<Tensor, TransformError> {
    let bad = |m: String| TransformError::InvalidInput(m);
    let rows = body
        .get("instances")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad("'pick' needs a V1 request with an 'instances' list of objects".into())
        })?;
    let mut values = Vec::with_capacity(rows.len() * fields.len());
    for (i, row) in rows.iter().enumerate() {
        let obj = row
            .as_object()
            .ok_or_else(|| bad(format!("instance {i} is not an object")))?;
        for f in fields {
            let v = obj
                .get(f)
                .ok_or_else(|| bad(format!("instance {i} lacks field '{f}'")))?
                .as_f64()
                .ok_or_else(|| bad(format!("instance {i} field '{f}' is not a number")))?;
            values.push(v);
        }
    }
    let t = Tensor::new(
        name,
        vec![rows.len(), fields.len()],
        TensorData::Fp64(values),
    )?;
    let data = crate::ops::cast(name, &t.data, datatype).map_err(bad)?;
    Ok(Tensor { data, ..t })
}

#[async_trait]
impl Transformer for Declarative {
    async fn preprocess(
        &self,
        payload: Payload,
        _ctx: &RequestContext,
    ) -> Result<Payload, TransformError> {
        if self.config.preprocess.is_empty() {
            return Ok(payload);
        }
        let mut picked = Vec::new();
        let mut payload = Some(payload);
        let mut steps = self.config.preprocess.iter().peekable();
        while let Some(Op::Pick {
            fields,
            name,
            datatype,
        }) = steps.peek()
        {
            if let Some(Payload::V1(body)) = &payload {
                picked.push(pick(body, fields, name, *datatype)?);
            } else {
                return Err(TransformError::InvalidInput(
                    "'pick' needs a V1 request".into(),
                ));
            }
            steps.next();
        }
        // V1 texts are read from the instances, so a non-string one is named.
        if let (true, Some(Op::Tokenize(t)), Some(Payload::V1(body))) =
            (picked.is_empty(), steps.peek(), &payload)
        {
            let texts = crate::text::texts_from_v1(body).map_err(TransformError::InvalidInput)?;
            picked = t.tensors(&texts).map_err(TransformError::InvalidInput)?;
            steps.next();
        }
        let mut req = if picked.is_empty() {
            payload
                .take()
                .map(|p| p.into_v2(&[]))
                .transpose()?
                .unwrap_or_default()
        } else {
            InferRequest {
                inputs: picked,
                ..Default::default()
            }
        };
        for op in steps {
            op.apply(&mut req.inputs)
                .map_err(TransformError::InvalidInput)?;
        }
        Ok(Payload::V2(req))
    }

    async fn postprocess(
        &self,
        reply: Reply,
        _ctx: &RequestContext,
    ) -> Result<Reply, TransformError> {
        if self.config.postprocess.is_empty() {
            return Ok(reply);
        }
        let mut resp = match reply {
            Reply::V2(r) => r,
            Reply::V1(body) => v1::response_to_v2(&body, "", &[])?,
        };
        for op in &self.config.postprocess {
            op.apply(&mut resp.outputs)
                .map_err(TransformError::BadAnswer)?;
        }
        Ok(Reply::V2(resp))
    }

    fn has_postprocess(&self) -> bool {
        !self.config.postprocess.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use infergate_proto::{DataType, InferResponse, Protocol};
    use serde_json::json;

    use super::*;

    const IRIS: &str = r#"
        [[preprocess]]
        op = "pick"
        fields = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        name = "float_input"
        [[preprocess]]
        op = "scale"
        tensor = "float_input"
        mean = 1.0
        [[postprocess]]
        op = "labels"
        tensor = "label"
        labels = ["setosa", "versicolor", "virginica"]
    "#;

    fn ctx() -> RequestContext {
        RequestContext::new(Protocol::V1)
    }

    #[tokio::test]
    async fn picks_scales_and_labels() {
        let t = Declarative::from_toml(IRIS).unwrap();
        let body = json!({"instances": [
            {"sepal_length": 6.8, "sepal_width": 2.8, "petal_length": 4.8, "petal_width": 1.4, "id": "a"},
            {"sepal_length": 6.0, "sepal_width": 3.4, "petal_length": 4.5, "petal_width": 1.6}]});
        let Payload::V2(req) = t.preprocess(Payload::v1(body), &ctx()).await.unwrap() else {
            panic!()
        };
        assert_eq!(req.inputs[0].name, "float_input");
        assert_eq!(req.inputs[0].shape, vec![2, 4]);
        assert_eq!(req.inputs[0].datatype(), DataType::Fp32);
        let TensorData::Fp32(v) = &req.inputs[0].data else {
            panic!()
        };
        assert!((v[0] - 5.8).abs() < 1e-6, "6.8 - mean 1.0");

        let answer = InferResponse {
            model_name: "iris".into(),
            outputs: vec![Tensor::new("label", vec![2], TensorData::Int64(vec![1, 2])).unwrap()],
            ..Default::default()
        };
        let Reply::V2(out) = t.postprocess(Reply::V2(answer), &ctx()).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            out.outputs[0].data,
            TensorData::Bytes(vec![b"versicolor".to_vec(), b"virginica".to_vec()])
        );

        // A V1 answer (a V1 predictor's) is converted to tensors first; its
        // one output is named output-0.
        let err = t
            .postprocess(Reply::V1(json!({"predictions": [0]})), &ctx())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "no tensor 'label' (tensors: output-0)");
        let v1 =
            Declarative::from_toml(&IRIS.replace("tensor = \"label\"", "tensor = \"output-0\""))
                .unwrap();
        let Reply::V2(out) = v1
            .postprocess(Reply::V1(json!({"predictions": [0, 2]})), &ctx())
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            out.outputs[0].data,
            TensorData::Bytes(vec![b"setosa".to_vec(), b"virginica".to_vec()])
        );
    }

    #[tokio::test]
    async fn bad_requests_and_answers_are_named() {
        let t = Declarative::from_toml(IRIS).unwrap();
        let err = t
            .preprocess(
                Payload::v1(json!({"instances": [{"sepal_length": 1}]})),
                &ctx(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "instance 0 lacks field 'sepal_width'");
        assert_eq!(err.class(), infergate_proto::ErrorClass::InvalidInput);
        let answer = InferResponse {
            outputs: vec![Tensor::new("label", vec![1], TensorData::Int64(vec![7])).unwrap()],
            ..Default::default()
        };
        let err = t.postprocess(Reply::V2(answer), &ctx()).await.unwrap_err();
        assert!(err.to_string().contains("class index 7"), "{err}");
        assert_eq!(err.class(), infergate_proto::ErrorClass::Internal);
    }

    #[tokio::test]
    async fn nothing_configured_passes_through() {
        let t = Declarative::from_toml("").unwrap();
        let p = Payload::v1(json!({"instances": [1]}));
        assert_eq!(t.preprocess(p.clone(), &ctx()).await.unwrap(), p);
    }

    #[test]
    fn configs_are_checked_at_startup() {
        for (text, want) in [
            ("[[preprocess]]\nop = \"frobnicate\"", "unknown variant"),
            (
                "[[postprocess]]\nop = \"pick\"\nfields = []\nname = \"x\"",
                "preprocess step",
            ),
            (
                "[[preprocess]]\nop = \"cast\"\ntensor = \"a\"\ndatatype = \"FP32\"\n[[preprocess]]\nop = \"pick\"\nfields = []\nname = \"x\"",
                "before tensor steps",
            ),
            (
                "[[preprocess]]\nop = \"cast\"\ntensor = \"a\"\ndatatype = \"FLOAT\"",
                "FLOAT",
            ),
            ("prepocess = []", "unknown field"),
        ] {
            let err = Declarative::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
