//! Turns flags into a running server: which models to host (a transformer in
//! front of --predictor_host, or ONNX models and built-ins served here),
//! then serve until SIGTERM.
use std::io;
use std::sync::Arc;

use infergate_server::builtin::{BUILTIN_NAMES, BuiltinRepository, builtin_model};
use infergate_server::{ModelRegistry, ModelRepository};
use infergate_transformer::{Declarative, PassThrough, Transformer};

use crate::batcher::PredictBatcher;
use crate::config::Flags;
use crate::transformer_model::{TransformerModel, TransformerRepository};
use crate::upstream::{Upstream, UpstreamSettings};

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The transformer to run: the one given in code, else the declarative one
/// of --transformer_config, else pass-through.
fn transformer(
    flags: &Flags,
    custom: Option<Arc<dyn Transformer>>,
) -> io::Result<Arc<dyn Transformer>> {
    if let Some(t) = custom {
        return Ok(t);
    }
    Ok(match &flags.upstream.transformer_config {
        Some(path) => Arc::new(Declarative::from_file(path).map_err(|e| invalid(e.to_string()))?),
        None => Arc::new(PassThrough),
    })
}

/// The registry of models the flags ask for.
pub async fn registry(
    flags: &Flags,
    custom: Option<Arc<dyn Transformer>>,
) -> io::Result<Arc<ModelRegistry>> {
    if let Some(settings) =
        UpstreamSettings::from_flags(&flags.upstream, flags.serve.grpc_max_send_message_length)
            .map_err(invalid)?
    {
        let upstream = Upstream::new(settings).map_err(|e| invalid(e.to_string()))?;
        // Declarative postprocess steps work on tensors, so they get a v1
        // predictor's answer as named tensors for V1 callers too; a custom
        // transformer gets it as it came when the caller speaks V1.
        let declarative = custom.is_none() && flags.upstream.transformer_config.is_some();
        let transformer = transformer(flags, custom)?;
        let tensor_postprocess = declarative && transformer.has_postprocess();
        let batcher = crate::batcher::settings(&flags.batcher).map(|s| {
            PredictBatcher::start(
                &flags.serve.model_name,
                s,
                flags.batcher.batcher_workers.max(1),
                upstream.clone(),
            )
        });
        let model = Arc::new(TransformerModel::new(
            flags.serve.model_name.clone(),
            transformer,
            upstream,
            batcher,
            flags.upstream.enable_predictor_health_check,
            tensor_postprocess,
        ));
        let registry =
            ModelRegistry::new(Some(Arc::new(TransformerRepository::new(model.clone()))));
        registry.register(model);
        return Ok(Arc::new(registry));
    }
    if flags.batcher.enable_batcher {
        return Err(invalid(
            "--enable-batcher batches the calls to --predictor_host; models served here \
             batch by their config.toml ([dynamic_batching], docs/configuration.md)"
                .to_string(),
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
        predictor_registry(flags).await?
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

/// The ONNX models of --model_dir / --storage_uri, served in-process.
#[cfg(feature = "predictor")]
async fn predictor_registry(flags: &Flags) -> io::Result<Arc<ModelRegistry>> {
    infergate_predictor::registry_from_flags(&flags.predictor, &flags.serve.model_name)
        .await
        .map_err(|e| io::Error::other(e.to_string()))
}

/// A transformer / proxy-only build (no `predictor` feature) cannot serve
/// ONNX models; it says so at start rather than serving nothing.
#[cfg(not(feature = "predictor"))]
async fn predictor_registry(_flags: &Flags) -> io::Result<Arc<ModelRegistry>> {
    Err(invalid(
        "--model_dir / --storage_uri: this build has no predictor; use the \
         infergate-predictor image (or build infergate with the `predictor` feature)"
            .to_string(),
    ))
}

/// Serves what `flags` describe until shut down.
pub async fn run(flags: Flags, custom: Option<Arc<dyn Transformer>>) -> io::Result<()> {
    let registry = registry(&flags, custom).await?;
    infergate_server::serve_until_signal("infergate", &flags.serve, registry).await
}
