//! Header handling on the way up: request ids, x-forwarded-for, and the
//! hop-by-hop headers a proxy must not forward (RFC 9110, 7.6.1).

use pingora::http::RequestHeader;

/// Headers that describe one connection, not the request.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "upgrade",
];

/// A new request id: 128 random bits, hex.
pub fn new_request_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Drops hop-by-hop headers (and those the Connection header names); `te`
/// stays only as `te: trailers`, which gRPC needs.
pub fn drop_hop_by_hop(req: &mut RequestHeader) {
    let named: Vec<String> = req
        .headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        // framing is pingora's business: never drop these two here
        if name != "transfer-encoding" && name != "content-length" {
            req.remove_header(name);
        }
    }
    let te_trailers = req
        .headers
        .get("te")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    if !te_trailers {
        req.remove_header("te");
    }
}

/// Appends the client's address to x-forwarded-for.
pub fn append_forwarded_for(req: &mut RequestHeader, client: &str) {
    let value = match req
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(prev) if !prev.is_empty() => format!("{prev}, {client}"),
        _ => client.to_string(),
    };
    let _ = req.insert_header("x-forwarded-for", value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_named_headers_go_te_trailers_stays() {
        let mut req = RequestHeader::build("POST", b"/", None).unwrap();
        for (k, v) in [
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("traceparent", "00-abc-def-01"),
        ] {
            req.insert_header(k, v).unwrap();
        }
        drop_hop_by_hop(&mut req);
        assert!(req.headers.get("connection").is_none());
        assert!(req.headers.get("keep-alive").is_none());
        assert!(req.headers.get("x-secret").is_none());
        assert_eq!(req.headers.get("te").unwrap(), "trailers");
        assert_eq!(req.headers.get("traceparent").unwrap(), "00-abc-def-01");
        req.insert_header("te", "gzip").unwrap();
        drop_hop_by_hop(&mut req);
        assert!(req.headers.get("te").is_none());
    }

    #[test]
    fn forwarded_for_appends() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        append_forwarded_for(&mut req, "10.0.0.1");
        append_forwarded_for(&mut req, "10.0.0.2");
        assert_eq!(
            req.headers.get("x-forwarded-for").unwrap(),
            "10.0.0.1, 10.0.0.2"
        );
        assert_eq!(new_request_id().len(), 32);
    }
}
