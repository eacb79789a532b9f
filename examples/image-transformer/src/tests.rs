use image::{DynamicImage, ImageFormat, Rgb};
use infergate_proto::{ErrorClass, InferResponse, Protocol, RequestedOutput};
use serde_json::json;

use super::*;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn ctx() -> RequestContext {
    RequestContext::new(Protocol::V1)
}

/// `img` encoded in `format`, in memory.
fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A PNG of `w` x `h` pixels, coloured by `colour(x, y)`.
fn png(w: u32, h: u32, colour: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb(colour(x, y)));
    encode(DynamicImage::ImageRgb8(img), ImageFormat::Png)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The normalised value of 0..255 `v` in channel `c`, computed as the
/// transformer does.
fn norm(c: usize, v: f32) -> f32 {
    (v / 255.0 - MEAN[c]) / STD[c]
}

async fn tensor(t: &ImageTransformer, payload: Payload) -> Tensor {
    let Payload::V2(mut req) = t.preprocess(payload, &ctx()).await.unwrap() else {
        panic!("preprocess answers V2 tensors")
    };
    assert_eq!(req.inputs.len(), 1);
    req.inputs.remove(0)
}

fn floats(t: &Tensor) -> &[f32] {
    let TensorData::Fp32(v) = &t.data else {
        panic!("{:?} is not FP32", t.datatype())
    };
    v
}

#[tokio::test]
async fn pixels_are_normalised_channel_major() {
    // Row 0: red, green; row 1: blue, (10, 20, 30). Size 2: no resampling.
    let img = png(2, 2, |x, y| {
        [[RED, GREEN], [BLUE, [10, 20, 30]]][y as usize][x as usize]
    });
    let t = ImageTransformer::new(2, "pixel_values");
    let body = json!({"instances": [{"image": {"b64": b64(&img)}}]});
    let out = tensor(&t, Payload::v1(body)).await;
    assert_eq!(out.name, "pixel_values");
    assert_eq!(out.shape, vec![1, 3, 2, 2]);
    // Index = channel * 4 + y * 2 + x.
    let want: Vec<f32> = [
        [255., 0., 0., 10.],
        [0., 255., 0., 20.],
        [0., 0., 255., 30.],
    ]
    .iter()
    .enumerate()
    .flat_map(|(c, plane)| plane.iter().map(move |&v| norm(c, v)))
    .collect();
    assert_eq!(floats(&out), want.as_slice());
    assert!((floats(&out)[0] - (1.0 - 0.485) / 0.229).abs() < 1e-6);
}

#[tokio::test]
async fn images_are_resized_bilinearly() {
    // Left column red, right column blue, scaled 2x2 -> 4x4.
    let img = png(2, 2, |x, _| if x == 0 { RED } else { BLUE });
    let t = ImageTransformer::new(4, "input");
    let out = tensor(&t, Payload::v1(json!({"instances": [b64(&img)]}))).await;
    assert_eq!(out.shape, vec![1, 3, 4, 4]);
    let v = floats(&out);
    let at = |c: usize, y: usize, x: usize| v[c * 16 + y * 4 + x];
    for y in 0..4 {
        // The outer columns sample only their own source pixel.
        assert_eq!(
            [at(0, y, 0), at(1, y, 0), at(2, y, 0)],
            [norm(0, 255.), norm(1, 0.), norm(2, 0.)]
        );
        assert_eq!(
            [at(0, y, 3), at(1, y, 3), at(2, y, 3)],
            [norm(0, 0.), norm(1, 0.), norm(2, 255.)]
        );
        // The inner ones blend 3:1 (the nearer pixel weighs 0.75).
        let step = 1.0 / 255.0 / STD[0];
        assert!(
            (at(0, y, 1) - norm(0, 0.75 * 255.)).abs() <= step,
            "{}",
            at(0, y, 1)
        );
        assert!(
            (at(0, y, 2) - norm(0, 0.25 * 255.)).abs() <= step,
            "{}",
            at(0, y, 2)
        );
    }
}

