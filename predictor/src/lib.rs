//! The colocated predictor: ONNX Runtime sessions behind the `Model` trait
//! of `infergate-server`, with dynamic batching and a model repository.
//! It sits beside the gateway (which embeds it when no `--predictor_host` is
//! given) and depends only on the wire and serving crates.
