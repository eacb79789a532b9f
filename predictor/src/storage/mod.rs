//! Fetching models the way KServe's storage initializer does, before they
//! are served: a local path or `file://` is used in place; `http(s)://` and
//! `s3://` are downloaded into the model directory (each file written to a
//! temporary name and renamed, so a half-written file is never served);
//! `.tar.gz` / `.tgz` / `.zip` archives are unpacked. Names that could escape
//! the model directory, in object keys or archive entries, are refused.
mod archive;
mod remote;

use std::path::{Component, Path, PathBuf};

use crate::error::{PredictorError, Result};

pub use archive::is_archive;

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

/// Writes `bytes` to `dest/rel` through a temporary file and a rename,
/// unpacking it there instead when it is an archive.
pub fn place(dest: &Path, rel: &Path, bytes: &[u8]) -> Result<()> {
    let target = dest.join(rel);
    let parent = target.parent().unwrap_or(dest);
    std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    if is_archive(rel) {
        return archive::unpack(rel, bytes, parent);
    }
    let file_name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("download");
    let tmp = parent.join(format!(".{file_name}.partial"));
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &target).map_err(|e| io_err(&target, e))
}

fn io_err(path: &Path, e: std::io::Error) -> PredictorError {
    PredictorError::Storage(format!("{}: {e}", path.display()))
}

/// Makes the models of `uri` available and returns the directory to serve:
/// the path itself for a local directory, else `dest` after downloading.
pub async fn fetch(uri: &str, dest: &Path) -> Result<PathBuf> {
    match StorageUri::parse(uri)? {
        StorageUri::Local(path) if path.is_dir() => Ok(path),
        StorageUri::Local(path) if path.is_file() => {
            let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
            let name = path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| "model.onnx".into());
            place(dest, &name, &bytes)?;
            Ok(dest.to_path_buf())
        }
        StorageUri::Local(path) => Err(PredictorError::Storage(format!(
            "storage URI '{uri}': {} does not exist",
            path.display()
        ))),
        StorageUri::Http(url) => {
            remote::fetch_http(&url, dest).await?;
            Ok(dest.to_path_buf())
        }
        StorageUri::S3 { bucket, prefix } => {
            remote::fetch_s3(&bucket, &prefix, dest).await?;
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
