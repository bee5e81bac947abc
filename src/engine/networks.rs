//! Networks: list, inspect, create, remove, and connecting containers to
//! them. The create body comes from [`spec::network`](crate::spec::network).
//! Answers are returned as they are (a network that still has endpoints is
//! a Conflict); what "already so" means for a step is `plan::rules`'.

use std::collections::HashMap;

use bollard::models::{
    EndpointSettings, Network, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptionsBuilder};

use super::{Engine, EngineError, Result, project_filter};

impl Engine {
    /// Networks labelled with the project, plus any network whose name is in
    /// `names` (labelled or not), each once.
    pub async fn list_networks(&self, project: &str, names: &[String]) -> Result<Vec<Network>> {
        let list = |filters: HashMap<String, Vec<String>>| async move {
            let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
            self.docker
                .list_networks(Some(options))
                .await
                .map_err(|e| self.error(e))
        };
        // Both lists at once: one round trip on a slow link.
        let (labelled, named) = futures_util::join!(list(project_filter(project)), async {
            match names.is_empty() {
                true => Ok(Vec::new()),
                false => list(HashMap::from([("name".to_string(), names.to_vec())])).await,
            }
        });
        let mut out = labelled?;
        // The engine's name filter matches substrings: keep exact names.
        for n in named? {
            let exact = n.name.as_ref().is_some_and(|name| names.contains(name));
            if exact && !out.iter().any(|o| o.id == n.id) {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Inspect, with the attached containers (which only inspect reports,
    /// hence `NetworkInspect` rather than the list's `Network`).
    pub async fn inspect_network(&self, name: &str) -> Result<NetworkInspect> {
        self.docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// Sends a network create. API 1.41 creates a second network of a name
    /// that is taken unless asked not to (`CheckDuplicate`, which bollard's
    /// request type lacks) and only warns: the warning is returned for the
    /// plan's rules to judge.
    pub async fn create_network(&self, request: &NetworkCreateRequest) -> Result<NetworkCreated> {
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

    /// A network with active endpoints is a Conflict.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                // 20.10 answers 403 "error while removing network: network X
                // id Y has active endpoints".
                EngineError::Api {
                    status: 403,
                    message,
                } => Err(EngineError::Conflict(message)),
                other => Err(other),
            },
        }
    }

    /// Connects a container with its endpoint settings (aliases,
    /// addresses).
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        endpoint: EndpointSettings,
    ) -> Result<()> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(endpoint),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn disconnect_network(&self, container: &str, network: &str) -> Result<()> {
        self.disconnect(container, network, false).await
    }

    /// Takes an endpoint out of a network whatever the state of its
    /// container: the way out the engine gives for an endpoint whose
    /// container is gone (moby#42119). `endpoint` is the endpoint's name,
    /// which is its container's.
    pub async fn force_disconnect_network(&self, endpoint: &str, network: &str) -> Result<()> {
        self.disconnect(endpoint, network, true).await
    }

    async fn disconnect(&self, container: &str, network: &str, force: bool) -> Result<()> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(force),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(|e| self.error(e))
    }
}

/// What the engine said to a network create.
#[derive(Debug, Clone)]
pub struct NetworkCreated {
    pub id: String,
    /// API 1.41 warns, and still creates, when the name is taken.
    pub warning: String,
}
