//! MLflow model directories: an `MLmodel` file beside the ONNX model, with
//! the `onnx` flavour. Its signature (when saved with one) becomes the V2
//! metadata: each input and output it names gets its datatype and shape.
use std::path::Path;

use infergate_proto::{DataType, TensorMetadata};
use serde::Deserialize;

use crate::error::{PredictorError, Result};

#[derive(Debug, Deserialize)]
struct MlModel {
    #[serde(default)]
    flavors: serde_yaml::Mapping,
    signature: Option<Signature>,
}

#[derive(Debug, Deserialize)]
struct Signature {
    /// JSON text: a list of column or tensor specs.
    inputs: Option<String>,
    outputs: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Spec {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "tensor-spec")]
    tensor_spec: Option<TensorSpec>,
}

#[derive(Debug, Deserialize)]
struct TensorSpec {
    dtype: String,
    shape: Vec<i64>,
}

fn load_error(model: &str, reason: String) -> PredictorError {
    PredictorError::Load {
        model: model.to_string(),
        reason,
    }
}

/// numpy dtype names as MLflow writes them -> V2 datatypes.
fn datatype(dtype: &str) -> Option<DataType> {
    Some(match dtype {
        "bool" => DataType::Bool,
        "uint8" => DataType::Uint8,
        "uint16" => DataType::Uint16,
        "uint32" => DataType::Uint32,
        "uint64" => DataType::Uint64,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "float16" => DataType::Fp16,
        "float32" => DataType::Fp32,
        "float64" => DataType::Fp64,
        "str" | "object" | "bytes" => DataType::Bytes,
        _ => return None,
    })
}

/// The tensor specs of one side of the signature.
fn specs(model: &str, side: &str, json: &str) -> Result<Vec<TensorMetadata>> {
    let specs: Vec<Spec> = serde_json::from_str(json)
        .map_err(|e| load_error(model, format!("MLmodel signature {side}: {e}")))?;
    specs
        .into_iter()
        .map(|s| {
            let (Some(name), Some(t)) = (s.name, s.tensor_spec) else {
                return Err(load_error(
                    model,
                    format!(
                        "MLmodel signature {side}: a '{}' spec; an ONNX model's signature \
                         names tensors",
                        s.kind
                    ),
                ));
            };
            let datatype = datatype(&t.dtype).ok_or_else(|| {
                load_error(
                    model,
                    format!("MLmodel signature {side}: dtype '{}' of '{name}'", t.dtype),
                )
            })?;
            Ok(TensorMetadata {
                name,
                datatype,
                shape: t.shape,
            })
        })
        .collect()
}

/// Checks an MLmodel's text and gives its signature's inputs and outputs
/// (empty when saved without one).
pub fn parse(model: &str, text: &str) -> Result<(Vec<TensorMetadata>, Vec<TensorMetadata>)> {
    let m: MlModel =
        serde_yaml::from_str(text).map_err(|e| load_error(model, format!("MLmodel: {e}")))?;
    if !m.flavors.contains_key("onnx") {
        let names: Vec<String> = m
            .flavors
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        return Err(load_error(
            model,
            format!(
                "MLmodel has no onnx flavour (it has: {}); save it with mlflow.onnx",
                names.join(", ")
            ),
        ));
    }
    let Some(sig) = m.signature else {
        return Ok((Vec::new(), Vec::new()));
    };
    let side = |label, json: Option<String>| match json {
        Some(j) => specs(model, label, &j),
        None => Ok(Vec::new()),
    };
    Ok((side("inputs", sig.inputs)?, side("outputs", sig.outputs)?))
}

/// When `dir` holds an `MLmodel`, sets the datatypes and shapes its
/// signature gives; a name the ONNX model lacks is an error at load.
pub fn apply_signature(
    model: &str,
    dir: &Path,
    inputs: &mut [TensorMetadata],
    outputs: &mut [TensorMetadata],
) -> Result<()> {
    let path = dir.join("MLmodel");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let (sig_in, sig_out) = parse(model, &text)?;
    for (side, sig, have) in [("input", sig_in, inputs), ("output", sig_out, outputs)] {
        for s in sig {
            let t = have.iter_mut().find(|t| t.name == s.name).ok_or_else(|| {
                load_error(
                    model,
                    format!(
                        "MLmodel signature names {side} '{}', which the ONNX model lacks",
                        s.name
                    ),
                )
            })?;
            *t = s;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IRIS: &str = r#"
flavors:
  onnx:
    data: model.onnx
    onnx_version: 1.23.2
  python_function:
    loader_module: mlflow.onnx
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "float_input"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}, "name": "label"}]'
  params: null
"#;

    #[test]
    fn the_signature_becomes_metadata() {
        let (i, o) = parse("iris", IRIS).unwrap();
        assert_eq!(i[0].name, "float_input");
        assert_eq!(i[0].datatype, DataType::Fp32);
        assert_eq!(i[0].shape, vec![-1, 4]);
        assert_eq!(o[0].datatype, DataType::Int64);
        let mut inputs = vec![TensorMetadata {
            name: "float_input".into(),
            datatype: DataType::Fp32,
            shape: vec![-1, -1],
        }];
        let dir = std::env::temp_dir().join(format!("mlflow-sig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("MLmodel"), IRIS).unwrap();
        let err = apply_signature("iris", &dir, &mut inputs, &mut []).unwrap_err();
        assert!(
            err.to_string()
                .contains("names output 'label', which the ONNX model lacks"),
            "{err}"
        );
    }

    #[test]
    fn other_flavours_and_column_signatures_are_named() {
        let err = parse("m", "flavors:\n  sklearn: {}\n  python_function: {}\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("no onnx flavour (it has: sklearn, python_function)"),
            "{err}"
        );
        let cols = "flavors:\n  onnx: {}\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\"}]'\n";
        let err = parse("m", cols).unwrap_err();
        assert!(err.to_string().contains("a 'double' spec"), "{err}");
        assert_eq!(parse("m", "flavors:\n  onnx: {}\n").unwrap().0, vec![]);
    }
}
