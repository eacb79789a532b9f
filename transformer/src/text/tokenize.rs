//! `tokenize`: texts -> `input_ids`, `attention_mask` (and `token_type_ids`),
//! INT64 `[n, longest]`, with a Hugging Face `tokenizer.json`. Each text is
//! truncated to `max_length` tokens (special tokens included) and the batch
//! is padded to its longest row. The limits bound the work one request can
//! ask for; going past one is the caller's error and names the limit.
use std::path::PathBuf;
use std::sync::Arc;

use infergate_proto::{Tensor, TensorData};
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::ops::find;

/// A `tokenize` step as written in a config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizeConfig {
    /// Path of the `tokenizer.json` file.
    pub tokenizer: PathBuf,
    /// The V2 BYTES input that holds the texts (V1 requests give their
    /// `instances` directly).
    #[serde(default = "text")]
    pub tensor: String,
    /// Tokens a text keeps, special tokens included; longer texts are cut.
    #[serde(default = "defaults::max_length")]
    pub max_length: usize,
    /// Texts one request may hold.
    #[serde(default = "defaults::max_texts")]
    pub max_texts: usize,
    /// Padded tokens (texts x longest) one request may hold.
    #[serde(default = "defaults::max_tokens")]
    pub max_tokens: usize,
    /// Whether the model takes `token_type_ids` (BERT does).
    #[serde(default = "defaults::yes")]
    pub token_type_ids: bool,
}

fn text() -> String {
    "text".into()
}
/// The tokenizer's defaults, shared with the predictor's `[text]` models.
pub mod defaults {
    pub fn max_length() -> usize {
        256
    }
    pub fn max_texts() -> usize {
        256
    }
    pub fn max_tokens() -> usize {
        65_536
    }
    pub fn yes() -> bool {
        true
    }
}

/// A loaded tokenizer with its settings.
#[derive(Clone, Deserialize)]
#[serde(try_from = "TokenizeConfig")]
pub struct Tokenize {
    pub config: TokenizeConfig,
    tokenizer: Arc<Tokenizer>,
}

impl std::fmt::Debug for Tokenize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl PartialEq for Tokenize {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

/// One batch of token rows, padded to `longest` (row-major `[rows, longest]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub rows: usize,
    pub longest: usize,
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    pub token_type_ids: Vec<i64>,
}

impl TryFrom<TokenizeConfig> for Tokenize {
    type Error = String;

    fn try_from(config: TokenizeConfig) -> Result<Self, String> {
        Tokenize::new(config)
    }
}

impl Tokenize {
    /// Loads the tokenizer file; fails (at startup) if it cannot be read or
    /// the limits make no sense.
    pub fn new(config: TokenizeConfig) -> Result<Self, String> {
        let path = config.tokenizer.display();
        if config.max_length < 2 || config.max_texts == 0 || config.max_tokens == 0 {
            return Err(format!(
                "tokenize ({path}): max_length must be >= 2 and max_texts, max_tokens > 0"
            ));
        }
        let mut tokenizer = Tokenizer::from_file(&config.tokenizer)
            .map_err(|e| format!("cannot load tokenizer {path}: {e}"))?;
        // The file's own truncation/padding (often fixed at 128) would
        // override the configured ones: ours pad to the batch's longest.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: config.max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| format!("tokenizer {path}: {e}"))?;
        tokenizer.with_padding(None);
        Ok(Tokenize {
            config,
            tokenizer: Arc::new(tokenizer),
        })
    }

    /// Token rows of the texts, padded to the longest, within the limits.
    pub fn encode(&self, texts: &[String]) -> Result<Encoded, String> {
        let c = &self.config;
        if texts.is_empty() {
            return Err("no texts to tokenize (the list is empty)".into());
        }
        if texts.len() > c.max_texts {
            return Err(format!(
                "{} texts, over the limit of {} a request (max_texts)",
                texts.len(),
                c.max_texts
            ));
        }
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| format!("cannot tokenize: {e}"))?;
        let longest = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
        let padded = texts.len() * longest;
        if padded > c.max_tokens {
            return Err(format!(
                "{} texts padded to {longest} tokens make {padded} tokens, over the \
                 limit of {} a request (max_tokens)",
                texts.len(),
                c.max_tokens
            ));
        }
        let mut out = Encoded {
            rows: texts.len(),
            longest,
            input_ids: vec![0; padded],
            attention_mask: vec![0; padded],
            token_type_ids: vec![0; padded],
        };
        let pad_id = self
            .tokenizer
            .get_padding()
            .map(|p| i64::from(p.pad_id))
            .or_else(|| self.tokenizer.token_to_id("[PAD]").map(i64::from))
            .unwrap_or(0);
        for (row, enc) in encodings.iter().enumerate() {
            let at = row * longest;
            for (i, ((&id, &mask), &ty)) in enc
                .get_ids()
                .iter()
                .zip(enc.get_attention_mask())
                .zip(enc.get_type_ids())
                .enumerate()
            {
                out.input_ids[at + i] = i64::from(id);
                out.attention_mask[at + i] = i64::from(mask);
                out.token_type_ids[at + i] = i64::from(ty);
            }
            for id in &mut out.input_ids[at + enc.len()..at + longest] {
                *id = pad_id;
            }
        }
        Ok(out)
    }

    /// The model inputs for `texts`.
    pub fn tensors(&self, texts: &[String]) -> Result<Vec<Tensor>, String> {
        let e = self.encode(texts)?;
        let shape = vec![e.rows, e.longest];
        let mut out = vec![
            tensor("input_ids", &shape, e.input_ids)?,
            tensor("attention_mask", &shape, e.attention_mask)?,
        ];
        if self.config.token_type_ids {
            out.push(tensor("token_type_ids", &shape, e.token_type_ids)?);
        }
        Ok(out)
    }

    /// Replaces the BYTES tensor of texts with the model inputs.
    pub fn apply(&self, tensors: &mut Vec<Tensor>) -> Result<(), String> {
        let texts = super::texts_from_tensor(find(tensors, &self.config.tensor)?)?;
        let made = self.tensors(&texts)?;
        tensors.retain(|t| t.name != self.config.tensor);
        tensors.extend(made);
        Ok(())
    }
}

