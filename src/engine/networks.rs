//! Networks: list, inspect, create, remove, and connecting containers to
//! them. The create body comes from [`spec::network`].
//!
//! Guarantees: removing a network already gone, connecting a connected
//! endpoint and disconnecting one that is not connected are `Ok`; a network
//! that still has endpoints is a Conflict.

use std::collections::HashMap;

use bollard::models::{
    EndpointSettings, Network, NetworkConnectRequest, NetworkDisconnectRequest, NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptionsBuilder};

use super::{Engine, EngineError, Result, project_filter, spec};
use crate::model::stack::Stack;

impl Engine {
    /// Networks labelled with the project, plus any network whose name is in
    /// `names` (labelled or not), each once.
    pub async fn list_networks(&self, project: &str, names: &[String]) -> Result<Vec<Network>> {
        let labelled = ListNetworksOptionsBuilder::new()
            .filters(&project_filter(project))
            .build();
        let mut out = self
            .docker
            .list_networks(Some(labelled))
            .await
            .map_err(|e| self.error(e))?;
        if !names.is_empty() {
            // The engine's name filter matches substrings: keep exact names.
            let by_name = ListNetworksOptionsBuilder::new()
                .filters(&HashMap::from([("name".to_string(), names.to_vec())]))
                .build();
            let named = self
                .docker
                .list_networks(Some(by_name))
                .await
                .map_err(|e| self.error(e))?;
            for n in named {
                let exact = n.name.as_ref().is_some_and(|name| names.contains(name));
                if exact && !out.iter().any(|o| o.id == n.id) {
                    out.push(n);
                }
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

    /// Creates `stack.networks[key]`; returns its id.
    pub async fn create_network(&self, stack: &Stack, key: &str) -> Result<String> {
        let request = spec::network(stack, key)
            .ok_or_else(|| EngineError::NotFound(format!("network `{key}` is not in the stack")))?;
        let created = self
            .docker
            .create_network(request)
            .await
            .map_err(|e| self.error(e))?;
        // API 1.41 creates a second network of the same name unless asked
        // not to (`CheckDuplicate`, which bollard's request type lacks), and
        // only warns. Take the duplicate away again so that two runs never
        // leave two networks that make the name ambiguous.
        if created.warning.contains("already exists") {
            let _ = self.docker.remove_network(&created.id).await;
            return Err(EngineError::Conflict(created.warning));
        }
        Ok(created.id)
    }

    /// 404 is Ok; a network with active endpoints is a Conflict.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(()),
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

    /// Already connected is Ok.
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        aliases: &[String],
    ) -> Result<()> {
        let endpoint = EndpointSettings {
            aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
            ..Default::default()
        };
        self.connect_endpoint(container, network, endpoint).await
    }

    /// Connects with full endpoint settings (aliases, addresses); what
    /// `create_container` uses for every network after the first.
    pub(super) async fn connect_endpoint(
        &self,
        container: &str,
        network: &str,
        endpoint: EndpointSettings,
    ) -> Result<()> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(endpoint),
        };
        match self.docker.connect_network(network, request).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                // 20.10 answers 403 "endpoint with name X already exists in
                // network Y".
                EngineError::Api { message, .. } if message.contains("already exists") => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Not connected is Ok.
    pub async fn disconnect_network(&self, container: &str, network: &str) -> Result<()> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(false),
        };
        match self.docker.disconnect_network(network, request).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                // 20.10: 403 "container X is not connected to network Y".
                EngineError::Api { message, .. } if message.contains("is not connected") => Ok(()),
                other => Err(other),
            },
        }
    }
}
