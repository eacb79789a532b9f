//! infergate: a drop-in KServe transformer container and gateway. This crate
//! holds the `infergate` command line, the upstream predictor client and the
//! wiring of what it serves; the data plane is `infergate-server`, the ONNX
//! predictor `infergate-predictor`, the transform hooks
//! `infergate-transformer`.
//!
//! A custom transformer is a small binary:
//! ```no_run
//! # use std::sync::Arc;
//! # struct MyTransformer;
//! # impl infergate_transformer::Transformer for MyTransformer {}
//! fn main() -> std::process::ExitCode {
//!     infergate_gateway::main_with(Some(Arc::new(MyTransformer)))
//! }
//! ```
pub mod app;
pub mod batcher;
pub mod config;
pub mod transformer_model;
pub mod upstream;

use std::process::ExitCode;
use std::sync::Arc;

use infergate_transformer::Transformer;

/// The `infergate` program: parses flags (environment, config file), logs,
/// and serves until SIGTERM. `transformer`, when given, replaces the
/// declarative transformer of --transformer_config in transformer mode.
pub fn main_with(transformer: Option<Arc<dyn Transformer>>) -> ExitCode {
    let loaded = match config::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(config::ConfigError::Flags(e)) => e.exit(),
        Err(e) => {
            eprintln!("infergate: {e}");
            return ExitCode::from(2);
        }
    };
    // Held to the end: dropping it writes out the queued log lines.
    let _logs = infergate_server::cli::init_logging(&loaded.flags.serve);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("infergate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(loaded.flags, transformer)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("infergate: {e}");
            ExitCode::FAILURE
        }
    }
}
