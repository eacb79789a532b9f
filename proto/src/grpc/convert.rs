//! ModelInfer messages <-> [`InferRequest`] / [`InferResponse`]. Inputs are
//! accepted as typed `contents` or as `raw_input_contents`; outputs are written
//! raw unless the caller asks for typed contents (KServe answers raw exactly
//! when the request came raw; FP16 always forces raw).
use std::collections::HashMap;

use super::pb::{
    self, InferParameter, InferTensorContents, ModelInferRequest, ModelInferResponse,
    infer_parameter::ParameterChoice, model_infer_request, model_infer_response,
    model_metadata_response,
};
use crate::datatype::DataType;
use crate::error::{ProtoError, Result};
use crate::infer::{InferRequest, InferResponse, ModelMetadata, RequestedOutput, TensorMetadata};
use crate::parameters::{ParamValue, Parameters};
use crate::raw;
use crate::tensor::{Tensor, TensorData, check_count};

fn params_from_grpc(p: HashMap<String, InferParameter>) -> Parameters {
    p.into_iter()
        .filter_map(|(k, v)| {
            let value = match v.parameter_choice? {
                ParameterChoice::BoolParam(b) => ParamValue::Bool(b),
                ParameterChoice::Int64Param(i) => ParamValue::Int(i),
                ParameterChoice::StringParam(s) => ParamValue::String(s),
                ParameterChoice::DoubleParam(f) => ParamValue::Float(f),
                ParameterChoice::Uint64Param(u) => ParamValue::Uint(u),
            };
            Some((k, value))
        })
        .collect()
}

fn params_to_grpc(p: &Parameters) -> HashMap<String, InferParameter> {
    p.iter()
        .map(|(k, v)| {
            let choice = match v {
                ParamValue::Bool(b) => ParameterChoice::BoolParam(*b),
                ParamValue::Int(i) => ParameterChoice::Int64Param(*i),
                ParamValue::Uint(u) => ParameterChoice::Uint64Param(*u),
                ParamValue::Float(f) => ParameterChoice::DoubleParam(*f),
                ParamValue::String(s) => ParameterChoice::StringParam(s.clone()),
            };
            (
                k.clone(),
                InferParameter {
                    parameter_choice: Some(choice),
                },
            )
        })
        .collect()
}

fn shape_from_grpc(tensor: &str, shape: &[i64]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                ProtoError::tensor(tensor, format!("shape {shape:?} has a negative dimension"))
            })
        })
        .collect()
}

