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
        let list = |filters: HashMap<String, Vec<String>>| async move {
            let options = ListVolumesOptionsBuilder::new().filters(&filters).build();
            self.docker
                .list_volumes(Some(options))
                .await
                .map_err(|e| self.error(e))
                .map(|r| r.volumes.unwrap_or_default())
        };
        // Both lists at once: one round trip on a slow link.
        let (labelled, named) = futures_util::join!(list(project_filter(project)), async {
            match names.is_empty() {
                true => Ok(Vec::new()),
                false => list(HashMap::from([("name".to_string(), names.to_vec())])).await,
            }
        });
        let mut out = labelled?;
        for v in named? {
            if names.contains(&v.name) && !out.iter().any(|o| o.name == v.name) {
                out.push(v);
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
