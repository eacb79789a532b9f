//! The model repository: `--model_dir` holds one folder per model, each with
//! a `model.onnx` (or numbered version folders `1/`, `2/`, ... each with one;
//! every version is served unless the `version_policy` of its optional
//! `config.toml` picks some) and an optional `config.toml`. A `--model_dir`
//! that holds an `.onnx` file itself is one model, named by `--model_name`
//! (KServe's single-model layout under /mnt/models). A repository with no
//! model in it is an error that says what it holds instead.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use infergate_server::{InferError, Model, ModelRepository};

use crate::batching::OnnxBatcher;
use crate::error::{PredictorError, Result};
use crate::model::OnnxModel;
use crate::model_config::ModelConfig;
use crate::runtime::{self, Device};
use crate::session::{SessionOptions, SessionPool};
use crate::text_model::TextModel;
use crate::versioned::VersionedModel;

/// How models are loaded.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    /// Per model; default: the CPUs this process may use, split across instances.
    pub intra_op_threads: Option<usize>,
}

/// Where one model's files are.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub name: String,
    pub dir: PathBuf,
    /// The files to serve: one per version, ascending, or one with no version.
    pub versions: Vec<VersionFile>,
}

#[derive(Debug, Clone)]
pub struct VersionFile {
    pub version: Option<u64>,
    pub file: PathBuf,
}

pub struct ModelDir {
    root: PathBuf,
    single_model_name: String,
    options: LoadOptions,
}

fn onnx_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "onnx"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The model file in `dir`: `model.onnx`, or the only `.onnx` file.
fn model_file(model: &str, dir: &Path) -> Result<Option<PathBuf>> {
    let files = onnx_files(dir);
    if let Some(f) = files
        .iter()
        .find(|f| f.file_name().is_some_and(|n| n == "model.onnx"))
    {
        return Ok(Some(f.clone()));
    }
    match files.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(PredictorError::Load {
            model: model.to_string(),
            reason: format!(
                "{} holds {} .onnx files and no model.onnx; name the one to serve model.onnx",
                dir.display(),
                many.len()
            ),
        }),
    }
}

impl ModelDir {
    pub fn new(root: PathBuf, single_model_name: String, options: LoadOptions) -> Self {
        ModelDir {
            root,
            single_model_name,
            options,
        }
    }

    /// The model in `dir`, if it holds one (directly or in version folders).
    fn source_in(dir: &Path, default_name: &str) -> Result<Option<ModelSource>> {
        let config = ModelConfig::read(dir, default_name)?;
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| default_name.to_string());
        let mut folders: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .filter_map(|e| Some((e.file_name().to_str()?.parse::<u64>().ok()?, e.path())))
                    .filter(|(_, p)| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        folders.sort();
        let mut present = Vec::new();
        for (v, vdir) in folders {
            if let Some(file) = model_file(&name, &vdir)? {
                present.push(VersionFile {
                    version: Some(v),
                    file,
                });
            }
        }
        if !present.is_empty() {
            let numbers: Vec<u64> = present.iter().filter_map(|f| f.version).collect();
            let chosen =
                config
                    .version_policy
                    .select(&numbers)
                    .map_err(|reason| PredictorError::Load {
                        model: name.clone(),
                        reason,
                    })?;
            present.retain(|f| f.version.is_some_and(|v| chosen.contains(&v)));
            return Ok(Some(ModelSource {
                name,
                dir: dir.to_path_buf(),
                versions: present,
            }));
        }
        Ok(model_file(&name, dir)?.map(|file| ModelSource {
            name,
            dir: dir.to_path_buf(),
            versions: vec![VersionFile {
                version: None,
                file,
            }],
        }))
    }

