//! KServe V1 (TensorFlow-serving style) JSON and the rules that carry it to
//! and from V2 tensors. The rules are documented in docs/protocol.md:
//!
//! * `{"instances": [...]}` of numbers, booleans or strings (nested or not)
//!   becomes one tensor: shape = the nesting, datatype = the model's input
//!   datatype when known, else inferred (BOOL, INT64, FP64 or BYTES).
//! * instances that are objects become one tensor per key, stacked on dim 0.
//! * `{"inputs": ...}` (columnar) is the tensor itself, or an object of them.
//! * Back again: one output -> `predictions` nested by its shape; several
//!   outputs -> one object per row; the `inputs` form answers `outputs`.
mod body;
mod exact;
mod from_v2;
mod to_v2;

pub use body::V1Body;
pub use from_v2::{request_to_v1, response_to_v1};
pub use to_v2::{request_to_v2, response_to_v2};

/// Which of the two V1 request forms a caller used; the answer mirrors it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Form {
    /// `{"instances": [...]}` answered by `{"predictions": [...]}` (row form).
    Instances,
    /// `{"inputs": ...}` answered by `{"outputs": ...}` (columnar form).
    Inputs,
}

/// Name given to the single input tensor when the model declares none.
pub const DEFAULT_INPUT_NAME: &str = "input-0";
/// Name given to the single output tensor of a V1 answer.
pub const DEFAULT_OUTPUT_NAME: &str = "output-0";

/// Output names that scikit-learn exporters (skl2onnx) and common tools give
/// class labels. A V1 caller of a classifier gets these as `predictions`, as
/// scikit-learn's `predict()` would answer.
pub const LABEL_OUTPUTS: [&str; 3] = ["label", "output_label", "labels"];

/// The label output among `outputs`, if there is one.
pub fn label_output<'a>(outputs: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    outputs.into_iter().find(|n| LABEL_OUTPUTS.contains(n))
}

#[cfg(test)]
mod tests;
