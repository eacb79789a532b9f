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
use object_store::{ClientOptions, GetResult, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::limits::Budget;
use super::{make_parent, partial_path, place, safe_relative};
use crate::error::{PredictorError, Result};

fn fail(what: &str, e: impl std::fmt::Display) -> PredictorError {
    PredictorError::Storage(format!("{what}: {e}"))
}

/// Streams the body of `got` to a temporary file, counting it against the
/// budget chunk by chunk (it is never held whole in memory), then places
/// it at `dest/rel` (unpacking archives).
async fn download(
    what: &str,
    got: GetResult,
    dest: &Path,
    rel: &Path,
    budget: &mut Budget,
) -> Result<()> {
    // A declared size over the limit is refused before any byte is read.
    budget.check_declared(what, got.meta.size)?;
    make_parent(dest, rel)?;
    let tmp = partial_path(&dest.join(rel));
    let written = write_stream(what, got, &tmp, budget).await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    place(dest, rel, &tmp, budget)
}

async fn write_stream(what: &str, got: GetResult, tmp: &Path, budget: &mut Budget) -> Result<()> {
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| fail(&tmp.display().to_string(), e))?;
    let mut stream = got.into_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.try_next().await.map_err(|e| fail(what, e))? {
        budget.take(what, chunk.len() as u64)?;
        total += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| fail(&tmp.display().to_string(), e))?;
    }
    file.flush()
        .await
        .map_err(|e| fail(&tmp.display().to_string(), e))?;
    tracing::info!(what, bytes = total, "downloaded");
    Ok(())
}

pub async fn fetch_http(url: &url::Url, dest: &Path, budget: &mut Budget) -> Result<()> {
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
    let got = store
        .get(&ObjectPath::from(name.as_str()))
        .await
        .map_err(|e| fail(url.as_str(), e))?;
    download(url.as_str(), got, dest, &rel, budget).await
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
/// below the prefix; a prefix that is the key of one object (and no
/// folder) gives that one file, as KServe's storage initializer does.
pub async fn fetch_s3(bucket: &str, prefix: &str, dest: &Path, budget: &mut Budget) -> Result<()> {
    let uri = format!("s3://{bucket}/{prefix}");
    let store = s3_store(bucket)?;
    let list_prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
    // object_store lists below `prefix/`: the object `prefix` itself is not listed.
    let mut objects: Vec<_> = store
        .list(list_prefix.as_ref())
        .try_collect()
        .await
        .map_err(|e| fail(&uri, e))?;
    if objects.is_empty()
        && let Some(key) = &list_prefix
    {
        match store.head(key).await {
            Ok(meta) => objects.push(meta),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(fail(&uri, e)),
        }
    }
    if objects.is_empty() {
        return Err(fail(
            &uri,
            "no object with this key and no objects under this prefix",
        ));
    }
    for meta in objects {
        let key = meta.location.as_ref();
        let rel: PathBuf = match key.strip_prefix(prefix).map(|r| r.trim_start_matches('/')) {
            Some("") => safe_relative(key.rsplit('/').next().unwrap_or(key))?,
            Some(rest) => safe_relative(rest)?,
            None => continue,
        };
        let what = format!("s3://{bucket}/{key}");
        let got = store
            .get(&meta.location)
            .await
            .map_err(|e| fail(&what, e))?;
        download(&what, got, dest, &rel, budget).await?;
    }
    Ok(())
}
