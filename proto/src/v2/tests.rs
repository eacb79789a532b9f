use super::*;
use crate::infer::{BINARY_DATA, BINARY_DATA_OUTPUT, OutputFormat, RequestedOutput};
use crate::parameters::ParamValue;
use crate::{DataType, InferRequest, InferResponse, Tensor, TensorData};

fn decode(json: &str) -> Result<InferRequest, String> {
    decode_request(json.as_bytes(), None).map_err(|e| e.to_string())
}

fn input(json_data: &str, datatype: &str, shape: &str) -> Result<TensorData, String> {
    let body = format!(
        r#"{{"inputs":[{{"name":"x","shape":{shape},"datatype":"{datatype}","data":{json_data}}}]}}"#
    );
    decode(&body).map(|mut r| r.inputs.remove(0).data)
}

#[test]
fn oip_example_request_decodes_and_its_bad_second_input_is_named() {
    // The request of the OIP text, whose BOOL input has 1 element for shape [3].
    let body = r#"{
      "id" : "42",
      "inputs" : [
        {"name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32", "data" : [ 1, 2, 3, 4 ]},
        {"name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL", "data" : [ true ]}
      ],
      "outputs" : [{"name" : "output0"}]
    }"#;
    assert_eq!(
        decode(body).unwrap_err(),
        "tensor 'input1': shape [3] needs 3 elements but 1 were given"
    );
    let fixed = body.replace("[ true ]", "[ true, false, true ]");
    let req = decode(&fixed).unwrap();
    assert_eq!(req.id.as_deref(), Some("42"));
    assert_eq!(req.inputs[0].data, TensorData::Uint32(vec![1, 2, 3, 4]));
    assert_eq!(req.inputs[0].shape, vec![2, 2]);
    assert_eq!(
        req.inputs[1].data,
        TensorData::Bool(vec![true, false, true])
    );
    assert_eq!(req.outputs[0].name, "output0");
}

#[test]
fn nested_and_flat_data_decode_alike() {
    let flat = input("[1, 2, 3, 4, 5, 6]", "INT32", "[2, 3]").unwrap();
    let nested = input("[[1, 2, 3], [4, 5, 6]]", "INT32", "[2, 3]").unwrap();
    assert_eq!(flat, nested);
    assert_eq!(flat, TensorData::Int32(vec![1, 2, 3, 4, 5, 6]));
}

#[test]
fn ragged_data_is_rejected() {
    for ragged in [
        "[[1, 2], [3]]",
        "[[1, 2], 3]",
        "[1, [2, 3]]",
        "[[], 1]",
        "[[[1]], [2]]",
    ] {
        let err = input(ragged, "INT32", "[3]").unwrap_err();
        assert!(
            err.starts_with("tensor 'x': ragged data"),
            "{ragged}: {err}"
        );
    }
}

#[test]
fn values_must_fit_the_datatype() {
    let cases = [
        ("[300]", "UINT8", "value 300 is out of range for UINT8"),
        ("[-1]", "UINT32", "value -1 is out of range for UINT32"),
        (
            "[1.5]",
            "INT64",
            "INT64 element must be an integer, got 1.5",
        ),
        ("[\"a\"]", "FP32", "FP32 element must be a number"),
        ("[1]", "BOOL", "BOOL element must be true or false, got 1"),
        ("[1]", "BYTES", "BYTES element must be a string, got 1"),
        ("[1e300]", "FP32", "out of range for FP32"),
        ("[null]", "FP64", "FP64 element must not be null"),
        ("[{\"a\": 1}]", "FP32", "not objects"),
        ("[1.0]", "FP16", "FP16 data cannot travel as JSON"),
    ];
    for (data, dt, want) in cases {
        let err = input(data, dt, "[1]").unwrap_err();
        assert!(err.starts_with("tensor 'x': "), "{err}");
        assert!(err.contains(want), "{data} as {dt}: {err}");
    }
}

