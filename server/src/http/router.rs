//! The REST routes of a KServe model server, matched by hand: the V1 routes
//! put a verb after a colon inside the last path segment
//! (`/v1/models/{name}:predict`), which route-table crates do not express.
use http::Method;

use crate::error::InferError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Root,
    Metrics,
    V1Models,
    V1ModelReady(&'a str),
    V1Predict(&'a str),
    V1Explain(&'a str),
    V2ServerMetadata,
    V2Live,
    V2Ready,
    V2Models,
    V2ModelMetadata(&'a str, Option<&'a str>),
    V2ModelReady(&'a str, Option<&'a str>),
    V2Infer(&'a str, Option<&'a str>),
    RepositoryLoad(&'a str),
    RepositoryUnload(&'a str),
}

impl<'a> Route<'a> {
    /// The model an inference route addresses, and its protocol label.
    pub fn inference_target(&self) -> Option<(&'a str, &'static str)> {
        match *self {
            Route::V1Predict(m) | Route::V1Explain(m) => Some((m, "v1")),
            Route::V2Infer(m, _) => Some((m, "v2")),
            _ => None,
        }
    }
}

/// Splits `{name}` or `{name}/versions/{v}` off the front of `rest`,
/// returning what follows.
fn model_and_version(rest: &str) -> Option<(&str, Option<&str>, &str)> {
    let (name, tail) = rest.split_once('/').map_or((rest, ""), |(n, t)| (n, t));
    if name.is_empty() {
        return None;
    }
    match tail.strip_prefix("versions/") {
        Some(v) => {
            let (version, tail) = v.split_once('/').map_or((v, ""), |(v, t)| (v, t));
            (!version.is_empty()).then_some((name, Some(version), tail))
        }
        None => Some((name, None, tail)),
    }
}

/// The path with its percent-escapes decoded, except `%2F`, which stays as
/// written: it is part of a name, never a separator (`..%2Fetc` must not
/// become two segments).
pub fn decode_path(path: &str) -> Result<std::borrow::Cow<'_, str>, InferError> {
    if !path.contains('%') {
        return Ok(std::borrow::Cow::Borrowed(path));
    }
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let escaped = (b == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(c) if c != b'/' => {
                out.push(c);
                rest = &tail[2..];
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8(out)
        .map(std::borrow::Cow::Owned)
        .map_err(|_| InferError::invalid("the request path is not UTF-8 once percent-decoded"))
}

/// The route for a method and path; 404 for an unknown path, 405 for a
/// known path with the wrong method.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, InferError> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let (route, allowed) = match_path(path).ok_or(InferError::RouteNotFound)?;
    if *method == allowed || (allowed == Method::GET && *method == Method::HEAD) {
        Ok(route)
    } else {
        Err(InferError::MethodNotAllowed)
    }
}

fn match_path(path: &str) -> Option<(Route<'_>, Method)> {
    use Route::*;
    let get = Method::GET;
    let post = Method::POST;
    Some(match path {
        "/" => (Root, get),
        "/metrics" => (Metrics, get),
        "/v1/models" => (V1Models, get),
        "/v2" => (V2ServerMetadata, get),
        "/v2/health/live" => (V2Live, get),
        "/v2/health/ready" => (V2Ready, get),
        "/v2/models" => (V2Models, get),
        _ => {
            if let Some(rest) = path.strip_prefix("/v1/models/") {
                if rest.contains('/') {
                    return None;
                }
                return Some(match rest.rsplit_once(':') {
                    Some((name, "predict")) if !name.is_empty() => (V1Predict(name), post),
                    Some((name, "explain")) if !name.is_empty() => (V1Explain(name), post),
                    Some(_) => return None,
                    None => (V1ModelReady(rest), get),
                });
            }
            if let Some(rest) = path.strip_prefix("/v2/repository/models/") {
                let (name, action) = rest.split_once('/')?;
                return match action {
                    "load" if !name.is_empty() => Some((RepositoryLoad(name), post)),
                    "unload" if !name.is_empty() => Some((RepositoryUnload(name), post)),
                    _ => None,
                };
            }
            let rest = path.strip_prefix("/v2/models/")?;
            let (name, version, tail) = model_and_version(rest)?;
            match tail {
                "" => (V2ModelMetadata(name, version), get),
                "ready" => (V2ModelReady(name, version), get),
                "infer" => (V2Infer(name, version), post),
                _ => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Route::*;

    #[test]
    fn paths_are_percent_decoded_but_slashes_stay_escaped() {
        assert_eq!(
            decode_path("/v2/models/%65cho/infer").unwrap(),
            "/v2/models/echo/infer"
        );
        assert_eq!(
            decode_path("/v1/models/a%20b:predict").unwrap(),
            "/v1/models/a b:predict"
        );
        assert_eq!(
            decode_path("/v2/models/..%2Fetc").unwrap(),
            "/v2/models/..%2Fetc"
        );
        assert_eq!(decode_path("/x%zz%4").unwrap(), "/x%zz%4");
        assert!(decode_path("/v2/models/%ff").is_err());
    }

    #[test]
    fn kserve_routes_match() {
        let get = |p| route(&Method::GET, p);
        let post = |p| route(&Method::POST, p);
        assert_eq!(get("/").unwrap(), Root);
        assert_eq!(get("/metrics").unwrap(), Metrics);
        assert_eq!(get("/v1/models").unwrap(), V1Models);
        assert_eq!(get("/v1/models/iris").unwrap(), V1ModelReady("iris"));
        assert_eq!(
            post("/v1/models/sklearn-iris:predict").unwrap(),
            V1Predict("sklearn-iris")
        );
        assert_eq!(post("/v1/models/a:b:explain").unwrap(), V1Explain("a:b"));
        assert_eq!(get("/v2").unwrap(), V2ServerMetadata);
        assert_eq!(get("/v2/health/live").unwrap(), V2Live);
        assert_eq!(get("/v2/health/ready/").unwrap(), V2Ready);
        assert_eq!(get("/v2/models").unwrap(), V2Models);
        assert_eq!(get("/v2/models/m").unwrap(), V2ModelMetadata("m", None));
        assert_eq!(
            get("/v2/models/m/versions/3").unwrap(),
            V2ModelMetadata("m", Some("3"))
        );
        assert_eq!(get("/v2/models/m/ready").unwrap(), V2ModelReady("m", None));
        assert_eq!(
            get("/v2/models/m/versions/3/ready").unwrap(),
            V2ModelReady("m", Some("3"))
        );
        assert_eq!(post("/v2/models/m/infer").unwrap(), V2Infer("m", None));
        assert_eq!(
            post("/v2/models/m/versions/1/infer").unwrap(),
            V2Infer("m", Some("1"))
        );
        assert_eq!(
            post("/v2/repository/models/m/load").unwrap(),
            RepositoryLoad("m")
        );
        assert_eq!(
            post("/v2/repository/models/m/unload").unwrap(),
            RepositoryUnload("m")
        );
        assert_eq!(route(&Method::HEAD, "/v2/health/live").unwrap(), V2Live);
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        for p in [
            "/v3",
            "/v1/models/m:fly",
            "/v1/models/:predict",
            "/v2/models/m/infer/x",
            "/v2/models//ready",
            "/v2/models/m/versions//infer",
            "/v2/repository/models/m/drop",
            "/v1/models/a/b",
        ] {
            assert!(
                matches!(route(&Method::POST, p), Err(InferError::RouteNotFound)),
                "{p}"
            );
        }
        assert!(matches!(
            route(&Method::GET, "/v2/models/m/infer"),
            Err(InferError::MethodNotAllowed)
        ));
        assert!(matches!(
            route(&Method::POST, "/v2/health/live"),
            Err(InferError::MethodNotAllowed)
        ));
    }
}
