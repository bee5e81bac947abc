//! The create and update calls as the plan sends them: each takes the
//! request body the plan computed, sends it, and returns the engine's answer
//! as it is. What an answer means (already there, a duplicate) is the plan's
//! rule, not this adapter's.

use bollard::models::{
    ContainerCreateBody, ContainerUpdateBody, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::{Engine, Result};

/// What the engine said to a network create.
#[derive(Debug, Clone)]
pub struct NetworkCreated {
    pub id: String,
    /// API 1.41 warns, and still creates, when the name is taken.
    pub warning: String,
}

impl Engine {
    pub async fn create_network_from(
        &self,
        request: &NetworkCreateRequest,
    ) -> Result<NetworkCreated> {
        let created = self
            .docker
            .create_network(request.clone())
            .await
            .map_err(|e| self.error(e))?;
        Ok(NetworkCreated {
            id: created.id,
            warning: created.warning,
        })
    }

    pub async fn create_volume_from(&self, request: &VolumeCreateRequest) -> Result<()> {
        self.docker
            .create_volume(request.clone())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Creates (does not start) a container named `name`; returns its id.
    pub async fn create_container_from(
        &self,
        name: &str,
        platform: Option<&str>,
        body: &ContainerCreateBody,
    ) -> Result<String> {
        let mut opts = CreateContainerOptionsBuilder::new().name(name);
        if let Some(p) = platform {
            opts = opts.platform(p);
        }
        Ok(self
            .docker
            .create_container(Some(opts.build()), body.clone())
            .await
            .map_err(|e| self.error(e))?
            .id)
    }

    /// `docker update` with the body the plan computed.
    pub async fn update_container_body(&self, id: &str, body: &ContainerUpdateBody) -> Result<()> {
        self.docker
            .update_container(id, body.clone())
            .await
            .map_err(|e| self.error(e))
    }
}