#[test]
fn every_datatype_decodes_from_json() {
    let ok = |d: &str, dt: &str| input(d, dt, "[2]").unwrap();
    assert_eq!(
        ok("[true, false]", "BOOL"),
        TensorData::Bool(vec![true, false])
    );
    assert_eq!(ok("[0, 255]", "UINT8"), TensorData::Uint8(vec![0, 255]));
    assert_eq!(
        ok("[0, 65535]", "UINT16"),
        TensorData::Uint16(vec![0, 65535])
    );
    assert_eq!(
        ok("[0, 4294967295]", "UINT32"),
        TensorData::Uint32(vec![0, u32::MAX])
    );
    assert_eq!(
        ok("[0, 18446744073709551615]", "UINT64"),
        TensorData::Uint64(vec![0, u64::MAX])
    );
    assert_eq!(ok("[-128, 127]", "INT8"), TensorData::Int8(vec![-128, 127]));
    assert_eq!(
        ok("[-32768, 32767]", "INT16"),
        TensorData::Int16(vec![i16::MIN, i16::MAX])
    );
    assert_eq!(
        ok("[-1, 2147483647]", "INT32"),
        TensorData::Int32(vec![-1, i32::MAX])
    );
    assert_eq!(
        ok("[-9223372036854775808, 1]", "INT64"),
        TensorData::Int64(vec![i64::MIN, 1])
    );
    assert_eq!(ok("[1, 0.5]", "FP32"), TensorData::Fp32(vec![1.0, 0.5]));
    assert_eq!(ok("[1, 0.1]", "FP64"), TensorData::Fp64(vec![1.0, 0.1]));
    assert_eq!(
        ok("[\"héllo\", \"\"]", "BYTES"),
        TensorData::Bytes(vec!["héllo".into(), vec![]])
    );
}

