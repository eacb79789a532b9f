//! An example custom transformer: encoded images in, one normalised FP32 NCHW
//! tensor out, as torchvision-style image classifiers (ResNet, MobileNet, ...)
//! expect. It is the Rust counterpart of a KServe Python transformer that
//! overrides `Model.preprocess` / `Model.postprocess`; see README.md.
//!
//! Settings (environment, read once at startup by [`ImageTransformer::from_env`]):
//! * `IMAGE_SIZE`: side of the square the images are resized to (default 224).
//! * `IMAGE_INPUT_NAME`: name of the tensor sent to the predictor (default "input").
use std::io::Cursor;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use image::imageops::FilterType;
use image::{ImageReader, Limits, RgbImage};
use infergate_proto::{
    DataType, InferRequest, ModelMetadata, Payload, Reply, RequestContext, Tensor, TensorData,
    TensorMetadata,
};
use infergate_transformer::{TransformError, Transformer};
use serde_json::Value;

pub const DEFAULT_SIZE: u32 = 224;
pub const DEFAULT_INPUT_NAME: &str = "input";
/// ImageNet statistics of 0..1 RGB pixel values (torchvision's `Normalize`).
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Largest accepted IMAGE_SIZE; the tensor holds 3 * size^2 floats per image.
const MAX_SIZE: u32 = 4096;
/// Largest accepted side of an incoming image, so that a small, highly
/// compressed upload cannot make the decoder allocate gigabytes.
const MAX_SIDE: u32 = 8192;
/// Name of the class output that postprocess adds.
pub const CLASS_OUTPUT: &str = "class";

/// Standard base64 that also takes unpadded text, as browsers and some
/// clients send it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone)]
pub struct ImageTransformer {
    size: u32,
    input_name: String,
}

impl ImageTransformer {
    /// Resizes to `size` x `size` and names the tensor `input_name`.
    pub fn new(size: u32, input_name: impl Into<String>) -> Self {
        assert!((1..=MAX_SIZE).contains(&size), "image size {size}");
        ImageTransformer {
            size,
            input_name: input_name.into(),
        }
    }

    /// Settings from `IMAGE_SIZE` and `IMAGE_INPUT_NAME`.
    pub fn from_env() -> Result<Self, TransformError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Settings from any key lookup (the environment in [`Self::from_env`]).
    /// A bad value is an error, not a silent default: a model fed the wrong
    /// size fails in confusing ways.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, TransformError> {
        let size = match get("IMAGE_SIZE") {
            None => DEFAULT_SIZE,
            Some(s) => s
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SIZE).contains(n))
                .ok_or_else(|| {
                    TransformError::Config(format!(
                        "IMAGE_SIZE={s:?}: expected a whole number from 1 to {MAX_SIZE}"
                    ))
                })?,
        };
        let name = get("IMAGE_INPUT_NAME").filter(|s| !s.trim().is_empty());
        Ok(Self::new(
            size,
            name.unwrap_or_else(|| DEFAULT_INPUT_NAME.into()),
        ))
    }

    /// The request as one `[N, 3, size, size]` FP32 tensor. CPU-bound: runs
    /// on a blocking thread (see `preprocess`).
    fn to_tensor(&self, images: Vec<Vec<u8>>) -> Result<Tensor, TransformError> {
        let side = self.size as usize;
        let mut data = Vec::with_capacity(images.len() * 3 * side * side);
        for (i, bytes) in images.iter().enumerate() {
            let rgb = decode(bytes)
                .map_err(|e| TransformError::InvalidInput(format!("instance {i}: {e}")))?;
            self.push_chw(&rgb, &mut data);
        }
        let shape = vec![images.len(), 3, side, side];
        Ok(Tensor::new(
            &self.input_name,
            shape,
            TensorData::Fp32(data),
        )?)
    }

    /// Appends one resized, normalised image in channel-major (CHW) order:
    /// all red values, then all green, then all blue.
    fn push_chw(&self, rgb: &RgbImage, out: &mut Vec<f32>) {
        // Triangle is bilinear; `resize` copies when the size already fits.
        let img = image::imageops::resize(rgb, self.size, self.size, FilterType::Triangle);
        let plane = img.as_raw().len() / 3;
        let start = out.len();
        out.resize(start + 3 * plane, 0.0);
        for (p, px) in img.pixels().enumerate() {
            for c in 0..3 {
                out[start + c * plane + p] = (f32::from(px[c]) / 255.0 - MEAN[c]) / STD[c];
            }
        }
    }
}

/// Decodes a PNG or JPEG into RGB (grey and alpha images are converted).
fn decode(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image: {e}"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("not a PNG or JPEG image ({e})"))?;
    Ok(img.to_rgb8())
}

fn base64_decode(i: usize, text: &str) -> Result<Vec<u8>, TransformError> {
    BASE64
        .decode(text.trim())
        .map_err(|e| TransformError::InvalidInput(format!("instance {i}: not valid base64 ({e})")))
}

