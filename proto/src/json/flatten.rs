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
    may_round_twice: bool,
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
        self.state.may_round_twice |= T::may_round_twice(v);
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
pub(crate) struct Flattened<T> {
    pub values: Vec<T>,
    /// List lengths by depth: the shape the nesting implies.
    pub dims: Vec<usize>,
    /// Some element came as an f64 exactly halfway between two FP32 values,
    /// so narrowing it may differ from reading its text (see
    /// `element::is_f32_midpoint`); the caller re-reads the text if it has it.
    pub may_round_twice: bool,
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
        may_round_twice: false,
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
            may_round_twice: state.may_round_twice,
        }),
        (Err(_), Some(msg)) => Err(msg),
        (Err(e), None) => Err(e.to_string()),
    }
}
