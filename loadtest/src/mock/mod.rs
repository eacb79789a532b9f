//! `infergate-loadtest mock`: a V1/V2/gRPC predictor that echoes its inputs
//! after a latency drawn from a known distribution, failing an exact fraction
//! of requests. Benchmarks put it behind a gateway to isolate the gateway's
//! own cost; the load generator's tests check their numbers against it.
mod behavior;
mod grpc;
mod http;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use infergate_proto::grpc::pb::grpc_inference_service_server::GrpcInferenceServiceServer;
use infergate_proto::{ModelMetadata, TensorMetadata};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use behavior::{Behavior, LatencyDist};

use crate::cli::parse_duration;
use crate::error::{LoadError, Result};
use crate::payload::parse_input_spec;

#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// REST port (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
    /// gRPC port (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    pub grpc_port: u16,
    /// Serve no gRPC.
    #[arg(long)]
    pub no_grpc: bool,
    /// Fixed latency of every inference request.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub latency: Duration,
    /// Added latency: fixed, uniform:WIDTH, normal:STDDEV or exponential:MEAN.
    #[arg(long, value_parser = LatencyDist::parse, default_value = "fixed")]
    pub latency_dist: LatencyDist,
    /// Fraction of inference requests answered 500 / INTERNAL, spread evenly.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Model input in the metadata, `NAME:DATATYPE:DIMS` (repeatable).
    #[arg(long = "input", default_values_t = ["INPUT0:FP32:-1,16".to_string()])]
    pub inputs: Vec<String>,
    /// Serve REST over TLS with a self-signed certificate for localhost.
    #[arg(long)]
    pub tls: bool,
    /// Require this header (`NAME: VALUE`) on every request, metadata
    /// included; without it: 401 / UNAUTHENTICATED (a target behind a token).
    #[arg(long, value_name = "NAME: VALUE")]
    pub require_header: Option<String>,
    /// Runtime worker threads (default: the CPUs this process may use).
    #[arg(short, long)]
    pub threads: Option<usize>,
}

/// Shared by the REST and gRPC fronts.
pub struct State {
    pub behavior: Behavior,
    pub inputs: Vec<TensorMetadata>,
    pub required_header: Option<(::http::HeaderName, ::http::HeaderValue)>,
}

impl State {
    /// Whether a request with these headers may be served.
    pub fn admits(&self, headers: &::http::HeaderMap) -> bool {
        self.required_header
            .as_ref()
            .is_none_or(|(k, v)| headers.get(k) == Some(v))
    }

    pub fn metadata(&self, name: &str) -> ModelMetadata {
        ModelMetadata {
            name: name.to_string(),
            versions: vec!["1".into()],
            platform: "infergate-loadtest-mock".into(),
            inputs: self.inputs.clone(),
            // Outputs echo the inputs.
            outputs: self.inputs.clone(),
        }
    }

    pub fn metadata_json(&self, name: &str) -> String {
        serde_json::to_string(&self.metadata(name)).unwrap_or_default()
    }
}

fn self_signed() -> Result<TlsAcceptor> {
    let tls_err = |e: &dyn std::fmt::Display| LoadError::Tls(e.to_string());
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .map_err(|e| tls_err(&e))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_err(&e))?
    .with_no_client_auth()
    .with_single_cert(vec![ck.cert.der().clone()], key)
    .map_err(|e| tls_err(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve_http(listener: TcpListener, state: Arc<State>, tls: Option<TlsAcceptor>) {
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors and the like: back off, keep serving.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| http::handle(state.clone(), req));
            match tls {
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    if let Ok(s) = acceptor.accept(stream).await {
                        let _ = builder.serve_connection(TokioIo::new(s), service).await;
                    }
                }
            }
        });
    }
}

/// Binds, prints `mock listening http=ADDR grpc=ADDR`, serves until killed.
pub async fn run(args: &MockArgs) -> Result<()> {
    let inputs = args
        .inputs
        .iter()
        .map(|s| parse_input_spec(s))
        .collect::<Result<Vec<_>>>()?;
    if !(0.0..=1.0).contains(&args.error_rate) {
        return Err(LoadError::usage("--error-rate must lie in [0, 1]"));
    }
    let state = Arc::new(State {
        behavior: Behavior::new(args.latency, args.latency_dist, args.error_rate),
        inputs,
        required_header: match &args.require_header {
            Some(h) => Some(crate::client::parse_header(h)?),
            None => None,
        },
    });
    let tls = if args.tls { Some(self_signed()?) } else { None };
    let http = TcpListener::bind(SocketAddr::new(args.bind, args.http_port)).await?;
    let http_addr = http.local_addr()?;
    let grpc = if args.no_grpc {
        None
    } else {
        Some(TcpListener::bind(SocketAddr::new(args.bind, args.grpc_port)).await?)
    };
    let grpc_addr = match &grpc {
        Some(l) => l.local_addr()?.to_string(),
        None => "off".into(),
    };
    if let Some(listener) = grpc {
        let service = GrpcInferenceServiceServer::new(grpc::MockGrpc {
            state: state.clone(),
        });
        tokio::spawn(async move {
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            if let Err(e) = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await
            {
                eprintln!("mock: gRPC server stopped: {e}");
            }
        });
    }
    // One line on stdout that scripts and tests read for the bound ports.
    println!("mock listening http={http_addr} grpc={grpc_addr}");
    tokio::select! {
        _ = serve_http(http, state, tls) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
