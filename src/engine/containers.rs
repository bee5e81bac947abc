//! Containers: list, inspect, create, start, stop, restart, remove, rename
//! and `docker update`. The create body comes from [`spec::container`];
//! this file only sends it.
//!
//! Guarantees: starting a running container, stopping a stopped or missing
//! one and removing one already gone are `Ok`, so that a re-run after a crash
//! converges. `create_container` attaches a container to all its networks
//! before it returns, or removes it again.

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StartContainerOptions, StopContainerOptionsBuilder,
};

use super::{Engine, EngineError, Result, project_filter, spec};
use crate::limits::Limits;
use crate::model::stack::{Service, Stack};

impl Engine {
    /// All containers (any state) labelled io.berth.project=<project>.
    pub async fn list_containers(&self, project: &str) -> Result<Vec<ContainerSummary>> {
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&project_filter(project))
            .build();
        self.docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// Creates (does not start) replica `number` of `service` as `name`,
    /// attached to all its networks. Returns the new container id.
    pub async fn create_container(
        &self,
        stack: &Stack,
        service: &Service,
        number: u32,
        name: &str,
    ) -> Result<String> {
        let spec = spec::container(stack, service, number);
        // As `docker run -v` does; the plan has said so.
        for dir in &spec.host_dirs {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| EngineError::Api {
                    status: 0,
                    message: format!("cannot create bind source {}: {e}", dir.display()),
                })?;
            }
        }
        let mut opts = CreateContainerOptionsBuilder::new().name(name);
        if let Some(p) = &spec.platform {
            opts = opts.platform(p);
        }
        let id = self
            .docker
            .create_container(Some(opts.build()), spec.body)
            .await
            .map_err(|e| self.error(e))?
            .id;
        // A container that misses a network must not be started by a later
        // run as if it were complete: take it away again.
        for (network, endpoint) in spec.connect {
            if let Err(e) = self.connect_endpoint(&id, &network, endpoint).await {
                let _ = self.remove_container(&id, true).await;
                return Err(e);
            }
        }
        Ok(id)
    }

    /// 304 (already started) is Ok; bollard already counts it a success.
    pub async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// 304 (already stopped) and 404 are Ok.
    pub async fn stop_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = StopContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        match self.docker.stop_container(id, Some(opts.build())).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
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

    /// 404 is Ok; anonymous volumes go with the container, as in compose.
    pub async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::new()
            .force(force)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    pub async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let opts = RenameContainerOptionsBuilder::new().name(name).build();
        self.docker
            .rename_container(id, opts)
            .await
            .map_err(|e| self.error(e))
    }

    /// docker update: cpu/memory/blkio/pids limits and restart policy. See
    /// [`spec::update`] for what Docker 20.10 cannot change this way.
    pub async fn update_container(&self, id: &str, limits: &Limits) -> Result<()> {
        self.docker
            .update_container(id, spec::update(limits))
            .await
            .map_err(|e| self.error(e))
    }
}
