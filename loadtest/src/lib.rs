//! infergate-loadtest: drives KServe V1/V2 REST and gRPC servers (infergate,
//! KServe, Triton, MLServer) and reports latency percentiles and throughput.
//! It depends on the wire crate only, so it measures any server alike.
//!
//! `run` drives one or more targets in closed loop (fixed concurrency) or
//! open loop (fixed rate, latency from the intended send time); `mock` serves
//! a predictor of known latency and error rate.
pub mod cli;
pub mod client;
pub mod error;
pub mod metadata;
pub mod mock;
pub mod outcome;
pub mod payload;
pub mod plot;
pub mod progress;
pub mod record;
pub mod report;
pub mod run;
pub mod table;
pub mod target;

pub use error::{LoadError, Result};

/// Runs a parsed command line to completion.
pub async fn main(cli: cli::Cli) -> Result<()> {
    match cli.command {
        cli::Command::Run(args) => {
            let report = run::run(&args).await?;
            output(&args, &report)
        }
        cli::Command::Mock(args) => mock::run(&args).await,
    }
}

fn output(args: &cli::RunArgs, report: &report::Report) -> Result<()> {
    let to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = args.json.as_deref().filter(|_| !to_stdout) {
        let json = serde_json::to_vec_pretty(report)?;
        std::fs::write(path, json).map_err(|source| LoadError::WriteFile {
            path: path.to_path_buf(),
            source,
        })?;
    }
    if to_stdout {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", table::render(report));
    }
    if let Some(dir) = &args.plot {
        // The numbers are out already; a missing font only costs the pictures.
        match plot::write(dir, report) {
            Ok(paths) => {
                for p in paths {
                    eprintln!("plot: {}", p.display());
                }
            }
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    Ok(())
}
