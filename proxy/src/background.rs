//! Work beside the request path, run by pingora as background services:
//! the pools' active health checks, and the "listening" line printed once
//! the ports accept connections (tests and scripts wait for it).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::reload::Live;

pub struct HealthChecks {
    pub live: Arc<Live>,
}

#[async_trait]
impl BackgroundService for HealthChecks {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut generation = self.live.subscribe();
        loop {
            // one task per pool of the configuration in service
            let router = self.live.router();
            let mut tasks = Vec::new();
            for pool in router.pools.iter().filter(|p| p.health.is_some()) {
                let pool = pool.clone();
                tasks.push(tokio::spawn(async move {
                    let Some((view, every)) = &pool.health else {
                        return;
                    };
                    loop {
                        view.run_health_check(true).await;
                        tokio::time::sleep(*every).await;
                    }
                }));
            }
            for pool in router.pools.iter().filter(|p| p.resolve_every.is_some()) {
                let pool = pool.clone();
                tasks.push(tokio::spawn(async move {
                    let Some(every) = pool.resolve_every else {
                        return;
                    };
                    loop {
                        tokio::time::sleep(every).await;
                        if let Err(e) = pool.refresh().await {
                            tracing::warn!(pool = %pool.name, "re-resolution failed, backends kept: {e}");
                        }
                    }
                }));
            }
            let reloaded = tokio::select! {
                changed = generation.changed() => changed.is_ok(),
                _ = shutdown.changed() => false,
            };
            for t in tasks {
                t.abort();
            }
            if !reloaded {
                return;
            }
        }
    }
}

pub struct Announce {
    pub listen: String,
    pub admin: Option<String>,
    pub tls: Option<String>,
}

#[async_trait]
impl BackgroundService for Announce {
    async fn start(&self, _shutdown: ShutdownWatch) {
        let mut addrs = vec![self.listen.clone()];
        addrs.extend(self.admin.clone());
        addrs.extend(self.tls.clone());
        for addr in &addrs {
            // pingora binds in its own services: wait until they accept
            for _ in 0..500 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let admin = self
            .admin
            .as_deref()
            .map(|a| format!(" admin={a}"))
            .unwrap_or_default();
        let tls = self
            .tls
            .as_deref()
            .map(|a| format!(" https={a}"))
            .unwrap_or_default();
        println!("infergate-proxy listening http={}{admin}{tls}", self.listen);
    }
}
