//! Volumes: list, create, remove. The create body comes from
//! [`spec::volume`](crate::spec::volume); answers are returned as they are
//! (one in use is a Conflict, the engine's 409).

use std::collections::HashMap;

use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptions};

use super::{Engine, Result, project_filter};

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

    pub async fn create_volume(&self, request: &VolumeCreateRequest) -> Result<()> {
        self.docker
            .create_volume(request.clone())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        self.docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| self.error(e))
    }
}
