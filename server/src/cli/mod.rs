//! Command lines as KServe users write them, shared by `infergate` and
//! `infergate-predictor`: KServe's flags under their names and value forms,
//! `INFERGATE_*` environment variables, and a TOML config file, with the
//! precedence command line > environment > file > defaults. Unknown flags are
//! reported and ignored (KServe parses with `parse_known_args`).
mod limit_flags;
mod loader;
mod log_writer;
mod logging;
mod serve_flags;
mod unknown;

pub use limit_flags::LimitFlags;
pub use loader::{ConfigError, Loaded, load};
pub use logging::{LogGuard, dropped_lines, init_logging};
pub use serve_flags::{LogFormat, ServeFlags};

/// Python's `strtobool`, which KServe uses for its boolean flags.
pub fn strtobool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "invalid truth value '{s}' (use true/false, yes/no, on/off or 1/0)"
        )),
    }
}
