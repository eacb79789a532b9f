//! Property tests: every wire form gives back exactly the tensors it was
//! given (NaN compares equal to NaN; FP16 never travels as JSON).
use half::f16;
use infergate_proto::grpc::{
    request_from_grpc, request_to_grpc, response_from_grpc, response_to_grpc,
};
use infergate_proto::v1::{self, V1Form};
use infergate_proto::{
    DataType, InferRequest, InferResponse, OutputFormat, ParamValue, Parameters, RequestedOutput,
    Tensor, TensorData, TensorMetadata, v2,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn floats32() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => any::<f32>().prop_filter("finite", |f| f.is_finite()),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

fn floats64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        1 => Just(f64::NAN),
        1 => Just(f64::NEG_INFINITY),
    ]
}

fn data(dt: DataType, n: usize) -> BoxedStrategy<TensorData> {
    match dt {
        DataType::Bool => vec(any::<bool>(), n).prop_map(TensorData::Bool).boxed(),
        DataType::Uint8 => vec(any::<u8>(), n).prop_map(TensorData::Uint8).boxed(),
        DataType::Uint16 => vec(any::<u16>(), n).prop_map(TensorData::Uint16).boxed(),
        DataType::Uint32 => vec(any::<u32>(), n).prop_map(TensorData::Uint32).boxed(),
        DataType::Uint64 => vec(any::<u64>(), n).prop_map(TensorData::Uint64).boxed(),
        DataType::Int8 => vec(any::<i8>(), n).prop_map(TensorData::Int8).boxed(),
        DataType::Int16 => vec(any::<i16>(), n).prop_map(TensorData::Int16).boxed(),
        DataType::Int32 => vec(any::<i32>(), n).prop_map(TensorData::Int32).boxed(),
        DataType::Int64 => vec(any::<i64>(), n).prop_map(TensorData::Int64).boxed(),
        DataType::Fp16 => vec(any::<u16>().prop_map(f16::from_bits), n)
            .prop_map(TensorData::Fp16)
            .boxed(),
        DataType::Fp32 => vec(floats32(), n).prop_map(TensorData::Fp32).boxed(),
        DataType::Fp64 => vec(floats64(), n).prop_map(TensorData::Fp64).boxed(),
        DataType::Bytes => vec(
            prop_oneof![
                any::<String>().prop_map(String::into_bytes),
                vec(any::<u8>(), 0..6)
            ],
            n,
        )
        .prop_map(TensorData::Bytes)
        .boxed(),
    }
}

fn tensor(json_safe: bool) -> impl Strategy<Value = Tensor> {
    let datatypes: Vec<DataType> = DataType::ALL
        .into_iter()
        .filter(|d| !(json_safe && *d == DataType::Fp16))
        .collect();
    (
        "[a-z][a-z0-9_]{0,6}",
        proptest::sample::select(datatypes),
        vec(0usize..4, 0..4),
    )
        .prop_flat_map(|(name, dt, shape)| {
            let n = shape.iter().product();
            (Just(name), Just(shape), data(dt, n))
        })
        .prop_map(move |(name, shape, mut data)| {
            if json_safe && let TensorData::Bytes(v) = &mut data {
                // JSON carries BYTES as text.
                for b in v.iter_mut() {
                    *b = String::from_utf8_lossy(b).into_owned().into_bytes();
                }
            }
            Tensor::new(name, shape, data).unwrap()
        })
}

fn unique(mut ts: Vec<Tensor>) -> Vec<Tensor> {
    let mut seen = std::collections::HashSet::new();
    ts.retain(|t| seen.insert(t.name.clone()));
    ts
}

fn params() -> impl Strategy<Value = Parameters> {
    let value = prop_oneof![
        any::<bool>().prop_map(ParamValue::Bool),
        any::<i64>().prop_map(ParamValue::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(ParamValue::Uint),
        any::<f64>()
            .prop_filter("finite, not integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(ParamValue::Float),
        "[ -~]{0,8}".prop_map(ParamValue::String),
    ];
    proptest::collection::btree_map("[a-z]{1,6}", value, 0..3)
}

fn request(json_safe: bool) -> impl Strategy<Value = InferRequest> {
    (
        proptest::option::of("[a-z0-9-]{1,8}"),
        params(),
        vec(tensor(json_safe), 0..4).prop_map(unique),
        vec("[a-z]{1,5}", 0..3),
    )
        .prop_map(|(id, parameters, inputs, outs)| InferRequest {
            id,
            parameters,
            inputs,
            outputs: outs
                .into_iter()
                .map(|name| RequestedOutput {
                    name,
                    parameters: Parameters::new(),
                })
                .collect(),
        })
}

fn same_data(a: &TensorData, b: &TensorData) -> bool {
    match (a, b) {
        (TensorData::Fp32(x), TensorData::Fp32(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()))
        }
        (TensorData::Fp64(x), TensorData::Fp64(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()))
        }
        (TensorData::Fp16(x), TensorData::Fp16(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => a == b,
    }
}

fn same_tensors(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.shape == y.shape
                && x.parameters == y.parameters
                && same_data(&x.data, &y.data)
        })
}

