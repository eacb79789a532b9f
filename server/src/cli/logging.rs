//! Logs to stderr, filtered by RUST_LOG (default `info`), as text or JSON.
use tracing_subscriber::EnvFilter;

use super::{LogFormat, ServeFlags};

pub fn init_logging(flags: &ServeFlags) {
    if !flags.configure_logging {
        return;
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,ort=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (an embedding program's) is not an error worth stopping for.
    let _ = match flags.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
