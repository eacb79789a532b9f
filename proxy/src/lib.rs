//! infergate proxy: a reverse proxy on pingora that knows KServe models.
//! It routes by model name (V1/V2 paths, the gRPC request's first field),
//! balances over pools of predictors, fails over on connect failures,
//! ejects failing backends, and answers its own errors as KServe does.
//! Run it as `infergate proxy --config proxy.toml` (docs/proxy.md).

pub mod admin;
pub mod background;
pub mod balance;
pub mod config;
pub mod ejection;
pub mod error;
pub mod grpc_health;
pub mod grpc_peek;
pub mod headers;
pub mod intake;
pub mod metrics;
pub mod mirror;
pub mod model_path;
pub mod pool;
pub mod reload;
pub mod retry_budget;
pub mod router;
pub mod run;
pub mod service;

pub use config::{Config, ConfigError};
pub use run::main_with_args;
