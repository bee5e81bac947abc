//! Containers: list, inspect, create, start, stop, restart, remove, rename
//! and `docker update`. Each method sends the request the plan computed
//! (with [`spec`](crate::spec)) and returns the engine's answer as it is:
//! what "already stopped" or "already gone" means for a step is the plan's
//! rule (`plan::rules`), not this file's.

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerUpdateBody,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StartContainerOptions, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};

use std::collections::HashMap;

use super::{Engine, Result, project_filter};

impl Engine {
    /// All containers (any state) labelled io.berth.project=<project>.
    pub async fn list_containers(&self, project: &str) -> Result<Vec<ContainerSummary>> {
        self.list_filtered(true, &project_filter(project)).await
    }

    /// The containers that match `filters`; stopped ones too with `all`.
    async fn list_filtered(
        &self,
        all: bool,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<ContainerSummary>> {
        let opts = ListContainersOptionsBuilder::new()
            .all(all)
            .filters(filters)
            .build();
        self.docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    /// The containers (any state) of a Swarm service's tasks on this engine,
    /// by the label the swarm puts on them: they are still listed for a
    /// moment after the service and its tasks are gone.
    pub async fn service_containers(&self, service_id: &str) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("com.docker.swarm.service.id={service_id}")],
        )]);
        self.list_filtered(true, &filters).await
    }

    /// Running containers of any project that publish one of `ports`
    /// (`8080/tcp`, `8080-8082/udp`) on the host.
    pub async fn list_publishing(&self, ports: &[String]) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("publish".to_string(), ports.to_vec())]);
        self.list_filtered(false, &filters).await
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// Creates (does not start) a container named `name`; returns its id.
    pub async fn create_container(
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

    /// Extracts `tar` at `/` in the container (the archive API).
    pub async fn upload_to_container(&self, id: &str, tar: Vec<u8>) -> Result<()> {
        let opts = UploadToContainerOptionsBuilder::new().path("/").build();
        self.docker
            .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.error(e))
    }

    /// 304 (already started) is Ok; bollard already counts it a success.
    pub async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// 304 (already stopped) is Ok; bollard counts it a success.
    pub async fn stop_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = StopContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        self.docker
            .stop_container(id, Some(opts.build()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Stops (within `timeout_s`, else the container's own grace period)
    /// and starts again; a stopped container is simply started.
    pub async fn restart_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = RestartContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        self.docker
            .restart_container(id, Some(opts.build()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Anonymous volumes go with the container, as in compose.
    pub async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::new()
            .force(force)
            .v(true)
            .build();
        self.docker
            .remove_container(id, Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let opts = RenameContainerOptionsBuilder::new().name(name).build();
        self.docker
            .rename_container(id, opts)
            .await
            .map_err(|e| self.error(e))
    }

    /// docker update: cpu/memory/blkio/pids limits and restart policy. See
    /// [`spec::update`](crate::spec::update) for what Docker 20.10 cannot
    /// change this way.
    pub async fn update_container(&self, id: &str, body: &ContainerUpdateBody) -> Result<()> {
        self.docker
            .update_container(id, body.clone())
            .await
            .map_err(|e| self.error(e))
    }
}
