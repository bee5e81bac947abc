//! Volumes: list, create, remove. The create body comes from
//! [`spec::volume`]. Removing a volume already gone is `Ok`; one in use is a
//! Conflict.

use std::collections::HashMap;

use bollard::models::Volume;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptions};

use super::{Engine, EngineError, Result, project_filter, spec};
use crate::model::stack::Stack;

impl Engine {
    /// Volumes labelled with the project, plus any volume whose name is in
    /// `names`, each once.
    pub async fn list_volumes(&self, project: &str, names: &[String]) -> Result<Vec<Volume>> {
        let labelled = ListVolumesOptionsBuilder::new()
            .filters(&project_filter(project))
            .build();
        let mut out = self
            .docker
            .list_volumes(Some(labelled))
            .await
            .map_err(|e| self.error(e))?
            .volumes
            .unwrap_or_default();
        if !names.is_empty() {
            let by_name = ListVolumesOptionsBuilder::new()
                .filters(&HashMap::from([("name".to_string(), names.to_vec())]))
                .build();
            let named = self
                .docker
                .list_volumes(Some(by_name))
                .await
                .map_err(|e| self.error(e))?
                .volumes
                .unwrap_or_default();
            for v in named {
                if names.contains(&v.name) && !out.iter().any(|o| o.name == v.name) {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// Creates `stack.volumes[key]`.
    pub async fn create_volume(&self, stack: &Stack, key: &str) -> Result<()> {
        let request = spec::volume(stack, key)
            .ok_or_else(|| EngineError::NotFound(format!("volume `{key}` is not in the stack")))?;
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// 404 is Ok; a volume in use is a Conflict (the engine's 409).
    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        match self
            .docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }
}
