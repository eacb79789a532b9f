//! A pool of backends: their addresses (resolved at start, and again on an
//! interval when `resolve_interval_ms` is set: a Kubernetes headless
//! Service), outstanding requests, passive ejection and active health
//! (pingora-load-balancing's `Backends` with an `HttpHealthCheck`, or a
//! `grpc.health.v1` check for gRPC pools), and the
//! pick for one request.

use std::collections::{BTreeSet, HashMap};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora_load_balancing::discovery::ServiceDiscovery;
use pingora_load_balancing::health_check::{HealthCheck, HttpHealthCheck};
use pingora_load_balancing::{Backend, Backends};

use crate::balance;
use crate::config::{
    Balancing, ConfigError, EjectionConfig, HealthConfig, HealthProtocol, PoolConfig,
};
use crate::ejection::Ejection;
use crate::grpc_health::GrpcHealthCheck;

pub struct BackendState {
    pub addr: SocketAddr,
    /// `ip:port`, the backend's label in metrics and its hashing identity.
    pub id: String,
    backend: Backend,
    pub outstanding: AtomicUsize,
    pub ejection: Ejection,
}

impl BackendState {
    fn new(addr: SocketAddr, ejection: &EjectionConfig) -> BackendState {
        BackendState {
            addr,
            id: addr.to_string(),
            backend: Backend {
                addr: pingora::protocols::l4::socket::SocketAddr::Inet(addr),
                weight: 1,
                ext: http::Extensions::new(),
            },
            outstanding: AtomicUsize::new(0),
            ejection: Ejection::new(ejection),
        }
    }
}

/// The backends of a pool at one time.
pub struct Members {
    pub backends: Vec<Arc<BackendState>>,
    ids: Vec<String>,
}

impl Members {
    /// The members for `addrs`; a backend still present keeps its state
    /// (outstanding requests, ejection).
    fn merge(old: &Members, addrs: &[SocketAddr], ejection: &EjectionConfig) -> Members {
        let backends: Vec<Arc<BackendState>> = addrs
            .iter()
            .map(|a| {
                old.backends
                    .iter()
                    .find(|b| b.addr == *a)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(BackendState::new(*a, ejection)))
            })
            .collect();
        Members {
            ids: backends.iter().map(|b| b.id.clone()).collect(),
            backends,
        }
    }

    fn set(&self) -> BTreeSet<Backend> {
        self.backends.iter().map(|b| b.backend.clone()).collect()
    }
}

/// The backend set pingora's health view discovers: the pool's members.
struct MemberSet(Arc<ArcSwap<BTreeSet<Backend>>>);

#[async_trait]
impl ServiceDiscovery for MemberSet {
    async fn discover(&self) -> pingora::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        Ok((BTreeSet::clone(&self.0.load()), HashMap::new()))
    }
}

pub struct Pool {
    pub name: String,
    pub balancing: Balancing,
    pub hash_header: Option<String>,
    pub h2c: bool,
    pub max_h2_streams: usize,
    members: ArcSwap<Members>,
    entries: Vec<String>,
    ejection: EjectionConfig,
    /// Re-resolution of `entries`, when configured.
    pub resolve_every: Option<Duration>,
    rr: AtomicUsize,
    /// Active checks, when configured: (pingora's view, check interval).
    pub health: Option<(Backends, Duration)>,
    discovered: Arc<ArcSwap<BTreeSet<Backend>>>,
}

