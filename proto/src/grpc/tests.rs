use super::pb::{InferTensorContents, ModelInferRequest, model_infer_request::InferInputTensor};
use super::*;
use crate::{InferResponse, Tensor, TensorData};

fn input(
    name: &str,
    dt: &str,
    shape: Vec<i64>,
    contents: Option<InferTensorContents>,
) -> InferInputTensor {
    InferInputTensor {
        name: name.into(),
        datatype: dt.into(),
        shape,
        parameters: Default::default(),
        contents,
    }
}

#[test]
fn typed_contents_decode_per_datatype_with_range_checks() {
    let req = ModelInferRequest {
        model_name: "m".into(),
        inputs: vec![
            input(
                "a",
                "INT8",
                vec![2],
                Some(InferTensorContents {
                    int_contents: vec![-1, 127],
                    ..Default::default()
                }),
            ),
            input(
                "b",
                "UINT16",
                vec![1],
                Some(InferTensorContents {
                    uint_contents: vec![65535],
                    ..Default::default()
                }),
            ),
            input(
                "c",
                "BYTES",
                vec![1],
                Some(InferTensorContents {
                    bytes_contents: vec![b"x".to_vec()],
                    ..Default::default()
                }),
            ),
        ],
        ..Default::default()
    };
    let got = request_from_grpc(req.clone()).unwrap();
    assert!(!got.raw_inputs);
    assert_eq!(got.model_name, "m");
    assert_eq!(got.model_version, None);
    assert_eq!(got.request.inputs[0].data, TensorData::Int8(vec![-1, 127]));
    assert_eq!(got.request.inputs[1].data, TensorData::Uint16(vec![65535]));
    assert_eq!(
        got.request.inputs[2].data,
        TensorData::Bytes(vec![b"x".to_vec()])
    );

    let mut bad = req.clone();
    bad.inputs[0].contents.as_mut().unwrap().int_contents = vec![-1, 128];
    let err = request_from_grpc(bad).unwrap_err().to_string();
    assert_eq!(err, "tensor 'a': value 128 is out of range for INT8");

    let mut wrong_field = req;
    wrong_field.inputs[0].contents = Some(InferTensorContents {
        fp32_contents: vec![1.0, 2.0],
        ..Default::default()
    });
    let err = request_from_grpc(wrong_field).unwrap_err().to_string();
    assert_eq!(err, "tensor 'a': contents are not in the field for INT8");
}

#[test]
fn raw_contents_must_match_inputs() {
    let mut req = ModelInferRequest {
        inputs: vec![
            input("a", "FP32", vec![2], None),
            input("b", "FP32", vec![1], None),
        ],
        raw_input_contents: vec![bytes::Bytes::from(vec![0u8; 8])],
        ..Default::default()
    };
    let err = request_from_grpc(req.clone()).unwrap_err().to_string();
    assert_eq!(err, "the request has 2 tensors but 1 raw contents entries");
    req.raw_input_contents
        .push(bytes::Bytes::from(vec![0u8; 8]));
    let err = request_from_grpc(req.clone()).unwrap_err().to_string();
    assert_eq!(
        err,
        "tensor 'b': shape [1] needs 1 elements but 2 were given"
    );
    req.inputs[1].shape = vec![-1];
    let err = request_from_grpc(req.clone()).unwrap_err().to_string();
    assert!(err.contains("negative dimension"), "{err}");
    req.inputs[1].shape = vec![2];
    req.inputs[1].contents = Some(InferTensorContents {
        fp32_contents: vec![1.0, 2.0],
        ..Default::default()
    });
    let err = request_from_grpc(req).unwrap_err().to_string();
    assert!(err.contains("use one form"), "{err}");
}

#[test]
fn fp16_needs_raw_contents_and_forces_raw_outputs() {
    let req = ModelInferRequest {
        inputs: vec![input(
            "h",
            "FP16",
            vec![1],
            Some(InferTensorContents {
                fp32_contents: vec![1.0],
                ..Default::default()
            }),
        )],
        ..Default::default()
    };
    let err = request_from_grpc(req).unwrap_err().to_string();
    assert_eq!(
        err,
        "tensor 'h': FP16 data must be sent in raw_input_contents"
    );

    let resp = InferResponse {
        model_name: "m".into(),
        outputs: vec![
            Tensor::new("h", vec![1], TensorData::Fp16(vec![half::f16::ONE])).unwrap(),
            Tensor::new("f", vec![1], TensorData::Fp32(vec![2.0])).unwrap(),
        ],
        ..Default::default()
    };
    let out = response_to_grpc(&resp, false).unwrap();
    assert_eq!(out.raw_output_contents.len(), 2);
    assert!(out.outputs.iter().all(|o| o.contents.is_none()));
    assert_eq!(response_from_grpc(out).unwrap(), resp);
}

#[test]
fn typed_outputs_when_asked() {
    let resp = InferResponse {
        model_name: "m".into(),
        id: Some("x".into()),
        outputs: vec![Tensor::new("f", vec![2], TensorData::Int16(vec![-3, 4])).unwrap()],
        ..Default::default()
    };
    let out = response_to_grpc(&resp, false).unwrap();
    assert!(out.raw_output_contents.is_empty());
    assert_eq!(
        out.outputs[0].contents.as_ref().unwrap().int_contents,
        vec![-3, 4]
    );
    assert_eq!(out.id, "x");
    assert_eq!(response_from_grpc(out).unwrap(), resp);
}
