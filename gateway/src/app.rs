//! Turns flags into a running server: which models to host, then serve
//! until SIGTERM.
use std::io;
use std::sync::Arc;

use infergate_server::builtin::{BUILTIN_NAMES, BuiltinRepository, builtin_model};
use infergate_server::{ModelRegistry, ModelRepository};

use crate::config::Flags;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The registry of models the flags ask for: the ONNX models of
/// --model_dir / --storage_uri (embedded predictor) and any built-ins.
pub async fn registry(flags: &Flags) -> io::Result<Arc<ModelRegistry>> {
    if flags.upstream.predictor_host.is_some() {
        return Err(invalid(
            "--predictor_host (transformer mode) is not available in this build yet".into(),
        ));
    }
    let has_models = flags.predictor.model_dir.is_some() || flags.predictor.storage_uri.is_some();
    if !has_models && flags.builtin_models.is_empty() {
        return Err(invalid(format!(
            "nothing to serve: give --model_dir or --storage_uri (ONNX models), --predictor_host \
             (transformer), or --builtin_models (one or more of {})",
            BUILTIN_NAMES.join(", ")
        )));
    }
    let registry = if has_models {
        infergate_predictor::registry_from_flags(&flags.predictor, &flags.serve.model_name)
            .await
            .map_err(|e| io::Error::other(e.to_string()))?
    } else {
        Arc::new(ModelRegistry::new(Some(
            Arc::new(BuiltinRepository) as Arc<dyn ModelRepository>
        )))
    };
    for name in &flags.builtin_models {
        let model = builtin_model(name).ok_or_else(|| {
            invalid(format!(
                "unknown built-in model '{name}' (known: {})",
                BUILTIN_NAMES.join(", ")
            ))
        })?;
        registry.register(model);
    }
    Ok(registry)
}

/// Starts serving what `flags` describe and returns when shut down.
pub async fn run(flags: Flags) -> io::Result<()> {
    let registry = registry(&flags).await?;
    infergate_server::serve_until_signal("infergate", &flags.serve, registry).await
}
