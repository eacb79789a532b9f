//! Why a model directory holds nothing to serve, entry by entry, so that a
//! repository that is empty, half-unpacked or laid out wrongly fails at start
//! with the reason instead of serving zero models and answering ready.
use std::path::Path;

use crate::storage::kind_of;

/// Entries described before the rest are only counted.
const SHOWN: usize = 10;

/// What `root` holds and why none of it is a model.
pub fn describe(root: &Path) -> String {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    let mut why: Vec<String> = entries.iter().take(SHOWN).map(|p| entry(p)).collect();
    if entries.len() > SHOWN {
        why.push(format!("and {} more entries", entries.len() - SHOWN));
    }
    let found = if why.is_empty() {
        "it is empty".to_string()
    } else {
        format!("it holds {}", why.join("; "))
    };
    format!(
        "no model to serve in {}: {found}. A repository holds one folder per model with a \
         model.onnx (or numbered version folders 1/, 2/, ... each with one), or .onnx files itself",
        root.display()
    )
}

fn entry(path: &Path) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if path.is_dir() {
        return format!("'{name}/', a folder with no .onnx file and no version folder holding one");
    }
    match kind_of(Path::new(&name)) {
        Ok(Some(_)) => format!(
            "'{name}', an archive (archives are unpacked when fetched with --storage_uri, \
             not when found in --model_dir)"
        ),
        Err(e) => format!("'{name}': {e}"),
        Ok(None) => format!("'{name}', a file that is not a model (.onnx)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_says_why_it_is_not_a_model() {
        let d = std::env::temp_dir().join(format!("infergate-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        assert!(describe(&d).contains("it is empty"), "{}", describe(&d));
        std::fs::create_dir_all(d.join("iris/1")).unwrap();
        std::fs::write(d.join("models.tar"), b"").unwrap();
        std::fs::write(d.join("notes.txt"), b"").unwrap();
        std::fs::write(d.join("m.tar.bz2"), b"").unwrap();
        let text = describe(&d);
        for want in [
            "'iris/', a folder with no .onnx",
            "'models.tar', an archive",
            "'notes.txt', a file that is not a model",
            "'.tar.bz2' archives are not supported",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }
}
