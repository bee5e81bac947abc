//! Swarm services and their tasks, for the Swarm target: whether this engine
//! manages a swarm, and list, inspect, create, update and remove services.
//! Like the rest of the adapter, each method sends a request the plan
//! computed (`spec::service`) and returns the engine's answer as it is.

use std::collections::HashMap;

use bollard::models::{LocalNodeState, Node, Service, ServiceSpec, Task};
use bollard::query_parameters::{
    InspectServiceOptions, ListNodesOptions, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
    UpdateServiceOptionsBuilder,
};

use super::{Engine, EngineError, Result, project_filter};

/// What this engine is in a swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmRole {
    /// Not part of a swarm (or joining, or in error).
    None,
    /// A worker: it runs tasks but cannot deploy services.
    Worker,
    /// A manager: services can be deployed through it.
    Manager,
}

impl Engine {
    /// Whether this engine manages a swarm, from `docker info`.
    pub async fn swarm_role(&self) -> Result<SwarmRole> {
        let info = self.docker.info().await.map_err(|e| self.error(e))?;
        let swarm = info.swarm.unwrap_or_default();
        Ok(match (swarm.local_node_state, swarm.control_available) {
            (Some(LocalNodeState::ACTIVE), Some(true)) => SwarmRole::Manager,
            (Some(LocalNodeState::ACTIVE), _) => SwarmRole::Worker,
            _ => SwarmRole::None,
        })
    }

    /// This engine's node id in its swarm (empty when it is in none).
    pub async fn node_id(&self) -> Result<String> {
        let info = self.docker.info().await.map_err(|e| self.error(e))?;
        Ok(info.swarm.and_then(|s| s.node_id).unwrap_or_default())
    }

    /// The services labelled with the project.
    pub async fn list_services(&self, project: &str) -> Result<Vec<Service>> {
        let opts = ListServicesOptionsBuilder::new()
            .filters(&project_filter(project))
            .build();
        self.docker
            .list_services(Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn inspect_service(&self, id: &str) -> Result<Service> {
        self.docker
            .inspect_service(id, None::<InspectServiceOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// Creates a service; returns its id.
    pub async fn create_service(&self, spec: &ServiceSpec) -> Result<String> {
        let created = self
            .docker
            .create_service(spec.clone(), None)
            .await
            .map_err(|e| self.error(e))?;
        created.id.ok_or_else(|| EngineError::Api {
            status: 0,
            message: "the engine created a service and gave no id".into(),
        })
    }

    /// Updates service `id` from `version` (the swarm refuses an update
    /// based on an older version: someone changed it since it was observed).
    pub async fn update_service(&self, id: &str, version: u64, spec: &ServiceSpec) -> Result<()> {
        let opts = UpdateServiceOptionsBuilder::new()
            .version(i32::try_from(version).unwrap_or(i32::MAX))
            .build();
        self.docker
            .update_service(id, spec.clone(), opts, None)
            .await
            .map(drop)
            .map_err(|e| self.error(e))
    }

    pub async fn remove_service(&self, id: &str) -> Result<()> {
        self.docker
            .delete_service(id)
            .await
            .map_err(|e| self.error(e))
    }

    /// The tasks of one service (any state).
    pub async fn service_tasks(&self, service: &str) -> Result<Vec<Task>> {
        let filters = HashMap::from([("service".to_string(), vec![service.to_string()])]);
        let opts = ListTasksOptionsBuilder::new().filters(&filters).build();
        self.docker
            .list_tasks(Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    /// Every task the swarm keeps, of any service: the only way to see the
    /// tasks of a removed service, which a `service` filter no longer finds.
    pub async fn all_tasks(&self) -> Result<Vec<Task>> {
        self.docker
            .list_tasks(None::<bollard::query_parameters::ListTasksOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// The tasks of the services `ids` (any state), from one list call;
    /// none without a call when `ids` is empty.
    pub async fn tasks_of(&self, ids: &[String]) -> Result<Vec<Task>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filters = HashMap::from([("service".to_string(), ids.to_vec())]);
        let opts = ListTasksOptionsBuilder::new().filters(&filters).build();
        self.docker
            .list_tasks(Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    /// The swarm's nodes (a manager only), for the hostnames tasks run on.
    pub async fn list_nodes(&self) -> Result<Vec<Node>> {
        self.docker
            .list_nodes(None::<ListNodesOptions>)
            .await
            .map_err(|e| self.error(e))
    }
}
