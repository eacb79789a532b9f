//! Parsing a command line together with the environment and a config file.
use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use clap::parser::ValueSource;

use super::unknown;

/// The id of the flag that names the config file, in every command.
const CONFIG_FILE: &str = "config_file";

/// Environment variables other tools define that stand for a flag, read
/// when the flag's own INFERGATE_ variable is not set (which wins when both
/// are): KServe's storage initializer's and ONNX Runtime's (ort's) names.
const ENV_ALIASES: [(&str, &str); 2] = [
    ("storage_uri", "STORAGE_URI"),
    ("ort_library", "ORT_DYLIB_PATH"),
];

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

    #[error("config file {path}: key '{key}': {message}")]
    FileValue {
        path: PathBuf,
        key: String,
        message: String,
    },
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
        check_value(arg, key, &text).map_err(|message| ConfigError::FileValue {
            path: path.clone(),
            key: key.clone(),
            message,
        })?;
        args.push(OsString::from(format!("--{key}={text}")));
    }
    Ok(args)
}

/// Checks a config file's value with the flag's own parser, so that a bad
/// value is reported against the file and key rather than the flag.
fn check_value(arg: &clap::Arg, key: &str, text: &str) -> Result<(), String> {
    use clap::error::{ContextKind, ErrorKind};
    // The flag alone (its links to other flags dropped), parsing one value.
    let alone = arg
        .clone()
        .required(false)
        .requires(clap::builder::Resettable::Reset)
        .conflicts_with(clap::builder::Resettable::Reset);
    let cmd = clap::Command::new("config_file")
        .no_binary_name(true)
        .arg(alone);
    let Err(e) = cmd.try_get_matches_from([format!("--{key}={text}")]) else {
        return Ok(());
    };
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        // Anything else concerns flags together; the full parse reports it.
        return Ok(());
    }
    let value = match e.get(ContextKind::InvalidValue) {
        Some(clap::error::ContextValue::String(v)) => v.clone(),
        _ => text.to_string(),
    };
    let why = match (
        std::error::Error::source(&e),
        e.get(ContextKind::ValidValue),
    ) {
        (Some(cause), _) => cause.to_string(),
        (None, Some(clap::error::ContextValue::Strings(valid))) => {
            format!("expected one of {}", valid.join(", "))
        }
        _ => "not a value this key takes".to_string(),
    };
    Err(format!("invalid value '{value}': {why}"))
}

/// Flag arguments for the aliases of [`ENV_ALIASES`] that are set, for flags
/// `cmd` has and that neither the command line nor their own variable set.
fn alias_args(
    cmd: &clap::Command,
    first_pass: &clap::ArgMatches,
    warnings: &mut Vec<String>,
) -> Vec<(&'static str, OsString)> {
    let mut args = Vec::new();
    for (long, alias) in ENV_ALIASES {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(long)) else {
            continue;
        };
        let Some(value) = std::env::var_os(alias).filter(|v| !v.is_empty()) else {
            continue;
        };
        match first_pass.value_source(arg.get_id().as_str()) {
            Some(ValueSource::CommandLine) => {}
            Some(ValueSource::EnvVariable) => {
                if let Some(own) = arg.get_env().filter(|own| *own != alias) {
                    warnings.push(format!(
                        "both {} and {alias} are set; using {}",
                        own.to_string_lossy(),
                        own.to_string_lossy()
                    ));
                }
            }
            _ => {
                let mut flag = OsString::from(format!("--{long}="));
                flag.push(value);
                args.push((long, flag));
            }
        }
    }
    args
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
    let aliases = alias_args(&cmd, &first, &mut warnings);
    let injected = match config_file {
        Some(path) => {
            let from_file = file_args(&cmd, path, &first, &mut warnings)?;
            // An alias variable outranks the file, as environment does.
            let aliased = |a: &OsString| {
                let a = a.to_string_lossy();
                aliases
                    .iter()
                    .any(|(long, _)| a.starts_with(&format!("--{long}=")))
            };
            from_file.into_iter().filter(|a| !aliased(a)).collect()
        }
        None => Vec::new(),
    };
    let matches = if aliases.is_empty() && injected.is_empty() {
        first
    } else {
        let mut full = argv[..1].to_vec();
        full.extend(aliases.into_iter().map(|(_, arg)| arg));
        full.extend(injected);
        full.extend_from_slice(&argv[1..]);
        cmd.try_get_matches_from(full)?
    };
    Ok(Loaded {
        flags: F::from_arg_matches(&matches)?,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Test {
        #[arg(long = "http_port", default_value_t = 8080)]
        http_port: u16,
        #[arg(long = "names", value_delimiter = ',')]
        names: Vec<String>,
        #[arg(long = "config_file")]
        config_file: Option<PathBuf>,
    }

    fn load_with(config: &str) -> Result<Loaded<Test>, ConfigError> {
        let path = std::env::temp_dir().join(format!(
            "infergate-loader-{}-{}.toml",
            std::process::id(),
            config.len()
        ));
        std::fs::write(&path, config).unwrap();
        let argv = ["prog", "--config_file", path.to_str().unwrap()];
        load::<Test>(argv.iter().map(OsString::from))
    }

    #[test]
    fn a_bad_file_value_names_the_file_and_the_key() {
        let err = load_with("http_port = \"eighty\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config file") && err.contains(".toml: key 'http_port'"),
            "{err}"
        );
        assert!(
            err.contains("eighty") && !err.contains("--http_port"),
            "{err}"
        );
        let err = load_with("http_port = 70000\n").unwrap_err().to_string();
        assert!(err.contains("key 'http_port'"), "{err}");
        let ok = load_with("http_port = 9000\nnames = [\"a\", \"b\"]\n").unwrap();
        assert_eq!((ok.flags.http_port, ok.flags.names.len()), (9000, 2));
    }
}