#[test]
fn non_finite_floats_travel_as_strings_both_ways() {
    let data = input(r#"["NaN", "Infinity", "-Infinity", "-inf"]"#, "FP32", "[4]").unwrap();
    let TensorData::Fp32(v) = &data else {
        panic!("{data:?}")
    };
    assert!(v[0].is_nan());
    assert_eq!(
        &v[1..],
        &[f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY]
    );
    let resp = InferResponse {
        model_name: "m".into(),
        outputs: vec![
            Tensor::new(
                "y",
                vec![3],
                TensorData::Fp64(vec![f64::NAN, f64::INFINITY, 1.5]),
            )
            .unwrap(),
        ],
        ..Default::default()
    };
    let enc = encode_response(&resp, &OutputFormat::default()).unwrap();
    let text = String::from_utf8(enc.body).unwrap();
    assert!(text.contains(r#""data":["NaN","Infinity",1.5]"#), "{text}");
}

#[test]
fn malformed_bodies_get_clear_errors() {
    let err = decode("{not json").unwrap_err();
    assert!(err.starts_with("Unrecognized request format:"), "{err}");
    let err =
        decode(r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP8", "data": [1]}]}"#)
            .unwrap_err();
    assert!(
        err.starts_with("tensor 'x': unsupported datatype 'FP8'"),
        "{err}"
    );
    let err =
        decode(r#"{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}"#)
            .unwrap_err();
    assert!(err.contains("invalid value: integer `-1`"), "{err}");
    let err = decode(r#"{"id": "1"}"#).unwrap_err();
    assert!(err.contains("missing field `inputs`"), "{err}");
    let err =
        decode(r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}"#).unwrap_err();
    assert_eq!(
        err,
        "tensor 'x': has neither 'data' nor a binary_data_size parameter"
    );
    let dup = r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]},
                             {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#;
    assert_eq!(
        decode(dup).unwrap_err(),
        "input 'x' is given more than once"
    );
    // A huge shape with tiny data is a count error, not an allocation.
    let err = input("[1]", "FP32", "[4000000000000]").unwrap_err();
    assert!(err.contains("needs 4000000000000 elements"), "{err}");
}

/// A body as tritonclient's HTTP client writes it: JSON, then raw tensors.
fn binary_body(json: &str, blobs: &[&[u8]]) -> (Vec<u8>, usize) {
    let mut body = json.as_bytes().to_vec();
    for b in blobs {
        body.extend_from_slice(b);
    }
    (body, json.len())
}

#[test]
fn tensor_parameters_other_than_binary_data_size_are_kept() {
    // An escaped key arrives as an owned string, a plain one borrowed.
    let json = r#"{"inputs":[{"name":"a","shape":[1],"datatype":"INT32",
        "parameters":{"binary_data_size":4,"content_type":"str","w\u0069dth":3}}]}"#;
    let (body, n) = binary_body(json, &[&7i32.to_le_bytes()]);
    let req = decode_request(&body, Some(n)).unwrap();
    let p = &req.inputs[0].parameters;
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p["content_type"], ParamValue::String("str".into()));
    assert_eq!(p["width"], ParamValue::Int(3));
    assert_eq!(req.inputs[0].data, TensorData::Int32(vec![7]));
    let bad = r#"{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":"4"}}]}"#;
    let (body, n) = binary_body(bad, &[&7i32.to_le_bytes()]);
    let e = decode_request(&body, Some(n)).unwrap_err().to_string();
    assert!(
        e.contains("binary_data_size must be a non-negative integer"),
        "{e}"
    );
}

#[test]
fn binary_extension_request_decodes() {
    let json = r#"{"inputs":[
        {"name":"a","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}},
        {"name":"b","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}},
        {"name":"c","shape":[1],"datatype":"FP16","parameters":{"binary_data_size":2}},
        {"name":"d","shape":[1],"datatype":"INT64","data":[7]}],
        "outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#;
    let mut a = 1.5f32.to_le_bytes().to_vec();
    a.extend_from_slice(&(-2.0f32).to_le_bytes());
    let (body, n) = binary_body(json, &[&a, b"\x02\0\0\0hi\x01\0\0\0!", &[0x00, 0x3c]]);
    let req = decode_request(&body, Some(n)).unwrap();
    assert_eq!(req.inputs[0].data, TensorData::Fp32(vec![1.5, -2.0]));
    assert!(
        req.inputs[0].parameters.is_empty(),
        "binary_data_size is consumed"
    );
    assert_eq!(
        req.inputs[1].data,
        TensorData::Bytes(vec![b"hi".to_vec(), b"!".to_vec()])
    );
    assert_eq!(
        req.inputs[2].data,
        TensorData::Fp16(vec![half::f16::from_f32(1.0)])
    );
    assert_eq!(req.inputs[3].data, TensorData::Int64(vec![7]));
    assert!(OutputFormat::from_request(&req).is_binary("y"));
}

#[test]
fn binary_extension_errors_are_specific() {
    let json = r#"{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#;
    let err = |body: &[u8], n: Option<usize>| decode_request(body, n).unwrap_err().to_string();
    let (short, n) = binary_body(json, &[&[0u8; 4]]);
    assert!(
        err(&short, Some(n)).contains("binary_data_size 8 but only 4 bytes"),
        "{}",
        err(&short, Some(n))
    );
    let (long, n) = binary_body(json, &[&[0u8; 12]]);
    assert!(err(&long, Some(n)).contains("4 bytes of binary data follow the JSON"));
    assert!(err(json.as_bytes(), None).contains("no Inference-Header-Content-Length"));
    assert!(err(json.as_bytes(), Some(10_000)).contains("body has only"));
    let (wrong_count, n) = binary_body(&json.replace("[2]", "[3]"), &[&[0u8; 8]]);
    assert!(err(&wrong_count, Some(n)).contains("shape [3] needs 3 elements but 2"));
}

fn all_types_response() -> InferResponse {
    let t = |name: &str, shape: Vec<usize>, data| Tensor::new(name, shape, data).unwrap();
    InferResponse {
        model_name: "all-types".into(),
        model_version: Some("1".into()),
        id: Some("req-7".into()),
        parameters: [("sequence_id".to_string(), ParamValue::Int(3))].into(),
        outputs: vec![
            t("bool", vec![2], TensorData::Bool(vec![true, false])),
            t("u8", vec![1, 2], TensorData::Uint8(vec![0, 255])),
            t("u16", vec![1], TensorData::Uint16(vec![65535])),
            t("u32", vec![1], TensorData::Uint32(vec![4294967295])),
            t("u64", vec![1], TensorData::Uint64(vec![u64::MAX])),
            t("i8", vec![1], TensorData::Int8(vec![-128])),
            t("i16", vec![1], TensorData::Int16(vec![-32768])),
            t("i32", vec![1], TensorData::Int32(vec![-7])),
            t("i64", vec![1], TensorData::Int64(vec![i64::MIN])),
            t(
                "f32",
                vec![2, 2],
                TensorData::Fp32(vec![6.8, 0.1, -0.0, 1e-30]),
            ),
            t("f64", vec![1], TensorData::Fp64(vec![0.1])),
            t(
                "bytes",
                vec![2],
                TensorData::Bytes(vec![b"abc".to_vec(), "é".into()]),
            ),
        ],
    }
}

#[test]
fn response_json_wire_form() {
    let enc = encode_response(&all_types_response(), &OutputFormat::default()).unwrap();
    assert_eq!(enc.json_len, None);
    let text = String::from_utf8(enc.body).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn response_binary_wire_form() {
    let mut req = InferRequest::default();
    req.parameters
        .insert(BINARY_DATA_OUTPUT.into(), ParamValue::Bool(true));
    req.outputs.push(crate::RequestedOutput {
        name: "bytes".into(),
        parameters: [(BINARY_DATA.to_string(), ParamValue::Bool(false))].into(),
    });
    let mut resp = all_types_response();
    resp.outputs
        .retain(|t| ["f32", "bytes", "bool"].contains(&t.name.as_str()));
    let enc = encode_response(&resp, &OutputFormat::from_request(&req)).unwrap();
    let n = enc.json_len.expect("binary parts follow the JSON");
    let json = std::str::from_utf8(&enc.body[..n]).unwrap();
    insta::assert_snapshot!(json);
    let mut expected_blob = vec![1u8, 0];
    for f in [6.8f32, 0.1, -0.0, 1e-30] {
        expected_blob.extend_from_slice(&f.to_le_bytes());
    }
    assert_eq!(&enc.body[n..], &expected_blob[..]);
    // And it reads back as the same response.
    assert_eq!(decode_response(&enc.body, Some(n)).unwrap(), resp);
}

#[test]
fn tensors_json_cannot_carry_are_refused_with_a_hint() {
    let resp = InferResponse {
        model_name: "m".into(),
        outputs: vec![Tensor::new("h", vec![1], TensorData::Fp16(vec![half::f16::ONE])).unwrap()],
        ..Default::default()
    };
    let err = encode_response(&resp, &OutputFormat::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("FP16") && err.contains("binary_data"), "{err}");
    let resp = InferResponse {
        model_name: "m".into(),
        outputs: vec![
            Tensor::new("b", vec![1], TensorData::Bytes(vec![vec![0xff, 0xfe]])).unwrap(),
        ],
        ..Default::default()
    };
    let err = encode_response(&resp, &OutputFormat::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not valid UTF-8") && err.contains("binary_data"),
        "{err}"
    );
}

#[test]
fn request_encoding_round_trips_with_and_without_binary() {
    let mut req = InferRequest {
        id: Some("9".into()),
        ..Default::default()
    };
    req.inputs = all_types_response().outputs;
    req.inputs
        .push(Tensor::new("h", vec![1], TensorData::Fp16(vec![half::f16::ONE])).unwrap());
    for binary in [false, true] {
        let enc = encode_request(&req, binary).unwrap();
        assert!(
            enc.json_len.is_some(),
            "FP16 always forces the binary extension"
        );
        assert_eq!(decode_request(&enc.body, enc.json_len).unwrap(), req);
    }
    assert_eq!(DataType::Fp16.element_size(), Some(2));
}

#[test]
fn null_parameters_as_kserve_writes_them_are_empty() {
    let body = r#"{"model_name":"m","model_version":null,"id":"1","parameters":null,
        "outputs":[{"name":"y","shape":[1],"datatype":"INT64","parameters":null,"data":[1]}]}"#;
    let r = decode_response(body.as_bytes(), None).unwrap();
    assert!(r.parameters.is_empty() && r.outputs[0].parameters.is_empty());
    assert_eq!(r.model_version, None);
}

#[test]
fn the_hand_written_json_head_is_the_json_of_every_field() {
    // Names, ids and parameters that need escaping, optional members present
    // and absent, a JSON and a binary tensor: the head parses back to exactly
    // the document the fields describe.
    let mut t = Tensor::new("a\"b\\c\u{e9}", vec![2], TensorData::Fp32(vec![1.5, -2.0])).unwrap();
    t.parameters
        .insert("note\n".into(), ParamValue::String("x\"y".into()));
    let raw = Tensor::new("raw", vec![1], TensorData::Int64(vec![7])).unwrap();
    let mut resp = InferResponse {
        model_name: "m\"1".into(),
        model_version: Some("2".into()),
        id: Some("id\t9".into()),
        outputs: vec![t.clone(), raw.clone()],
        ..Default::default()
    };
    resp.parameters.insert("p".into(), ParamValue::Int(3));
    let mut req = InferRequest {
        inputs: vec![t.clone()],
        outputs: vec![RequestedOutput {
            name: "raw".into(),
            parameters: [(BINARY_DATA.to_string(), ParamValue::Bool(true))].into(),
        }],
        ..Default::default()
    };
    let format = OutputFormat::from_request(&req);
    let encoded = encode_response(&resp, &format).unwrap();
    let n = encoded.json_len.unwrap();
    let head: serde_json::Value = serde_json::from_slice(&encoded.body[..n]).unwrap();
    assert_eq!(
        head,
        serde_json::json!({
            "model_name": "m\"1", "model_version": "2", "id": "id\t9", "parameters": {"p": 3},
            "outputs": [
                {"name": "a\"b\\c\u{e9}", "datatype": "FP32", "shape": [2],
                 "parameters": {"note\n": "x\"y"}, "data": [1.5, -2.0]},
                {"name": "raw", "datatype": "INT64", "shape": [1],
                 "parameters": {"binary_data_size": 8}},
            ]
        })
    );
    assert_eq!(&encoded.body[n..], &7i64.to_le_bytes());

    // A request with nothing optional is still one object; with everything,
    // it decodes back to what was encoded.
    let bare = encode_request(&InferRequest::default(), false).unwrap();
    assert_eq!(bare.body, br#"{"inputs":[]}"#);
    req.id = Some("r\"1".into());
    req.parameters.insert("q".into(), ParamValue::Bool(false));
    let encoded = encode_request(&req, false).unwrap();
    let back = decode_request(&encoded.body, encoded.json_len).unwrap();
    assert_eq!(back.id, req.id);
    assert_eq!(back.parameters, req.parameters);
    assert_eq!(back.inputs, req.inputs);
    assert_eq!(back.outputs[0].name, "raw");
    assert_eq!(back.outputs[0].parameters, req.outputs[0].parameters);
}

#[test]
fn nesting_depth_has_one_limit_for_every_datatype() {
    let nest =
        |levels: usize, leaf: &str| format!("{}{leaf}{}", "[".repeat(levels), "]".repeat(levels));
    let max = crate::json::MAX_NESTING;
    for (datatype, leaf) in [
        ("FP32", "1.5"),
        ("INT64", "7"),
        ("BYTES", "\"a\""),
        ("BOOL", "true"),
        ("FP32", "\"NaN\""),
    ] {
        assert!(
            input(&nest(max, leaf), datatype, "[1]").is_ok(),
            "{datatype} {leaf} at depth {max}"
        );
        let err = input(&nest(max + 1, leaf), datatype, "[1]").unwrap_err();
        assert!(
            err.contains("nested deeper than 64"),
            "{datatype} {leaf}: {err}"
        );
    }
}

#[test]
fn empty_tensors_with_huge_dimensions_are_refused() {
    let err = input("[]", "FP32", "[1099511627776, 0]").unwrap_err();
    assert!(err.contains("holds no elements"), "{err}");
    assert!(input("[]", "FP32", "[0, 16]").is_ok());
}

proptest::proptest! {
    /// An FP32 element decodes to the same float whatever its neighbours:
    /// alone, or beside a "NaN" that the fast reader used to hand to the
    /// general one (whose numbers come through f64, rounding twice).
    #[test]
    fn fp32_elements_decode_alike_beside_any_neighbour(
        mantissa in 0u64..u64::MAX, exp in -45i32..39, digits in 1usize..30
    ) {
        let text = format!("{}e{exp}", &format!("{mantissa}0000000000000000000000000000")[..digits + 1]);
        let text = format!("{}.{}", &text[..1], &text[1..]);
        let alone = input(&format!("[{text}]"), "FP32", "[1]");
        let beside = input(&format!("[{text}, \"NaN\"]"), "FP32", "[2]");
        match (alone, beside) {
            (Ok(TensorData::Fp32(a)), Ok(TensorData::Fp32(b))) => {
                proptest::prop_assert_eq!(a[0].to_bits(), b[0].to_bits());
                proptest::prop_assert_eq!(a[0].to_bits(), text.parse::<f32>().unwrap().to_bits());
            }
            (Err(_), Err(_)) => {}
            other => proptest::prop_assert!(false, "{text}: {other:?}"),
        }
    }
}

#[test]
fn an_fp32_halfway_value_is_rounded_once_beside_a_nan() {
    // Read as f64 first, this lands exactly between two f32 values.
    let text = "1.00000005960464477539062500001";
    let want = text.parse::<f32>().unwrap();
    let Ok(TensorData::Fp32(v)) = input(&format!("[{text}, \"NaN\"]"), "FP32", "[2]") else {
        panic!("decodes")
    };
    assert_eq!(v[0].to_bits(), want.to_bits());
    assert!(v[1].is_nan());
}