fn shape_to_grpc(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

fn narrow<S: Copy + std::fmt::Display, T: TryFrom<S>>(
    tensor: &str,
    dt: DataType,
    v: &[S],
) -> Result<Vec<T>> {
    v.iter()
        .map(|&x| {
            T::try_from(x).map_err(|_| {
                ProtoError::tensor(tensor, format!("value {x} is out of range for {dt}"))
            })
        })
        .collect()
}

/// Typed contents -> data, taking the one repeated field the datatype uses.
fn data_from_contents(tensor: &str, dt: DataType, c: InferTensorContents) -> Result<TensorData> {
    Ok(match dt {
        DataType::Bool => TensorData::Bool(c.bool_contents),
        DataType::Int8 => TensorData::Int8(narrow(tensor, dt, &c.int_contents)?),
        DataType::Int16 => TensorData::Int16(narrow(tensor, dt, &c.int_contents)?),
        DataType::Int32 => TensorData::Int32(c.int_contents),
        DataType::Int64 => TensorData::Int64(c.int64_contents),
        DataType::Uint8 => TensorData::Uint8(narrow(tensor, dt, &c.uint_contents)?),
        DataType::Uint16 => TensorData::Uint16(narrow(tensor, dt, &c.uint_contents)?),
        DataType::Uint32 => TensorData::Uint32(c.uint_contents),
        DataType::Uint64 => TensorData::Uint64(c.uint64_contents),
        DataType::Fp32 => TensorData::Fp32(c.fp32_contents),
        DataType::Fp64 => TensorData::Fp64(c.fp64_contents),
        DataType::Bytes => TensorData::Bytes(c.bytes_contents),
        DataType::Fp16 => {
            return Err(ProtoError::tensor(
                tensor,
                "FP16 data must be sent in raw_input_contents",
            ));
        }
    })
}

/// Number of elements in any field of the contents, to catch data put in the
/// field of another datatype.
fn contents_len(c: &InferTensorContents) -> usize {
    c.bool_contents.len()
        + c.int_contents.len()
        + c.int64_contents.len()
        + c.uint_contents.len()
        + c.uint64_contents.len()
        + c.fp32_contents.len()
        + c.fp64_contents.len()
        + c.bytes_contents.len()
}

fn contents_from_data(data: &TensorData) -> InferTensorContents {
    let mut c = InferTensorContents::default();
    match data {
        TensorData::Bool(v) => c.bool_contents = v.clone(),
        TensorData::Int8(v) => c.int_contents = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::Int16(v) => c.int_contents = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::Int32(v) => c.int_contents = v.clone(),
        TensorData::Int64(v) => c.int64_contents = v.clone(),
        TensorData::Uint8(v) => c.uint_contents = v.iter().map(|&x| u32::from(x)).collect(),
        TensorData::Uint16(v) => c.uint_contents = v.iter().map(|&x| u32::from(x)).collect(),
        TensorData::Uint32(v) => c.uint_contents = v.clone(),
        TensorData::Uint64(v) => c.uint64_contents = v.clone(),
        TensorData::Fp32(v) => c.fp32_contents = v.clone(),
        TensorData::Fp64(v) => c.fp64_contents = v.clone(),
        TensorData::Bytes(v) => c.bytes_contents = v.clone(),
        // Callers switch to raw contents when any tensor is FP16.
        TensorData::Fp16(_) => {}
    }
    c
}

/// The fields a gRPC input or output tensor carries.
struct TensorFields {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    parameters: HashMap<String, InferParameter>,
    contents: Option<InferTensorContents>,
}

/// Builds tensors from gRPC tensor fields plus either typed contents or raw.
fn tensors_from_grpc(
    fields: Vec<TensorFields>,
    raw_contents: Vec<bytes::Bytes>,
    what: &str,
) -> Result<Vec<Tensor>> {
    let use_raw = !raw_contents.is_empty();
    if use_raw && raw_contents.len() != fields.len() {
        return Err(ProtoError::request(format!(
            "{what} has {} tensors but {} raw contents entries",
            fields.len(),
            raw_contents.len()
        )));
    }
    let mut raw_iter = raw_contents.into_iter();
    fields
        .into_iter()
        .map(|f| {
            let TensorFields {
                name,
                datatype,
                shape,
                parameters,
                contents,
            } = f;
            let dt: DataType = datatype
                .parse()
                .map_err(|e: ProtoError| ProtoError::tensor(&name, e.to_string()))?;
            let shape = shape_from_grpc(&name, &shape)?;
            let contents = contents.filter(|c| contents_len(c) > 0);
            let data = match (raw_iter.next(), contents) {
                (Some(_), Some(_)) => {
                    return Err(ProtoError::tensor(
                        &name,
                        "has typed contents while raw contents are used; use one form",
                    ));
                }
                (Some(bytes), None) => raw::from_raw(&name, dt, &bytes)?,
                (None, Some(c)) => {
                    let total = contents_len(&c);
                    let data = data_from_contents(&name, dt, c)?;
                    if data.len() != total {
                        return Err(ProtoError::tensor(
                            &name,
                            format!("contents are not in the field for {dt}"),
                        ));
                    }
                    data
                }
                (None, None) => TensorData::with_capacity(dt, 0),
            };
            check_count(&name, &shape, data.len())?;
            Ok(Tensor {
                name,
                shape,
                parameters: params_from_grpc(parameters),
                data,
            })
        })
        .collect()
}

/// Output tensors plus, when `raw`, their raw contents.
type GrpcTensors<T> = (Vec<T>, Vec<bytes::Bytes>);

fn tensors_to_grpc<T>(
    tensors: &[Tensor],
    raw: bool,
    make: impl Fn(&Tensor, Option<InferTensorContents>) -> T,
) -> Result<GrpcTensors<T>> {
    let raw = raw || tensors.iter().any(|t| t.datatype() == DataType::Fp16);
    let mut raws = Vec::new();
    let mut out = Vec::with_capacity(tensors.len());
    for t in tensors {
        if raw {
            raws.push(bytes::Bytes::from(raw::to_raw(&t.data)?));
            out.push(make(t, None));
        } else {
            out.push(make(t, Some(contents_from_data(&t.data))));
        }
    }
    Ok((out, raws))
}

/// A decoded ModelInfer request with its routing fields.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcInferRequest {
    pub model_name: String,
    pub model_version: Option<String>,
    pub request: InferRequest,
    /// Whether the inputs came as raw contents (KServe then answers raw).
    pub raw_inputs: bool,
}