#[tokio::test]
async fn every_instance_form_and_jpeg_and_grey() {
    let red = png(3, 5, |_, _| RED);
    let grey = encode(
        DynamicImage::ImageLuma8(image::GrayImage::from_pixel(2, 2, image::Luma([128]))),
        ImageFormat::Png,
    );
    let orange = RgbImage::from_pixel(16, 16, Rgb([200, 100, 50]));
    let jpeg = encode(DynamicImage::ImageRgb8(orange), ImageFormat::Jpeg);
    let unpadded = b64(&red).trim_end_matches('=').to_string();
    let body = json!({"instances": [
        {"image": {"b64": b64(&red)}},
        {"b64": b64(&grey)},
        {"image_bytes": {"b64": b64(&jpeg)}, "key": "3"},
        unpadded,
    ]});
    let t = ImageTransformer::new(4, "input");
    let out = tensor(&t, Payload::v1(body)).await;
    assert_eq!(out.shape, vec![4, 3, 4, 4]);
    let v = floats(&out);
    let image = |n: usize| &v[n * 48..(n + 1) * 48];
    assert_eq!(image(0), image(3));
    for c in 0..3 {
        assert!(
            image(1)[c * 16..(c + 1) * 16]
                .iter()
                .all(|&x| x == norm(c, 128.))
        );
        // JPEG is lossy: within a few levels of the colour.
        let want = norm(c, [200., 100., 50.][c]);
        let near = |x: &f32| (x - want).abs() < 4.0 / 255.0 / STD[c];
        assert!(
            image(2)[c * 16..(c + 1) * 16].iter().all(near),
            "{:?}",
            image(2)
        );
    }
}

#[tokio::test]
async fn v2_bytes_inputs_raw_or_base64_keep_the_request() {
    let img = png(2, 2, |_, _| GREEN);
    let req = InferRequest {
        id: Some("req-1".into()),
        inputs: vec![
            Tensor::new(
                "image",
                vec![2],
                TensorData::Bytes(vec![img.clone(), b64(&img).into()]),
            )
            .unwrap(),
        ],
        outputs: vec![RequestedOutput {
            name: "scores".into(),
            parameters: Default::default(),
        }],
        ..Default::default()
    };
    let t = ImageTransformer::new(2, "input");
    let Payload::V2(out) = t.preprocess(Payload::V2(req), &ctx()).await.unwrap() else {
        panic!()
    };
    assert_eq!(out.id.as_deref(), Some("req-1"));
    assert_eq!(out.outputs[0].name, "scores");
    assert_eq!(out.inputs.len(), 1);
    assert_eq!(out.inputs[0].shape, vec![2, 3, 2, 2]);
    let v = floats(&out.inputs[0]);
    assert_eq!(v[..12], v[12..]);
    assert_eq!(v[4], norm(1, 255.));
}

#[tokio::test]
async fn bad_requests_name_the_instance_and_the_problem() {
    let t = ImageTransformer::new(2, "input");
    let img = b64(&png(1, 1, |_, _| RED));
    let cases = [
        (
            json!({"instances": [img, "not base64!"]}),
            "instance 1: not valid base64",
        ),
        (
            json!({"instances": [{"b64": b64(b"hello")}]}),
            "instance 0: not a PNG or JPEG image",
        ),
        (
            json!({"instances": [{"picture": img}]}),
            r#"instance 0: expected {"image": {"b64": ...}}"#,
        ),
        (json!({"instances": [{"image": 7}]}), "instance 0: expected"),
        (json!({"inputs": [1, 2]}), r#"expected {"instances": "#),
    ];
    for (body, want) in cases {
        let err = t
            .preprocess(Payload::v1(body.clone()), &ctx())
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with(want), "{body}: {err}");
        assert_eq!(err.class(), ErrorClass::InvalidInput);
    }
    let not_bytes = InferRequest {
        inputs: vec![Tensor::new("x", vec![1], TensorData::Fp32(vec![1.0])).unwrap()],
        ..Default::default()
    };
    let err = t
        .preprocess(Payload::V2(not_bytes), &ctx())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected a BYTES input holding encoded images (inputs: 'x' FP32)"
    );
    let binary = InferRequest {
        inputs: vec![Tensor::new("i", vec![1], TensorData::Bytes(vec![vec![0xff, 0x00]])).unwrap()],
        ..Default::default()
    };
    let err = t.preprocess(Payload::V2(binary), &ctx()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "instance 0: neither an image nor base64 text"
    );
}

