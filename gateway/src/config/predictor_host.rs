//! `--predictor_host` as users write it: `host[:port]`, or a URL with an
//! `http://` / `https://` scheme (the scheme says whether TLS is used) and
//! trailing slashes. Anything else is refused at start, naming the flag,
//! rather than failing every request later with a DNS error.

/// Where the predictor is, once the flag is read: the `host[:port]` to
/// connect to and whether TLS is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictorHost {
    pub authority: String,
    pub use_ssl: bool,
}

/// Reads `host` (the value of `flag`) with `use_ssl`, the value of
/// `--predictor_use_ssl` when it was given. A scheme that contradicts an
/// explicit `--predictor_use_ssl` is an error; without it, https means TLS.
pub fn parse_predictor_host(
    flag: &str,
    host: &str,
    use_ssl: Option<bool>,
) -> Result<PredictorHost, String> {
    let bad = |why: &str| format!("{flag} '{host}': {why}");
    let text = host.trim();
    let (scheme_ssl, rest) = match text.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" => (Some(false), rest),
            "https" => (Some(true), rest),
            other => {
                return Err(bad(&format!(
                    "scheme '{other}' is not supported (use host[:port], http:// or https://)"
                )));
            }
        },
        None => (None, text),
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() {
        return Err(bad("no host (expected host[:port])"));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(bad(
            "a path is not allowed (expected host[:port]; the KServe paths are added per request)",
        ));
    }
    if authority.contains('@') {
        return Err(bad(
            "user information is not allowed (expected host[:port])",
        ));
    }
    if authority.ends_with(':') {
        return Err(bad("the port is missing after ':'"));
    }
    let parsed = authority
        .parse::<http::uri::Authority>()
        .map_err(|e| bad(&format!("not a valid host[:port]: {e}")))?;
    // The port, when there is one, must be a number (`host:http` parses).
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, tail)| tail);
    if after_host.contains(':') && parsed.port_u16().is_none() {
        return Err(bad("not a valid host[:port]: the port is not a number"));
    }
    let use_ssl = match (scheme_ssl, use_ssl) {
        (Some(scheme), Some(flag_value)) if scheme != flag_value => {
            return Err(bad(&format!(
                "the {} scheme contradicts --predictor_use_ssl {flag_value}",
                if scheme { "https://" } else { "http://" }
            )));
        }
        (Some(scheme), _) => scheme,
        (None, flag_value) => flag_value.unwrap_or(false),
    };
    Ok(PredictorHost {
        authority: authority.to_string(),
        use_ssl,
    })
}
