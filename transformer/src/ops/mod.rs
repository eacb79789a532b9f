//! The built-in tensor transforms. Each works on a list of named tensors
//! (request inputs or response outputs) and fails with a message that names
//! the tensor and the problem.
mod cast;
mod labels;
mod reshape;
mod scale;
mod topk;

use infergate_proto::{DataType, Tensor};
use serde::Deserialize;

pub use cast::cast;
pub use labels::labels;
pub use reshape::reshape;
pub use scale::scale;
pub use topk::top_k;

/// One number or one per channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Numbers {
    One(f64),
    Many(Vec<f64>),
}

/// One step of a declarative transformer, as written in its config file
/// (`op = "..."` selects the step).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Renames tensor `from` to `to`.
    Rename { from: String, to: String },
    /// Converts a tensor to another datatype; values that do not fit fail.
    Cast { tensor: String, datatype: DataType },
    /// Gives a tensor a new shape with the same element count; one -1 is inferred.
    Reshape { tensor: String, shape: Vec<i64> },
    /// `(x - mean) / std`, with one value or one per channel along `axis`
    /// (default the last); the result is FP32 (FP64 stays FP64).
    Scale {
        tensor: String,
        #[serde(default = "zero")]
        mean: Numbers,
        #[serde(default = "one")]
        std: Numbers,
        #[serde(default = "last_axis")]
        axis: i64,
    },
    /// V1 only: builds tensor `name` from object instances, one row per
    /// instance, one column per field in this order.
    Pick {
        fields: Vec<String>,
        name: String,
        #[serde(default = "fp32")]
        datatype: DataType,
    },
    /// Replaces class indices with their labels (BYTES).
    Labels { tensor: String, labels: Vec<String> },
    /// Adds `<tensor>_top_k_indices` (INT64) and `<tensor>_top_k_values`: the
    /// k largest values along the last dimension, largest first.
    TopK { tensor: String, k: usize },
    /// Texts (V1 string instances, or the V2 BYTES tensor `tensor`) ->
    /// `input_ids`, `attention_mask`, `token_type_ids` (INT64, padded to
    /// the longest text) with a `tokenizer.json`.
    Tokenize(crate::text::Tokenize),
    /// Hidden states + attention mask -> an L2-normalised FP32 embedding.
    MeanPool(crate::text::MeanPool),
    /// Logits -> softmax probabilities and the best class's label.
    Classify(crate::text::Classify),
}

fn zero() -> Numbers {
    Numbers::One(0.0)
}
fn one() -> Numbers {
    Numbers::One(1.0)
}
fn last_axis() -> i64 {
    -1
}
fn fp32() -> DataType {
    DataType::Fp32
}

/// The tensor named `name`, or an error listing what there is.
pub fn find<'a>(tensors: &'a mut [Tensor], name: &str) -> Result<&'a mut Tensor, String> {
    let names: Vec<String> = tensors.iter().map(|t| t.name.clone()).collect();
    tensors
        .iter_mut()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("no tensor '{name}' (tensors: {})", names.join(", ")))
}

impl Op {
    /// Applies a tensor step ([`Op::Pick`] works on V1 JSON instead and is
    /// applied by the declarative transformer itself).
    pub fn apply(&self, tensors: &mut Vec<Tensor>) -> Result<(), String> {
        match self {
            Op::Rename { from, to } => {
                if from != to && tensors.iter().any(|t| &t.name == to) {
                    return Err(format!("cannot rename '{from}' to '{to}': '{to}' exists"));
                }
                find(tensors, from)?.name = to.clone();
                Ok(())
            }
            Op::Cast { tensor, datatype } => {
                let t = find(tensors, tensor)?;
                t.data = cast(&t.name, &t.data, *datatype)?;
                Ok(())
            }
            Op::Reshape { tensor, shape } => {
                let t = find(tensors, tensor)?;
                t.shape = reshape(&t.name, &t.shape, shape)?;
                Ok(())
            }
            Op::Scale {
                tensor,
                mean,
                std,
                axis,
            } => {
                let t = find(tensors, tensor)?;
                t.data = scale(t, mean, std, *axis)?;
                Ok(())
            }
            Op::Labels {
                tensor,
                labels: names,
            } => {
                let t = find(tensors, tensor)?;
                t.data = labels(&t.name, &t.data, names)?;
                Ok(())
            }
            Op::TopK { tensor, k } => {
                let t = find(tensors, tensor)?;
                let (indices, values) = top_k(t, *k)?;
                tensors.push(indices);
                tensors.push(values);
                Ok(())
            }
            Op::Tokenize(t) => t.apply(tensors),
            Op::MeanPool(p) => p.apply(tensors),
            Op::Classify(c) => c.apply(tensors),
            Op::Pick { .. } => {
                Err("'pick' works on V1 instances only, before any tensor step".into())
            }
        }
    }
}
