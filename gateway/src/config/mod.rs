//! The `infergate` command line; parsing (environment, config file, unknown
//! flags) is shared with `infergate-predictor` in `infergate_server::cli`.
mod batcher_flags;
mod flags;
#[cfg(not(feature = "predictor"))]
mod no_predictor;
mod predictor_host;

use std::ffi::OsString;

pub use batcher_flags::BatcherFlags;
pub use flags::{Flags, PredictorProtocol, UpstreamFlags};
pub use infergate_server::cli::{ConfigError, Loaded};
pub use predictor_host::{PredictorHost, parse_predictor_host};

/// Parses `argv` (program name first) with the environment and config file.
pub fn load(argv: impl IntoIterator<Item = OsString>) -> Result<Loaded<Flags>, ConfigError> {
    infergate_server::cli::load::<Flags>(argv)
}

#[cfg(test)]
mod tests;
