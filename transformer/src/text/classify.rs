//! `classify`: a sequence classifier's logits `[n, classes]` -> softmax
//! probabilities (FP32) and the most likely class's label (BYTES `[n]`).
use infergate_proto::{Tensor, TensorData};
use serde::Deserialize;

use crate::ops::find;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    #[serde(default = "logits")]
    pub tensor: String,
    /// One name per class, in the model's class order.
    pub labels: Vec<String>,
    #[serde(default = "probabilities")]
    pub probabilities: String,
    #[serde(default = "label")]
    pub label: String,
}

fn logits() -> String {
    "logits".into()
}
fn probabilities() -> String {
    "probabilities".into()
}
fn label() -> String {
    "label".into()
}

/// A checked `classify` step (at least two labels, distinct output names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ClassifyConfig")]
pub struct Classify(pub ClassifyConfig);

impl TryFrom<ClassifyConfig> for Classify {
    type Error = String;

    fn try_from(c: ClassifyConfig) -> Result<Self, String> {
        if c.labels.len() < 2 {
            return Err("classify needs at least two labels".into());
        }
        if c.probabilities == c.label {
            return Err("classify: 'probabilities' and 'label' need different names".into());
        }
        Ok(Classify(c))
    }
}

/// Softmax of each row of `[rows, k]` logits (max subtracted first, so large
/// logits do not overflow).
pub fn softmax(logits: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(k) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f64> = row.iter().map(|&x| f64::from(x - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        out.extend(exp.iter().map(|&e| (e / total) as f32));
    }
    out
}

impl Classify {
    pub fn apply(&self, tensors: &mut Vec<Tensor>) -> Result<(), String> {
        let c = &self.0;
        let t = find(tensors, &c.tensor)?;
        let TensorData::Fp32(logits) = &t.data else {
            return Err(format!("'{}' is {}, not FP32", t.name, t.datatype()));
        };
        let [rows, k] = t.shape[..] else {
            return Err(format!(
                "'{}' has shape {:?}, not [n, classes]",
                t.name, t.shape
            ));
        };
        if k != c.labels.len() {
            return Err(format!(
                "'{}' has {k} classes but {} labels are configured",
                t.name,
                c.labels.len()
            ));
        }
        if logits.iter().any(|x| !x.is_finite()) {
            return Err(format!("'{}' holds a NaN or infinite logit", t.name));
        }
        let probs = softmax(logits, k);
        let names = probs
            .chunks(k)
            .map(|row| {
                let best = (0..k)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0);
                c.labels[best].clone().into_bytes()
            })
            .collect();
        let label = Tensor::new(c.label.clone(), vec![rows], TensorData::Bytes(names));
        let probs = Tensor::new(
            c.probabilities.clone(),
            vec![rows, k],
            TensorData::Fp32(probs),
        );
        let (label, probs) = (
            label.map_err(|e| e.to_string())?,
            probs.map_err(|e| e.to_string())?,
        );
        tensors.retain(|t| t.name != c.tensor);
        tensors.push(probs);
        tensors.push(label);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Classify {
        Classify::try_from(ClassifyConfig {
            tensor: "logits".into(),
            labels: vec!["negative".into(), "positive".into()],
            probabilities: "probabilities".into(),
            label: "label".into(),
        })
        .unwrap()
    }

    #[test]
    fn softmax_and_labels() {
        let mut t = vec![
            Tensor::new(
                "logits",
                vec![2, 2],
                TensorData::Fp32(vec![0.0, 0.0, 1000.0, -1000.0]),
            )
            .unwrap(),
        ];
        head().apply(&mut t).unwrap();
        assert_eq!(t[0].name, "probabilities");
        assert_eq!(t[0].data, TensorData::Fp32(vec![0.5, 0.5, 1.0, 0.0]));
        // A tie goes to the later class (max_by keeps the last maximum).
        assert_eq!(
            t[1].data,
            TensorData::Bytes(vec![b"positive".to_vec(), b"negative".to_vec()])
        );
    }

    #[test]
    fn class_count_must_match_labels() {
        let mut t =
            vec![Tensor::new("logits", vec![1, 3], TensorData::Fp32(vec![0.0; 3])).unwrap()];
        assert_eq!(
            head().apply(&mut t).unwrap_err(),
            "'logits' has 3 classes but 2 labels are configured"
        );
        let one = ClassifyConfig {
            labels: vec!["x".into()],
            ..head().0
        };
        assert!(Classify::try_from(one).is_err());
    }
}
