//! Downloads over HTTP(S) and from S3 (or any S3-compatible server), through
//! object_store. S3 settings come from the environment as KServe's storage
//! initializer reads them: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//! AWS_DEFAULT_REGION / AWS_REGION, and S3_ENDPOINT or AWS_ENDPOINT_URL for a
//! non-AWS server (S3_USE_HTTPS=0 or an http:// endpoint allows plain HTTP).
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::http::HttpBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};

use super::{place, safe_relative};
use crate::error::{PredictorError, Result};

fn fail(what: &str, e: impl std::fmt::Display) -> PredictorError {
    PredictorError::Storage(format!("{what}: {e}"))
}

pub async fn fetch_http(url: &url::Url, dest: &Path) -> Result<()> {
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| fail(url.as_str(), "the URL names no file"))?
        .to_string();
    let rel = safe_relative(&name)?;
    let mut base = url.clone();
    base.path_segments_mut()
        .map_err(|_| fail(url.as_str(), "not a hierarchical URL"))?
        .pop();
    let store = HttpBuilder::new()
        .with_url(base.as_str())
        .with_client_options(ClientOptions::new().with_allow_http(url.scheme() == "http"))
        .build()
        .map_err(|e| fail(url.as_str(), e))?;
    let bytes = store
        .get(&ObjectPath::from(name.as_str()))
        .await
        .map_err(|e| fail(url.as_str(), e))?
        .bytes()
        .await
        .map_err(|e| fail(url.as_str(), e))?;
    place(dest, &rel, &bytes)
}

fn s3_store(bucket: &str) -> Result<object_store::aws::AmazonS3> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("S3_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()
        .filter(|e| !e.is_empty());
    if let Some(mut endpoint) = endpoint {
        let https = std::env::var("S3_USE_HTTPS").map_or(true, |v| v != "0");
        if !endpoint.contains("://") {
            endpoint = format!("{}://{endpoint}", if https { "https" } else { "http" });
        }
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if std::env::var("AWS_DEFAULT_REGION").is_err() && std::env::var("AWS_REGION").is_err() {
        builder = builder.with_region("us-east-1");
    }
    builder
        .build()
        .map_err(|e| fail(&format!("s3://{bucket}"), e))
}

/// Downloads every object under `prefix` into `dest`, keeping the layout
/// below the prefix (a prefix naming one object gives that one file).
pub async fn fetch_s3(bucket: &str, prefix: &str, dest: &Path) -> Result<()> {
    let uri = format!("s3://{bucket}/{prefix}");
    let store = s3_store(bucket)?;
    let list_prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
    let objects: Vec<_> = store
        .list(list_prefix.as_ref())
        .try_collect()
        .await
        .map_err(|e| fail(&uri, e))?;
    if objects.is_empty() {
        return Err(fail(&uri, "no objects under this prefix"));
    }
    for meta in objects {
        let key = meta.location.as_ref();
        let rel: PathBuf = match key.strip_prefix(prefix).map(|r| r.trim_start_matches('/')) {
            Some("") => PathBuf::from(key.rsplit('/').next().unwrap_or(key)),
            Some(rest) => safe_relative(rest)?,
            None => continue,
        };
        let bytes = store
            .get(&meta.location)
            .await
            .map_err(|e| fail(&uri, e))?
            .bytes()
            .await
            .map_err(|e| fail(&uri, e))?;
        tracing::info!(key, bytes = bytes.len(), "downloaded");
        place(dest, &rel, &bytes)?;
    }
    Ok(())
}
