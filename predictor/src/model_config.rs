//! The optional per-model `config.toml` beside a model's files:
//!
//! ```toml
//! name = "iris"                 # default: the folder name
//! max_batch_size = 32           # largest batch the batcher forms
//! instance_count = 1            # sessions serving the model in parallel
//! intra_op_threads = 2          # default: --intra_op_threads, else the CPU quota
//! v1_output = "label"           # the output V1 `predictions` come from
//! version_policy = "all"        # or { latest = 2 } or { specific = [1, 3] }
//!
//! [dynamic_batching]            # present = batching on (it is off otherwise)
//! max_queue_delay_microseconds = 500
//! preferred_batch_size = [8, 16]
//! max_queue_size = 1024         # beyond it: 429 / RESOURCE_EXHAUSTED at once
//! timeout_microseconds = 0      # queue timeout per request; 0 = none
//!
//! [inputs.float_input]          # metadata overrides (tighten dynamic dims)
//! shape = [-1, 4]
//! ```
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use infergate_proto::TensorMetadata;
pub use infergate_server::batching::BatchSettings;
use serde::Deserialize;

use crate::error::{PredictorError, Result};

pub const CONFIG_FILE: &str = "config.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: Option<String>,
    pub max_batch_size: Option<usize>,
    pub instance_count: Option<usize>,
    pub intra_op_threads: Option<usize>,
    pub v1_output: Option<String>,
    /// Which numbered version folders are served (default: all of them).
    #[serde(default)]
    pub version_policy: VersionPolicy,
    pub dynamic_batching: Option<DynamicBatching>,
    #[serde(default)]
    pub inputs: BTreeMap<String, TensorOverride>,
    #[serde(default)]
    pub outputs: BTreeMap<String, TensorOverride>,
    /// A text model: texts in, embeddings (or labels) out (crate::text_model).
    pub text: Option<crate::text_model::TextConfig>,
}

/// Which of a model's numbered version folders are served, as Triton's
/// `version_policy`: every one (the default), the newest N, or the listed ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum VersionPolicy {
    #[default]
    All,
    Latest(usize),
    Specific(Vec<u64>),
}

