//! The KServe data plane of infergate: a REST server (V1 and V2, JSON and
//! the binary extension) and a gRPC server (`inference.GRPCInferenceService`,
//! health, reflection) in front of a registry of [`Model`]s. Both binaries,
//! `infergate` and `infergate-predictor`, serve through it.
pub mod access_log;
pub mod batching;
pub mod builtin;
pub mod cli;
pub mod conn;
pub mod dataplane;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
mod grpc_intake;
pub mod http;
pub mod metrics;
pub mod model;
pub mod otel;
pub mod registry;
mod tls;

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use dataplane::DataPlane;
pub use error::InferError;
pub use model::{Model, Payload, Protocol, Reply, RequestContext};
pub use registry::{ModelRegistry, ModelRepository};

/// Where and how the servers listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind_address: IpAddr,
    pub http_port: u16,
    pub grpc_port: u16,
    pub enable_grpc: bool,
    pub max_request_bytes: usize,
    pub grpc: grpc::GrpcSettings,
    /// How long an idle HTTP/1 connection may wait for its next request.
    pub keep_alive: Duration,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub drain_timeout: Duration,
    /// Serve REST over TLS with this PEM certificate chain and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require client certificates signed by this CA (mTLS) on the TLS port.
    pub tls_client_ca: Option<PathBuf>,
    /// Log one line per REST request.
    pub access_log: bool,
    /// Serve plain HTTP/1.1 requests on infergate's own fast path (hyper
    /// serves everything else, and everything when off).
    pub http1_fast_path: bool,
    /// Connection caps, body and idle deadlines, h2 streams, drain grace.
    pub limits: conn::ConnectionLimits,
}

/// Bound listeners, ready to serve.
pub struct Server {
    config: ServerConfig,
    dataplane: Arc<DataPlane>,
    http: TcpListener,
    grpc: Option<TcpListener>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn bind(ip: IpAddr, port: u16, what: &str) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen for {what} on {ip}:{port}: {e}"),
            )
        })
}

