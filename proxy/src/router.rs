//! Routes built from the configuration: which route a request takes (first
//! match in file order: model name, header, path prefix; the default route
//! last), which pool of the route (weighted split, sticky by header), and
//! the route's limits and timeouts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use pingora::http::RequestHeader;

use crate::balance;
use crate::config::{Config, ConfigError, RouteConfig};
use crate::mirror::Mirror;
use crate::pool::Pool;
use crate::retry_budget::RetryBudget;

pub struct Route {
    pub name: String,
    models: HashSet<String>,
    header: Option<(http::HeaderName, String)>,
    path_prefix: Option<String>,
    /// Pools and weights (one pool: weight 1).
    pub targets: Vec<(Arc<Pool>, u32)>,
    total_weight: u64,
    sticky_header: Option<String>,
    pub grpc_pool: Option<Arc<Pool>>,
    pub mirror: Option<Arc<Mirror>>,
    pub aliases: HashMap<String, String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub idempotent: bool,
    pub connect_retries: usize,
    pub retry_budget: RetryBudget,
    pub max_in_flight: usize,
    pub max_body_bytes: u64,
    pub in_flight: AtomicUsize,
}

/// One request's slot in its route's in-flight count, freed on drop.
pub struct InFlight(Arc<Route>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

impl Route {
    fn new(cfg: &RouteConfig, pools: &HashMap<String, Arc<Pool>>) -> Result<Route, ConfigError> {
        let pool = |name: &str| {
            pools
                .get(name)
                .cloned()
                .ok_or_else(|| ConfigError::Invalid {
                    key: format!("routes.{}", cfg.name),
                    message: format!("no pool named {name:?}"),
                })
        };
        let targets = match &cfg.pool {
            Some(p) => vec![(pool(p)?, 1)],
            None => cfg
                .split
                .iter()
                .map(|t| Ok((pool(&t.pool)?, t.weight)))
                .collect::<Result<Vec<_>, ConfigError>>()?,
        };
        let header = match &cfg.header {
            Some(h) => {
                let name = http::HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
                    ConfigError::Invalid {
                        key: format!("routes.{}.header.name", cfg.name),
                        message: "not a header name".into(),
                    }
                })?;
                Some((name, h.value.clone()))
            }
            None => None,
        };
        Ok(Route {
            name: cfg.name.clone(),
            models: cfg.models.iter().cloned().collect(),
            header,
            path_prefix: cfg.path_prefix.clone(),
            total_weight: targets.iter().map(|(_, w)| u64::from(*w)).sum(),
            targets,
            sticky_header: cfg.sticky_header.clone(),
            grpc_pool: cfg.grpc_pool.as_deref().map(pool).transpose()?,
            mirror: match &cfg.mirror {
                Some(m) => Some(Arc::new(Mirror::new(m, pool(&m.pool)?))),
                None => None,
            },
            aliases: cfg.aliases.clone().into_iter().collect(),
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            timeout: Duration::from_millis(cfg.timeout_ms),
            idempotent: cfg.idempotent,
            connect_retries: cfg.connect_retries,
            retry_budget: RetryBudget::new(cfg.retry_budget_ratio, cfg.retry_budget_min),
            max_in_flight: cfg.max_in_flight,
            max_body_bytes: cfg.max_body_bytes,
            in_flight: AtomicUsize::new(0),
        })
    }

    /// Every criterion the route sets must hold (none set: the default route).
    fn matches(&self, req: &RequestHeader, model: Option<&str>) -> bool {
        if !self.models.is_empty() && !model.is_some_and(|m| self.models.contains(m)) {
            return false;
        }
        if let Some((name, value)) = &self.header
            && req
                .headers
                .get(name)
                .is_none_or(|v| v.as_bytes() != value.as_bytes())
        {
            return false;
        }
        if let Some(prefix) = &self.path_prefix
            && !req.uri.path().starts_with(prefix.as_str())
        {
            return false;
        }
        true
    }

    /// Takes an in-flight slot, or None when the route is full.
    pub fn admit(self: &Arc<Self>) -> Option<InFlight> {
        let n = self.in_flight.fetch_add(1, Relaxed) + 1;
        let slot = InFlight(self.clone());
        if self.max_in_flight > 0 && n > self.max_in_flight {
            return None; // dropping `slot` gives it back
        }
        Some(slot)
    }

    /// The pool for this request: the gRPC pool, or a weighted pick among
    /// the targets, fixed by the sticky header's value when it is sent.
    pub fn pool_for(&self, req: &RequestHeader, grpc: bool) -> Arc<Pool> {
        if grpc && let Some(p) = &self.grpc_pool {
            return p.clone();
        }
        if self.targets.len() == 1 || self.total_weight == 0 {
            return self.targets[0].0.clone();
        }
        let sticky = self
            .sticky_header
            .as_deref()
            .and_then(|h| req.headers.get(h));
        let point = match sticky {
            Some(v) => balance::fnv1a(&[v.as_bytes()]) % self.total_weight,
            None => fastrand::u64(0..self.total_weight),
        };
        let weights: Vec<u32> = self.targets.iter().map(|(_, w)| *w).collect();
        self.targets[balance::weighted(&weights, point)].0.clone()
    }

    /// Whether some pool of the route has a backend that may take requests.
    pub fn has_backend(&self) -> bool {
        self.targets
            .iter()
            .filter(|(_, w)| *w > 0)
            .any(|(p, _)| p.any_available())
    }
}

pub struct Router {
    pub routes: Vec<Arc<Route>>,
    pub pools: Vec<Arc<Pool>>,
}

impl Router {
    pub fn new(cfg: &Config) -> Result<Router, ConfigError> {
        let mut pools = HashMap::new();
        for (name, p) in &cfg.pools {
            pools.insert(name.clone(), Arc::new(Pool::new(name, p)?));
        }
        let routes = cfg
            .routes
            .iter()
            .map(|r| Route::new(r, &pools).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let mut pools: Vec<_> = pools.into_values().collect();
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Router { routes, pools })
    }

    /// Asks each pool with health checks to learn its backends (pingora's
    /// view is empty until then).
    pub async fn discover(&self) -> Result<(), ConfigError> {
        for pool in &self.pools {
            if let Some((view, _)) = &pool.health {
                view.update(|_| {})
                    .await
                    .map_err(|e| ConfigError::Invalid {
                        key: format!("pools.{}.backends", pool.name),
                        message: e.to_string(),
                    })?;
            }
        }
        Ok(())
    }

    pub fn route(&self, req: &RequestHeader, model: Option<&str>) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.matches(req, model))
    }
}
