//! The models a server hosts, and the repository it loads them from.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;

use crate::error::{InferError, Result};
use crate::model::Model;

/// Where `POST /v2/repository/models/{name}/load` finds models.
#[async_trait]
pub trait ModelRepository: Send + Sync + 'static {
    /// Loads (or reloads) the model `name`.
    async fn load(&self, name: &str) -> Result<Arc<dyn Model>>;

    /// Releases what the repository holds for `name` once it stopped serving.
    async fn unload(&self, _name: &str) -> Result<()> {
        Ok(())
    }
}

/// Rejects names that could escape a model directory or break a route.
pub fn check_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(InferError::invalid(format!(
            "invalid model name '{name}': use letters, digits, '-', '_' and '.'"
        )))
    }
}

pub struct ModelRegistry {
    models: RwLock<BTreeMap<String, Arc<dyn Model>>>,
    repository: Option<Arc<dyn ModelRepository>>,
    /// Loads and unloads run one at a time.
    changes: tokio::sync::Mutex<()>,
    /// Drains the models' histogram samples while the registry serves them;
    /// stops with it.
    _upkeep: crate::metrics::Upkeep,
    /// Built-in models unloaded here: `load` brings them back even when the
    /// repository (a model directory) has no such model.
    unloaded_builtins: Mutex<BTreeSet<String>>,
}

impl ModelRegistry {
    pub fn new(repository: Option<Arc<dyn ModelRepository>>) -> Self {
        ModelRegistry {
            models: RwLock::new(BTreeMap::new()),
            repository,
            changes: tokio::sync::Mutex::new(()),
            _upkeep: crate::metrics::Upkeep::start(),
            unloaded_builtins: Mutex::new(BTreeSet::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<dyn Model>>> {
        // A writer cannot panic while holding the lock (it only inserts or
        // removes), so a poisoned lock still holds a consistent map.
        self.models.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<dyn Model>>> {
        self.models.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `model`, already loaded, under its name; returns the model it
    /// replaces, if any.
    pub fn register(&self, model: Arc<dyn Model>) -> Option<Arc<dyn Model>> {
        // Its metric series exist from now on (and are counted into).
        crate::metrics::for_model(model.name());
        self.write().insert(model.name().to_string(), model)
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Model>> {
        self.read()
            .get(name)
            .cloned()
            .ok_or_else(|| InferError::ModelNotFound(name.to_string()))
    }

    /// The model, if it exists and is ready.
    pub fn get_ready(&self, name: &str) -> Result<Arc<dyn Model>> {
        let model = self.get(name)?;
        if model.is_ready() {
            Ok(model)
        } else {
            Err(InferError::ModelNotReady(name.to_string()))
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// True when every hosted model is ready (KServe's server readiness).
    pub fn all_ready(&self) -> bool {
        self.read().values().all(|m| m.is_ready())
    }

    /// `all_ready` as a probe asks it (`Model::probe_ready`).
    pub async fn probe_all_ready(&self) -> bool {
        let models: Vec<Arc<dyn Model>> = self.read().values().cloned().collect();
        for m in models {
            if !m.probe_ready().await {
                return false;
            }
        }
        true
    }

    pub async fn load(&self, name: &str) -> Result<()> {
        check_model_name(name)?;
        let _one_at_a_time = self.changes.lock().await;
        let found = match &self.repository {
            Some(repo) => repo.load(name).await,
            None => Err(InferError::NotImplemented(
                "this server has no model repository to load from".into(),
            )),
        };
        let model = match found {
            Err(e @ (InferError::ModelNotFound(_) | InferError::NotImplemented(_))) => {
                self.unloaded_builtin(name).ok_or(e)?
            }
            other => other?,
        };
        if model.name() != name {
            return Err(InferError::Internal(format!(
                "repository returned model '{}' for '{name}'",
                model.name()
            )));
        }
        model.load().await?;
        if let Some(old) = self.register(model) {
            old.unload().await?;
        }
        Ok(())
    }

    /// The built-in model `name` again, when it was served here and unloaded.
    fn unloaded_builtin(&self, name: &str) -> Option<Arc<dyn Model>> {
        let unloaded = self
            .unloaded_builtins
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        unloaded
            .contains(name)
            .then(|| crate::builtin::builtin_model(name))
            .flatten()
    }

    pub async fn unload(&self, name: &str) -> Result<()> {
        check_model_name(name)?;
        let _one_at_a_time = self.changes.lock().await;
        let model = self
            .write()
            .remove(name)
            .ok_or_else(|| InferError::ModelNotFound(name.to_string()))?;
        if crate::builtin::is_builtin(model.as_ref()) {
            self.unloaded_builtins
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string());
        }
        model.unload().await?;
        if let Some(repo) = &self.repository {
            repo.unload(name).await?;
        }
        Ok(())
    }
}
