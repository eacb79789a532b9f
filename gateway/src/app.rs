//! Turns flags into a running server: which models to host, where to listen,
//! and when to stop.
use std::io;
use std::sync::Arc;
use std::time::Duration;

use infergate_proto::ServerMetadata;
use infergate_server::builtin::{BUILTIN_NAMES, BuiltinRepository, builtin_model};
use infergate_server::grpc::GrpcSettings;
use infergate_server::{DataPlane, ModelRegistry, Server, ServerConfig};

use crate::config::Flags;

pub fn server_config(flags: &Flags) -> ServerConfig {
    ServerConfig {
        bind_address: flags.bind_address,
        http_port: flags.http_port,
        grpc_port: flags.grpc_port,
        enable_grpc: flags.enable_grpc,
        max_request_bytes: flags.max_request_bytes,
        grpc: GrpcSettings {
            max_receive_message_length: flags.grpc_max_receive_message_length,
            max_send_message_length: flags.grpc_max_send_message_length,
        },
        keep_alive: Duration::from_secs(flags.timeout_keep_alive),
        drain_timeout: Duration::from_secs(flags.drain_timeout_seconds),
        tls: flags.ssl_certfile.clone().zip(flags.ssl_keyfile.clone()),
        access_log: flags.enable_access_log,
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The registry of models the flags ask for.
pub fn registry(flags: &Flags) -> io::Result<Arc<ModelRegistry>> {
    if flags.predictor_host.is_some() {
        return Err(invalid(
            "--predictor_host (transformer mode) is not available in this build yet".into(),
        ));
    }
    if flags.builtin_models.is_empty() {
        return Err(invalid(format!(
            "nothing to serve: give --builtin_models (one or more of {})",
            BUILTIN_NAMES.join(", ")
        )));
    }
    let registry = ModelRegistry::new(Some(Arc::new(BuiltinRepository)));
    for name in &flags.builtin_models {
        let model = builtin_model(name).ok_or_else(|| {
            invalid(format!(
                "unknown built-in model '{name}' (known: {})",
                BUILTIN_NAMES.join(", ")
            ))
        })?;
        registry.register(model);
    }
    Ok(Arc::new(registry))
}

/// Resolves on SIGTERM (Kubernetes' stop) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: no longer ready, finishing in-flight requests");
}

/// Starts serving what `flags` describe and returns when shut down.
pub async fn run(flags: Flags) -> io::Result<()> {
    let registry = registry(&flags)?;
    let metadata = ServerMetadata {
        name: "infergate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        extensions: vec!["binary_tensor_data".into(), "model_repository".into()],
    };
    let dataplane = Arc::new(DataPlane::new(
        registry,
        metadata,
        flags.enable_latency_logging,
    ));
    let server = Server::bind(server_config(&flags), dataplane).await?;
    let http = server.http_addr()?;
    let grpc = server
        .grpc_addr()
        .map_or_else(|| "off".to_string(), |a| a.to_string());
    // One line on stdout that scripts and tests read for the bound ports.
    println!("infergate listening http={http} grpc={grpc}");
    tracing::info!(%http, %grpc, models = ?flags.builtin_models, "serving");
    server.run(shutdown_signal()).await
}
