//! Reads JSON tensor data, nested or flat, straight into a typed vector in
//! row-major order, rejecting ragged nesting and wrong element types. Works on
//! raw JSON text (V2 `data`) and on parsed values (V1 instances) alike.
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::element::JsonElement;

struct State<T> {
    out: Vec<T>,
    /// Length seen for lists at each depth (`None` until one is seen).
    dims: Vec<Option<usize>>,
    leaf_depth: Option<usize>,
    error: Option<String>,
    needs_text: bool,
}

impl<T> State<T> {
    fn fail<E: de::Error>(&mut self, msg: String) -> E {
        let e = E::custom(&msg);
        self.error.get_or_insert(msg);
        e
    }
}

struct Seed<'s, T> {
    state: &'s mut State<T>,
    depth: usize,
}

impl<'de, T: JsonElement> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<T: JsonElement> Seed<'_, T> {
    fn leaf<E: de::Error>(self, v: Result<T, String>) -> Result<(), E> {
        let st = self.state;
        if st.dims.get(self.depth).is_some_and(Option::is_some) {
            return Err(st.fail("ragged data: a value stands where a list stands elsewhere".into()));
        }
        match st.leaf_depth {
            Some(d) if d != self.depth => {
                return Err(st.fail("ragged data: values are nested to different depths".into()));
            }
            _ => st.leaf_depth = Some(self.depth),
        }
        match v {
            Ok(x) => {
                st.out.push(x);
                Ok(())
            }
            Err(msg) => Err(st.fail(msg)),
        }
    }
}

impl<'de, T: JsonElement> Visitor<'de> for Seed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of {} values", T::DATATYPE)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.leaf(T::from_bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.leaf(T::from_i64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.leaf(T::from_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.state.needs_text |= T::needs_text(v);
        self.leaf(T::from_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.leaf(T::from_str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        let msg = format!("{} element must not be null", T::DATATYPE);
        Err(self.state.fail(msg))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Only `{"b64": "..."}` stands for a value; any other object is an error.
        let b64 = match map.next_key::<std::borrow::Cow<'de, str>>()? {
            Some(k) if k == "b64" => Some(map.next_value::<std::borrow::Cow<'de, str>>()?),
            _ => None,
        };
        match b64 {
            Some(text) if map.next_key::<de::IgnoredAny>()?.is_none() => {
                self.leaf(T::from_b64(&text))
            }
            _ => {
                let msg = format!(
                    "{} data must hold values or lists, not objects",
                    T::DATATYPE
                );
                Err(self.state.fail(msg))
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        let st = self.state;
        if st.leaf_depth == Some(depth) {
            return Err(st.fail("ragged data: a list stands where a value stands elsewhere".into()));
        }
        if depth == super::MAX_NESTING {
            return Err(st.fail(super::too_deep()));
        }
        let mut n = 0usize;
        while seq
            .next_element_seed(Seed {
                state: &mut *st,
                depth: depth + 1,
            })?
            .is_some()
        {
            n += 1;
        }
        if st.dims.len() <= depth {
            st.dims.resize(depth + 1, None);
        }
        match st.dims[depth] {
            None => st.dims[depth] = Some(n),
            Some(m) if m == n => {}
            Some(m) => {
                return Err(st.fail(format!(
                    "ragged data: lists at depth {depth} have lengths {m} and {n}"
                )));
            }
        }
        Ok(())
    }
}

/// Elements in row-major order and the nesting that held them.
#[derive(Debug)]
pub(crate) struct Flattened<T> {
    pub values: Vec<T>,
    /// List lengths by depth: the shape the nesting implies.
    pub dims: Vec<usize>,
    /// Some element came as an f64 that does not say what its text said
    /// (`JsonElement::needs_text`: an FP32 midpoint, an integer's -0.0);
    /// the caller re-reads the text if it has it.
    pub needs_text: bool,
}

/// Flattens whatever `d` holds into elements of `T`; errors are plain
/// messages for the caller to attach to the tensor's name.
pub(crate) fn flatten<'de, T: JsonElement, D: Deserializer<'de>>(
    d: D,
    capacity: usize,
) -> Result<Flattened<T>, String> {
    let mut state = State {
        out: Vec::with_capacity(capacity),
        dims: Vec::new(),
        leaf_depth: None,
        error: None,
        needs_text: false,
    };
    let result = Seed {
        state: &mut state,
        depth: 0,
    }
    .deserialize(d);
    match (result, state.error) {
        (Ok(()), _) => Ok(Flattened {
            values: state.out,
            dims: state.dims.into_iter().map_while(|d| d).collect(),
            needs_text: state.needs_text,
        }),
        (Err(_), Some(msg)) => Err(msg),
        (Err(e), None) => Err(e.to_string()),
    }
}

/// The general reader on JSON text, for number types: where an f64 does not
/// say what the text said (an FP32 value narrowing could round twice, an
/// integer's -0.0), the text is read again by the fast reader, so this
/// reader's values are the fast one's wherever both read the text, and it
/// refuses what the fast one declines.
pub(crate) fn flatten_text<T: JsonElement + super::FastNumber>(
    text: &str,
    capacity: usize,
) -> Result<Flattened<T>, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let read = flatten::<T, _>(&mut de, capacity)?;
    settle(read, || super::parse_numbers::<T>(text, capacity))
}

/// What the general reader read, or, where it flagged a value its f64
/// cannot be trusted for, the fast reader's reading of the text (`exact`).
/// When the fast reader declines the text, floats keep the general reading
/// (it reads all the general one does, but for rounding), and integers are
/// refused: their flag is a -0.0 the text wrote with a fraction or exponent.
pub(crate) fn settle<T: JsonElement>(
    read: Flattened<T>,
    exact: impl FnOnce() -> Option<Flattened<T>>,
) -> Result<Flattened<T>, String> {
    if !read.needs_text {
        return Ok(read);
    }
    match exact() {
        Some(exact) => Ok(exact),
        None if T::DATATYPE.is_float() => Ok(read),
        None => Err(super::element::mismatch::<T>(
            "a fraction or exponent that reads as -0",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::flatten_text;

    #[test]
    fn the_general_reader_rounds_fp32_once_too() {
        // Halfway between 1.0 and the next f32 once read as f64; the text
        // is just above it, so the f32 above is right.
        let text = "[[1.00000005960464477539062500001], [2.5]]";
        let want = "1.00000005960464477539062500001".parse::<f32>().unwrap();
        assert_ne!(want, 1.0);
        let f = flatten_text::<f32>(text, 2).unwrap();
        assert_eq!(f.values, vec![want, 2.5]);
        assert_eq!(f.dims, vec![2, 1]);
        assert!(flatten_text::<f32>("[[1], 2]", 2).is_err());
    }

    #[test]
    fn an_integer_minus_zero_is_zero_but_a_float_minus_zero_is_refused() {
        assert_eq!(
            flatten_text::<i64>("[-0, 1]", 2).unwrap().values,
            vec![0, 1]
        );
        // All three reach serde's reader as -0.0 (found by the fuzz target).
        for text in ["[-0.0]", "[-1e-400]", "[-0e5, 1]"] {
            let err = flatten_text::<i64>(text, 2).unwrap_err();
            assert!(
                err.contains("INT64 element must be an integer"),
                "{text}: {err}"
            );
        }
    }
}