fn tensor(name: &str, shape: &[usize], data: Vec<i64>) -> Result<Tensor, String> {
    Tensor::new(name, shape.to_vec(), TensorData::Int64(data)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WordPiece vocabulary of a few words: [PAD]=0 [UNK]=1 [CLS]=2
    /// [SEP]=3 hello=4 world=5 ##s=6 a=7.
    pub(crate) fn tiny(max_length: usize, max_texts: usize, max_tokens: usize) -> Tokenize {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/text/testdata/tokenizer.json");
        Tokenize::new(TokenizeConfig {
            tokenizer: path,
            tensor: "text".into(),
            max_length,
            max_texts,
            max_tokens,
            token_type_ids: true,
        })
        .unwrap()
    }

    fn texts(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pads_to_the_longest_and_truncates() {
        let tok = tiny(5, 8, 100);
        let e = tok
            .encode(&texts(&["Hello", "hello worlds", "", "a a a a a a"]))
            .unwrap();
        assert_eq!((e.rows, e.longest), (4, 5));
        #[rustfmt::skip]
        assert_eq!(e.input_ids, vec![
            2, 4, 3, 0, 0,
            2, 4, 5, 6, 3,
            2, 3, 0, 0, 0,
            2, 7, 7, 7, 3, // cut to max_length, [SEP] kept
        ]);
        #[rustfmt::skip]
        assert_eq!(e.attention_mask, vec![
            1, 1, 1, 0, 0,
            1, 1, 1, 1, 1,
            1, 1, 0, 0, 0,
            1, 1, 1, 1, 1,
        ]);
        assert_eq!(e.token_type_ids, vec![0; 20]);
    }

    #[test]
    fn limits_are_named() {
        let tok = tiny(8, 2, 6);
        assert_eq!(
            tok.encode(&[]).unwrap_err(),
            "no texts to tokenize (the list is empty)"
        );
        assert_eq!(
            tok.encode(&texts(&["a", "a", "a"])).unwrap_err(),
            "3 texts, over the limit of 2 a request (max_texts)"
        );
        // 2 rows x 4 tokens = 8 padded tokens, though only 7 are real.
        let err = tok.encode(&texts(&["a a", "a"])).unwrap_err();
        assert_eq!(
            err,
            "2 texts padded to 4 tokens make 8 tokens, over the limit of 6 a request (max_tokens)"
        );
        assert!(tok.encode(&texts(&["a", "a"])).is_ok(), "2 x 3 = 6 fits");
    }

    #[test]
    fn replaces_the_text_tensor_with_model_inputs() {
        let tok = tiny(8, 8, 100);
        let mut tensors = vec![
            Tensor::new(
                "text",
                vec![2],
                TensorData::Bytes(vec![b"hello".to_vec(), b"world".to_vec()]),
            )
            .unwrap(),
        ];
        tok.apply(&mut tensors).unwrap();
        let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["input_ids", "attention_mask", "token_type_ids"]);
        assert_eq!(tensors[0].shape, vec![2, 3]);
        assert_eq!(tensors[0].data, TensorData::Int64(vec![2, 4, 3, 2, 5, 3]));
    }

    #[test]
    fn a_missing_tokenizer_file_fails_at_startup() {
        let err = Tokenize::new(TokenizeConfig {
            tokenizer: "/nonexistent/tokenizer.json".into(),
            tensor: "text".into(),
            max_length: 8,
            max_texts: 1,
            max_tokens: 8,
            token_type_ids: true,
        })
        .unwrap_err();
        assert!(
            err.starts_with("cannot load tokenizer /nonexistent/tokenizer.json"),
            "{err}"
        );
    }
}
