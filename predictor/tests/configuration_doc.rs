//! docs/configuration.md cannot drift from the code: every TOML example in
//! it is parsed with the type that reads it at run time, and every key of a
//! model's config.toml is documented.
use std::path::{Path, PathBuf};

use infergate_predictor::PredictorFlags;
use infergate_predictor::model_config::ModelConfig;
use infergate_server::cli::{self, ServeFlags};

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced ```toml blocks of `text`: (what the block is, its text, line).
fn toml_blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) if info.starts_with("toml") => {
                let kind = info["toml".len()..].trim().to_string();
                open = Some((kind, String::new(), i + 1));
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some((_, body, _)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    assert!(open.is_none(), "a ```toml block is not closed");
    blocks
}

fn scratch(line: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "infergate-config-doc-{}-{line}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Debug, clap::Parser)]
struct PredictorCommand {
    #[command(flatten)]
    serve: ServeFlags,
    #[command(flatten)]
    predictor: PredictorFlags,
}

#[test]
fn every_example_parses_with_the_type_that_reads_it() {
    let blocks = toml_blocks(&doc());
    let count = |kind: &str| blocks.iter().filter(|(k, _, _)| k == kind).count();
    assert!(count("model-config") >= 3 && count("transformer-config") >= 2);
    assert!(count("config-file") >= 1);
    for (kind, text, line) in &blocks {
        let at = format!("docs/configuration.md:{line} ({kind})");
        match kind.as_str() {
            "model-config" => {
                let dir = scratch(*line);
                std::fs::write(dir.join("config.toml"), text).unwrap();
                if let Err(e) = ModelConfig::read(&dir, "doc") {
                    panic!("{at}: {e}");
                }
            }
            "transformer-config" => {
                if let Err(e) = infergate_transformer::Declarative::from_toml(text) {
                    panic!("{at}: {e}");
                }
            }
            "config-file" => {
                let file = scratch(*line).join("infergate.toml");
                std::fs::write(&file, text).unwrap();
                let argv = [
                    "infergate-predictor",
                    "--config_file",
                    file.to_str().unwrap(),
                ];
                match cli::load::<PredictorCommand>(argv.iter().map(Into::into)) {
                    Ok(loaded) => {
                        assert!(loaded.warnings.is_empty(), "{at}: {:?}", loaded.warnings)
                    }
                    Err(e) => panic!("{at}: {e}"),
                }
            }
            other => panic!(
                "{at}: say what the block is (model-config, transformer-config, config-file), not '{other}'"
            ),
        }
    }
}

/// The keys of the fullest model-config example, as its Debug form names
/// them: every field of ModelConfig and of what it holds.
fn keys_of(config: &ModelConfig) -> Vec<String> {
    let text = format!("{config:?}");
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter_map(|w| w.strip_suffix(':'))
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_model_config_key_is_documented() {
    let text = doc();
    let fullest = toml_blocks(&text)
        .into_iter()
        .filter(|(kind, _, _)| kind == "model-config")
        .map(|(_, body, line)| {
            let dir = scratch(line + 100_000);
            std::fs::write(dir.join("config.toml"), body).unwrap();
            ModelConfig::read(&dir, "doc").unwrap()
        })
        .max_by_key(|c| keys_of(c).len())
        .unwrap();
    let keys = keys_of(&fullest);
    for key in [
        "name",
        "max_batch_size",
        "instance_count",
        "intra_op_threads",
        "v1_output",
        "version_policy",
        "dynamic_batching",
        "inputs",
        "outputs",
    ] {
        assert!(
            keys.iter().any(|k| k == key),
            "the fullest example lacks {key}: {keys:?}"
        );
    }
    for key in keys {
        assert!(
            text.contains(&format!("`{key}`"))
                || text.contains(&format!(".{key}`"))
                || text.contains(&format!("[{key}")),
            "docs/configuration.md does not document `{key}`"
        );
    }
}

#[test]
fn the_readme_batching_example_is_the_mlp_config_shipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown = toml_blocks(&readme)
        .into_iter()
        .find(|(_, body, _)| body.starts_with("# models/mlp/config.toml"))
        .expect("README shows models/mlp/config.toml")
        .1;
    let dir = scratch(200_000);
    std::fs::write(dir.join("config.toml"), shown).unwrap();
    let shown = ModelConfig::read(&dir, "mlp").unwrap();
    let shipped = ModelConfig::read(&root.join("models/mlp"), "mlp").unwrap();
    assert!(shipped.batching().is_some(), "models/mlp is served batched");
    assert_eq!(shown.batching(), shipped.batching());
    assert_eq!(shown.max_batch_size, shipped.max_batch_size);
}
