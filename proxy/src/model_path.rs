//! The model name in a KServe REST path (V1 and V2), and the path with the
//! name replaced (model aliases).

/// Where the model name sits in `path`: its byte range, when the path is a
/// V1 `/v1/models/{m}[:verb]` or V2 `/v2/models/{m}[/...]` path.
pub fn model_span(path: &str) -> Option<(usize, usize)> {
    let path = path.split('?').next().unwrap_or(path);
    let (prefix, v1) = if path.starts_with("/v1/models/") {
        ("/v1/models/", true)
    } else if path.starts_with("/v2/models/") {
        ("/v2/models/", false)
    } else {
        return None;
    };
    let rest = &path[prefix.len()..];
    // V1 ends the name at ':' (":predict") or '/'; V2 at '/'.
    let end = rest
        .find(|c| c == '/' || (v1 && c == ':'))
        .unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    Some((prefix.len(), prefix.len() + end))
}

/// The model name of a KServe REST path.
pub fn model_name(path: &str) -> Option<&str> {
    model_span(path).map(|(a, b)| &path[a..b])
}

/// `path` with its model name replaced by `to` (None when there is none).
pub fn rewrite(path: &str, to: &str) -> Option<String> {
    let (a, b) = model_span(path)?;
    Some(format!("{}{}{}", &path[..a], to, &path[b..]))
}

/// gRPC methods of the V2 service whose first field is the model name.
pub fn grpc_method_has_model(path: &str) -> bool {
    matches!(
        path,
        "/inference.GRPCInferenceService/ModelInfer"
            | "/inference.GRPCInferenceService/ModelReady"
            | "/inference.GRPCInferenceService/ModelMetadata"
            | "/inference.GRPCInferenceService/ModelStreamInfer"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_names() {
        assert_eq!(model_name("/v1/models/iris:predict"), Some("iris"));
        assert_eq!(model_name("/v1/models/iris"), Some("iris"));
        assert_eq!(model_name("/v2/models/iris/infer"), Some("iris"));
        assert_eq!(model_name("/v2/models/iris/versions/2/infer"), Some("iris"));
        assert_eq!(model_name("/v2/models/iris"), Some("iris"));
        assert_eq!(model_name("/v2/models/a:b/ready"), Some("a:b"));
        assert_eq!(model_name("/v2/models/iris?x=1"), Some("iris"));
        assert_eq!(model_name("/v2/models/"), None);
        assert_eq!(model_name("/v2/health/ready"), None);
        assert_eq!(model_name("/v1/models/:predict"), None);
    }

    #[test]
    fn rewrites_only_the_name() {
        assert_eq!(
            rewrite("/v1/models/iris:predict", "iris-v2").as_deref(),
            Some("/v1/models/iris-v2:predict")
        );
        assert_eq!(
            rewrite("/v2/models/iris/versions/1/infer?a=b", "x").as_deref(),
            Some("/v2/models/x/versions/1/infer?a=b")
        );
        assert_eq!(rewrite("/v2/health/ready", "x"), None);
    }
}
