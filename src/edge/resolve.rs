//! How the edge turns a target host name into addresses: through the
//! system's resolver (Docker's embedded DNS, for an edge on a bridge
//! network), or by asking the engine (for an edge in the host's network
//! namespace, where Docker's DNS does not answer).
//!
//! Why an edge asks the engine at all: an edge in the host's namespace
//! takes the place of Docker's own relay (`docker-proxy`) instead of
//! standing behind it, so a connection crosses one relay, as it does when
//! the container publishes its ports itself (`bench/edge.sh` measures it).
//! There, only the engine knows a container's address, and only the engine
//! knows it again after dockerd restarted and gave the container another
//! one (Docker 20.10 does; it may give the old address to another
//! container). So such an edge gets the engine's socket, and asks it two
//! things, nothing else: a container's state and addresses
//! (`GET /containers/{id}/json`), and the running containers on its network
//! (`GET /containers/json`).
//!
//! What the engine is asked, by the form of the name:
//! - a 12-digit hex short id (what berth writes for one live container):
//!   that container, if it runs, by its address on the edge's network;
//! - any other name (a service's alias, with one address per admitted
//!   replica): the running containers on the edge's network that carry it
//!   as an alias or as their name, as Docker's DNS would answer. A name is
//!   never looked up as an id prefix (`db` is hex, and names some
//!   container's id prefix).
//!
//! Where it stops: every lookup, either way, is bounded by
//! [`LOOKUP_TIMEOUT`]. The cache, and making a burst of connections wait
//! for one lookup rather than each make its own, are the caller's.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};

/// How long one lookup may take (through the engine: its calls included).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Where addresses come from.
pub enum Resolver {
    /// The system's resolver (`getaddrinfo`).
    System,
    /// The engine, for containers on one network.
    Engine(EngineLookup),
}

impl Resolver {
    /// The addresses of `host`, sorted, each once; an error when it has
    /// none.
    pub async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let asked = async {
            match self {
                Resolver::System => Ok(tokio::net::lookup_host((host, 0))
                    .await?
                    .map(|a| a.ip())
                    .collect::<Vec<_>>()),
                Resolver::Engine(e) => e.lookup(host).await,
            }
        };
        // A resolver that does not answer must not hold a client for
        // longer than its connect would take.
        let mut ips = match tokio::time::timeout(LOOKUP_TIMEOUT, asked).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no answer for where {host} is within {}s",
                        LOOKUP_TIMEOUT.as_secs()
                    ),
                ));
            }
        };
        ips.sort();
        ips.dedup();
        if ips.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} has no address"),
            ));
        }
        Ok(ips)
    }
}

/// Lookups through the engine's API on a unix socket.
pub struct EngineLookup {
    docker: Docker,
    network: String,
}

impl EngineLookup {
    /// Lookups of containers on `network` through the engine at `socket`.
    /// Nothing is called yet.
    pub fn new(socket: &Path, network: &str) -> io::Result<EngineLookup> {
        let path = socket
            .to_str()
            .ok_or_else(|| io::Error::other("the engine's socket path is not UTF-8"))?;
        let docker =
            Docker::connect_with_unix(path, LOOKUP_TIMEOUT.as_secs(), bollard::API_DEFAULT_VERSION)
                .map_err(|e| io::Error::other(format!("the engine's socket {path}: {e}")))?;
        Ok(EngineLookup {
            docker,
            network: network.to_string(),
        })
    }

    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        if is_short_id(host) {
            let c = self.inspect(host).await?;
            return Ok(self.address(&c).into_iter().collect());
        }
        let filters = HashMap::from([
            ("network".to_string(), vec![self.network.clone()]),
            ("status".to_string(), vec!["running".to_string()]),
        ]);
        let listed = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(api)?;
        let mut ips = Vec::new();
        for s in listed {
            let Some(id) = s.id else { continue };
            let named = s
                .names
                .iter()
                .flatten()
                .any(|n| n.trim_start_matches('/') == host);
            // Gone since the list: not an answer.
            let Ok(c) = self.inspect(&id).await else {
                continue;
            };
            if named || self.aliases(&c).iter().any(|a| a == host) {
                ips.extend(self.address(&c));
            }
        }
        Ok(ips)
    }

    async fn inspect(&self, id: &str) -> io::Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(api)
    }

    /// The container's address on the edge's network, if it runs there.
    fn address(&self, c: &ContainerInspectResponse) -> Option<IpAddr> {
        let state = c.state.as_ref()?;
        if state.running != Some(true) || state.paused == Some(true) {
            return None;
        }
        let endpoint = c
            .network_settings
            .as_ref()?
            .networks
            .as_ref()?
            .get(&self.network)?;
        endpoint.ip_address.as_deref()?.parse().ok()
    }

    fn aliases(&self, c: &ContainerInspectResponse) -> Vec<String> {
        c.network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .and_then(|n| n.get(&self.network))
            .and_then(|e| e.aliases.clone())
            .unwrap_or_default()
    }
}

/// What berth writes for one container: its 12-digit short id.
pub fn is_short_id(host: &str) -> bool {
    host.len() == 12 && host.bytes().all(|b| b.is_ascii_hexdigit())
}

fn api(e: bollard::errors::Error) -> io::Error {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => io::Error::new(io::ErrorKind::NotFound, message),
        e => io::Error::other(format!("the engine: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_twelve_hex_digits_are_an_id() {
        assert!(is_short_id("0123456789ab"));
        assert!(!is_short_id("db"), "a service named db is a name");
        assert!(!is_short_id("0123456789abc"));
        assert!(!is_short_id("web-0123456789"));
    }
}
