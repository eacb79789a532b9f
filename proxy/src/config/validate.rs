//! Checks serde cannot make: references between pools and routes, ranges,
//! addresses; each error names its key, e.g. `routes[1].split[0].pool`.

use std::net::SocketAddr;

use super::{Balancing, Config, ConfigError, PoolConfig, RouteConfig, invalid};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_addr("listen.address", &self.listen.address)?;
        if let Some(admin) = &self.listen.admin {
            check_addr("listen.admin", admin)?;
        }
        if let Some(tls) = &self.listen.tls {
            check_addr("listen.tls.address", &tls.address)?;
            for (key, path) in [("listen.tls.cert", &tls.cert), ("listen.tls.key", &tls.key)] {
                std::fs::metadata(path)
                    .map_err(|e| invalid(key, format!("cannot read {path}: {e}")))?;
            }
        }
        if self.listen.threads == 0 {
            return Err(invalid("listen.threads", "must be at least 1"));
        }
        for (name, pool) in &self.pools {
            validate_pool(&format!("pools.{name}"), pool)?;
        }
        if self.routes.is_empty() {
            return Err(invalid("routes", "at least one [[routes]] is needed"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, route) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            if !names.insert(route.name.as_str()) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("route name {:?} is used twice", route.name),
                ));
            }
            self.validate_route(&key, route)?;
            if route.is_default() && i + 1 != self.routes.len() {
                return Err(invalid(
                    key,
                    "a route without models, header or path_prefix catches every request: \
                     it must be the last route",
                ));
            }
        }
        Ok(())
    }

    fn validate_route(&self, key: &str, route: &RouteConfig) -> Result<(), ConfigError> {
        let pool_ref = |k: String, name: &str| {
            if self.pools.contains_key(name) {
                Ok(())
            } else {
                Err(invalid(k, format!("no pool named {name:?} in [pools]")))
            }
        };
        match (&route.pool, route.split.is_empty()) {
            (Some(_), false) => {
                return Err(invalid(
                    format!("{key}.split"),
                    "give either pool or split, not both",
                ));
            }
            (None, true) => {
                return Err(invalid(
                    format!("{key}.pool"),
                    "missing: give pool = \"NAME\" or split = [...]",
                ));
            }
            (Some(p), true) => pool_ref(format!("{key}.pool"), p)?,
            (None, false) => {
                for (j, t) in route.split.iter().enumerate() {
                    pool_ref(format!("{key}.split[{j}].pool"), &t.pool)?;
                }
                if route.split.iter().all(|t| t.weight == 0) {
                    return Err(invalid(format!("{key}.split"), "the weights add up to 0"));
                }
            }
        }
        if let Some(p) = &route.grpc_pool {
            pool_ref(format!("{key}.grpc_pool"), p)?;
        }
        if let Some(m) = &route.mirror {
            pool_ref(format!("{key}.mirror.pool"), &m.pool)?;
            if !(0.0..=1.0).contains(&m.fraction) {
                return Err(invalid(
                    format!("{key}.mirror.fraction"),
                    "must be between 0 and 1",
                ));
            }
        }
        if let Some(prefix) = &route.path_prefix
            && !prefix.starts_with('/')
        {
            return Err(invalid(format!("{key}.path_prefix"), "must start with '/'"));
        }
        if let Some(h) = &route.header {
            check_header_name(&format!("{key}.header.name"), &h.name)?;
        }
        if let Some(h) = &route.sticky_header {
            check_header_name(&format!("{key}.sticky_header"), h)?;
        }
        if route.connect_timeout_ms == 0 {
            return Err(invalid(format!("{key}.connect_timeout_ms"), "must be > 0"));
        }
        if !(0.0..=1.0).contains(&route.retry_budget_ratio) {
            return Err(invalid(
                format!("{key}.retry_budget_ratio"),
                "must be between 0 and 1",
            ));
        }
        if route.timeout_ms == 0 {
            return Err(invalid(format!("{key}.timeout_ms"), "must be > 0"));
        }
        for (from, to) in &route.aliases {
            if to.is_empty() || to.contains('/') {
                return Err(invalid(
                    format!("{key}.aliases.{from}"),
                    "must be a model name (not empty, no '/')",
                ));
            }
        }
        Ok(())
    }
}

fn validate_pool(key: &str, pool: &PoolConfig) -> Result<(), ConfigError> {
    if pool.backends.is_empty() {
        return Err(invalid(
            format!("{key}.backends"),
            "needs at least one backend",
        ));
    }
    for (i, b) in pool.backends.iter().enumerate() {
        check_host_port(&format!("{key}.backends[{i}]"), b)?;
    }
    match (&pool.balancing, &pool.hash_header) {
        (Balancing::ConsistentHash, None) => {
            return Err(invalid(
                format!("{key}.hash_header"),
                "missing: balancing = \"consistent_hash\" hashes this header",
            ));
        }
        (_, Some(h)) => check_header_name(&format!("{key}.hash_header"), h)?,
        _ => {}
    }
    if pool.max_h2_streams == 0 {
        return Err(invalid(
            format!("{key}.max_h2_streams"),
            "must be at least 1",
        ));
    }
    if let Some(h) = &pool.health {
        let hk = format!("{key}.health");
        if !h.path.starts_with('/') {
            return Err(invalid(format!("{hk}.path"), "must start with '/'"));
        }
        if h.protocol == super::HealthProtocol::Http && !h.service.is_empty() {
            return Err(invalid(
                format!("{hk}.service"),
                "names a gRPC service: only with protocol = \"grpc\"",
            ));
        }
        if h.rise == 0 || h.fall == 0 {
            return Err(invalid(
                format!("{hk}.rise"),
                "rise and fall must be at least 1",
            ));
        }
        if h.interval_ms == 0 || h.timeout_ms == 0 {
            return Err(invalid(
                format!("{hk}.interval_ms"),
                "interval_ms and timeout_ms must be > 0",
            ));
        }
    }
    let e = &pool.ejection;
    if e.consecutive_failures > 0 && (e.base_ms == 0 || e.max_ms < e.base_ms) {
        return Err(invalid(
            format!("{key}.ejection.max_ms"),
            "base_ms must be > 0 and max_ms >= base_ms",
        ));
    }
    Ok(())
}

fn check_addr(key: &str, addr: &str) -> Result<(), ConfigError> {
    addr.parse::<SocketAddr>()
        .map(|_| ())
        .map_err(|_| invalid(key, format!("{addr:?} is not IP:PORT")))
}

fn check_host_port(key: &str, addr: &str) -> Result<(), ConfigError> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(invalid(key, format!("{addr:?} is not HOST:PORT"))),
    }
}

fn check_header_name(key: &str, name: &str) -> Result<(), ConfigError> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| invalid(key, format!("{name:?} is not a header name")))
}
