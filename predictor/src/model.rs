//! An ONNX model as a `Model` of the data plane: requests are checked
//! against the graph's inputs, run (directly or through the batcher), and
//! V1 callers get the label output of classifiers, as scikit-learn would
//! answer them.
use std::sync::Arc;

use async_trait::async_trait;
use infergate_proto::{InferRequest, InferResponse, ModelMetadata, Tensor, TensorMetadata, v1};
use infergate_server::{InferError, Model, Payload, Reply, RequestContext};

use crate::batching::OnnxBatcher;
use crate::error::{PredictorError, Result};
use crate::session::SessionPool;

enum Executor {
    Direct(Arc<SessionPool>),
    Batched(OnnxBatcher),
}

pub struct OnnxModel {
    metadata: ModelMetadata,
    /// The output V1 `predictions` are made of, when the model has one.
    v1_output: Option<String>,
    executor: Executor,
}

impl OnnxModel {
    /// Wraps loaded sessions. `batcher` is set when batching is configured.
    pub fn new(
        name: &str,
        version: Option<String>,
        pool: Arc<SessionPool>,
        inputs: Vec<TensorMetadata>,
        outputs: Vec<TensorMetadata>,
        v1_output: Option<String>,
        batcher: Option<OnnxBatcher>,
    ) -> Result<Self> {
        let v1_output = match v1_output {
            Some(o) if !outputs.iter().any(|t| t.name == o) => {
                return Err(PredictorError::Load {
                    model: name.to_string(),
                    reason: format!("v1_output '{o}' is not an output of the graph"),
                });
            }
            Some(o) => Some(o),
            None => v1::label_output(outputs.iter().map(|t| t.name.as_str())).map(str::to_string),
        };
        Ok(OnnxModel {
            metadata: ModelMetadata {
                name: name.to_string(),
                versions: version.into_iter().collect(),
                platform: "onnx_onnxv1".into(),
                inputs,
                outputs,
            },
            v1_output,
            executor: match batcher {
                Some(b) => Executor::Batched(b),
                None => Executor::Direct(pool),
            },
        })
    }

    /// The request's inputs in the graph's order, checked against the
    /// declared names, datatypes and shapes.
    fn graph_inputs(&self, mut req: InferRequest) -> Result<Vec<Tensor>> {
        let declared = &self.metadata.inputs;
        // The common case, inputs already in the graph's order, keeps its vector.
        if req.inputs.len() == declared.len()
            && req
                .inputs
                .iter()
                .zip(declared)
                .all(|(t, d)| t.name == d.name)
        {
            for (t, d) in req.inputs.iter().zip(declared) {
                check_input(t, d)?;
            }
            return Ok(req.inputs);
        }
        if let Some(extra) = req
            .inputs
            .iter()
            .find(|t| !declared.iter().any(|d| d.name == t.name))
        {
            return Err(PredictorError::Input(format!(
                "model '{}' has no input '{}' (inputs: {})",
                self.metadata.name,
                extra.name,
                declared
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        declared
            .iter()
            .map(|d| {
                let pos = req
                    .inputs
                    .iter()
                    .position(|t| t.name == d.name)
                    .ok_or_else(|| {
                        PredictorError::Input(format!(
                            "model '{}' needs input '{}'",
                            self.metadata.name, d.name
                        ))
                    })?;
                let t = req.inputs.swap_remove(pos);
                check_input(&t, d)?;
                Ok(t)
            })
            .collect()
    }
}

fn check_input(t: &Tensor, d: &TensorMetadata) -> Result<()> {
    if t.datatype() != d.datatype {
        return Err(PredictorError::Input(format!(
            "input '{}' must be {}, got {}",
            d.name,
            d.datatype,
            t.datatype()
        )));
    }
    if t.shape.len() != d.shape.len() {
        return Err(PredictorError::Input(format!(
            "input '{}' must have {} dimensions {:?}, got shape {:?}",
            d.name,
            d.shape.len(),
            d.shape,
            t.shape
        )));
    }
    if let Some((i, (&want, &got))) = d
        .shape
        .iter()
        .zip(&t.shape)
        .enumerate()
        .find(|(_, (w, g))| **w >= 0 && **w as usize != **g)
    {
        return Err(PredictorError::Input(format!(
            "input '{}' dimension {i} must be {want}, got {got} (shape {:?}, model {:?})",
            d.name, t.shape, d.shape
        )));
    }
    Ok(())
}

#[async_trait]
impl Model for OnnxModel {
    fn name(&self) -> &str {
        &self.metadata.name
    }

    fn metadata(&self) -> ModelMetadata {
        self.metadata.clone()
    }

    /// Pre/post-processing belongs in a transformer in front of it.
    fn transforms(&self) -> bool {
        false
    }

    fn admits(&self) -> Result<(), InferError> {
        match &self.executor {
            Executor::Batched(b) => Ok(b.admit()?),
            Executor::Direct(_) => Ok(()),
        }
    }

    async fn predict(&self, payload: Payload, _ctx: &RequestContext) -> Result<Reply, InferError> {
        let (req, is_v1) = match payload {
            Payload::V2(req) => (req, false),
            Payload::V1(body) => (body.to_v2(&self.metadata.inputs)?.0, true),
        };
        let inputs = self.graph_inputs(req)?;
        let mut outputs = match &self.executor {
            Executor::Direct(pool) => pool.run(inputs).await?,
            Executor::Batched(b) => b.infer(inputs).await?,
        };
        if is_v1 && let Some(label) = &self.v1_output {
            outputs.retain(|t| &t.name == label);
        }
        Ok(Reply::V2(InferResponse {
            model_name: self.metadata.name.clone(),
            model_version: self.metadata.versions.first().cloned(),
            outputs,
            ..Default::default()
        }))
    }
}
