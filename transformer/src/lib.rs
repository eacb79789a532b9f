//! Transformers: the preprocess / postprocess / explain hooks a KServe
//! transformer overrides, as a Rust trait, and declarative built-in
//! transforms configured from a file. No networking: the gateway wires a
//! transformer to its upstream predictor.
