//! infergate: a drop-in KServe transformer container and gateway. This crate
//! holds what knows about flags and processes; the data plane itself is
//! `infergate-server`.
pub mod app;
pub mod config;
pub mod logging;
