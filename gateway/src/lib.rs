//! infergate: a drop-in KServe transformer container and gateway. This crate
//! holds the `infergate` command line and the wiring of what it serves; the
//! data plane is `infergate-server`, the ONNX predictor
//! `infergate-predictor`.
pub mod app;
pub mod config;
