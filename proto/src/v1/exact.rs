//! Re-reads a numeric tensor of a V1 body from the body's text, for the
//! rare values whose f64 does not say what the text said: an FP32 value
//! exactly between two FP32 values (narrowing it would round twice), or an
//! integer's -0.0 (the JSON integer `-0`, or `-0.0` / `-1e-400`, which are
//! not integers). Slow and allocating; taken only for such values.
use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::json::{FastNumber, flatten::Flattened, parse_numbers};

/// Where one tensor's values sit in a V1 body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin<'a> {
    /// `instances`, `inputs`, `predictions` or `outputs`.
    pub field: &'a str,
    /// The key, when the tensor is one of several named ones.
    pub key: Option<&'a str>,
    /// Rows (`instances`): the key is looked up in each row and the rows
    /// are stacked; columns (`inputs`): the key names the tensor.
    pub rows: bool,
}

type RawMap<'a> = HashMap<String, &'a RawValue>;

/// The tensor's values read straight from `text`, or `None` if they cannot
/// be found there as plain numbers in regular lists.
pub(super) fn reread<T: FastNumber>(text: &str, at: Origin<'_>) -> Option<Flattened<T>> {
    let body: RawMap = serde_json::from_str(text).ok()?;
    let field = body.get(at.field)?.get();
    match (at.key, at.rows) {
        (None, _) => parse_numbers(field, 0),
        (Some(key), false) => {
            let cols: RawMap = serde_json::from_str(field).ok()?;
            parse_numbers(cols.get(key)?.get(), 0)
        }
        (Some(key), true) => {
            let rows: Vec<RawMap> = serde_json::from_str(field).ok()?;
            let mut values = Vec::new();
            let mut row_dims: Option<Vec<usize>> = None;
            for row in &rows {
                let f = parse_numbers::<T>(row.get(key)?.get(), 0)?;
                match &row_dims {
                    Some(d) if *d != f.dims => return None,
                    Some(_) => {}
                    None => row_dims = Some(f.dims),
                }
                values.extend(f.values);
            }
            let mut dims = vec![rows.len()];
            dims.extend(row_dims.unwrap_or_default());
            Some(Flattened {
                values,
                dims,
                needs_text: false,
            })
        }
    }
}
