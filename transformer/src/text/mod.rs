//! Text models (BERT-class encoders such as all-MiniLM-L6-v2): texts become
//! the INT64 tensors the ONNX model takes ([`Tokenize`], reading a Hugging
//! Face `tokenizer.json`), and its hidden states become sentence embeddings
//! ([`MeanPool`]) or class probabilities with label names ([`Classify`]).
//! Pure functions over tensors: the declarative transformer uses them as
//! `tokenize`, `mean_pool` and `classify` steps.
mod classify;
mod pool;
mod texts;
mod tokenize;

pub use classify::{Classify, ClassifyConfig, softmax};
pub use pool::{MeanPool, mean_pool};
pub use texts::{texts_from_tensor, texts_from_v1};
pub use tokenize::{Encoded, Tokenize, TokenizeConfig, defaults};

#[cfg(test)]
mod steps_tests;