fn same_request(a: &InferRequest, b: &InferRequest) -> bool {
    a.id == b.id
        && a.parameters == b.parameters
        && a.outputs == b.outputs
        && same_tensors(&a.inputs, &b.inputs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn v2_json_request_round_trips(req in request(true)) {
        let enc = v2::encode_request(&req, false).unwrap();
        let back = v2::decode_request(&enc.body, enc.json_len).unwrap();
        prop_assert!(same_request(&req, &back), "{req:?}\n{back:?}");
    }

    #[test]
    fn v2_binary_request_round_trips(req in request(false)) {
        let enc = v2::encode_request(&req, true).unwrap();
        let back = v2::decode_request(&enc.body, enc.json_len).unwrap();
        prop_assert!(same_request(&req, &back), "{req:?}\n{back:?}");
    }

    #[test]
    fn v2_response_round_trips_json_or_binary(outputs in vec(tensor(false), 0..4).prop_map(unique), binary in any::<bool>()) {
        let resp = InferResponse { model_name: "m".into(), model_version: Some("2".into()), id: None, parameters: Parameters::new(), outputs };
        let mut req = InferRequest::default();
        if binary {
            req.parameters.insert("binary_data_output".into(), ParamValue::Bool(true));
        }
        match v2::encode_response(&resp, &OutputFormat::from_request(&req)) {
            Ok(enc) => {
                let back = v2::decode_response(&enc.body, enc.json_len).unwrap();
                prop_assert!(same_tensors(&resp.outputs, &back.outputs));
                prop_assert_eq!(back.model_version, resp.model_version);
            }
            // Only FP16 or non-UTF-8 BYTES may be refused, and only as JSON.
            Err(e) => prop_assert!(!binary && (e.to_string().contains("FP16") || e.to_string().contains("UTF-8")), "{e}"),
        }
    }

    #[test]
    fn grpc_request_round_trips_raw_and_typed(req in request(false), raw in any::<bool>()) {
        let msg = request_to_grpc("m", Some("3"), &req, raw).unwrap();
        let back = request_from_grpc(msg).unwrap();
        prop_assert_eq!(back.model_name.as_str(), "m");
        prop_assert_eq!(back.model_version.as_deref(), Some("3"));
        prop_assert!(same_request(&req, &back.request));
    }

    #[test]
    fn v2_json_to_grpc_and_back_is_lossless(req in request(true)) {
        let enc = v2::encode_request(&req, false).unwrap();
        let from_json = v2::decode_request(&enc.body, enc.json_len).unwrap();
        let via_grpc = request_from_grpc(request_to_grpc("m", None, &from_json, false).unwrap()).unwrap().request;
        let enc2 = v2::encode_request(&via_grpc, false).unwrap();
        prop_assert_eq!(enc.body, enc2.body);
    }

    #[test]
    fn grpc_response_round_trips(outputs in vec(tensor(false), 0..4).prop_map(unique), raw in any::<bool>()) {
        let resp = InferResponse { model_name: "m".into(), model_version: None, id: Some("7".into()), parameters: Parameters::new(), outputs };
        let back = response_from_grpc(response_to_grpc(&resp, raw).unwrap()).unwrap();
        prop_assert!(same_tensors(&resp.outputs, &back.outputs));
        prop_assert_eq!(back.id, resp.id);
    }

    /// V2 -> V1 -> V2 with the model's metadata gives the same tensor back,
    /// for any tensor with a batch dimension.
    #[test]
    fn v1_round_trips_with_metadata(t in tensor(true).prop_filter("batched", |t| !t.shape.is_empty() && t.shape[0] > 0)) {
        let meta = [TensorMetadata { name: t.name.clone(), datatype: t.datatype(), shape: vec![-1] }];
        let req = InferRequest { inputs: vec![t.clone()], ..Default::default() };
        let (body, form) = v1::request_to_v1(&req).unwrap();
        prop_assert_eq!(form, V1Form::Instances);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let (back, _) = v1::request_to_v2(&value, &meta).unwrap();
        // Inner empty dimensions leave no nesting to read a shape from.
        if t.shape.iter().all(|&d| d > 0) {
            prop_assert!(same_tensors(&req.inputs, &back.inputs), "{:?}\n{:?}", req.inputs, back.inputs);
        } else {
            prop_assert!(same_data(&t.data, &back.inputs[0].data));
        }
    }
}