/// The encoded images of a V1 request: `{"instances": [...]}` whose items are
/// `{"image": {"b64": ...}}` (also `image_bytes`, TensorFlow's convention),
/// `{"b64": ...}` or a bare base64 string.
fn v1_images(body: &Value) -> Result<Vec<Vec<u8>>, TransformError> {
    let instances = body
        .get("instances")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            TransformError::InvalidInput(
                r#"expected {"instances": [{"image": {"b64": "<base64 PNG or JPEG>"}}, ...]}"#
                    .into(),
            )
        })?;
    let b64 = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("b64").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    instances
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let text = match inst {
                Value::Object(o) if !o.contains_key("b64") => o
                    .get("image")
                    .or_else(|| o.get("image_bytes"))
                    .and_then(b64),
                other => b64(other),
            }
            .ok_or_else(|| {
                TransformError::InvalidInput(format!(
                    r#"instance {i}: expected {{"image": {{"b64": ...}}}}, {{"b64": ...}} or a base64 string"#
                ))
            })?;
            base64_decode(i, &text)
        })
        .collect()
}

/// The encoded images of a V2 request: the elements of its first BYTES input,
/// raw (binary extension, gRPC, `{"b64": ...}` JSON) or base64 text.
fn v2_images(req: &InferRequest) -> Result<Vec<Vec<u8>>, TransformError> {
    let Some(TensorData::Bytes(elements)) = req
        .inputs
        .iter()
        .map(|t| &t.data)
        .find(|d| d.datatype() == DataType::Bytes)
    else {
        let inputs: Vec<String> = req
            .inputs
            .iter()
            .map(|t| format!("'{}' {}", t.name, t.datatype()))
            .collect();
        return Err(TransformError::InvalidInput(format!(
            "expected a BYTES input holding encoded images (inputs: {})",
            inputs.join(", ")
        )));
    };
    elements
        .iter()
        .enumerate()
        .map(|(i, e)| match image::guess_format(e) {
            Ok(_) => Ok(e.clone()),
            Err(_) => match std::str::from_utf8(e) {
                Ok(text) => base64_decode(i, text),
                Err(_) => Err(TransformError::InvalidInput(format!(
                    "instance {i}: neither an image nor base64 text"
                ))),
            },
        })
        .collect()
}

/// Index of the largest value of each row of an `[N, C]` score matrix.
fn top1(scores: &[f64], classes: usize) -> Vec<i64> {
    scores
        .chunks(classes)
        .map(|row| {
            // NaN never compares greater, so it is never chosen; ties keep the first.
            let mut best = (0, f64::NEG_INFINITY);
            for (c, &x) in row.iter().enumerate() {
                if x > best.1 {
                    best = (c, x);
                }
            }
            best.0 as i64
        })
        .collect()
}

#[async_trait]
impl Transformer for ImageTransformer {
    async fn preprocess(
        &self,
        payload: Payload,
        _ctx: &RequestContext,
    ) -> Result<Payload, TransformError> {
        let (images, template) = match payload {
            Payload::V1(body) => (v1_images(&body)?, InferRequest::default()),
            // Keep the id, parameters and requested outputs of a V2 request.
            Payload::V2(req) => (v2_images(&req)?, req),
        };
        // Decoding and resizing take milliseconds of CPU: keep them off the
        // async workers that serve other requests.
        let this = self.clone();
        let tensor = tokio::task::spawn_blocking(move || this.to_tensor(images))
            .await
            // Only a panic in the decoder gets here; BadAnswer answers 500.
            .map_err(|e| TransformError::BadAnswer(format!("image preprocessing failed: {e}")))??;
        Ok(Payload::V2(InferRequest {
            inputs: vec![tensor],
            ..template
        }))
    }

    async fn postprocess(
        &self,
        reply: Reply,
        _ctx: &RequestContext,
    ) -> Result<Reply, TransformError> {
        // A V1 predictor's answer is passed through as it came.
        let Reply::V2(mut resp) = reply else {
            return Ok(reply);
        };
        let scores = resp.outputs.iter().find_map(|t| {
            // One column is a single score, not a choice between classes.
            let &[rows, classes] = t.shape.as_slice() else {
                return None;
            };
            if classes < 2 || t.name == CLASS_OUTPUT {
                return None;
            }
            let values: Vec<f64> = match &t.data {
                TensorData::Fp32(v) => v.iter().map(|&x| f64::from(x)).collect(),
                TensorData::Fp64(v) => v.clone(),
                _ => return None,
            };
            Some((rows, top1(&values, classes)))
        });
        if let Some((rows, classes)) = scores {
            resp.outputs.retain(|t| t.name != CLASS_OUTPUT);
            resp.outputs.push(Tensor::new(
                CLASS_OUTPUT,
                vec![rows],
                TensorData::Int64(classes),
            )?);
        }
        Ok(Reply::V2(resp))
    }

    /// Clients send encoded images, whatever the predictor's input is.
    fn metadata(&self, predictor: ModelMetadata) -> ModelMetadata {
        ModelMetadata {
            inputs: vec![TensorMetadata {
                name: "image".into(),
                datatype: DataType::Bytes,
                shape: vec![-1],
            }],
            ..predictor
        }
    }
}

#[cfg(test)]
mod tests;
