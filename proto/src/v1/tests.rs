use serde_json::{Value, json};

use super::*;
use crate::{DataType, InferResponse, Tensor, TensorData, TensorMetadata};

fn meta(name: &str, dt: DataType, shape: &[i64]) -> TensorMetadata {
    TensorMetadata {
        name: name.into(),
        datatype: dt,
        shape: shape.to_vec(),
    }
}

fn to_json(bytes: Vec<u8>) -> Value {
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn iris_instances_become_one_fp32_tensor_named_by_the_model() {
    let body = json!({"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]});
    let (req, form) =
        request_to_v2(&body, &[meta("float_input", DataType::Fp32, &[-1, 4])]).unwrap();
    assert_eq!(form, V1Form::Instances);
    assert_eq!(req.inputs.len(), 1);
    let t = &req.inputs[0];
    assert_eq!(t.name, "float_input");
    assert_eq!(t.shape, vec![2, 4]);
    assert_eq!(
        t.data,
        TensorData::Fp32(vec![6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6])
    );
}

#[test]
fn without_metadata_the_datatype_is_inferred() {
    let infer = |v: Value| {
        request_to_v2(&json!({ "instances": v }), &[])
            .unwrap()
            .0
            .inputs
            .remove(0)
    };
    let t = infer(json!([1, 2, 3]));
    assert_eq!(
        (t.name.as_str(), t.datatype(), t.shape.clone()),
        (DEFAULT_INPUT_NAME, DataType::Int64, vec![3])
    );
    assert_eq!(
        infer(json!([[1, 2.5]])).data,
        TensorData::Fp64(vec![1.0, 2.5])
    );
    assert_eq!(infer(json!([true])).datatype(), DataType::Bool);
    let t = infer(json!(["I want to book a flight", "hi"]));
    assert_eq!(
        t.data,
        TensorData::Bytes(vec!["I want to book a flight".into(), "hi".into()])
    );
    assert_eq!(t.shape, vec![2]);
    let t = infer(json!([{"b64": "AAEC"}]));
    assert_eq!(t.data, TensorData::Bytes(vec![vec![0, 1, 2]]));
    let err = request_to_v2(&json!({"instances": [1, "a"]}), &[]).unwrap_err();
    assert!(err.to_string().contains("mix"), "{err}");
}

#[test]
fn object_instances_become_one_tensor_per_key() {
    let body = json!({"instances": [{"a": [1, 2], "b": "x"}, {"a": [3, 4], "b": "y"}]});
    let (req, _) = request_to_v2(&body, &[meta("a", DataType::Fp32, &[-1, 2])]).unwrap();
    let a = req.input("a").unwrap();
    assert_eq!(
        (a.shape.clone(), a.data.clone()),
        (vec![2, 2], TensorData::Fp32(vec![1.0, 2.0, 3.0, 4.0]))
    );
    let b = req.input("b").unwrap();
    assert_eq!(
        (b.shape.clone(), b.data.clone()),
        (vec![2], TensorData::Bytes(vec!["x".into(), "y".into()]))
    );

    let err = request_to_v2(&json!({"instances": [{"a": 1}, {"b": 1}]}), &[]).unwrap_err();
    assert_eq!(err.to_string(), "'instances' row 1 lacks key 'a'");
    let err = request_to_v2(&json!({"instances": [{"a": 1}, 2]}), &[]).unwrap_err();
    assert!(err.to_string().contains("mixes objects"), "{err}");
}

#[test]
fn bad_v1_requests_are_named() {
    let cases = [
        (json!([1]), "a V1 request must be a JSON object"),
        (json!({}), "needs an 'instances' list or an 'inputs' value"),
        (json!({"instances": 3}), "'instances' must be a list"),
        (json!({"instances": []}), "'instances' is empty"),
        (
            json!({"instances": [[1, 2], [3]]}),
            "tensor 'input-0': ragged data",
        ),
        (json!({"instances": [1], "inputs": [1]}), "not both"),
    ];
    for (body, want) in cases {
        let err = request_to_v2(&body, &[]).unwrap_err().to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
    let two = [
        meta("a", DataType::Fp32, &[-1]),
        meta("b", DataType::Fp32, &[-1]),
    ];
    let err = request_to_v2(&json!({"instances": [1.0]}), &two)
        .unwrap_err()
        .to_string();
    assert!(err.contains("takes 2 tensors (a, b)"), "{err}");
    let err = request_to_v2(
        &json!({"instances": [1.5]}),
        &[meta("x", DataType::Int64, &[-1])],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor 'x': INT64 element must be an integer, got 1.5"
    );
}

#[test]
fn columnar_inputs_map_to_tensors_without_a_batch_dim() {
    let (req, form) = request_to_v2(&json!({"inputs": {"a": [[1, 2]], "b": [true]}}), &[]).unwrap();
    assert_eq!(form, V1Form::Inputs);
    assert_eq!(req.input("a").unwrap().shape, vec![1, 2]);
    assert_eq!(req.input("b").unwrap().data, TensorData::Bool(vec![true]));
}

fn resp(outputs: Vec<Tensor>) -> InferResponse {
    InferResponse {
        model_name: "m".into(),
        outputs,
        ..Default::default()
    }
}

#[test]
fn one_output_becomes_predictions_nested_by_shape() {
    let labels = Tensor::new("label", vec![2], TensorData::Int64(vec![1, 1])).unwrap();
    let out = to_json(response_to_v1(&resp(vec![labels]), V1Form::Instances).unwrap());
    assert_eq!(out, json!({"predictions": [1, 1]}));
    let probs = Tensor::new(
        "p",
        vec![2, 2],
        TensorData::Fp32(vec![0.1, 0.9, 0.25, f32::NAN]),
    )
    .unwrap();
    let text =
        String::from_utf8(response_to_v1(&resp(vec![probs]), V1Form::Instances).unwrap()).unwrap();
    // FP32 values are written in their shortest form, not widened to f64 digits.
    assert_eq!(text, r#"{"predictions":[[0.1,0.9],[0.25,"NaN"]]}"#);
}

#[test]
fn several_outputs_become_row_objects_or_columns() {
    let a = Tensor::new("a", vec![2], TensorData::Int32(vec![1, 2])).unwrap();
    let b = Tensor::new(
        "b",
        vec![2, 1],
        TensorData::Bytes(vec!["x".into(), vec![0xff]]),
    )
    .unwrap();
    let rows =
        to_json(response_to_v1(&resp(vec![a.clone(), b.clone()]), V1Form::Instances).unwrap());
    assert_eq!(
        rows,
        json!({"predictions": [{"a": 1, "b": ["x"]}, {"a": 2, "b": [{"b64": "/w=="}]}]})
    );
    let cols = to_json(response_to_v1(&resp(vec![a.clone(), b]), V1Form::Inputs).unwrap());
    assert_eq!(
        cols,
        json!({"outputs": {"a": [1, 2], "b": [["x"], [{"b64": "/w=="}]]}})
    );
    let c = Tensor::new("c", vec![3], TensorData::Int32(vec![1, 2, 3])).unwrap();
    let err = response_to_v1(&resp(vec![a, c]), V1Form::Instances)
        .unwrap_err()
        .to_string();
    assert!(err.contains("differ in their first dimension"), "{err}");
}

#[test]
fn v1_predictor_answers_convert_to_v2() {
    let r = response_to_v2(&json!({"predictions": [1, 1]}), "iris", &[]).unwrap();
    assert_eq!(r.model_name, "iris");
    assert_eq!(r.outputs[0].name, DEFAULT_OUTPUT_NAME);
    assert_eq!(r.outputs[0].data, TensorData::Int64(vec![1, 1]));
    let (body, form) = request_to_v1(&crate::InferRequest {
        inputs: vec![Tensor::new("x", vec![1, 2], TensorData::Fp32(vec![0.5, 1.0])).unwrap()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(form, V1Form::Instances);
    assert_eq!(to_json(body), json!({"instances": [[0.5, 1.0]]}));
}

/// Decimals whose f64 is exactly halfway between two FP32 values: read as
/// f64 and narrowed, both round to the even neighbour; read as text, the
/// first rounds up and the second down.
const ABOVE_MIDPOINT: &str = "1.00000005960464477539062500001";
const BELOW_MIDPOINT: &str = "1.00000017881393432617187499999";

fn fp32_of(text: &str) -> f32 {
    text.parse().unwrap()
}

#[test]
fn fp32_values_of_a_body_with_text_are_rounded_once_in_every_form() {
    use bytes::Bytes;
    let (a, b) = (ABOVE_MIDPOINT, BELOW_MIDPOINT);
    // The f64 route would pick other values: that is what is being fixed.
    assert_ne!(a.parse::<f64>().unwrap() as f32, fp32_of(a));
    assert_ne!(b.parse::<f64>().unwrap() as f32, fp32_of(b));
    let want = vec![fp32_of(a), 2.5, fp32_of(b), 0.1];
    let fp32 = |name: &str| meta(name, DataType::Fp32, &[-1, 2]);
    let cases = [
        (format!(r#"{{"instances": [[{a}, 2.5], [{b}, 0.1]]}}"#), "x"),
        (format!(r#"{{"inputs": [[{a}, 2.5], [{b}, 0.1]]}}"#), "x"),
        (
            format!(r#"{{"instances": [{{"x": [{a}, 2.5]}}, {{"x": [{b}, 0.1]}}]}}"#),
            "x",
        ),
        (
            format!(r#"{{"inputs": {{"x": [[{a}, 2.5], [{b}, 0.1]]}}}}"#),
            "x",
        ),
    ];
    for (text, name) in cases {
        let body = V1Body::parse(Bytes::from(text.clone())).unwrap();
        let (req, _) = body.to_v2(&[fp32(name)]).unwrap();
        assert_eq!(req.inputs[0].data, TensorData::Fp32(want.clone()), "{text}");
        assert_eq!(req.inputs[0].shape, vec![2, 2], "{text}");
        // Without the text (a value made by code) the f64s are narrowed.
        let value: Value = serde_json::from_str(&text).unwrap();
        let (req, _) = request_to_v2(&value, &[fp32(name)]).unwrap();
        let TensorData::Fp32(got) = &req.inputs[0].data else {
            panic!("not FP32")
        };
        assert_eq!(got[0], a.parse::<f64>().unwrap() as f32);
    }
}

#[test]
fn a_changed_body_is_read_from_its_value() {
    use bytes::Bytes;
    let text = format!(r#"{{"instances": [{ABOVE_MIDPOINT}]}}"#);
    let mut body = V1Body::parse(Bytes::from(text)).unwrap();
    body["instances"][0] = serde_json::json!(2.5);
    let (req, _) = body.to_v2(&[meta("x", DataType::Fp32, &[-1])]).unwrap();
    assert_eq!(req.inputs[0].data, TensorData::Fp32(vec![2.5]));
}

#[test]
fn an_integer_zero_written_as_a_float_is_refused_as_v2_refuses_it() {
    use bytes::Bytes;
    let int64 = [meta("x", DataType::Int64, &[-1, 2])];
    // `-0` is the integer zero; `-0.0` and `-1e-400` are not integers,
    // though serde_json reads all three as -0.0.
    let ok = V1Body::parse(Bytes::from(r#"{"instances": [[-0, 7]]}"#)).unwrap();
    let (req, _) = ok.to_v2(&int64).unwrap();
    assert_eq!(req.inputs[0].data, TensorData::Int64(vec![0, 7]));
    for bad in [
        r#"{"instances": [[-0.0, 7]]}"#,
        r#"{"instances": [[1, -1e-400]]}"#,
        r#"{"inputs": {"x": [[-0.0, 7]]}}"#,
    ] {
        let body = V1Body::parse(Bytes::from(bad)).unwrap();
        let err = body.to_v2(&int64).unwrap_err().to_string();
        assert!(err.contains("reads as -0"), "{bad}: {err}");
    }
}
