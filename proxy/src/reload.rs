//! The routes and pools in service, swapped whole on SIGHUP: the file is
//! read and checked again, and only a valid one replaces the running
//! configuration. A request keeps the route and pool it started with, so
//! requests in flight finish on the old configuration; listeners are not
//! touched, so no connection is dropped. `[listen]` changes need a restart.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::sync::watch;

use crate::config::{Config, ConfigError, Listen};
use crate::router::Router;

pub struct Live {
    current: ArcSwap<Router>,
    /// Bumped at each swap (the health checks follow the new pools).
    generation: watch::Sender<u64>,
}

impl Live {
    pub fn new(router: Router) -> Arc<Live> {
        Arc::new(Live {
            current: ArcSwap::from_pointee(router),
            generation: watch::Sender::new(0),
        })
    }

    pub fn router(&self) -> Arc<Router> {
        self.current.load_full()
    }

    pub fn swap(&self, router: Router) {
        self.current.store(Arc::new(router));
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

pub struct Reloader {
    pub live: Arc<Live>,
    pub path: String,
    pub listen: Listen,
}

impl Reloader {
    async fn reload(&self) -> Result<Router, ConfigError> {
        let path = self.path.clone();
        // reading and resolving names block: off the async workers
        let router = tokio::task::spawn_blocking(move || {
            let config = Config::load(&path)?;
            Ok::<_, ConfigError>((Router::new(&config)?, config.listen))
        })
        .await
        .map_err(|e| ConfigError::Toml(format!("reload task failed: {e}")))?;
        let (router, listen) = router?;
        if listen != self.listen {
            tracing::warn!(
                "{}: [listen] changes take a restart; kept the running one",
                self.path
            );
        }
        router.discover().await?;
        Ok(router)
    }
}

#[async_trait]
impl BackgroundService for Reloader {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("no SIGHUP reload: {e}");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = hangup.recv() => match self.reload().await {
                    Ok(router) => {
                        let routes = router.routes.len();
                        self.live.swap(router);
                        tracing::info!("reloaded {}: {routes} routes", self.path);
                    }
                    Err(e) => tracing::error!(
                        "reload refused, the running configuration stays: {}: {e}",
                        self.path
                    ),
                },
                _ = shutdown.changed() => return,
            }
        }
    }
}
