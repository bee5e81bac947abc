//! Swarm secrets and configs: list, create, look up by name and remove.
//! Like the rest of the adapter, each method sends what the plan computed
//! (`spec::object`) and returns the engine's answer as it is.

use std::collections::HashMap;

use super::{Engine, EngineError, Result};
use crate::spec::{ObjectKind, SwarmObject};

/// A secret or config as the swarm lists it (never its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

impl Engine {
    /// Every secret and config of the swarm: a stack may name external
    /// ones of any owner, and a swarm holds few.
    pub async fn list_objects(&self) -> Result<Vec<ObjectInfo>> {
        let (secrets, configs) = futures_util::join!(
            self.docker.list_secrets(None),
            self.docker.list_configs(None)
        );
        let secrets = secrets.map_err(|e| self.error(e))?;
        let configs = configs.map_err(|e| self.error(e))?;
        let info = |kind,
                    id: Option<String>,
                    name: Option<String>,
                    labels: Option<HashMap<String, String>>| ObjectInfo {
            kind,
            id: id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            labels: labels.unwrap_or_default(),
        };
        let mut out: Vec<ObjectInfo> = secrets
            .into_iter()
            .map(|s| {
                let spec = s.spec.unwrap_or_default();
                info(ObjectKind::Secret, s.id, spec.name, spec.labels)
            })
            .collect();
        out.extend(configs.into_iter().map(|c| {
            let spec = c.spec.unwrap_or_default();
            info(ObjectKind::Config, c.id, spec.name, spec.labels)
        }));
        Ok(out)
    }

    /// Creates a secret or config; returns its id.
    pub async fn create_object(&self, object: &SwarmObject) -> Result<String> {
        let created = match object.kind {
            ObjectKind::Secret => self.docker.create_secret(object.secret_spec()).await,
            ObjectKind::Config => self.docker.create_config(object.config_spec()).await,
        };
        Ok(created.map_err(|e| self.error(e))?.id)
    }

    /// The id of the secret or config named `name` (the engine looks names
    /// up as well as ids).
    pub async fn object_id(&self, kind: ObjectKind, name: &str) -> Result<String> {
        let id = match kind {
            ObjectKind::Secret => self.docker.inspect_secret(name).await.map(|s| s.id),
            ObjectKind::Config => self.docker.inspect_config(name).await.map(|c| c.id),
        };
        id.map_err(|e| self.error(e))?
            .ok_or_else(|| EngineError::Api {
                status: 0,
                message: format!("the engine described {} {name} without an id", kind.word()),
            })
    }

    pub async fn remove_object(&self, kind: ObjectKind, id: &str) -> Result<()> {
        let removed = match kind {
            ObjectKind::Secret => self.docker.delete_secret(id).await,
            ObjectKind::Config => self.docker.delete_config(id).await,
        };
        removed.map_err(|e| self.error(e))
    }
}
