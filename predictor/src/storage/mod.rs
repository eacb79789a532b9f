//! Fetching models the way KServe's storage initializer does, before they
//! are served: a local path or `file://` directory is served in place (a
//! local file is copied, or unpacked, into the model directory);
//! `http(s)://` and `s3://` are downloaded into the model directory, streamed
//! to disk (each file written to a temporary name and renamed, so a
//! half-written file is never served); `.tar`, `.tar.gz` / `.tgz` and `.zip`
//! archives are unpacked. Every fetch is bounded by [`FetchLimits`]. Names
//! that could escape the model directory, in object keys or archive
//! entries, are refused.
mod archive;
mod limits;
mod remote;

use std::path::{Component, Path, PathBuf};

use crate::error::{PredictorError, Result};

pub use archive::{ArchiveKind, is_archive, kind_of};
pub use limits::{
    Budget, DEFAULT_MAX_BYTES, DEFAULT_MAX_EXPANSION_RATIO, FetchLimits, parse_byte_size,
};

/// Where models come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUri {
    Local(PathBuf),
    Http(url::Url),
    S3 { bucket: String, prefix: String },
}

impl StorageUri {
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |why: &str| PredictorError::Storage(format!("storage URI '{uri}': {why}"));
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket"));
            }
            return Ok(StorageUri::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_end_matches('/').to_string(),
            });
        }
        if uri.starts_with("http://") || uri.starts_with("https://") {
            let url = url::Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
            return Ok(StorageUri::Http(url));
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Ok(StorageUri::Local(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = uri.split_once("://") {
            return Err(bad(&format!(
                "scheme '{scheme}' is not supported (use a local path, file://, http(s):// or s3://)"
            )));
        }
        Ok(StorageUri::Local(PathBuf::from(uri)))
    }
}

/// `rel` as a path inside the model directory, or an error when it is empty,
/// absolute or climbs out with `..`.
pub fn safe_relative(rel: &str) -> Result<PathBuf> {
    let path = Path::new(rel);
    let ok = !rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(PredictorError::Storage(format!(
            "refusing '{rel}': it would be written outside the model directory"
        )))
    }
}

/// The temporary name a file bound for `target` is written under.
pub fn partial_path(target: &Path) -> PathBuf {
    let file_name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("download");
    target.with_file_name(format!(".{file_name}.partial"))
}

/// Moves `written` (a complete download bound for `dest/rel`) into place:
/// unpacked there and removed when it is an archive, renamed otherwise.
pub fn place(dest: &Path, rel: &Path, written: &Path, budget: &mut Budget) -> Result<()> {
    let target = dest.join(rel);
    let parent = target.parent().unwrap_or(dest);
    match kind_of(rel) {
        Ok(Some(kind)) => {
            let unpacked = archive::unpack(rel, kind, written, parent, budget);
            let _ = std::fs::remove_file(written);
            unpacked
        }
        Ok(None) => std::fs::rename(written, &target).map_err(|e| io_err(&target, e)),
        Err(e) => {
            let _ = std::fs::remove_file(written);
            Err(e)
        }
    }
}

/// Creates the folders a file bound for `dest/rel` goes in.
pub fn make_parent(dest: &Path, rel: &Path) -> Result<()> {
    let target = dest.join(rel);
    let parent = target.parent().unwrap_or(dest);
    std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))
}

fn io_err(path: &Path, e: std::io::Error) -> PredictorError {
    PredictorError::Storage(format!("{}: {e}", path.display()))
}

/// A local file: unpacked from where it is when it is an archive, else
/// copied into `dest` under its own name.
fn fetch_local_file(path: &Path, dest: &Path, budget: &mut Budget) -> Result<()> {
    let name = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
    make_parent(dest, &name)?;
    if let Some(kind) = kind_of(&name)? {
        return archive::unpack(&name, kind, path, dest, budget);
    }
    let size = std::fs::metadata(path).map_err(|e| io_err(path, e))?.len();
    let what = path.display().to_string();
    budget.check_declared(&what, size)?;
    let target = dest.join(&name);
    let tmp = partial_path(&target);
    let copied = std::fs::copy(path, &tmp).map_err(|e| io_err(&tmp, e))?;
    budget.take(&what, copied)?;
    std::fs::rename(&tmp, &target).map_err(|e| io_err(&target, e))
}

/// Makes the models of `uri` available and returns the directory to serve:
/// the path itself for a local directory (served in place, nothing is
/// copied), else `dest` after downloading, copying or unpacking into it.
pub async fn fetch(uri: &str, dest: &Path, limits: FetchLimits) -> Result<PathBuf> {
    let mut budget = Budget::new(limits);
    match StorageUri::parse(uri)? {
        StorageUri::Local(path) if path.is_dir() => Ok(path),
        StorageUri::Local(path) if path.is_file() => {
            fetch_local_file(&path, dest, &mut budget)?;
            Ok(dest.to_path_buf())
        }
        StorageUri::Local(path) => Err(PredictorError::Storage(format!(
            "storage URI '{uri}': {} does not exist",
            path.display()
        ))),
        StorageUri::Http(url) => {
            remote::fetch_http(&url, dest, &mut budget).await?;
            Ok(dest.to_path_buf())
        }
        StorageUri::S3 { bucket, prefix } => {
            remote::fetch_s3(&bucket, &prefix, dest, &mut budget).await?;
            Ok(dest.to_path_buf())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_like_kserve() {
        assert_eq!(
            StorageUri::parse("s3://models/iris/v1/").unwrap(),
            StorageUri::S3 {
                bucket: "models".into(),
                prefix: "iris/v1".into()
            }
        );
        assert_eq!(
            StorageUri::parse("s3://models").unwrap(),
            StorageUri::S3 {
                bucket: "models".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StorageUri::parse("file:///mnt/models").unwrap(),
            StorageUri::Local("/mnt/models".into())
        );
        assert_eq!(
            StorageUri::parse("./models").unwrap(),
            StorageUri::Local("./models".into())
        );
        assert!(matches!(
            StorageUri::parse("https://host/m.onnx").unwrap(),
            StorageUri::Http(_)
        ));
        let err = StorageUri::parse("gs://bucket/m").unwrap_err().to_string();
        assert!(err.contains("scheme 'gs' is not supported"), "{err}");
        assert!(StorageUri::parse("s3:///x").is_err());
    }

    #[test]
    fn escaping_names_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "a/./b/../.."] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert_eq!(
            safe_relative("iris/1/model.onnx").unwrap(),
            PathBuf::from("iris/1/model.onnx")
        );
    }
}
