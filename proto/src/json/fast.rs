//! A fast path for the common case of V2 `data`: numbers in flat or nested
//! lists. It scans the JSON text once and parses each number straight into
//! the element type with the standard library's correctly rounded parsers
//! (so an FP32 value is never rounded twice through f64). Anything else
//! (strings, NaN spellings, objects, ragged lists, out-of-range values) gives
//! `None`, and the general reader then produces the exact error or value.
use super::flatten::Flattened;

/// An element type the fast path can parse from a JSON number token.
pub(crate) trait FastNumber: Sized {
    fn parse_token(token: &str, is_integer: bool) -> Option<Self>;
    /// A value written as a JSON string (floats' "NaN", "Infinity"...).
    fn parse_string(_: &str) -> Option<Self> {
        None
    }
}

macro_rules! fast_int {
    ($($t:ty),*) => {$(
        impl FastNumber for $t {
            fn parse_token(token: &str, is_integer: bool) -> Option<Self> {
                if is_integer { token.parse().ok() } else { None }
            }
        }
    )*};
}
fast_int!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! fast_float {
    ($($t:ty),*) => {$(
        impl FastNumber for $t {
            fn parse_token(token: &str, _: bool) -> Option<Self> {
                token.parse::<$t>().ok().filter(|v| v.is_finite())
            }
            // Read here too, so that a list with a "NaN" in it is not sent to
            // the general reader, whose numbers come through f64: an FP32
            // value would then be rounded twice.
            fn parse_string(s: &str) -> Option<Self> {
                super::element::parse_non_finite(s).map(|x| x as $t)
            }
        }
    )*};
}
fast_float!(f32, f64);

/// Length of the JSON number at the start of `b` and whether it is an
/// integer, following the JSON grammar exactly; `None` if there is none.
fn number_token(b: &[u8]) -> Option<(usize, bool)> {
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return None,
    }
    let mut integer = true;
    if b.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
        integer = false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return None;
        }
        i += n;
        integer = false;
    }
    Some((i, integer))
}

/// Length of the JSON string at the start of `b` (quotes included) and
/// whether it holds escapes; `b` is known to be valid JSON.
fn string_token(b: &[u8]) -> Option<(usize, bool)> {
    let mut escaped = false;
    let mut i = 1;
    loop {
        match b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// Parses `text` (already known to be valid JSON) if it is numbers in
/// regular lists; `None` sends the caller to the general reader.
pub(crate) fn parse_numbers<T: FastNumber>(text: &str, capacity: usize) -> Option<Flattened<T>> {
    let b = text.as_bytes();
    let mut values = Vec::with_capacity(capacity);
    let mut dims: Vec<Option<usize>> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut leaf_depth: Option<usize> = None;
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        let depth = counts.len();
        match c {
            b'[' => {
                if leaf_depth == Some(depth) {
                    return None;
                }
                if depth == super::MAX_NESTING {
                    // The general reader names the error.
                    return None;
                }
                if let Some(n) = counts.last_mut() {
                    *n += 1;
                }
                counts.push(0);
                i += 1;
            }
            b']' => {
                let n = counts.pop()?;
                if dims.len() < depth {
                    dims.resize(depth, None);
                }
                match dims[depth - 1] {
                    None => dims[depth - 1] = Some(n),
                    Some(m) if m == n => {}
                    Some(_) => return None,
                }
                i += 1;
            }
            b',' => i += 1,
            b'"' => {
                // A string: the element type decides ("NaN" for floats).
                let (len, escaped) = string_token(&b[i..])?;
                if dims.get(depth).is_some_and(Option::is_some)
                    || leaf_depth.is_some_and(|d| d != depth)
                {
                    return None;
                }
                leaf_depth = Some(depth);
                let token = text.get(i..i + len)?;
                let value = if escaped {
                    // Rare ("Na\u004e"); read here all the same, so that no
                    // float list goes to the general reader (which rounds
                    // FP32 through f64) merely for a spelling.
                    T::parse_string(&serde_json::from_str::<String>(token).ok()?)?
                } else {
                    T::parse_string(token.get(1..len - 1)?)?
                };
                values.push(value);
                if let Some(n) = counts.last_mut() {
                    *n += 1;
                }
                i += len;
            }
            _ => {
                let (len, integer) = number_token(&b[i..])?;
                if dims.get(depth).is_some_and(Option::is_some)
                    || leaf_depth.is_some_and(|d| d != depth)
                {
                    return None;
                }
                leaf_depth = Some(depth);
                values.push(T::parse_token(text.get(i..i + len)?, integer)?);
                if let Some(n) = counts.last_mut() {
                    *n += 1;
                }
                i += len;
            }
        }
    }
    if !counts.is_empty() {
        return None;
    }
    Some(Flattened {
        values,
        dims: dims.into_iter().map_while(|d| d).collect(),
        needs_text: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_nesting_are_read() {
        let f = parse_numbers::<f32>("[[1, 2.5], [-0.1, 3e2]]", 4).unwrap();
        assert_eq!(f.values, vec![1.0, 2.5, -0.1, 300.0]);
        assert_eq!(f.dims, vec![2, 2]);
        let f = parse_numbers::<i64>(" [ ] ", 0).unwrap();
        assert!(f.values.is_empty());
        assert_eq!(f.dims, vec![0]);
        assert_eq!(parse_numbers::<i32>("7", 1).unwrap().values, vec![7]);
    }

    #[test]
    fn non_finite_strings_are_read_for_floats_only() {
        let f = parse_numbers::<f32>(
            r#"[1.00000005960464477539062500001, "NaN", "-Infinity"]"#,
            3,
        )
        .unwrap();
        assert_eq!(
            f.values[0],
            "1.00000005960464477539062500001".parse::<f32>().unwrap()
        );
        assert!(f.values[1].is_nan());
        assert_eq!(f.values[2], f32::NEG_INFINITY);
        assert!(parse_numbers::<f32>(r#"["nope"]"#, 1).is_none());
        let escaped = parse_numbers::<f32>(r#"["Na\u004e", "-Inf\"", "\\"]"#, 3);
        assert!(escaped.is_none(), "only NaN spellings are floats");
        let escaped = parse_numbers::<f32>(r#"["Na\u004e", "-Infinit\u0079"]"#, 2).unwrap();
        assert!(escaped.values[0].is_nan());
        assert_eq!(escaped.values[1], f32::NEG_INFINITY);
        assert!(parse_numbers::<i32>(r#"["NaN"]"#, 1).is_none());
    }

    #[test]
    fn anything_unusual_falls_back() {
        for text in [
            "[1, \"NaN\"]",
            "[[1, 2], [3]]",
            "[[1], 2]",
            "[1, [2]]",
            "[1.5]",
            "[300]",
            "[true]",
            "[1e999]",
            "[{\"b64\": \"AA==\"}]",
        ] {
            let ok = if text == "[1.5]" || text == "[1e999]" {
                parse_numbers::<i32>(text, 1).is_none()
                    && (text == "[1.5]" || parse_numbers::<f32>(text, 1).is_none())
            } else {
                parse_numbers::<u8>(text, 1).is_none()
            };
            assert!(ok, "{text}");
        }
    }

    #[test]
    fn fp32_is_rounded_once() {
        // Halfway between two f32 values when read as f64 first; std parses
        // the decimal text straight to the nearest f32.
        let text = "[1.00000005960464477539062500001]";
        let f = parse_numbers::<f32>(text, 1).unwrap();
        assert_eq!(
            f.values[0],
            "1.00000005960464477539062500001".parse::<f32>().unwrap()
        );
    }
}
