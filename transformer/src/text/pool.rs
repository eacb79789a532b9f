//! `mean_pool`: token hidden states `[n, seq, dim]` -> one FP32 embedding
//! `[n, dim]` per text, the mean over the tokens the attention mask keeps
//! (padding does not count), L2-normalised as sentence-transformers does.
use infergate_proto::{Tensor, TensorData};
use serde::Deserialize;

use crate::ops::find;

/// A `mean_pool` step: reads `tensor` and `mask`, replaces them with `output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanPool {
    #[serde(default = "hidden")]
    pub tensor: String,
    #[serde(default = "mask")]
    pub mask: String,
    #[serde(default = "output")]
    pub output: String,
    #[serde(default = "yes")]
    pub normalize: bool,
}

fn hidden() -> String {
    "last_hidden_state".into()
}
fn mask() -> String {
    "attention_mask".into()
}
fn output() -> String {
    "embedding".into()
}
fn yes() -> bool {
    true
}

impl Default for MeanPool {
    fn default() -> Self {
        MeanPool {
            tensor: hidden(),
            mask: mask(),
            output: output(),
            normalize: true,
        }
    }
}

/// Mean of each row's kept tokens (sums in f64), optionally scaled to unit
/// length. `hidden` is `[rows, seq, dim]`, `mask` `[rows, seq]`, row-major.
pub fn mean_pool(
    hidden: &[f32],
    mask: &[i64],
    rows: usize,
    seq: usize,
    dim: usize,
    normalize: bool,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * dim);
    let mut sum = vec![0f64; dim];
    for r in 0..rows {
        sum.iter_mut().for_each(|s| *s = 0.0);
        let mut kept = 0f64;
        for t in 0..seq {
            let m = mask[r * seq + t] as f64;
            if m == 0.0 {
                continue;
            }
            kept += m;
            let row = &hidden[(r * seq + t) * dim..(r * seq + t + 1) * dim];
            for (s, &h) in sum.iter_mut().zip(row) {
                *s += h as f64 * m;
            }
        }
        // As sentence-transformers: the count is clamped away from zero, and
        // so is the norm (an all-zero row stays zero, never NaN).
        let kept = kept.max(1e-9);
        sum.iter_mut().for_each(|s| *s /= kept);
        if normalize {
            let norm = sum.iter().map(|s| s * s).sum::<f64>().sqrt().max(1e-12);
            sum.iter_mut().for_each(|s| *s /= norm);
        }
        out.extend(sum.iter().map(|&s| s as f32));
    }
    out
}

impl MeanPool {
    pub fn apply(&self, tensors: &mut Vec<Tensor>) -> Result<(), String> {
        let mask_t = find(tensors, &self.mask)
            .map_err(|e| format!("mean_pool needs the attention mask among the tensors: {e}"))?;
        let mask: Vec<i64> = match &mask_t.data {
            TensorData::Int64(v) => v.clone(),
            TensorData::Int32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            other => {
                return Err(format!(
                    "mask '{}' is {}, not INT64",
                    self.mask,
                    other.datatype()
                ));
            }
        };
        let mask_shape = mask_t.shape.clone();
        let h = find(tensors, &self.tensor)?;
        let TensorData::Fp32(hidden) = &h.data else {
            return Err(format!("'{}' is {}, not FP32", h.name, h.datatype()));
        };
        let [rows, seq, dim] = h.shape[..] else {
            return Err(format!(
                "'{}' has shape {:?}, not [n, seq, dim]",
                h.name, h.shape
            ));
        };
        if mask_shape != [rows, seq] {
            return Err(format!(
                "mask '{}' has shape {mask_shape:?}; '{}' needs [{rows}, {seq}]",
                self.mask, h.name
            ));
        }
        let pooled = mean_pool(hidden, &mask, rows, seq, dim, self.normalize);
        let out = Tensor::new(
            self.output.clone(),
            vec![rows, dim],
            TensorData::Fp32(pooled),
        )
        .map_err(|e| e.to_string())?;
        tensors.retain(|t| t.name != self.tensor && t.name != self.mask);
        tensors.push(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_only_kept_tokens_then_normalises() {
        // 2 rows x 3 tokens x 2 dims; row 0 keeps 2 tokens, row 1 keeps 1.
        #[rustfmt::skip]
        let hidden = [
            1.0, 0.0,   3.0, 4.0,   100.0, 100.0,
            0.0, 2.0,   50.0, 50.0, 50.0, 50.0,
        ];
        let mask = [1, 1, 0, 1, 0, 0];
        assert_eq!(
            mean_pool(&hidden, &mask, 2, 3, 2, false),
            vec![2.0, 2.0, 0.0, 2.0]
        );
        let unit = mean_pool(&hidden, &mask, 2, 3, 2, true);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((unit[0] - h).abs() < 1e-7 && (unit[1] - h).abs() < 1e-7);
        assert_eq!(&unit[2..], &[0.0, 1.0]);
    }

    #[test]
    fn an_all_padding_row_is_zero_not_nan() {
        assert_eq!(mean_pool(&[5.0, 5.0], &[0], 1, 1, 2, true), vec![0.0, 0.0]);
    }

    #[test]
    fn replaces_hidden_states_and_mask_with_the_embedding() {
        let mut tensors = vec![
            Tensor::new(
                "last_hidden_state",
                vec![1, 2, 2],
                TensorData::Fp32(vec![3.0, 0.0, 0.0, 4.0]),
            )
            .unwrap(),
            Tensor::new("attention_mask", vec![1, 2], TensorData::Int64(vec![1, 1])).unwrap(),
        ];
        MeanPool::default().apply(&mut tensors).unwrap();
        assert_eq!(tensors.len(), 1);
        assert_eq!(tensors[0].name, "embedding");
        assert_eq!(tensors[0].shape, vec![1, 2]);
        assert_eq!(tensors[0].data, TensorData::Fp32(vec![0.6, 0.8]));
    }

    #[test]
    fn shape_and_type_mismatches_are_named() {
        let hidden = Tensor::new(
            "last_hidden_state",
            vec![1, 2, 1],
            TensorData::Fp32(vec![1.0, 2.0]),
        )
        .unwrap();
        let mut t = vec![hidden.clone()];
        let err = MeanPool::default().apply(&mut t).unwrap_err();
        assert!(
            err.starts_with("mean_pool needs the attention mask"),
            "{err}"
        );
        let mask =
            Tensor::new("attention_mask", vec![1, 3], TensorData::Int64(vec![1; 3])).unwrap();
        let mut t = vec![hidden, mask];
        assert_eq!(
            MeanPool::default().apply(&mut t).unwrap_err(),
            "mask 'attention_mask' has shape [1, 3]; 'last_hidden_state' needs [1, 2]"
        );
    }
}
