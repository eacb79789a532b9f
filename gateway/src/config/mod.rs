//! Configuration as KServe users give it: KServe's flags under their names,
//! INFERGATE_* environment variables, and a TOML config file, with the
//! precedence command line > environment > file > defaults. Unknown flags are
//! reported and ignored (KServe parses with `parse_known_args`).
mod flags;
mod unknown;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

pub use flags::{Flags, LogFormat, PredictorProtocol, strtobool};

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
pub struct Loaded {
    pub flags: Flags,
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
    let cmd = Flags::command();
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
        if id == "config_file" {
            continue;
        }
        if matches!(
            first_pass.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
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

/// Parses `argv` (program name first) with the environment and config file.
pub fn load(argv: impl IntoIterator<Item = OsString>) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let argv =
        unknown::drop_unknown_flags(&Flags::command(), argv.into_iter().collect(), &mut warnings);
    let first = Flags::command().try_get_matches_from(&argv)?;
    let matches = match first.get_one::<PathBuf>("config_file") {
        Some(path) => {
            let injected = file_args(path, &first, &mut warnings)?;
            let mut full = argv[..1].to_vec();
            full.extend(injected);
            full.extend_from_slice(&argv[1..]);
            Flags::command().try_get_matches_from(full)?
        }
        None => first,
    };
    Ok(Loaded {
        flags: Flags::from_arg_matches(&matches)?,
        warnings,
    })
}

#[cfg(test)]
mod tests;
