use std::process::ExitCode;

use clap::Parser;
use infergate_predictor::PredictorFlags;
use infergate_server::cli::{self, ConfigError, ServeFlags};

// On by default: glibc malloc costs 10% more instructions per request
// (docs/benchmarks.md, "Allocator"); `--no-default-features` keeps it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// infergate-predictor: serves ONNX models (ONNX Runtime, CPU or CUDA) over
/// the KServe V1 / V2 REST and gRPC data plane, with dynamic batching.
///
/// Accepts the flags of a KServe model server under the same names; unknown
/// flags are reported and ignored. Values come from, in order of precedence:
/// command line, INFERGATE_<FLAG> environment variables, the --config_file,
/// built-in defaults.
#[derive(Debug, Parser)]
#[command(name = "infergate-predictor", version, max_term_width = 100)]
struct Flags {
    #[command(flatten)]
    serve: ServeFlags,
    #[command(flatten)]
    predictor: PredictorFlags,
}

fn main() -> ExitCode {
    let loaded = match cli::load::<Flags>(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(ConfigError::Flags(e)) => e.exit(),
        Err(e) => {
            eprintln!("infergate-predictor: {e}");
            return ExitCode::from(2);
        }
    };
    // Held to the end: dropping it writes out the queued log lines.
    let _logs = cli::init_logging(&loaded.flags.serve);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let flags = loaded.flags;
    let run = async move {
        let registry =
            infergate_predictor::registry_from_flags(&flags.predictor, &flags.serve.model_name)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        infergate_server::serve_until_signal("infergate-predictor", &flags.serve, registry).await
    };
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => match rt.block_on(run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("infergate-predictor: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("infergate-predictor: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
