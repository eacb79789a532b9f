//! Unpacking `.tar.gz` / `.tgz` / `.zip` model archives, refusing entries
//! that would land outside the target directory (absolute paths, `..`) and
//! links, which could point anywhere.
use std::io::Read;
use std::path::Path;

use super::safe_relative;
use crate::error::{PredictorError, Result};

pub fn is_archive(name: &Path) -> bool {
    let n = name.to_string_lossy().to_ascii_lowercase();
    n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".zip")
}

fn fail(archive: &Path, why: impl std::fmt::Display) -> PredictorError {
    PredictorError::Storage(format!("archive {}: {why}", archive.display()))
}

/// Unpacks `bytes` (an archive named `name`) into `dest`.
pub fn unpack(name: &Path, bytes: &[u8], dest: &Path) -> Result<()> {
    if name
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".zip")
    {
        unzip(name, bytes, dest)
    } else {
        untar(name, bytes, dest)
    }
}

fn write_entry(archive: &Path, dest: &Path, rel: &str, mut reader: impl Read) -> Result<()> {
    let rel = safe_relative(rel.trim_end_matches('/')).map_err(|e| fail(archive, e))?;
    let target = dest.join(rel);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(archive, e))?;
    }
    let mut out = std::fs::File::create(&target)
        .map_err(|e| fail(archive, format!("{}: {e}", target.display())))?;
    std::io::copy(&mut reader, &mut out).map_err(|e| fail(archive, e))?;
    Ok(())
}

fn untar(name: &Path, bytes: &[u8], dest: &Path) -> Result<()> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in tar.entries().map_err(|e| fail(name, e))? {
        let entry = entry.map_err(|e| fail(name, e))?;
        let path = entry
            .path()
            .map_err(|e| fail(name, e))?
            .to_string_lossy()
            .into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                let rel = safe_relative(path.trim_end_matches('/')).map_err(|e| fail(name, e))?;
                std::fs::create_dir_all(dest.join(rel)).map_err(|e| fail(name, e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                write_entry(name, dest, &path, entry)?
            }
            other => {
                return Err(fail(
                    name,
                    format!("entry '{path}' is a {other:?}, not a file; refusing to unpack it"),
                ));
            }
        }
    }
    Ok(())
}

fn unzip(name: &Path, bytes: &[u8], dest: &Path) -> Result<()> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| fail(name, e))?;
    for i in 0..zip.len() {
        let file = zip.by_index(i).map_err(|e| fail(name, e))?;
        let raw = file.name().map_err(|e| fail(name, e))?.to_string();
        if file.enclosed_name().is_none() {
            return Err(fail(
                name,
                format!("entry '{raw}' would be written outside the model directory"),
            ));
        }
        if file.is_symlink() {
            return Err(fail(
                name,
                format!("entry '{raw}' is a link; refusing to unpack it"),
            ));
        }
        if file.is_dir() {
            let rel = safe_relative(raw.trim_end_matches('/')).map_err(|e| fail(name, e))?;
            std::fs::create_dir_all(dest.join(rel)).map_err(|e| fail(name, e))?;
        } else {
            write_entry(name, dest, &raw, file)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("infergate-archive-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Write the raw name so that "../" survives into the archive.
            let name = h.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            builder.append(&h, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, data) in entries {
            w.start_file(*path, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn tar_and_zip_unpack_in_place() {
        let d = tmpdir("ok");
        unpack(
            Path::new("m.tar.gz"),
            &tar_gz(&[("iris/model.onnx", b"onnx")]),
            &d,
        )
        .unwrap();
        assert_eq!(std::fs::read(d.join("iris/model.onnx")).unwrap(), b"onnx");
        unpack(
            Path::new("m.zip"),
            &zip_bytes(&[("intent/1/model.onnx", b"z")]),
            &d,
        )
        .unwrap();
        assert_eq!(std::fs::read(d.join("intent/1/model.onnx")).unwrap(), b"z");
    }

    #[test]
    fn traversal_entries_are_refused_and_nothing_escapes() {
        let d = tmpdir("evil");
        let inner = d.join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        let err = unpack(
            Path::new("evil.tgz"),
            &tar_gz(&[("../escaped.txt", b"x")]),
            &inner,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("outside the model directory"),
            "{err}"
        );
        let err = unpack(
            Path::new("evil.zip"),
            &zip_bytes(&[("../escaped.txt", b"x")]),
            &inner,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("outside the model directory"),
            "{err}"
        );
        assert!(!d.join("escaped.txt").exists());
    }
}