/// Every address of every entry, without repeats, in entry order.
fn dedup(all: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for a in all {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

impl Pool {
    pub fn new(name: &str, cfg: &PoolConfig) -> Result<Pool, ConfigError> {
        let mut all = Vec::new();
        for (i, entry) in cfg.backends.iter().enumerate() {
            let resolved = entry.to_socket_addrs().map_err(|e| ConfigError::Invalid {
                key: format!("pools.{name}.backends[{i}]"),
                message: format!("cannot resolve {entry:?}: {e}"),
            })?;
            all.extend(resolved);
        }
        let empty = Members {
            backends: Vec::new(),
            ids: Vec::new(),
        };
        let members = Members::merge(&empty, &dedup(all), &cfg.ejection);
        let discovered = Arc::new(ArcSwap::from_pointee(members.set()));
        let health = match &cfg.health {
            Some(h) => Some((
                health_view(MemberSet(discovered.clone()), h)?,
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
            members: ArcSwap::from_pointee(members),
            entries: cfg.backends.clone(),
            ejection: cfg.ejection.clone(),
            resolve_every: (cfg.resolve_interval_ms > 0)
                .then(|| Duration::from_millis(cfg.resolve_interval_ms)),
            rr: AtomicUsize::new(0),
            health,
            discovered,
        })
    }

    pub fn members(&self) -> Arc<Members> {
        self.members.load_full()
    }

    /// Whether `b` may take requests: healthy and not ejected.
    pub fn available(&self, b: &BackendState, now: Instant) -> bool {
        let healthy = self
            .health
            .as_ref()
            .is_none_or(|(view, _)| view.ready(&b.backend));
        healthy && !b.ejection.is_ejected(now)
    }

    pub fn any_available(&self) -> bool {
        let now = Instant::now();
        self.members()
            .backends
            .iter()
            .any(|b| self.available(b, now))
    }

    /// Picks a backend for a request, avoiding `tried` (backends that
    /// already failed to connect for it). `key`: the hash header's value.
    pub fn pick(&self, key: Option<&[u8]>, tried: &[SocketAddr]) -> Option<Arc<BackendState>> {
        let now = Instant::now();
        let m = self.members();
        let eligible: Vec<usize> = (0..m.backends.len())
            .filter(|&i| {
                !tried.contains(&m.backends[i].addr) && self.available(&m.backends[i], now)
            })
            .collect();
        let i = match self.balancing {
            Balancing::RoundRobin => balance::round_robin(&self.rr, &eligible),
            Balancing::LeastRequest => balance::power_of_two(
                &eligible,
                |i| m.backends[i].outstanding.load(Relaxed),
                |n| fastrand::usize(..n),
            ),
            Balancing::ConsistentHash => match key {
                Some(k) => balance::consistent_hash(&eligible, &m.ids, k),
                // no key: any backend, in turn
                None => balance::round_robin(&self.rr, &eligible),
            },
        }?;
        Some(m.backends[i].clone())
    }

    /// Resolves the entries again; a change of addresses replaces the
    /// members (and the health view's). A failed lookup keeps them.
    pub async fn refresh(&self) -> std::io::Result<bool> {
        let mut all = Vec::new();
        for entry in &self.entries {
            all.extend(tokio::net::lookup_host(entry.as_str()).await?);
        }
        let addrs = dedup(all);
        let old = self.members();
        let same = addrs.len() == old.backends.len()
            && addrs.iter().zip(&old.backends).all(|(a, b)| *a == b.addr);
        if same {
            return Ok(false);
        }
        let new = Members::merge(&old, &addrs, &self.ejection);
        self.discovered.store(Arc::new(new.set()));
        self.members.store(Arc::new(new));
        if let Some((view, _)) = &self.health {
            let _ = view.update(|_| {}).await;
        }
        tracing::info!(pool = %self.name, "backends now {:?}", addrs);
        Ok(true)
    }
}

fn health_view(members: MemberSet, h: &HealthConfig) -> Result<Backends, ConfigError> {
    let timeout = Duration::from_millis(h.timeout_ms);
    let check: Box<dyn HealthCheck + Send + Sync> = match h.protocol {
        HealthProtocol::Grpc => Box::new(GrpcHealthCheck {
            service: h.service.clone(),
            timeout,
            rise: h.rise,
            fall: h.fall,
        }),
        HealthProtocol::Http => {
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
            check.peer_template.options.connection_timeout = Some(timeout);
            check.peer_template.options.read_timeout = Some(timeout);
            Box::new(check)
        }
    };
    let mut view = Backends::new(Box::new(members));
    view.set_health_check(check);
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_re_resolution_keeps_the_state_of_backends_still_there() {
        let cfg = EjectionConfig::default();
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let c: SocketAddr = "10.0.0.3:80".parse().unwrap();
        let empty = Members {
            backends: vec![],
            ids: vec![],
        };
        let old = Members::merge(&empty, &[a, b], &cfg);
        old.backends[1].outstanding.store(7, Relaxed);
        let new = Members::merge(&old, &[b, c], &cfg);
        assert_eq!(new.ids, ["10.0.0.2:80", "10.0.0.3:80"]);
        assert!(Arc::ptr_eq(&new.backends[0], &old.backends[1]));
        assert_eq!(new.backends[0].outstanding.load(Relaxed), 7);
        assert_eq!(new.backends[1].outstanding.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn refresh_reports_no_change_for_the_same_addresses() {
        let cfg: PoolConfig =
            toml::from_str("backends = [\"localhost:9\"]\nresolve_interval_ms = 100").unwrap();
        let pool = Pool::new("p", &cfg).unwrap();
        assert_eq!(pool.resolve_every, Some(Duration::from_millis(100)));
        let before = pool.members().backends.len();
        assert!(before >= 1);
        assert!(!pool.refresh().await.unwrap());
        assert_eq!(pool.members().backends.len(), before);
    }
}
