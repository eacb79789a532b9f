//! End to end: `infergate --builtin_models echo` as the predictor, the
//! `image-transformer` binary in front of it, real HTTP requests. The echo
//! model returns the tensor the transformer built, so the answer shows it.
//!
//! Needs the `infergate` binary in the same target directory: run
//! `cargo build -p infergate-gateway --bin infergate` (or `cargo build --bins`)
//! first.
use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{Method, StatusCode};
use image::{ImageFormat, Rgb, RgbImage};
use infergate_example_image_transformer::ImageTransformer;
use infergate_proto::{Payload, Protocol, RequestContext, TensorData};
use infergate_tests::{Http, Server};
use infergate_transformer::Transformer;
use serde_json::{Value, json};

const SIZE: usize = 8;

async fn send(
    s: &Server,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let r = Http::default()
        .send(method, &s.url(path), headers, body)
        .await;
    (r.status, r.json())
}

async fn post_json(s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    let r = Http::default().post_json(&s.url(path), &body).await;
    (r.status, r.json())
}

/// Numbers of a (nested) JSON array, flattened.
fn flatten(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.as_f64().expect("a number") as f32),
    }
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-6, "element {i}: {g} != {w}");
    }
}

/// What the transformer makes of `images`, computed in process.
async fn expected(images: &[&[u8]]) -> Vec<f32> {
    let instances: Vec<Value> = images
        .iter()
        .map(|i| json!({"b64": STANDARD.encode(i)}))
        .collect();
    let t = ImageTransformer::new(SIZE as u32, "input");
    let payload = Payload::v1(json!({ "instances": instances }));
    let Ok(Payload::V2(req)) = t
        .preprocess(payload, &RequestContext::new(Protocol::V1))
        .await
    else {
        panic!("preprocess failed")
    };
    let TensorData::Fp32(v) = &req.inputs[0].data else {
        panic!("not FP32")
    };
    v.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn images_become_nchw_tensors_through_the_binary() {
    let predictor = Server::infergate(&["--builtin_models", "echo", "--model_name", "echo"]);
    let upstream = predictor.http.to_string();
    let transformer = Server::start(
        &PathBuf::from(env!("CARGO_BIN_EXE_image-transformer")),
        &[
            "--model_name",
            "echo",
            "--predictor_host",
            &upstream,
            "--predictor_protocol",
            "v2",
        ],
        &[("IMAGE_SIZE", "8")],
    );
    let addr = &transformer;

    // Left half red, right half blue; 2x2 scaled up to 8x8.
    let img = RgbImage::from_fn(2, 2, |x, _| {
        Rgb(if x == 0 { [255, 0, 0] } else { [0, 0, 255] })
    });
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, ImageFormat::Png).unwrap();
    let png = png.into_inner();
    let one = expected(&[&png]).await;

    // V1: predictions nested [1][3][SIZE][SIZE].
    let body = json!({"instances": [{"image": {"b64": STANDARD.encode(&png)}}]});
    let (status, answer) = post_json(addr, "/v1/models/echo:predict", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let p = &answer["predictions"];
    assert_eq!(
        [p.as_array().map(Vec::len), p[0].as_array().map(Vec::len)],
        [Some(1), Some(3)]
    );
    assert_eq!(
        [
            p[0][0].as_array().map(Vec::len),
            p[0][0][0].as_array().map(Vec::len)
        ],
        [Some(SIZE), Some(SIZE)]
    );
    let red = (1.0 - 0.485) / 0.229;
    let blue = (1.0 - 0.406) / 0.225;
    assert!(
        (p[0][0][0][0].as_f64().unwrap() - red).abs() < 1e-5,
        "R at top left: {}",
        p[0][0][0][0]
    );
    assert!(
        (p[0][2][0][SIZE - 1].as_f64().unwrap() - blue).abs() < 1e-5,
        "B at top right"
    );
    let mut got = Vec::new();
    flatten(p, &mut got);
    assert_close(&got, &one);

    // V2 JSON: a BYTES input, as {"b64": ...} (raw bytes) and as base64 text.
    let b64 = STANDARD.encode(&png);
    let body = json!({"id": "r2", "inputs": [{"name": "image", "shape": [2], "datatype": "BYTES", "data": [{"b64": b64}, b64]}]});
    let (status, answer) = post_json(addr, "/v2/models/echo/infer", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let out = &answer["outputs"][0];
    assert_eq!(
        (&out["name"], &out["datatype"], &out["shape"]),
        (&json!("input"), &json!("FP32"), &json!([2, 3, SIZE, SIZE]))
    );
    let mut got = Vec::new();
    flatten(&out["data"], &mut got);
    assert_close(&got, &[one.clone(), one.clone()].concat());

    // V2 binary tensor extension: the PNG's bytes as they are.
    let header = json!({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": png.len() + 4}}]}).to_string();
    let len = header.len().to_string();
    let mut body = header.into_bytes();
    body.extend_from_slice(&(png.len() as u32).to_le_bytes());
    body.extend_from_slice(&png);
    let headers = [
        ("content-type", "application/octet-stream"),
        ("inference-header-content-length", len.as_str()),
    ];
    let (status, answer) = send(addr, Method::POST, "/v2/models/echo/infer", &headers, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut got = Vec::new();
    flatten(&answer["outputs"][0]["data"], &mut got);
    assert_close(&got, &one);

    // Bad base64: a KServe 400 naming the instance.
    let body = json!({"instances": [{"image": {"b64": b64}}, {"image": {"b64": "%%%"}}]});
    let (status, answer) = post_json(addr, "/v1/models/echo:predict", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = answer["error"].as_str().unwrap_or_default();
    assert!(msg.starts_with("instance 1: not valid base64"), "{answer}");

    // Clients are told to send images.
    let (status, meta) = send(addr, Method::GET, "/v2/models/echo", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(
        meta["inputs"],
        json!([{"name": "image", "datatype": "BYTES", "shape": [-1]}])
    );
}

#[test]
fn a_bad_setting_stops_startup() {
    let out = Command::new(env!("CARGO_BIN_EXE_image-transformer"))
        .args(["--model_name", "m", "--predictor_host", "127.0.0.1:1"])
        .env("IMAGE_SIZE", "0")
        .output()
        .expect("run image-transformer");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("IMAGE_SIZE=\"0\""), "{stderr}");
}
