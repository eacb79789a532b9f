//! Protocol-independent inference messages and metadata. V2 JSON, the binary
//! extension, gRPC and (through the V1 rules) V1 JSON all decode into these.
use serde::{Deserialize, Serialize};

use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::parameters::{ParamValue, Parameters};
use crate::tensor::Tensor;

/// The request parameter that asks for every output in binary form (REST).
pub const BINARY_DATA_OUTPUT: &str = "binary_data_output";
/// The output parameter that asks for one output in binary form (REST).
pub const BINARY_DATA: &str = "binary_data";
/// The tensor parameter that gives the size of a binary tensor (REST).
pub const BINARY_DATA_SIZE: &str = "binary_data_size";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InferRequest {
    pub id: Option<String>,
    pub parameters: Parameters,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<RequestedOutput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestedOutput {
    pub name: String,
    pub parameters: Parameters,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InferResponse {
    pub model_name: String,
    pub model_version: Option<String>,
    pub id: Option<String>,
    pub parameters: Parameters,
    pub outputs: Vec<Tensor>,
}

impl InferRequest {
    pub fn input(&self, name: &str) -> Option<&Tensor> {
        self.inputs.iter().find(|t| t.name == name)
    }

    /// Fails on two inputs with the same name.
    pub fn check_unique_inputs(&self) -> Result<()> {
        for (i, t) in self.inputs.iter().enumerate() {
            if self.inputs[..i].iter().any(|o| o.name == t.name) {
                return Err(ProtoError::request(format!(
                    "input '{}' is given more than once",
                    t.name
                )));
            }
        }
        Ok(())
    }
}

impl InferResponse {
    pub fn output(&self, name: &str) -> Option<&Tensor> {
        self.outputs.iter().find(|t| t.name == name)
    }

    /// Keeps only the outputs a request asked for, in the order asked; all of
    /// them when it asked for none. An output the model did not produce is an
    /// error, as in KServe.
    pub fn select_outputs<'n>(
        &mut self,
        requested: impl IntoIterator<Item = &'n str>,
    ) -> Result<()> {
        let mut requested = requested.into_iter().peekable();
        if requested.peek().is_none() {
            return Ok(());
        }
        let mut all = std::mem::take(&mut self.outputs);
        for name in requested {
            let pos = all.iter().position(|t| t.name == name).ok_or_else(|| {
                ProtoError::request(format!(
                    "Unexpected inference output '{name}' for model '{}'",
                    self.model_name
                ))
            })?;
            self.outputs.push(all.swap_remove(pos));
        }
        Ok(())
    }
}

/// What a request asked of its response: which outputs, in which order, and
/// (REST only) which of them travel in the binary extension. Taken from the
/// request before the request is handed to a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputFormat {
    default_binary: bool,
    /// The outputs the request named, with their own `binary_data` flag.
    requested: Vec<(String, Option<bool>)>,
}

impl OutputFormat {
    pub fn from_request(req: &InferRequest) -> Self {
        let flag = |p: &Parameters, key: &str| p.get(key).and_then(ParamValue::as_bool);
        OutputFormat {
            default_binary: flag(&req.parameters, BINARY_DATA_OUTPUT).unwrap_or(false),
            requested: req
                .outputs
                .iter()
                .map(|o| (o.name.clone(), flag(&o.parameters, BINARY_DATA)))
                .collect(),
        }
    }

    pub fn is_binary(&self, output: &str) -> bool {
        self.requested
            .iter()
            .find(|(n, _)| n == output)
            .and_then(|(_, b)| *b)
            .unwrap_or(self.default_binary)
    }

    /// The names of the outputs asked for, in the request's order (none: all).
    pub fn requested(&self) -> impl Iterator<Item = &str> {
        self.requested.iter().map(|(n, _)| n.as_str())
    }
}

/// Name, datatype and shape of a model input or output; -1 marks a dynamic
/// dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorMetadata {
    pub name: String,
    pub datatype: DataType,
    pub shape: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<TensorMetadata>,
    pub outputs: Vec<TensorMetadata>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerMetadata {
    pub name: String,
    pub version: String,
    pub extensions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::TensorData;

    fn out(name: &str) -> Tensor {
        Tensor::new(name, vec![1], TensorData::Int32(vec![1])).unwrap()
    }

    #[test]
    fn select_outputs_keeps_the_requested_order_and_rejects_unknown_names() {
        let mut resp = InferResponse {
            model_name: "m".into(),
            outputs: vec![out("a"), out("b"), out("c")],
            ..Default::default()
        };
        resp.select_outputs(["c", "a"]).unwrap();
        let names: Vec<_> = resp.outputs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["c", "a"]);
        let err = resp.select_outputs(["zz"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unexpected inference output 'zz' for model 'm'"
        );
    }

    #[test]
    fn per_output_binary_flag_overrides_the_request_flag() {
        let mut req = InferRequest::default();
        req.parameters
            .insert(BINARY_DATA_OUTPUT.into(), ParamValue::Bool(true));
        let mut p = Parameters::new();
        p.insert(BINARY_DATA.into(), ParamValue::Bool(false));
        req.outputs.push(RequestedOutput {
            name: "json_one".into(),
            parameters: p,
        });
        let f = OutputFormat::from_request(&req);
        assert!(f.is_binary("other"));
        assert!(!f.is_binary("json_one"));
        assert!(!OutputFormat::default().is_binary("x"));
    }
}
