//! What a run drives: `[LABEL=][PROTO+]URL`, e.g. `http://127.0.0.1:8080`,
//! `kserve=v1+http://127.0.0.1:8080`, `grpc://127.0.0.1:8081`.
use std::fmt;
use std::str::FromStr;

use crate::error::{LoadError, Result};

/// The wire protocol of the inference requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// KServe V1 REST: `POST /v1/models/{m}:predict`.
    V1,
    /// Open Inference Protocol REST, JSON tensors.
    V2,
    /// Open Inference Protocol REST, binary tensor extension.
    V2Binary,
    /// Open Inference Protocol gRPC, `ModelInfer`.
    Grpc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
            Protocol::V2Binary => "v2-binary",
            Protocol::Grpc => "grpc",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = LoadError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "v1" => Ok(Protocol::V1),
            "v2" | "v2-json" => Ok(Protocol::V2),
            "v2-binary" | "v2bin" | "binary" => Ok(Protocol::V2Binary),
            "grpc" => Ok(Protocol::Grpc),
            other => Err(LoadError::usage(format!(
                "unknown protocol '{other}' (v1, v2, v2-binary, grpc)"
            ))),
        }
    }
}

/// A parsed target. `protocol` is `None` when the spec did not name one (the
/// run's `--protocol` applies).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub label: String,
    pub protocol: Option<Protocol>,
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix before `/v1` or `/v2`, without a trailing slash.
    pub base_path: String,
}

impl TargetSpec {
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: &str| LoadError::usage(format!("target '{spec}': {why}"));
        let scheme_at = spec
            .find("://")
            .ok_or_else(|| bad("expected [LABEL=][PROTO+]URL, e.g. http://127.0.0.1:8080"))?;
        let (label, rest) = match spec[..scheme_at].split_once('=') {
            Some((l, r)) if !l.is_empty() => {
                (Some(l.to_string()), r.to_string() + &spec[scheme_at..])
            }
            Some(_) => return Err(bad("empty label")),
            None => (None, spec.to_string()),
        };
        let scheme_end = rest.find("://").unwrap_or(0);
        let (proto, scheme) = match rest[..scheme_end].split_once('+') {
            Some((p, s)) => (Some(p.parse::<Protocol>()?), s.to_string()),
            None => (None, rest[..scheme_end].to_string()),
        };
        let (tls, protocol) = match scheme.as_str() {
            "http" => (false, proto),
            "https" => (true, proto),
            "grpc" => (false, Some(proto.unwrap_or(Protocol::Grpc))),
            "grpcs" => (true, Some(proto.unwrap_or(Protocol::Grpc))),
            other => return Err(bad(&format!("unknown scheme '{other}'"))),
        };
        let url = format!("http{}", &rest[scheme_end..]);
        let uri: http::Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        // IPv6 literals come bracketed; authority() adds the brackets back.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let base_path = uri.path().trim_end_matches('/').to_string();
        Ok(TargetSpec {
            label: label.unwrap_or_else(|| spec.to_string()),
            protocol,
            tls,
            host,
            port,
            base_path,
        })
    }

    /// `host:port`, as the Host header and TLS name source.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// REST paths of one model.
pub fn infer_path(base: &str, protocol: Protocol, model: &str, version: Option<&str>) -> String {
    match protocol {
        Protocol::V1 => format!("{base}/v1/models/{model}:predict"),
        _ => format!("{}/infer", model_path(base, model, version)),
    }
}

pub fn model_path(base: &str, model: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{base}/v2/models/{model}/versions/{v}"),
        None => format!("{base}/v2/models/{model}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_labels_protocols_and_schemes() {
        let t = TargetSpec::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (t.label.as_str(), t.protocol, t.tls),
            ("http://127.0.0.1:8080", None, false)
        );
        assert_eq!(
            (t.host.as_str(), t.port, t.base_path.as_str()),
            ("127.0.0.1", 8080, "")
        );
        let t = TargetSpec::parse("kserve=v1+https://localhost/serving/").unwrap();
        assert_eq!(t.label, "kserve");
        assert_eq!((t.protocol, t.tls, t.port), (Some(Protocol::V1), true, 443));
        assert_eq!(t.base_path, "/serving");
        let t = TargetSpec::parse("ig=grpc://[::1]:8081").unwrap();
        assert_eq!(
            (t.protocol, t.authority()),
            (Some(Protocol::Grpc), "[::1]:8081".into())
        );
        let t = TargetSpec::parse("v2-binary+http://h:1").unwrap();
        assert_eq!(t.protocol, Some(Protocol::V2Binary));
        assert!(TargetSpec::parse("127.0.0.1:8080").is_err());
        assert!(TargetSpec::parse("ftp://h").is_err());
        assert!(TargetSpec::parse("v3+http://h").is_err());
        assert!(TargetSpec::parse("=http://h").is_err());
    }

    #[test]
    fn paths_follow_the_protocols() {
        assert_eq!(
            infer_path("", Protocol::V1, "m", None),
            "/v1/models/m:predict"
        );
        assert_eq!(
            infer_path("/p", Protocol::V2, "m", Some("2")),
            "/p/v2/models/m/versions/2/infer"
        );
        assert_eq!(
            infer_path("", Protocol::V2Binary, "m", None),
            "/v2/models/m/infer"
        );
    }
}
