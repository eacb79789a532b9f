//! `infergate proxy --config proxy.toml [--check-config]`: reads and checks
//! the configuration, then hands the process to pingora's server, which
//! builds its own runtimes (so this must run outside any tokio runtime) and
//! drains on SIGTERM.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::proxy::ProxyServiceBuilder;
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::services::background::background_service;
use pingora::services::listening::Service;

use crate::admin::Admin;
use crate::background::{Announce, HealthChecks};
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::reload::{Live, Reloader};
use crate::router::Router;
use crate::service::ProxyService;

/// infergate proxy: a model-aware reverse proxy in front of KServe
/// predictors (docs/proxy.md).
#[derive(Parser, Debug)]
#[command(name = "infergate proxy")]
pub struct ProxyArgs {
    /// The TOML configuration (docs/proxy.md).
    #[arg(long, value_name = "FILE")]
    pub config: String,
    /// Check the configuration, print a summary and exit (0: valid).
    #[arg(long)]
    pub check_config: bool,
}

/// Builds the routes and pools, and lets the pools with health checks
/// learn their backends.
pub fn build(config: &Config) -> Result<Router, ConfigError> {
    let router = Router::new(config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConfigError::Toml(format!("cannot start a runtime: {e}")))?;
    rt.block_on(router.discover())?;
    Ok(router)
}

/// Entry point for `infergate proxy ...` (`args` without the program name
/// and the word `proxy`).
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    let argv = std::iter::once(OsString::from("infergate proxy")).chain(args);
    let args = match ProxyArgs::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "infergate proxy: invalid configuration {}: {e}",
                args.config
            );
            return ExitCode::from(2);
        }
    };
    let router = match build(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "infergate proxy: invalid configuration {}: {e}",
                args.config
            );
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        let backends: usize = router
            .pools
            .iter()
            .map(|p| p.members().backends.len())
            .sum();
        println!(
            "{}: valid ({} routes, {} pools, {} backends)",
            args.config,
            router.routes.len(),
            router.pools.len(),
            backends
        );
        return ExitCode::SUCCESS;
    }
    serve(&config, &args.config, router)
}

fn serve(config: &Config, path: &str, router: Router) -> ExitCode {
    let live = Live::new(router);
    // The proxy's own events (ejections, upstream errors) on stderr;
    // RUST_LOG overrides the level.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // colour codes only for a person at a terminal, never in a file or pipe
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .try_init();
    let conf = ServerConf {
        threads: config.listen.threads,
        // one current-thread runtime per worker: fewer cross-thread wake-ups
        work_stealing: false,
        grace_period_seconds: Some(config.listen.drain_seconds),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let conf = server.configuration.clone();
    let metrics = Arc::new(Metrics::new());

    let mut options = HttpServerOptions::default();
    options.h2c = config.listen.h2c;
    let mut proxy = ProxyServiceBuilder::new(
        &conf,
        ProxyService {
            live: live.clone(),
            metrics: metrics.clone(),
            mirror_connector: Arc::new(pingora::connectors::http::Connector::new(None)),
        },
    )
    .name("infergate proxy")
    .server_options(options)
    .build();
    proxy.add_tcp(&config.listen.address);
    if let Some(tls) = &config.listen.tls {
        let mut settings = match TlsSettings::intermediate(&tls.cert, &tls.key) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "infergate proxy: listen.tls: cannot load {} / {}: {e}",
                    tls.cert, tls.key
                );
                return ExitCode::from(2);
            }
        };
        settings.enable_h2();
        proxy.add_tls_with_settings(&tls.address, None, settings);
    }
    server.add_service(proxy);

    if let Some(admin) = &config.listen.admin {
        let mut svc = Service::new(
            "infergate proxy admin".to_string(),
            Admin {
                live: live.clone(),
                metrics,
            },
        );
        svc.add_tcp(admin);
        server.add_service(svc);
    }
    server.add_service(background_service(
        "health checks",
        HealthChecks { live: live.clone() },
    ));
    server.add_service(background_service(
        "reload",
        Reloader {
            live,
            path: path.to_string(),
            listen: config.listen.clone(),
        },
    ));
    server.add_service(background_service(
        "announce",
        Announce {
            listen: config.listen.address.clone(),
            admin: config.listen.admin.clone(),
            tls: config.listen.tls.as_ref().map(|t| t.address.clone()),
        },
    ));
    server.bootstrap();
    server.run_forever()
}
