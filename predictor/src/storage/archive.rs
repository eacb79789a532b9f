//! Unpacking model archives (`.tar`, `.tar.gz` / `.tgz`, `.zip`) from a
//! file on disk, refusing entries that would land outside the target
//! directory (absolute paths, `..`) and links, which could point anywhere,
//! and counting every byte unpacked against the fetch's limits. Other
//! compressed forms are refused by name rather than served as a file.
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::limits::{ArchiveBudget, Budget};
use super::safe_relative;
use crate::error::{PredictorError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Tar,
    TarGz,
    Zip,
}

/// The archive forms unpacked, by file name ending.
const UNPACKED: [(&str, ArchiveKind); 4] = [
    (".tar.gz", ArchiveKind::TarGz),
    (".tgz", ArchiveKind::TarGz),
    (".tar", ArchiveKind::Tar),
    (".zip", ArchiveKind::Zip),
];

/// Compressed forms that are refused: serving one as a model file would
/// only fail later, and less clearly.
const REFUSED: [&str; 10] = [
    ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".gz", ".bz2", ".xz", ".7z",
];

/// The archive form of `name`: `Ok(None)` for a plain file, an error for a
/// compressed form that is not unpacked.
pub fn kind_of(name: &Path) -> Result<Option<ArchiveKind>> {
    let n = name.to_string_lossy().to_ascii_lowercase();
    if let Some((_, kind)) = UNPACKED.iter().find(|(ext, _)| n.ends_with(ext)) {
        return Ok(Some(*kind));
    }
    if let Some(ext) = REFUSED.iter().find(|ext| n.ends_with(*ext)) {
        return Err(PredictorError::Storage(format!(
            "{}: '{ext}' archives are not supported; repack it as .tar.gz, .tgz, .tar or .zip",
            name.display()
        )));
    }
    Ok(None)
}

pub fn is_archive(name: &Path) -> bool {
    matches!(kind_of(name), Ok(Some(_)))
}

fn fail(archive: &Path, why: impl std::fmt::Display) -> PredictorError {
    PredictorError::Storage(format!("archive {}: {why}", archive.display()))
}

/// Unpacks the archive `file` (named `name`, of form `kind`) into `dest`.
pub fn unpack(
    name: &Path,
    kind: ArchiveKind,
    file: &Path,
    dest: &Path,
    budget: &mut Budget,
) -> Result<()> {
    let open = || File::open(file).map_err(|e| fail(name, format!("{}: {e}", file.display())));
    let size = open()?.metadata().map_err(|e| fail(name, e))?.len();
    let what = format!("archive {}", name.display());
    let mut budget = budget.archive(&what, size);
    match kind {
        ArchiveKind::Tar => untar(name, BufReader::new(open()?), dest, &mut budget),
        ArchiveKind::TarGz => untar(
            name,
            flate2::read::GzDecoder::new(BufReader::new(open()?)),
            dest,
            &mut budget,
        ),
        ArchiveKind::Zip => unzip(name, open()?, dest, &mut budget),
    }
}

fn write_entry(
    archive: &Path,
    dest: &Path,
    rel: &str,
    mut reader: impl Read,
    budget: &mut ArchiveBudget<'_>,
) -> Result<()> {
    let rel = safe_relative(rel.trim_end_matches('/')).map_err(|e| fail(archive, e))?;
    let target = dest.join(rel);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(archive, e))?;
    }
    let mut out =
        File::create(&target).map_err(|e| fail(archive, format!("{}: {e}", target.display())))?;
    // Counted before it is written: the limits hold on disk, not after it.
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(archive, e))?;
        if n == 0 {
            return Ok(());
        }
        budget.take(n as u64)?;
        out.write_all(&buf[..n]).map_err(|e| fail(archive, e))?;
    }
}

fn untar(
    name: &Path,
    reader: impl Read,
    dest: &Path,
    budget: &mut ArchiveBudget<'_>,
) -> Result<()> {
    let mut tar = tar::Archive::new(reader);
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
                write_entry(name, dest, &path, entry, budget)?
            }
            // pax and GNU headers describe the next entry; tar reads them itself.
            tar::EntryType::XGlobalHeader => {}
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

