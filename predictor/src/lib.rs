//! The colocated predictor: ONNX Runtime sessions behind the `Model` trait of
//! `infergate-server`, with dynamic batching, a model repository and storage
//! URIs. It sits beside the gateway (which embeds it when no
//! `--predictor_host` is given) and depends only on the wire and serving
//! crates.
mod batching;
pub mod convert;
mod empty_repo;
pub mod error;
pub mod flags;
pub mod mlflow;
pub mod model;
pub mod model_config;
pub mod padded_batch;
pub mod repository;
pub mod runtime;
pub mod session;
pub mod storage;
pub mod text_batch;
pub mod text_model;
pub mod versioned;

use std::path::PathBuf;
use std::sync::Arc;

use infergate_server::ModelRegistry;

pub use error::PredictorError;
pub use flags::PredictorFlags;
pub use repository::{LoadOptions, ModelDir};

/// Where --storage_uri downloads go when --model_dir is not given (as KServe).
pub const DEFAULT_MODEL_DIR: &str = "/mnt/models";

/// Fetches the models (--storage_uri), loads ONNX Runtime and every model of the repository the flags name,
/// returning the registry that serves them (with load/unload wired to it).
pub async fn registry_from_flags(
    flags: &PredictorFlags,
    model_name: &str,
) -> Result<Arc<ModelRegistry>, PredictorError> {
    let dir = match (&flags.storage_uri, &flags.model_dir) {
        (Some(uri), dir) => {
            let dest = dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_DIR));
            tracing::info!(uri, dest = %dest.display(), "fetching models");
            storage::fetch(uri, &dest, flags.fetch_limits()).await?
        }
        (None, Some(dir)) => dir.clone(),
        (None, None) => {
            return Err(PredictorError::Runtime(
                "give --model_dir or --storage_uri".into(),
            ));
        }
    };
    let lib = runtime::init(flags.ort_library.as_deref())?;
    tracing::info!(library = %lib.display(), "ONNX Runtime loaded");
    let repo = Arc::new(ModelDir::new(
        dir,
        model_name.to_string(),
        LoadOptions {
            device: flags.device,
            intra_op_threads: flags.intra_op_threads,
        },
    ));
    let registry = ModelRegistry::new(Some(repo.clone()));
    for source in repo.discover()? {
        let model = repo.load_source(source).await?;
        registry.register(model);
    }
    Ok(Arc::new(registry))
}
