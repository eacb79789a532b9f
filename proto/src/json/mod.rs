//! JSON tensor data shared by the V2 and V1 codecs: element rules, the
//! flattening reader and the nested writer.
pub(crate) mod element;
pub(crate) mod fast;
pub(crate) mod flatten;
pub(crate) mod nested;

pub(crate) use element::JsonElement;
pub(crate) use fast::{FastNumber, parse_numbers};
pub(crate) use flatten::flatten;
pub(crate) use nested::{JsonElements, NestedJson};