pub fn request_from_grpc(req: ModelInferRequest) -> Result<GrpcInferRequest> {
    let raw_inputs = !req.raw_input_contents.is_empty();
    let fields = req
        .inputs
        .into_iter()
        .map(|i| TensorFields {
            name: i.name,
            datatype: i.datatype,
            shape: i.shape,
            parameters: i.parameters,
            contents: i.contents,
        })
        .collect();
    let request = InferRequest {
        id: Some(req.id).filter(|s| !s.is_empty()),
        parameters: params_from_grpc(req.parameters),
        inputs: tensors_from_grpc(fields, req.raw_input_contents, "the request")?,
        outputs: req
            .outputs
            .into_iter()
            .map(|o| RequestedOutput {
                name: o.name,
                parameters: params_from_grpc(o.parameters),
            })
            .collect(),
    };
    request.check_unique_inputs()?;
    Ok(GrpcInferRequest {
        model_name: req.model_name,
        model_version: Some(req.model_version).filter(|s| !s.is_empty()),
        request,
        raw_inputs,
    })
}

pub fn request_to_grpc(
    model_name: &str,
    model_version: Option<&str>,
    req: &InferRequest,
    raw: bool,
) -> Result<ModelInferRequest> {
    let (inputs, raw_input_contents) = tensors_to_grpc(&req.inputs, raw, |t, contents| {
        model_infer_request::InferInputTensor {
            name: t.name.clone(),
            datatype: t.datatype().as_str().to_string(),
            shape: shape_to_grpc(&t.shape),
            parameters: params_to_grpc(&t.parameters),
            contents,
        }
    })?;
    Ok(ModelInferRequest {
        model_name: model_name.to_string(),
        model_version: model_version.unwrap_or_default().to_string(),
        id: req.id.clone().unwrap_or_default(),
        parameters: params_to_grpc(&req.parameters),
        inputs,
        outputs: req
            .outputs
            .iter()
            .map(|o| model_infer_request::InferRequestedOutputTensor {
                name: o.name.clone(),
                parameters: params_to_grpc(&o.parameters),
            })
            .collect(),
        raw_input_contents,
    })
}

pub fn response_to_grpc(resp: &InferResponse, raw: bool) -> Result<ModelInferResponse> {
    let (outputs, raw_output_contents) = tensors_to_grpc(&resp.outputs, raw, |t, contents| {
        model_infer_response::InferOutputTensor {
            name: t.name.clone(),
            datatype: t.datatype().as_str().to_string(),
            shape: shape_to_grpc(&t.shape),
            parameters: params_to_grpc(&t.parameters),
            contents,
        }
    })?;
    Ok(ModelInferResponse {
        model_name: resp.model_name.clone(),
        model_version: resp.model_version.clone().unwrap_or_default(),
        id: resp.id.clone().unwrap_or_default(),
        parameters: params_to_grpc(&resp.parameters),
        outputs,
        raw_output_contents,
    })
}

pub fn response_from_grpc(resp: ModelInferResponse) -> Result<InferResponse> {
    let fields = resp
        .outputs
        .into_iter()
        .map(|o| TensorFields {
            name: o.name,
            datatype: o.datatype,
            shape: o.shape,
            parameters: o.parameters,
            contents: o.contents,
        })
        .collect();
    Ok(InferResponse {
        model_name: resp.model_name,
        model_version: Some(resp.model_version).filter(|s| !s.is_empty()),
        id: Some(resp.id).filter(|s| !s.is_empty()),
        parameters: params_from_grpc(resp.parameters),
        outputs: tensors_from_grpc(fields, resp.raw_output_contents, "the response")?,
    })
}

pub fn metadata_to_grpc(m: &ModelMetadata) -> pb::ModelMetadataResponse {
    let tensors = |ts: &[TensorMetadata]| {
        ts.iter()
            .map(|t| model_metadata_response::TensorMetadata {
                name: t.name.clone(),
                datatype: t.datatype.as_str().to_string(),
                shape: t.shape.clone(),
            })
            .collect()
    };
    pb::ModelMetadataResponse {
        name: m.name.clone(),
        versions: m.versions.clone(),
        platform: m.platform.clone(),
        inputs: tensors(&m.inputs),
        outputs: tensors(&m.outputs),
    }
}

pub fn metadata_from_grpc(m: pb::ModelMetadataResponse) -> Result<ModelMetadata> {
    let tensors = |ts: Vec<model_metadata_response::TensorMetadata>| {
        ts.into_iter()
            .map(|t| {
                Ok(TensorMetadata {
                    datatype: t.datatype.parse()?,
                    name: t.name,
                    shape: t.shape,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
    Ok(ModelMetadata {
        name: m.name,
        versions: m.versions,
        platform: m.platform,
        inputs: tensors(m.inputs)?,
        outputs: tensors(m.outputs)?,
    })
}
