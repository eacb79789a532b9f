//! Which request headers travel to the predictor: the request id, trace
//! context (W3C and b3), authorization, and an allow-list; nothing else.
/// Always forwarded when present.
const FORWARDED: [&str; 10] = [
    "x-request-id",
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "authorization",
];

/// Whether a forwarded header belongs to its one request (its id and trace
/// context) rather than to the caller (credentials, the allow-list): what
/// the batcher leaves out when it decides which requests may share a call.
pub fn is_per_request(name: &str) -> bool {
    matches!(name, "x-request-id" | "traceparent" | "tracestate" | "b3")
        || name.starts_with("x-b3-")
}

/// The headers to send upstream, lower-case names. `x-request-id` is always
/// set (to the id the caller sent or the one generated for it).
pub fn forwarded<'a>(
    request_id: &'a str,
    incoming: &'a http::HeaderMap,
    allow: &'a [String],
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    std::iter::once(("x-request-id", request_id)).chain(incoming.iter().filter_map(
        move |(k, v)| {
            let k = k.as_str();
            let wanted = (FORWARDED.contains(&k) && k != "x-request-id")
                || allow.iter().any(|a| a.eq_ignore_ascii_case(k));
            wanted.then(|| v.to_str().ok().map(|v| (k, v))).flatten()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_and_allowed_headers_pass() {
        let incoming: http::HeaderMap = [
            ("x-request-id", "r1"),
            ("traceparent", "00-abc-def-01"),
            ("authorization", "Bearer t"),
            ("cookie", "secret"),
            ("x-tenant", "acme"),
            ("x-b3-traceid", "b3id"),
        ]
        .into_iter()
        .map(|(k, v)| {
            (
                http::HeaderName::from_static(k),
                http::HeaderValue::from_static(v),
            )
        })
        .collect();
        let allow = vec!["X-Tenant".to_string()];
        let mut got: Vec<_> = forwarded("r1", &incoming, &allow).collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("authorization", "Bearer t"),
                ("traceparent", "00-abc-def-01"),
                ("x-b3-traceid", "b3id"),
                ("x-request-id", "r1"),
                ("x-tenant", "acme"),
            ]
        );
    }
}
