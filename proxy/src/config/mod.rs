//! The proxy's TOML configuration (docs/proxy.md): its types and defaults.
//! Parsing is serde's (unknown keys refused); `validate.rs` then checks what
//! serde cannot and names the key at fault.

mod validate;

use std::collections::BTreeMap;

use serde::Deserialize;

/// A configuration error, with the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Toml(String),
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: Listen,
    #[serde(default)]
    pub pools: BTreeMap<String, PoolConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// HTTP/1.1 (and h2c when `h2c`) for REST and gRPC.
    pub address: String,
    #[serde(default = "yes")]
    pub h2c: bool,
    /// Admin port: `/metrics`, `/ready`, `/live`.
    pub admin: Option<String>,
    /// Worker threads of the proxy service (pingora's `threads`).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Seconds SIGTERM waits for in-flight requests before exiting.
    #[serde(default = "default_drain")]
    pub drain_seconds: u64,
    /// A TLS listener (rustls; ALPN h2 and http/1.1) beside `address`.
    pub tls: Option<TlsListen>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsListen {
    pub address: String,
    /// PEM certificate chain and private key.
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balancing {
    RoundRobin,
    LeastRequest,
    ConsistentHash,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// `host:port` of each backend (IP addresses, or names resolved at start).
    pub backends: Vec<String>,
    #[serde(default = "default_balancing")]
    pub balancing: Balancing,
    /// The header whose value is hashed (`consistent_hash` only).
    pub hash_header: Option<String>,
    /// Speak h2c to the backends for REST too (gRPC always uses h2c).
    #[serde(default)]
    pub h2c: bool,
    /// Concurrent h2 streams per upstream connection (pingora's default is 1).
    #[serde(default = "default_h2_streams")]
    pub max_h2_streams: usize,
    pub health: Option<HealthConfig>,
    #[serde(default)]
    pub ejection: EjectionConfig,
    /// Resolve the backends' names again this often (0: only at start).
    #[serde(default)]
    pub resolve_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// `http`: a GET of `path`; `grpc`: `grpc.health.v1` Check of `service`.
    #[serde(default)]
    pub protocol: HealthProtocol,
    #[serde(default = "default_health_path")]
    pub path: String,
    /// The service a gRPC check asks about ("": the server as a whole).
    #[serde(default)]
    pub service: String,
    #[serde(default = "default_health_interval")]
    pub interval_ms: u64,
    #[serde(default = "default_health_timeout")]
    pub timeout_ms: u64,
    /// Consecutive successes that make an unhealthy backend healthy.
    #[serde(default = "default_rise")]
    pub rise: usize,
    /// Consecutive failures that make a healthy backend unhealthy.
    #[serde(default = "default_fall")]
    pub fall: usize,
}

/// How a pool's backends are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthProtocol {
    #[default]
    Http,
    Grpc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EjectionConfig {
    /// Consecutive connect failures or 5xx answers that eject a backend (0: never).
    #[serde(default = "default_consecutive")]
    pub consecutive_failures: u32,
    /// First cool-down; each ejection in a row doubles it, up to `max_ms`.
    #[serde(default = "default_base_ms")]
    pub base_ms: u64,
    #[serde(default = "default_max_ms")]
    pub max_ms: u64,
}

impl Default for EjectionConfig {
    fn default() -> Self {
        EjectionConfig {
            consecutive_failures: default_consecutive(),
            base_ms: default_base_ms(),
            max_ms: default_max_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitTarget {
    pub pool: String,
    pub weight: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// The shadow pool; its answers are discarded.
    pub pool: String,
    /// Share of the route's REST requests copied (0 to 1).
    pub fraction: f64,
    /// Larger requests are not copied.
    #[serde(default = "default_mirror_body")]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    /// Model names (V1/V2 paths, gRPC model_name) this route serves.
    #[serde(default)]
    pub models: Vec<String>,
    pub header: Option<HeaderMatch>,
    pub path_prefix: Option<String>,
    /// One pool, or `split` between pools by weight.
    pub pool: Option<String>,
    #[serde(default)]
    pub split: Vec<SplitTarget>,
    /// Header whose value keeps a client on one side of the split.
    pub sticky_header: Option<String>,
    /// Pool for gRPC requests when the backends serve gRPC on other ports.
    pub grpc_pool: Option<String>,
    /// A copy of a fraction of the REST requests to a shadow pool.
    pub mirror: Option<MirrorConfig>,
    /// Model names rewritten on the way up: `{ iris = "iris-v2" }`.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Longest wait for the upstream (each read and write); beyond it: 504.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// POSTs may be re-sent to another backend after a mid-request failure.
    #[serde(default)]
    pub idempotent: bool,
    /// Connect attempts on other backends after a connect failure.
    #[serde(default = "default_connect_retries")]
    pub connect_retries: usize,
    /// Retries allowed: this share of the route's requests of the last 1-2 s...
    #[serde(default = "default_budget_ratio")]
    pub retry_budget_ratio: f64,
    /// ...plus this many.
    #[serde(default = "default_budget_min")]
    pub retry_budget_min: u32,
    /// In-flight requests beyond which new ones get 429 (0: no limit).
    #[serde(default)]
    pub max_in_flight: usize,
    /// Request bodies beyond this many bytes get 413 (0: no limit).
    #[serde(default)]
    pub max_body_bytes: u64,
}

impl RouteConfig {
    /// A route with no criteria catches everything: the default route.
    pub fn is_default(&self) -> bool {
        self.models.is_empty() && self.header.is_none() && self.path_prefix.is_none()
    }
}

fn yes() -> bool {
    true
}
fn default_threads() -> usize {
    2
}
fn default_drain() -> u64 {
    5
}
fn default_balancing() -> Balancing {
    Balancing::LeastRequest
}
fn default_h2_streams() -> usize {
    128
}
fn default_health_path() -> String {
    "/v2/health/ready".into()
}
fn default_health_interval() -> u64 {
    1000
}
fn default_health_timeout() -> u64 {
    500
}
fn default_rise() -> usize {
    2
}
fn default_fall() -> usize {
    2
}
fn default_consecutive() -> u32 {
    5
}
fn default_base_ms() -> u64 {
    1000
}
fn default_max_ms() -> u64 {
    30_000
}
fn default_connect_timeout() -> u64 {
    1000
}
fn default_timeout() -> u64 {
    60_000
}
fn default_connect_retries() -> usize {
    2
}
fn default_mirror_body() -> usize {
    4 << 20
}
fn default_budget_ratio() -> f64 {
    0.2
}
fn default_budget_min() -> u32 {
    3
}

impl Config {
    pub fn load(path: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_string(),
            source,
        })?;
        Config::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }
}