fn unzip(name: &Path, file: File, dest: &Path, budget: &mut ArchiveBudget<'_>) -> Result<()> {
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| fail(name, e))?;
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
            write_entry(name, dest, &raw, file, budget)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::storage::FetchLimits;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("infergate-archive-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
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
        builder.into_inner().unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
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

    /// Unpacks `bytes`, written first to a file named `name` beside `dest`.
    fn unpack_bytes(name: &str, bytes: &[u8], dest: &Path, limits: FetchLimits) -> Result<()> {
        let file = dest.with_extension("archive");
        std::fs::write(&file, bytes).unwrap();
        let name = Path::new(name);
        let kind = kind_of(name)?.expect("an archive name");
        unpack(name, kind, &file, dest, &mut Budget::new(limits))
    }

    #[test]
    fn tar_tgz_and_zip_unpack_in_place() {
        let d = tmpdir("ok");
        let ok = FetchLimits::default();
        let tarred = tar(&[("iris/model.onnx", b"onnx")]);
        unpack_bytes("m.tar.gz", &gz(&tarred), &d, ok).unwrap();
        assert_eq!(std::fs::read(d.join("iris/model.onnx")).unwrap(), b"onnx");
        unpack_bytes("m.tar", &tar(&[("plain/model.onnx", b"t")]), &d, ok).unwrap();
        assert_eq!(std::fs::read(d.join("plain/model.onnx")).unwrap(), b"t");
        unpack_bytes(
            "m.zip",
            &zip_bytes(&[("intent/1/model.onnx", b"z")]),
            &d,
            ok,
        )
        .unwrap();
        assert_eq!(std::fs::read(d.join("intent/1/model.onnx")).unwrap(), b"z");
    }

    #[test]
    fn other_compressed_forms_are_refused_by_name() {
        for name in ["m.tar.bz2", "m.tbz2", "m.tar.xz", "model.onnx.gz", "m.7z"] {
            let err = kind_of(Path::new(name)).unwrap_err().to_string();
            assert!(
                err.contains("not supported") && err.contains(".tar.gz"),
                "{err}"
            );
        }
        assert_eq!(kind_of(Path::new("model.onnx")).unwrap(), None);
        assert_eq!(
            kind_of(Path::new("M.TGZ")).unwrap(),
            Some(ArchiveKind::TarGz)
        );
    }

    #[test]
    fn archives_that_expand_too_much_stop_at_the_limit() {
        // 8 MiB of zeros packs into a few KiB: far past a ratio of 100.
        let zeros = vec![0u8; 8 << 20];
        let limits = FetchLimits::default();
        for (name, bytes) in [
            ("bomb.tgz", gz(&tar(&[("m/model.onnx", &zeros)]))),
            ("bomb.zip", zip_bytes(&[("m/model.onnx", &zeros)])),
        ] {
            let d = tmpdir(name);
            let err = unpack_bytes(name, &bytes, &d, limits)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("--storage_max_expansion_ratio"),
                "{name}: {err}"
            );
            let written = std::fs::metadata(d.join("m/model.onnx")).unwrap().len();
            assert!(
                written <= 100 * bytes.len() as u64,
                "{name}: {written} bytes written"
            );
        }
        // The same archive under a total cap smaller than its ratio allows.
        let d = tmpdir("cap");
        let small = FetchLimits {
            max_bytes: 1 << 20,
            max_expansion_ratio: 1_000_000,
        };
        let tgz = gz(&tar(&[("m/model.onnx", &zeros)]));
        let err = unpack_bytes("m.tgz", &tgz, &d, small)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--storage_max_bytes"), "{err}");
        assert!(std::fs::metadata(d.join("m/model.onnx")).unwrap().len() <= 1 << 20);
    }

    #[test]
    fn traversal_entries_are_refused_and_nothing_escapes() {
        let d = tmpdir("evil");
        let inner = d.join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        let ok = FetchLimits::default();
        let evil = gz(&tar(&[("../escaped.txt", b"x")]));
        let err = unpack_bytes("evil.tgz", &evil, &inner, ok).unwrap_err();
        assert!(
            err.to_string().contains("outside the model directory"),
            "{err}"
        );
        let evil = zip_bytes(&[("../escaped.txt", b"x")]);
        let err = unpack_bytes("evil.zip", &evil, &inner, ok).unwrap_err();
        assert!(
            err.to_string().contains("outside the model directory"),
            "{err}"
        );
        assert!(!d.join("escaped.txt").exists());
    }
}
