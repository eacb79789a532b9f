//! An entry for the differential fuzz target (fuzz/), not API: the fast
//! JSON number reader and the general reader on the same `data` text.
use serde_json::value::RawValue;

use crate::json::{FastNumber, JsonElement, flatten, parse_numbers};

/// What one reader made of a `data` text: values and implied dims, or an
/// error (the general reader's message; the fast reader declines with none).
pub type Read<T> = Result<(Vec<T>, Vec<usize>), String>;

fn both<T: FastNumber + JsonElement>(text: &str) -> Option<(Option<Read<T>>, Read<T>)> {
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let fast = parse_numbers::<T>(raw.get(), 64).map(|f| Ok((f.values, f.dims)));
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let general = flatten::<T, _>(&mut de, 64).map(|f| (f.values, f.dims));
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