#[tokio::test]
async fn postprocess_adds_the_top_class_of_score_matrices() {
    let t = ImageTransformer::new(2, "input");
    let scores = Tensor::new(
        "scores",
        vec![2, 3],
        TensorData::Fp32(vec![0.1, 0.7, 0.2, 5.0, -1.0, 5.0]),
    )
    .unwrap();
    let stale = Tensor::new(CLASS_OUTPUT, vec![1], TensorData::Int64(vec![9])).unwrap();
    let answer = InferResponse {
        outputs: vec![stale, scores.clone()],
        ..Default::default()
    };
    let Reply::V2(out) = t.postprocess(Reply::V2(answer), &ctx()).await.unwrap() else {
        panic!()
    };
    assert_eq!(out.outputs.len(), 2);
    assert_eq!(out.outputs[0], scores);
    assert_eq!(out.outputs[1].name, CLASS_OUTPUT);
    assert_eq!(out.outputs[1].shape, vec![2]);
    assert_eq!(
        out.outputs[1].data,
        TensorData::Int64(vec![1, 0]),
        "ties keep the first"
    );

    let fp64 = Tensor::new("logits", vec![1, 2], TensorData::Fp64(vec![f64::NAN, -3.0])).unwrap();
    let answer = InferResponse {
        outputs: vec![fp64],
        ..Default::default()
    };
    let Reply::V2(out) = t.postprocess(Reply::V2(answer), &ctx()).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        out.outputs[1].data,
        TensorData::Int64(vec![1]),
        "NaN is never the top"
    );

    // No [N, C>=2] float output, or a V1 answer: passed through.
    for outputs in [
        vec![Tensor::new("p", vec![2, 1], TensorData::Fp32(vec![0.3, 0.9])).unwrap()],
        vec![Tensor::new("t", vec![1, 3, 1, 1], TensorData::Fp32(vec![0.0; 3])).unwrap()],
        vec![Tensor::new("n", vec![1, 2], TensorData::Int32(vec![1, 2])).unwrap()],
    ] {
        let answer = Reply::V2(InferResponse {
            outputs,
            ..Default::default()
        });
        assert_eq!(t.postprocess(answer.clone(), &ctx()).await.unwrap(), answer);
    }
    let v1 = Reply::V1(json!({"predictions": [[0.1, 0.9]]}));
    assert_eq!(t.postprocess(v1.clone(), &ctx()).await.unwrap(), v1);
}

#[test]
fn settings_come_from_the_environment() {
    let t = ImageTransformer::from_lookup(|_| None).unwrap();
    assert_eq!((t.size, t.input_name.as_str()), (224, "input"));
    let t = ImageTransformer::from_lookup(|k| {
        Some(
            if k == "IMAGE_SIZE" {
                " 32 "
            } else {
                "pixel_values"
            }
            .into(),
        )
    })
    .unwrap();
    assert_eq!((t.size, t.input_name.as_str()), (32, "pixel_values"));
    for bad in ["0", "-1", "big", "5000"] {
        let err = ImageTransformer::from_lookup(|k| (k == "IMAGE_SIZE").then(|| bad.into()));
        let err = err.unwrap_err().to_string();
        assert!(
            err.contains("IMAGE_SIZE") && err.contains("1 to 4096"),
            "{err}"
        );
    }
}
