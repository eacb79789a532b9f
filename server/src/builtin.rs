//! Small deterministic models built into the server, for trying the data
//! plane and for tests, with no model files:
//! * `simple` - Triton's example model: INPUT0 and INPUT1 (INT32, same shape)
//!   give OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1;
//! * `echo` - returns every input unchanged as an output of the same name.
use std::sync::Arc;

use async_trait::async_trait;
use infergate_proto::{DataType, InferResponse, ModelMetadata, Tensor, TensorData, TensorMetadata};

use crate::error::{InferError, Result};
use crate::model::{Model, Payload, Reply, RequestContext};
use crate::registry::ModelRepository;

pub const BUILTIN_NAMES: [&str; 2] = ["simple", "echo"];

/// The platform the built-in models report in their metadata.
const PLATFORM: &str = "infergate_builtin";

/// Whether `model` is one of the built-in models.
pub fn is_builtin(model: &dyn Model) -> bool {
    BUILTIN_NAMES.contains(&model.name()) && model.metadata().platform == PLATFORM
}

pub fn builtin_model(name: &str) -> Option<Arc<dyn Model>> {
    match name {
        "simple" => Some(Arc::new(SimpleModel)),
        "echo" => Some(Arc::new(EchoModel)),
        _ => None,
    }
}

/// A repository holding the built-in models, so that load/unload work on a
/// server without model files.
pub struct BuiltinRepository;

#[async_trait]
impl ModelRepository for BuiltinRepository {
    async fn load(&self, name: &str) -> Result<Arc<dyn Model>> {
        builtin_model(name).ok_or_else(|| InferError::ModelNotFound(name.to_string()))
    }
}

fn response(model: &str, outputs: Vec<Tensor>) -> Reply {
    Reply::V2(InferResponse {
        model_name: model.to_string(),
        outputs,
        ..Default::default()
    })
}

pub struct SimpleModel;

/// The second dimension of every `simple` tensor, as in Triton's example.
const SIMPLE_WIDTH: usize = 16;

impl SimpleModel {
    fn int32_input<'a>(
        req: &'a infergate_proto::InferRequest,
        name: &str,
    ) -> Result<(&'a [i32], &'a [usize])> {
        let t = req
            .input(name)
            .ok_or_else(|| InferError::invalid(format!("model 'simple' needs input '{name}'")))?;
        match &t.data {
            TensorData::Int32(v) => Ok((v, &t.shape)),
            other => Err(InferError::invalid(format!(
                "input '{name}' must be INT32, got {}",
                other.datatype()
            ))),
        }
    }
}

#[async_trait]
impl Model for SimpleModel {
    fn name(&self) -> &str {
        "simple"
    }

    fn metadata(&self) -> ModelMetadata {
        let t = |name: &str| TensorMetadata {
            name: name.into(),
            datatype: DataType::Int32,
            shape: vec![-1, SIMPLE_WIDTH as i64],
        };
        ModelMetadata {
            name: "simple".into(),
            versions: vec!["1".into()],
            platform: PLATFORM.into(),
            inputs: vec![t("INPUT0"), t("INPUT1")],
            outputs: vec![t("OUTPUT0"), t("OUTPUT1")],
        }
    }

    async fn predict(&self, payload: Payload, _ctx: &RequestContext) -> Result<Reply> {
        let req = payload.into_v2(&self.metadata().inputs)?;
        let (a, shape_a) = Self::int32_input(&req, "INPUT0")?;
        let (b, shape_b) = Self::int32_input(&req, "INPUT1")?;
        if shape_a != shape_b {
            return Err(InferError::invalid(format!(
                "INPUT0 shape {shape_a:?} and INPUT1 shape {shape_b:?} differ"
            )));
        }
        // What the metadata promises ([-1, 16]) is what is accepted.
        if !matches!(shape_a, [_, SIMPLE_WIDTH]) {
            return Err(InferError::invalid(format!(
                "model 'simple' takes inputs of shape [-1, {SIMPLE_WIDTH}], got {shape_a:?}"
            )));
        }
        let sum = a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect();
        let diff = a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect();
        Ok(response(
            "simple",
            vec![
                Tensor::new("OUTPUT0", shape_a.to_vec(), TensorData::Int32(sum))?,
                Tensor::new("OUTPUT1", shape_a.to_vec(), TensorData::Int32(diff))?,
            ],
        ))
    }
}

pub struct EchoModel;

#[async_trait]
impl Model for EchoModel {
    fn name(&self) -> &str {
        "echo"
    }

    fn metadata(&self) -> ModelMetadata {
        ModelMetadata {
            name: "echo".into(),
            versions: vec![],
            platform: PLATFORM.into(),
            inputs: vec![],
            outputs: vec![],
        }
    }

    async fn predict(&self, payload: Payload, _ctx: &RequestContext) -> Result<Reply> {
        let req = payload.into_v2(&[])?;
        Ok(response("echo", req.inputs))
    }

    async fn explain(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply> {
        // The identity explains itself: each output is its input.
        self.predict(payload, ctx).await
    }
}
