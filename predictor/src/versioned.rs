//! A model served in several versions (numbered folders of the repository):
//! requests that name a version (`/v2/models/m/versions/1/infer`) reach that
//! version, requests that name none reach the newest one served.
use std::sync::Arc;

use async_trait::async_trait;
use infergate_proto::ModelMetadata;
use infergate_server::{InferError, Model, Payload, Reply, RequestContext};

pub struct VersionedModel {
    name: String,
    /// Ascending by version number; the last one answers unversioned requests.
    versions: Vec<(String, Arc<dyn Model>)>,
}

impl VersionedModel {
    /// `versions` ascending by number, at least one.
    pub fn new(name: String, versions: Vec<(String, Arc<dyn Model>)>) -> Self {
        debug_assert!(!versions.is_empty());
        VersionedModel { name, versions }
    }

    fn newest(&self) -> Result<&Arc<dyn Model>, InferError> {
        self.versions
            .last()
            .map(|(_, m)| m)
            .ok_or_else(|| InferError::ModelNotFound(self.name.clone()))
    }
}

#[async_trait]
impl Model for VersionedModel {
    fn name(&self) -> &str {
        &self.name
    }

    /// The newest version's tensors, and every version served.
    fn metadata(&self) -> ModelMetadata {
        let mut meta = match self.versions.last() {
            Some((_, m)) => m.metadata(),
            None => ModelMetadata {
                name: self.name.clone(),
                versions: vec![],
                platform: String::new(),
                inputs: vec![],
                outputs: vec![],
            },
        };
        meta.versions = self.versions.iter().map(|(v, _)| v.clone()).collect();
        meta
    }

    fn version(&self, version: &str) -> Option<Arc<dyn Model>> {
        self.versions
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, m)| m.clone())
    }

    fn is_ready(&self) -> bool {
        self.versions.iter().all(|(_, m)| m.is_ready())
    }

    /// The newest version serves requests that name none.
    fn admits(&self) -> Result<(), InferError> {
        self.versions.last().map_or(Ok(()), |(_, m)| m.admits())
    }

    async fn load(&self) -> Result<(), InferError> {
        for (_, m) in &self.versions {
            m.load().await?;
        }
        Ok(())
    }

    async fn unload(&self) -> Result<(), InferError> {
        for (_, m) in &self.versions {
            m.unload().await?;
        }
        Ok(())
    }

    fn transforms(&self) -> bool {
        false
    }

    async fn predict(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, InferError> {
        self.newest()?.predict(payload, ctx).await
    }

    async fn explain(&self, payload: Payload, ctx: &RequestContext) -> Result<Reply, InferError> {
        self.newest()?.explain(payload, ctx).await
    }
}
