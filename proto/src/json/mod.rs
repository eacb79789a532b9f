//! JSON tensor data shared by the V2 and V1 codecs: element rules, the
//! flattening reader and the nested writer.
pub(crate) mod element;

/// The deepest nesting of lists tensor data may have, whatever its
/// datatype and whichever reader takes it (a real tensor has a handful of
/// dimensions; serde_json itself stops at 128, counted from the body's root).
pub const MAX_NESTING: usize = 64;

fn too_deep() -> String {
    format!("data is nested deeper than {MAX_NESTING} lists")
}
pub(crate) mod fast;
pub(crate) mod flatten;
pub(crate) mod nested;

pub(crate) use element::JsonElement;
pub(crate) use fast::{FastNumber, parse_numbers};
pub(crate) use flatten::{flatten, flatten_text, settle};
pub(crate) use nested::{JsonElements, NestedJson};