impl VersionPolicy {
    /// The versions to serve out of `present` (ascending), or why none.
    pub fn select(&self, present: &[u64]) -> std::result::Result<Vec<u64>, String> {
        let chosen: Vec<u64> = match self {
            VersionPolicy::All => present.to_vec(),
            VersionPolicy::Latest(n) => present[present.len().saturating_sub(*n)..].to_vec(),
            VersionPolicy::Specific(wanted) => {
                if let Some(missing) = wanted.iter().find(|v| !present.contains(v)) {
                    return Err(format!(
                        "version_policy names version {missing}, which has no folder (present: {present:?})"
                    ));
                }
                present
                    .iter()
                    .copied()
                    .filter(|v| wanted.contains(v))
                    .collect()
            }
        };
        Ok(chosen)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicBatching {
    #[serde(default)]
    pub max_queue_delay_microseconds: u64,
    #[serde(default)]
    pub preferred_batch_size: Vec<usize>,
    #[serde(default = "default_queue_size")]
    pub max_queue_size: usize,
    #[serde(default)]
    pub timeout_microseconds: u64,
}

fn default_queue_size() -> usize {
    1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorOverride {
    pub shape: Vec<i64>,
}

/// Default largest batch when batching is on and no size is given.
const DEFAULT_MAX_BATCH: usize = 32;

impl ModelConfig {
    /// Reads `dir/config.toml`, or the defaults when there is none.
    pub fn read(dir: &Path, model: &str) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(invalid(
                    model,
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        let config: ModelConfig = toml::from_str(&text)
            .map_err(|e| invalid(model, format!("{}: {e}", path.display())))?;
        config.check(model)?;
        Ok(config)
    }

    /// Reads and checks the text of a `config.toml` (as `read` does, with
    /// no file name in errors).
    pub fn parse(text: &str, model: &str) -> Result<Self> {
        let config: ModelConfig =
            toml::from_str(text).map_err(|e| invalid(model, e.to_string()))?;
        config.check(model)?;
        Ok(config)
    }

    fn check(&self, model: &str) -> Result<()> {
        if let Some(b) = &self.dynamic_batching {
            let max = self.max_batch_size.unwrap_or(DEFAULT_MAX_BATCH);
            if max == 0 {
                return Err(invalid(model, "dynamic_batching needs max_batch_size > 0"));
            }
            if let Some(p) = b.preferred_batch_size.iter().find(|&&p| p == 0 || p > max) {
                return Err(invalid(
                    model,
                    format!("preferred_batch_size {p} is not within 1..={max}"),
                ));
            }
            if b.max_queue_size == 0 {
                return Err(invalid(model, "max_queue_size must be at least 1"));
            }
        }
        match &self.version_policy {
            VersionPolicy::Latest(0) => {
                return Err(invalid(model, "version_policy latest must be at least 1"));
            }
            VersionPolicy::Specific(v) if v.is_empty() => {
                return Err(invalid(model, "version_policy specific lists no version"));
            }
            _ => {}
        }
        if self.instance_count == Some(0) {
            return Err(invalid(model, "instance_count must be at least 1"));
        }
        Ok(())
    }

    pub fn batching(&self) -> Option<BatchSettings> {
        let b = self.dynamic_batching.as_ref()?;
        let mut preferred = b.preferred_batch_size.clone();
        preferred.sort_unstable();
        preferred.dedup();
        Some(BatchSettings {
            max_batch_size: self.max_batch_size.unwrap_or(DEFAULT_MAX_BATCH),
            max_queue_delay: Duration::from_micros(b.max_queue_delay_microseconds),
            preferred_batch_sizes: preferred,
            max_queue_size: b.max_queue_size,
            timeout: (b.timeout_microseconds > 0)
                .then(|| Duration::from_micros(b.timeout_microseconds)),
        })
    }

    /// Applies shape overrides to the graph's metadata. An override must keep
    /// the rank and may only fix dimensions the graph leaves dynamic.
    pub fn apply_overrides(
        &self,
        model: &str,
        inputs: &mut [TensorMetadata],
        outputs: &mut [TensorMetadata],
    ) -> Result<()> {
        for (overrides, tensors, kind) in [
            (&self.inputs, inputs, "input"),
            (&self.outputs, outputs, "output"),
        ] {
            for (name, o) in overrides {
                let t = tensors
                    .iter_mut()
                    .find(|t| &t.name == name)
                    .ok_or_else(|| {
                        invalid(
                            model,
                            format!("config names {kind} '{name}', which the graph does not have"),
                        )
                    })?;
                let fits = o.shape.len() == t.shape.len()
                    && t.shape
                        .iter()
                        .zip(&o.shape)
                        .all(|(&g, &c)| g == -1 || g == c);
                if !fits {
                    return Err(invalid(
                        model,
                        format!(
                            "config shape {:?} for {kind} '{name}' does not fit the graph's {:?}",
                            o.shape, t.shape
                        ),
                    ));
                }
                t.shape = o.shape.clone();
            }
        }
        Ok(())
    }
}

fn invalid(model: &str, reason: impl Into<String>) -> PredictorError {
    PredictorError::Load {
        model: model.to_string(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infergate_proto::DataType;

    fn parse(text: &str) -> Result<ModelConfig> {
        let c: ModelConfig = toml::from_str(text).map_err(|e| invalid("m", e.to_string()))?;
        c.check("m")?;
        Ok(c)
    }

    #[test]
    fn batching_is_off_unless_configured() {
        assert_eq!(parse("").unwrap().batching(), None);
        assert_eq!(parse("max_batch_size = 8").unwrap().batching(), None);
        let b = parse("max_batch_size = 8\n[dynamic_batching]\nmax_queue_delay_microseconds = 500\npreferred_batch_size = [8, 4, 4]\ntimeout_microseconds = 2000")
            .unwrap()
            .batching()
            .unwrap();
        assert_eq!(b.max_batch_size, 8);
        assert_eq!(b.max_queue_delay, Duration::from_micros(500));
        assert_eq!(b.preferred_batch_sizes, vec![4, 8]);
        assert_eq!(b.max_queue_size, 1024);
        assert_eq!(b.timeout, Some(Duration::from_millis(2)));
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        for (text, want) in [
            (
                "max_batch_size = 0\n[dynamic_batching]",
                "max_batch_size > 0",
            ),
            (
                "max_batch_size = 4\n[dynamic_batching]\npreferred_batch_size = [8]",
                "preferred_batch_size 8",
            ),
            ("[dynamic_batching]\nmax_queue_size = 0", "max_queue_size"),
            ("instance_count = 0", "instance_count"),
            ("batch = 3", "unknown field"),
            (
                "version_policy = { latest = 0 }",
                "latest must be at least 1",
            ),
            ("version_policy = { specific = [] }", "lists no version"),
            ("version_policy = \"newest\"", "unknown variant"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn version_policies_pick_their_versions() {
        let present = [1, 3, 7];
        let policy = |text: &str| parse(text).unwrap().version_policy;
        assert_eq!(policy("").select(&present), Ok(vec![1, 3, 7]));
        assert_eq!(
            policy("version_policy = \"all\"").select(&present),
            Ok(vec![1, 3, 7])
        );
        assert_eq!(
            policy("version_policy = { latest = 2 }").select(&present),
            Ok(vec![3, 7])
        );
        assert_eq!(
            policy("[version_policy]\nlatest = 9").select(&present),
            Ok(vec![1, 3, 7])
        );
        assert_eq!(
            policy("version_policy = { specific = [7, 1] }").select(&present),
            Ok(vec![1, 7])
        );
        let err = policy("version_policy = { specific = [2] }")
            .select(&present)
            .unwrap_err();
        assert!(err.contains("version 2"), "{err}");
    }

    #[test]
    fn overrides_may_only_fix_dynamic_dims() {
        let c = parse("[inputs.x]\nshape = [-1, 4]").unwrap();
        let meta = |shape: Vec<i64>| {
            vec![TensorMetadata {
                name: "x".into(),
                datatype: DataType::Fp32,
                shape,
            }]
        };
        let mut inputs = meta(vec![-1, -1]);
        c.apply_overrides("m", &mut inputs, &mut []).unwrap();
        assert_eq!(inputs[0].shape, vec![-1, 4]);
        let err = c
            .apply_overrides("m", &mut meta(vec![-1, 3]), &mut [])
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        let err = c
            .apply_overrides("m", &mut meta(vec![-1]), &mut [])
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        let c = parse("[outputs.nope]\nshape = [1]").unwrap();
        assert!(c.apply_overrides("m", &mut [], &mut []).is_err());
    }
}
