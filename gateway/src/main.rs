use std::process::ExitCode;

use infergate_gateway::app;
use infergate_gateway::config::{self, ConfigError};

fn main() -> ExitCode {
    let loaded = match config::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(ConfigError::Flags(e)) => e.exit(),
        Err(e) => {
            eprintln!("infergate: {e}");
            return ExitCode::from(2);
        }
    };
    infergate_server::cli::init_logging(&loaded.flags.serve);
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
    match runtime.block_on(app::run(loaded.flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("infergate: {e}");
            ExitCode::FAILURE
        }
    }
}
