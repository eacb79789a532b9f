//! A text model served by itself (as TEI does): a model directory whose
//! config.toml has a `[text]` section takes texts, tokenizes them with the
//! directory's `tokenizer.json`, runs the ONNX encoder and answers sentence
//! embeddings (mean pooling + L2 norm), or with `labels`, class
//! probabilities and label names. The wrapped ONNX model does the running.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use infergate_proto::{DataType, InferRequest, InferResponse, ModelMetadata, TensorMetadata};
use infergate_server::{InferError, Model, Payload, Reply, RequestContext};
use infergate_transformer::text::{
    Classify, ClassifyConfig, MeanPool, Tokenize, TokenizeConfig, texts_from_tensor, texts_from_v1,
};
use serde::Deserialize;

use crate::text_batch::{TextBatcher, TextBatching};

/// The `[text]` section of a model's config.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    /// `tokenizer.json`, relative to the model's directory.
    #[serde(default = "tokenizer")]
    pub tokenizer: PathBuf,
    #[serde(default = "infergate_transformer::text::defaults::max_length")]
    pub max_length: usize,
    #[serde(default = "infergate_transformer::text::defaults::max_texts")]
    pub max_texts: usize,
    #[serde(default = "infergate_transformer::text::defaults::max_tokens")]
    pub max_tokens: usize,
    #[serde(default = "infergate_transformer::text::defaults::yes")]
    pub token_type_ids: bool,
    /// The model output to pool (or, with `labels`, the logits).
    #[serde(default = "hidden")]
    pub output: String,
    /// Class names: answer probabilities and labels instead of embeddings.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Padding-aware batching (embeddings only): requests share a run within
    /// this many padded tokens (rows x longest); none means each runs alone.
    pub batch_max_tokens: Option<usize>,
    #[serde(default = "batch_max_texts")]
    pub batch_max_texts: usize,
    #[serde(default = "batch_delay_ms")]
    pub batch_delay_ms: u64,
}

fn batch_max_texts() -> usize {
    64
}
fn batch_delay_ms() -> u64 {
    2
}

fn tokenizer() -> PathBuf {
    "tokenizer.json".into()
}
fn hidden() -> String {
    "last_hidden_state".into()
}

enum Head {
    Pool(MeanPool),
    Classify(Classify),
}

pub struct TextModel {
    inner: Arc<dyn Model>,
    tokenize: Tokenize,
    head: Head,
    output: String,
    metadata: ModelMetadata,
    batcher: Option<TextBatcher>,
}

impl TextModel {
    /// Wraps `inner` (the ONNX encoder loaded from `dir`).
    pub fn new(inner: Arc<dyn Model>, dir: &Path, c: &TextConfig) -> Result<Self, String> {
        let tokenize = Tokenize::new(TokenizeConfig {
            tokenizer: dir.join(&c.tokenizer),
            tensor: "text".into(),
            max_length: c.max_length,
            max_texts: c.max_texts,
            max_tokens: c.max_tokens,
            token_type_ids: c.token_type_ids,
        })?;
        let mut metadata = inner.metadata();
        let out = metadata
            .outputs
            .iter()
            .find(|o| o.name == c.output)
            .ok_or_else(|| format!("[text] output '{}' is not an output of the model", c.output))?;
        let width = out.shape.last().copied().unwrap_or(-1);
        let (head, outputs) = if c.labels.is_empty() {
            let pool = MeanPool {
                tensor: c.output.clone(),
                ..MeanPool::default()
            };
            let meta = tensor_meta(&pool.output, DataType::Fp32, vec![-1, width]);
            (Head::Pool(pool), vec![meta])
        } else {
            let classify = Classify::try_from(ClassifyConfig {
                tensor: c.output.clone(),
                labels: c.labels.clone(),
                probabilities: "probabilities".into(),
                label: "label".into(),
            })?;
            let k = c.labels.len() as i64;
            let metas = vec![
                tensor_meta("probabilities", DataType::Fp32, vec![-1, k]),
                tensor_meta("label", DataType::Bytes, vec![-1]),
            ];
            (Head::Classify(classify), metas)
        };
        if c.batch_max_tokens.is_some() && !c.labels.is_empty() {
            return Err("[text] batch_max_tokens batches embeddings; not with labels".into());
        }
        let batcher = c.batch_max_tokens.map(|max_tokens| {
            let settings = TextBatching {
                max_rows: c.batch_max_texts.max(1),
                max_tokens,
                delay: Duration::from_millis(c.batch_delay_ms),
                queue: 1024,
            };
            TextBatcher::start(inner.clone(), c.output.clone(), settings)
        });
        metadata.inputs = vec![tensor_meta("text", DataType::Bytes, vec![-1])];
        metadata.outputs = outputs;
        Ok(TextModel {
            inner,
            tokenize,
            head,
            output: c.output.clone(),
            metadata,
            batcher,
        })
    }
}

fn tensor_meta(name: &str, datatype: DataType, shape: Vec<i64>) -> TensorMetadata {
    TensorMetadata {
        name: name.into(),
        datatype,
        shape,
    }
}

#[async_trait]
impl Model for TextModel {
    fn name(&self) -> &str {
        &self.metadata.name
    }

    fn metadata(&self) -> ModelMetadata {
        self.metadata.clone()
    }

    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    async fn load(&self) -> Result<(), InferError> {
        self.inner.load().await
    }

    async fn unload(&self) -> Result<(), InferError> {
        self.inner.unload().await
    }

    fn transforms(&self) -> bool {
        false
    }

    async fn predict(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, InferError> {
        let texts = match &payload {
            Payload::V1(body) => texts_from_v1(body),
            Payload::V2(req) => match req.inputs.as_slice() {
                [one] => texts_from_tensor(one),
                other => Err(format!(
                    "a text model takes one BYTES input of texts, got {} inputs",
                    other.len()
                )),
            },
        }
        .map_err(InferError::InvalidInput)?;
        let inputs = self
            .tokenize
            .tensors(&texts)
            .map_err(InferError::InvalidInput)?;
        let mask = inputs
            .iter()
            .find(|t| t.name == "attention_mask")
            .cloned()
            .ok_or_else(|| InferError::Internal("tokenize made no attention_mask".into()))?;
        let (mut outputs, model_version) = match &self.batcher {
            Some(b) => (b.run(inputs).await?, None),
            None => {
                let req = InferRequest {
                    inputs,
                    ..Default::default()
                };
                let Reply::V2(resp) = self.inner.predict(Payload::V2(req), ctx).await? else {
                    return Err(InferError::Internal("the encoder answered V1".into()));
                };
                let outputs = resp.outputs.into_iter().filter(|t| t.name == self.output);
                (outputs.collect::<Vec<_>>(), resp.model_version)
            }
        };
        let done = match &self.head {
            Head::Pool(pool) => {
                outputs.push(mask);
                pool.apply(&mut outputs)
            }
            Head::Classify(c) => c.apply(&mut outputs),
        };
        done.map_err(InferError::Internal)?;
        Ok(Reply::V2(InferResponse {
            model_name: self.metadata.name.clone(),
            model_version: model_version.or_else(|| self.metadata.versions.first().cloned()),
            outputs,
            ..Default::default()
        }))
    }
}
