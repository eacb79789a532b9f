use std::process::ExitCode;

use clap::Parser;
use infergate_loadtest::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Run(a) => a.threads,
        Command::Mock(a) => a.threads,
    }
    .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
    .unwrap_or(1);
    // One thread: a current-thread runtime, with no work-stealing overhead.
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let result = match runtime {
        Ok(rt) => rt.block_on(infergate_loadtest::main(cli)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("infergate-loadtest: {e}");
            ExitCode::from(2)
        }
    }
}
