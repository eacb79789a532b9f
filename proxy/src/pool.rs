//! A pool of backends: their addresses (resolved at start), outstanding
//! requests, passive ejection and active health (pingora-load-balancing's
//! `Backends` with an `HttpHealthCheck`), and the pick for one request.

use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use pingora::http::RequestHeader;
use pingora_load_balancing::discovery::Static;
use pingora_load_balancing::health_check::HttpHealthCheck;
use pingora_load_balancing::{Backend, Backends};

use crate::balance;
use crate::config::{Balancing, ConfigError, HealthConfig, PoolConfig};
use crate::ejection::Ejection;

pub struct BackendState {
    pub addr: SocketAddr,
    /// `ip:port`, the backend's label in metrics and its hashing identity.
    pub id: String,
    backend: Backend,
    pub outstanding: AtomicUsize,
    pub ejection: Ejection,
}

pub struct Pool {
    pub name: String,
    pub balancing: Balancing,
    pub hash_header: Option<String>,
    pub h2c: bool,
    pub max_h2_streams: usize,
    pub backends: Vec<Arc<BackendState>>,
    ids: Vec<String>,
    rr: AtomicUsize,
    /// Active checks, when configured: (pingora's view, check interval).
    pub health: Option<(Backends, Duration)>,
}

impl Pool {
    pub fn new(name: &str, cfg: &PoolConfig) -> Result<Pool, ConfigError> {
        let mut addrs = Vec::new();
        for (i, entry) in cfg.backends.iter().enumerate() {
            let resolved = entry.to_socket_addrs().map_err(|e| ConfigError::Invalid {
                key: format!("pools.{name}.backends[{i}]"),
                message: format!("cannot resolve {entry:?}: {e}"),
            })?;
            for a in resolved {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
        }
        let mut backends = Vec::new();
        for addr in addrs {
            let backend = Backend::new(&addr.to_string()).map_err(|e| ConfigError::Invalid {
                key: format!("pools.{name}.backends"),
                message: format!("{addr}: {e}"),
            })?;
            backends.push(Arc::new(BackendState {
                addr,
                id: addr.to_string(),
                backend,
                outstanding: AtomicUsize::new(0),
                ejection: Ejection::new(&cfg.ejection),
            }));
        }
        let health = match &cfg.health {
            Some(h) => Some((
                health_view(&backends, h)?,
                Duration::from_millis(h.interval_ms),
            )),
            None => None,
        };
        Ok(Pool {
            name: name.to_string(),
            balancing: cfg.balancing,
            hash_header: cfg.hash_header.clone(),
            h2c: cfg.h2c,
            max_h2_streams: cfg.max_h2_streams,
            ids: backends.iter().map(|b| b.id.clone()).collect(),
            backends,
            rr: AtomicUsize::new(0),
            health,
        })
    }

    /// Whether backend `i` may take requests: healthy and not ejected.
    pub fn available(&self, i: usize, now: Instant) -> bool {
        let b = &self.backends[i];
        let healthy = self
            .health
            .as_ref()
            .is_none_or(|(view, _)| view.ready(&b.backend));
        healthy && !b.ejection.is_ejected(now)
    }

    pub fn any_available(&self) -> bool {
        let now = Instant::now();
        (0..self.backends.len()).any(|i| self.available(i, now))
    }

    /// Picks a backend for a request, avoiding `tried` (backends that
    /// already failed to connect for it). `key`: the hash header's value.
    pub fn pick(&self, key: Option<&[u8]>, tried: &[usize]) -> Option<usize> {
        let now = Instant::now();
        let eligible: Vec<usize> = (0..self.backends.len())
            .filter(|i| !tried.contains(i) && self.available(*i, now))
            .collect();
        match self.balancing {
            Balancing::RoundRobin => balance::round_robin(&self.rr, &eligible),
            Balancing::LeastRequest => balance::power_of_two(
                &eligible,
                |i| self.backends[i].outstanding.load(Relaxed),
                |n| fastrand::usize(..n),
            ),
            Balancing::ConsistentHash => match key {
                Some(k) => balance::consistent_hash(&eligible, &self.ids, k),
                // no key: any backend, in turn
                None => balance::round_robin(&self.rr, &eligible),
            },
        }
    }
}

fn health_view(backends: &[Arc<BackendState>], h: &HealthConfig) -> Result<Backends, ConfigError> {
    let set: BTreeSet<Backend> = backends.iter().map(|b| b.backend.clone()).collect();
    let mut check = HttpHealthCheck::new("localhost", false);
    let invalid = |e: Box<pingora::Error>| ConfigError::Invalid {
        key: "health.path".into(),
        message: e.to_string(),
    };
    let mut req = RequestHeader::build("GET", h.path.as_bytes(), None).map_err(invalid)?;
    req.append_header("Host", "localhost").map_err(invalid)?;
    check.req = req;
    check.consecutive_success = h.rise;
    check.consecutive_failure = h.fall;
    let timeout = Some(Duration::from_millis(h.timeout_ms));
    check.peer_template.options.connection_timeout = timeout;
    check.peer_template.options.read_timeout = timeout;
    let mut view = Backends::new(Static::new(set));
    view.set_health_check(Box::new(check));
    Ok(view)
}