    fn model_dirs(&self) -> Result<Vec<(String, PathBuf)>> {
        if !self.root.is_dir() {
            return Err(PredictorError::Load {
                model: self.single_model_name.clone(),
                reason: format!("model directory {} does not exist", self.root.display()),
            });
        }
        if !onnx_files(&self.root).is_empty() {
            return Ok(vec![(self.single_model_name.clone(), self.root.clone())]);
        }
        let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(&self.root)
            .map_err(|e| {
                PredictorError::Storage(format!("cannot list {}: {e}", self.root.display()))
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .filter_map(|p| Some((p.file_name()?.to_str()?.to_string(), p)))
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    /// Every model the directory holds; any problem, or no model at all, is
    /// an error.
    pub fn discover(&self) -> Result<Vec<ModelSource>> {
        let mut sources = Vec::new();
        for (folder, dir) in self.model_dirs()? {
            sources.extend(Self::source_in(&dir, &folder)?);
        }
        if sources.is_empty() {
            return Err(PredictorError::Load {
                model: self.single_model_name.clone(),
                reason: crate::empty_repo::describe(&self.root),
            });
        }
        Ok(sources)
    }

    /// The model named `name`; problems in other models' folders do not
    /// stand in its way.
    pub fn find(&self, name: &str) -> Result<Option<ModelSource>> {
        for (folder, dir) in self.model_dirs()? {
            match Self::source_in(&dir, &folder) {
                Ok(Some(s)) if s.name == name => return Ok(Some(s)),
                Err(e) if folder == name => return Err(e),
                _ => {}
            }
        }
        Ok(None)
    }

    /// Loads one model, every version of it the source lists.
    pub async fn load_source(&self, src: ModelSource) -> Result<Arc<dyn Model>> {
        let config = ModelConfig::read(&src.dir, &src.name)?;
        let mut loaded = Vec::with_capacity(src.versions.len());
        for v in &src.versions {
            let mut model = self.load_version(&src.name, v, &config).await?;
            if let Some(text) = &config.text {
                let wrapped = TextModel::new(model, &src.dir, text).map_err(|reason| {
                    PredictorError::Load {
                        model: src.name.clone(),
                        reason,
                    }
                })?;
                model = Arc::new(wrapped);
            }
            loaded.push((v.version, model));
        }
        match loaded.as_slice() {
            [(_, one)] => Ok(one.clone()),
            _ => Ok(Arc::new(VersionedModel::new(
                src.name,
                loaded
                    .into_iter()
                    .map(|(v, m)| (v.unwrap_or_default().to_string(), m))
                    .collect(),
            ))),
        }
    }

    /// Loads one version: sessions on their threads, metadata, batcher.
    async fn load_version(
        &self,
        name: &str,
        src: &VersionFile,
        config: &ModelConfig,
    ) -> Result<Arc<dyn Model>> {
        let instances = config.instance_count.unwrap_or(1);
        let threads = config
            .intra_op_threads
            .or(self.options.intra_op_threads)
            .unwrap_or_else(|| (runtime::default_intra_op_threads() / instances).max(1));
        let batching = config.batching();
        let opts = SessionOptions {
            device: self.options.device,
            intra_op_threads: threads,
            instances,
            queue_capacity: batching.as_ref().map_or(1024, |_| instances),
        };
        let (owned, file) = (name.to_string(), src.file.clone());
        let pool = tokio::task::spawn_blocking(move || SessionPool::load(&owned, &file, &opts))
            .await
            .map_err(|e| PredictorError::Load {
                model: name.to_string(),
                reason: format!("loader thread failed: {e}"),
            })??;
        let (mut inputs, mut outputs) = (pool.inputs.clone(), pool.outputs.clone());
        if let Some(dir) = src.file.parent() {
            crate::mlflow::apply_signature(name, dir, &mut inputs, &mut outputs)?;
        }
        config.apply_overrides(name, &mut inputs, &mut outputs)?;
        tracing::info!(
            model = %name,
            version = ?src.version,
            file = %src.file.display(),
            device = ?pool.device,
            intra_op_threads = threads,
            instances,
            batching = ?batching,
            "model loaded"
        );
        let pool = Arc::new(pool);
        let batcher = batching.map(|b| OnnxBatcher::start(name, b, instances, pool.clone()));
        let model = OnnxModel::new(
            name,
            src.version.map(|v| v.to_string()),
            pool,
            inputs,
            outputs,
            config.v1_output.clone(),
            batcher,
        )?;
        Ok(Arc::new(model))
    }
}

#[async_trait]
impl ModelRepository for ModelDir {
    async fn load(&self, name: &str) -> Result<Arc<dyn Model>, InferError> {
        let source = self
            .find(name)?
            .ok_or_else(|| InferError::ModelNotFound(name.to_string()))?;
        Ok(self.load_source(source).await?)
    }
}
