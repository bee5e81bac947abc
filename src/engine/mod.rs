//! The Docker engine, as berth needs it: a thin adapter over bollard.
//!
//! It connects through `DOCKER_HOST` (unix socket by default; tcp; TLS with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), maps the engine's answers to
//! [`EngineError`] (404 -> NotFound, 409 -> Conflict, no answer ->
//! Unreachable), and offers one method per engine call berth makes. It
//! decides nothing; [`spec`] turns the model into engine request bodies.
//!
//! Guarantees: the "already so" answers (start of a running container, stop
//! of a stopped or missing one, removal of something already gone, connect of
//! a connected endpoint) are `Ok`, so that a re-run after a crash converges.
//! `create_container` attaches a container to all its networks before it
//! returns, or removes it again.

pub mod calls;
pub mod image;
pub mod ops;
pub mod spec;

#[cfg(test)]
mod live;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerInspectResponse, ContainerSummary, EndpointSettings, Network, NetworkConnectRequest,
    NetworkDisconnectRequest, NetworkInspect, Volume,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, InspectNetworkOptions,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptions,
    RenameContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::identity;
use crate::model::stack::{Service, Stack};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the Docker engine at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Api { status: u16, message: String },
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    /// Where berth looked, for error messages (`unix:///var/run/docker.sock`).
    pub host: String,
}

/// Where the engine is when `DOCKER_HOST` is unset or empty.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long `connect` waits for the ping: a tcp host that drops packets
/// would otherwise hold berth for bollard's two-minute default.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The innermost cause of an error: for a refused connection that is
/// "Connection refused (os error 111)", not hyper's "client error (Connect)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", identity::PROJECT)],
    )])
}

impl Engine {
    /// Connects through DOCKER_HOST and pings.
    pub async fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        Engine::connect_to(&host).await
    }

    /// Connects to `host` (`unix://`, `tcp://`, `https://`; TLS when
    /// `DOCKER_TLS_VERIFY` is set) and pings.
    pub async fn connect_to(host: &str) -> Result<Engine> {
        let unreachable = |reason: String| EngineError::Unreachable {
            host: host.to_string(),
            reason,
        };
        // What `connect_with_defaults` does, with the host known for messages.
        let docker = Docker::connect_with_host(host).map_err(|e| unreachable(root_cause(&e)))?;
        let engine = Engine {
            docker,
            host: host.to_string(),
        };
        match tokio::time::timeout(PING_TIMEOUT, engine.docker.ping()).await {
            Err(_) => Err(unreachable(format!(
                "no answer within {}s",
                PING_TIMEOUT.as_secs()
            ))),
            Ok(Err(e)) => Err(engine.error(e)),
            Ok(Ok(_)) => Ok(engine),
        }
    }

    /// The one place bollard's errors become berth's.
    fn error(&self, e: BollardError) -> EngineError {
        match e {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => match status_code {
                404 => EngineError::NotFound(message),
                409 => EngineError::Conflict(message),
                status => EngineError::Api { status, message },
            },
            BollardError::HyperLegacyError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::IOError { .. }
            | BollardError::RequestTimeoutError
            | BollardError::SocketNotFoundError(_)
            | BollardError::UnsupportedURISchemeError { .. } => EngineError::Unreachable {
                host: self.host.clone(),
                reason: root_cause(&e),
            },
            // Not an answer with a status (bad JSON, a bad URL...): status 0.
            other => EngineError::Api {
                status: 0,
                message: other.to_string(),
            },
        }
    }

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

    /// Local image id for a reference; None if not present locally.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
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
    pub async fn update_container(&self, id: &str, limits: &crate::limits::Limits) -> Result<()> {
        self.docker
            .update_container(id, spec::update(limits))
            .await
            .map_err(|e| self.error(e))
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

    pub async fn connect_endpoint(
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

    /// The last `lines` lines of stdout+stderr, as text.
    pub async fn logs_tail(&self, id: &str, lines: usize) -> Result<String> {
        let opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(id, Some(opts));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(e))?;
            out.extend_from_slice(&chunk.into_bytes());
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