impl Server {
    /// Binds the ports (0 picks a free one) so that the addresses are known
    /// before serving starts.
    /// TLS files are read here too: a server that cannot serve fails before
    /// it says it is listening.
    pub async fn bind(config: ServerConfig, dataplane: Arc<DataPlane>) -> io::Result<Self> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key, config.tls_client_ca.as_deref())?),
            None => None,
        };
        let http = bind(config.bind_address, config.http_port, "REST").await?;
        let grpc = if config.enable_grpc {
            Some(bind(config.bind_address, config.grpc_port, "gRPC").await?)
        } else {
            None
        };
        Ok(Server {
            config,
            dataplane,
            http,
            grpc,
            tls,
        })
    }

    pub fn http_addr(&self) -> io::Result<SocketAddr> {
        self.http.local_addr()
    }

    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves; then readiness turns false, the
    /// listeners close and in-flight requests get `drain_timeout` to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let tls = self.tls;
        let limits = self.config.limits.clone();
        // The drain: readiness turns false at once while both listeners keep
        // serving for the grace (so probes and health watchers see it), then
        // they close and in-flight requests get what is left of the timeout.
        let grace = limits.drain_grace.min(self.config.drain_timeout);
        let drain = self.config.drain_timeout.saturating_sub(grace);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let dataplane = self.dataplane.clone();
        tokio::spawn(async move {
            shutdown.await;
            dataplane.start_draining();
            tokio::time::sleep(grace).await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let rest = http::RestApi {
            dataplane: self.dataplane.clone(),
            max_request_bytes: self.config.max_request_bytes,
            body_read_timeout: self.config.limits.body_read_timeout,
            access_log: self.config.access_log,
        };
        let rest = http::serve(
            self.http,
            Arc::new(rest),
            http::Listening {
                tls,
                keep_alive: self.config.keep_alive,
                drain,
                limits: limits.clone(),
                fast_path: self.config.http1_fast_path,
            },
            stop_rx.clone(),
        );
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let grpc = async {
            let Some(listener) = self.grpc else {
                return Ok(());
            };
            let router = grpc::router(
                grpc::GrpcApi {
                    dataplane: self.dataplane.clone(),
                    max_send_message_length: self.config.grpc.max_send_message_length,
                    in_flight: in_flight.clone(),
                },
                &self.config.grpc,
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
            let incoming = grpc_connections(listener, &limits);
            let serve = router.serve_with_incoming_shutdown(incoming, stopped(stop_rx.clone()));
            tokio::pin!(serve);
            // tonic's graceful shutdown also waits for streams that never
            // end (health watches): the drain ends when no inference request
            // is in flight, or at the timeout.
            let drained = async {
                stopped(stop_rx.clone()).await;
                let deadline = tokio::time::Instant::now() + drain;
                while in_flight.load(std::sync::atomic::Ordering::Acquire) > 0
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::select! {
                served = &mut serve => served.map_err(|e| io::Error::other(format!("gRPC server: {e}"))),
                () = drained => Ok(()),
            }
        };
        let (_, grpc_result) = tokio::join!(rest, grpc);
        grpc_result
    }
}

/// The gRPC listener's connections: at most --max_connections open (one
/// more is closed at once), each closed once idle past its limit, with
/// TCP_NODELAY (without it a small answer can wait for the peer's delayed
/// ACK: p99 of about 45 ms at concurrency 64, measured).
fn grpc_connections(
    listener: TcpListener,
    limits: &conn::ConnectionLimits,
) -> impl futures::Stream<Item = io::Result<conn::Tracked<tokio::net::TcpStream>>> {
    let cap = conn::ConnectionCap::new(limits.max_connections);
    let idle = limits.max_connection_idle;
    futures::stream::unfold(listener, move |listener| {
        let cap = cap.clone();
        async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let Some(permit) = cap.try_admit() else {
                            tracing::warn!("gRPC connection closed: --max_connections reached");
                            continue;
                        };
                        let _ = stream.set_nodelay(true);
                        let conn = conn::Tracked::new(stream, permit, idle);
                        return Some((Ok(conn), listener));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off.
                        tracing::warn!(error = %e, "gRPC accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    })
}

/// Turns transparent huge pages off for this process (what mimalloc's
/// `MIMALLOC_ALLOW_THP=0` does): with them, memory a burst of connections
/// touched stays resident in 2 MB pages long after it is freed (1.3 GB held
/// half an hour after 1000 slow gRPC streams left, 29 MB without).
fn keep_memory_returnable() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
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

/// Serves `registry` as the flags say until SIGTERM / Ctrl-C. Prints one
/// line on stdout, `<program> listening http=ADDR grpc=ADDR`, once the ports
/// are bound, for scripts and tests.
pub async fn serve_until_signal(
    program: &str,
    flags: &cli::ServeFlags,
    registry: Arc<ModelRegistry>,
) -> io::Result<()> {
    let metadata = infergate_proto::ServerMetadata {
        name: "infergate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        extensions: vec!["binary_tensor_data".into(), "model_repository".into()],
    };
    keep_memory_returnable();
    if flags.ssl_certfile.is_some() && flags.enable_grpc {
        tracing::warn!(
            "REST is served over TLS but gRPC (--grpc_port) is plaintext: infergate has no gRPC \
             TLS; keep that port inside the cluster or pass --enable_grpc false"
        );
    }
    let models = registry.names();
    let dataplane = Arc::new(DataPlane::new(
        registry,
        metadata,
        flags.enable_latency_logging,
    ));
    let server = Server::bind(flags.server_config(), dataplane).await?;
    let http = server.http_addr()?;
    let grpc = server
        .grpc_addr()
        .map_or_else(|| "off".to_string(), |a| a.to_string());
    println!("{program} listening http={http} grpc={grpc}");
    tracing::info!(%http, %grpc, ?models, "serving");
    let served = server.run(shutdown_signal()).await;
    otel::shutdown();
    served
}
