//! An entry for the differential fuzz target (fuzz/), not API: the fast
//! JSON number reader and the general reader on the same `data` text.
use serde_json::value::RawValue;

use crate::json::{FastNumber, JsonElement, flatten_text, parse_numbers};

/// What one reader made of a `data` text: values and implied dims, or an
/// error (the general reader's message; the fast reader declines with none).
pub type Read<T> = Result<(Vec<T>, Vec<usize>), String>;

fn both<T: FastNumber + JsonElement>(text: &str) -> Option<(Option<Read<T>>, Read<T>)> {
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let fast = parse_numbers::<T>(raw.get(), 64).map(|f| Ok((f.values, f.dims)));
    let general = flatten_text::<T>(raw.get(), 64).map(|f| (f.values, f.dims));
    Some((fast, general))
}

/// `(fast, general)` for FP32 data, `None` if `text` is not JSON; the fast
/// reader's `None` means it sent the text to the general one.
pub fn fp32(text: &str) -> Option<(Option<Read<f32>>, Read<f32>)> {
    both(text)
}

/// As [`fp32`], for INT64 data.
pub fn int64(text: &str) -> Option<(Option<Read<i64>>, Read<i64>)> {
    both(text)
}

/// `(fast, v1)` for a list as a V1 body's `instances` with an FP32 input:
/// the fast reader on the list's text, and the V1 reader on the body
/// (`V1Body::to_v2`, which reads JSON values and re-reads FP32 text where
/// narrowing an f64 could round twice). `None` if `text` is not JSON.
pub fn v1_fp32(text: &str) -> Option<(Option<Read<f32>>, Read<f32>)> {
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let fast = parse_numbers::<f32>(raw.get(), 64).map(|f| Ok((f.values, f.dims)));
    let body = format!(r#"{{"instances": {}}}"#, raw.get());
    let body = crate::v1::V1Body::parse(body.into_bytes().into()).ok()?;
    let input = crate::infer::TensorMetadata {
        name: "x".into(),
        datatype: crate::DataType::Fp32,
        shape: vec![-1],
    };
    let v1 = match body.to_v2(&[input]) {
        Ok((mut req, _)) => match req.inputs.pop().map(|t| (t.data, t.shape)) {
            Some((crate::TensorData::Fp32(values), shape)) => Ok((values, shape)),
            other => Err(format!("not one FP32 tensor: {other:?}")),
        },
        Err(e) => Err(e.to_string()),
    };
    Some((fast, v1))
}
