//! Parsing a command line together with the environment and a config file.
use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use clap::parser::ValueSource;

use super::unknown;

/// The id of the flag that names the config file, in every command.
const CONFIG_FILE: &str = "config_file";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Flags(#[from] clap::Error),

    #[error("cannot read config file {path}: {source}")]
    FileRead {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("config file {path}: {message}")]
    FileFormat { path: PathBuf, message: String },
}

/// Parsed flags and what was ignored on the way.
#[derive(Debug)]
pub struct Loaded<F> {
    pub flags: F,
    pub warnings: Vec<String>,
}

/// A TOML value as the text a flag would take.
fn flag_text(key: &str, v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| flag_text(key, i))
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        other => {
            return Err(format!(
                "'{key}' must be a string, number, boolean or list, not {}",
                other.type_str()
            ));
        }
    })
}

/// Flag arguments for the file's keys that neither the command line nor the
/// environment set.
fn file_args(
    cmd: &clap::Command,
    path: &PathBuf,
    first_pass: &clap::ArgMatches,
    warnings: &mut Vec<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::FileRead {
        path: path.clone(),
        source,
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigError::FileFormat {
                path: path.clone(),
                message: e.to_string(),
            })?;
    let mut args = Vec::new();
    for (key, value) in &table {
        let Some(arg) = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
        else {
            warnings.push(format!(
                "config file {}: unknown key '{key}' ignored",
                path.display()
            ));
            continue;
        };
        let id = arg.get_id().as_str();
        if id == CONFIG_FILE
            || matches!(
                first_pass.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        {
            continue;
        }
        let text = flag_text(key, value).map_err(|message| ConfigError::FileFormat {
            path: path.clone(),
            message,
        })?;
        args.push(OsString::from(format!("--{key}={text}")));
    }
    Ok(args)
}

/// Parses `argv` (program name first) into `F`, with the environment and the
/// config file that `--config_file` names (when `F` has that flag).
pub fn load<F: Parser>(argv: impl IntoIterator<Item = OsString>) -> Result<Loaded<F>, ConfigError> {
    let cmd = F::command();
    let mut warnings = Vec::new();
    let argv = unknown::drop_unknown_flags(&cmd, argv.into_iter().collect(), &mut warnings);
    let first = cmd.clone().try_get_matches_from(&argv)?;
    let config_file = cmd
        .get_arguments()
        .any(|a| a.get_id() == CONFIG_FILE)
        .then(|| first.get_one::<PathBuf>(CONFIG_FILE))
        .flatten();
    let matches = match config_file {
        Some(path) => {
            let injected = file_args(&cmd, path, &first, &mut warnings)?;
            let mut full = argv[..1].to_vec();
            full.extend(injected);
            full.extend_from_slice(&argv[1..]);
            cmd.try_get_matches_from(full)?
        }
        None => first,
    };
    Ok(Loaded {
        flags: F::from_arg_matches(&matches)?,
        warnings,
    })
}
