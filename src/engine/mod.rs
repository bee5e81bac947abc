//! The Docker engine, as berth needs it: the adapter over bollard.
//!
//! It connects to the engine the docker CLI would use ([`endpoint`]: a
//! context, or `DOCKER_HOST`; unix socket by default; tcp; TLS with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` or a context's files; `ssh://`
//! through [`ssh`]), maps the engine's answers to
//! [`EngineError`] (404 -> NotFound, 409 -> Conflict, no answer ->
//! Unreachable), and offers one method per engine call berth makes, one file
//! per resource kind: [`containers`], [`networks`], [`volumes`], [`images`]
//! (with the build context in [`context`]), a running container's
//! [`logs`] and [`exec`], and the [`edge`]'s image and status. It decides
//! nothing; `crate::spec` turns the model into engine request bodies.
//!
//! The engine's answers are returned as they are, classified: an "already
//! so" answer (a stop of a missing container, a removal of something gone, a
//! connect of a connected endpoint) is an error here, and the plan's table of
//! rules (`plan::rules`) says which of them count as done, so that a re-run
//! after a crash converges. Where the engine itself treats a repeat as
//! success (304 for starting a running or stopping a stopped container),
//! bollard passes that on as `Ok`.

pub mod archive;
pub mod clock;
pub mod containers;
pub mod context;
pub mod edge;
pub mod endpoint;
pub mod exec;
pub mod facts;
pub mod images;
pub mod logs;
pub mod networks;
pub mod objects;
pub mod releases;
pub mod services;
pub mod ssh;
pub mod volumes;

#[cfg(test)]
mod live;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;

use crate::identity;

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
    /// Which engine to use could not be settled (an unknown context, an
    /// unreadable context store): nothing was called.
    #[error("{0}")]
    Endpoint(String),
    /// The ssh session to a remote engine failed, and ssh said why.
    #[error("{0}")]
    Ssh(ssh::Failure),
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    /// Where berth looked, for error messages (`unix:///var/run/docker.sock`).
    pub host: String,
    /// The Docker context it was chosen by; None for `default`.
    pub context: Option<String>,
    /// The ssh sessions behind an `ssh://` host, whose failures say more
    /// than the closed connection bollard sees.
    ssh: Option<std::sync::Arc<ssh::Tunnel>>,
}

/// Where the engine is when `DOCKER_HOST` is unset or empty.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long `connect` waits for the ping: a tcp host that drops packets
/// would otherwise hold berth for bollard's two-minute default.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The same over ssh, where the first ping also pays the ssh handshake
/// (ssh gives up connecting after its own 10 s).
const SSH_PING_TIMEOUT: Duration = Duration::from_secs(30);

/// bollard's own request timeout, in seconds.
const REQUEST_TIMEOUT: u64 = 120;

/// The innermost cause of an error: for a refused connection that is
/// "Connection refused (os error 111)", not hyper's "client error (Connect)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The host part of an engine address that is not a unix socket (see
/// [`Engine::remote_host`]).
fn remote_host(address: &str) -> Option<String> {
    let (scheme, rest) = address.split_once("://")?;
    if !matches!(scheme, "tcp" | "http" | "https" | "ssh") {
        return None;
    }
    // `user@host:port/path`: the authority, without its user.
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        // `[::1]:2376`
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// The local socket of the engine at `host`, if it is one. An `ssh://`
/// engine has none here, even though ssh reaches a socket on the remote:
/// the edge must not bind-mount a path of this machine for it.
fn unix_socket_of(host: &str) -> Option<&str> {
    host.strip_prefix("unix://").filter(|p| !p.is_empty())
}

/// An engine on plain `tcp://` (or `http://`) through a client that keeps
/// its connections open between requests, as the docker CLI does; None for
/// any other host (and for tcp with `DOCKER_TLS_VERIFY`, which bollard
/// reaches with TLS). bollard's own clients keep no idle connection, so each
/// request would open a new one: over a link with 50 ms of round trip, that
/// is 50 ms more for every step of a plan that waits for the one before.
fn keep_alive_http(host: &str) -> Option<std::result::Result<Docker, BollardError>> {
    use hyper_util::client::legacy::{Client, connect::HttpConnector};
    use hyper_util::rt::TokioExecutor;

    let addr = host
        .strip_prefix("tcp://")
        .or(host.strip_prefix("http://"))?;
    if std::env::var_os("DOCKER_TLS_VERIFY").is_some() {
        return None;
    }
    let client =
        std::sync::Arc::new(Client::builder(TokioExecutor::new()).build(HttpConnector::new()));
    let transport = move |request: bollard::BollardRequest| {
        let client = client.clone();
        async move { Ok(client.request(request).await?) }
    };
    Some(Docker::connect_with_custom_transport(
        transport,
        Some(format!("http://{addr}")),
        120,
        bollard::API_DEFAULT_VERSION,
    ))
}

/// The list filter for everything labelled with `project`.
fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", identity::PROJECT)],
    )])
}

impl Engine {
    /// Connects to the engine the docker CLI would use (`--context`,
    /// `DOCKER_HOST`, `DOCKER_CONTEXT`, `config.json`: [`endpoint`]) and
    /// pings.
    pub async fn connect() -> Result<Engine> {
        let engine = Engine::open()?;
        engine.ping().await?;
        Ok(engine)
    }

    /// The engine [`Engine::connect`] would connect to, not pinged yet: for
    /// a command whose first calls go out with the ping ([`Engine::answering`]),
    /// so that a slow link costs one round trip for both.
    pub fn open() -> Result<Engine> {
        let chosen = endpoint::choose(
            endpoint::context_flag(),
            |k| std::env::var(k).ok(),
            DEFAULT_HOST,
        )
        .map_err(EngineError::Endpoint)?;
        let opened = match &chosen.tls {
            None => Engine::open_at(&chosen.host),
            Some(tls) => Engine::open_tls(&chosen, tls),
        };
        match (opened, &chosen.context) {
            // A bad host in a context: say which context holds it.
            (Err(EngineError::Endpoint(why)), Some(name)) => {
                Err(EngineError::Endpoint(format!("context {name:?}: {why}")))
            }
            (opened, _) => Ok(Engine {
                context: chosen.context.clone(),
                ..opened?
            }),
        }
    }

    /// The engine at a context's host with its TLS files (verifying the
    /// engine against its CA), not pinged.
    fn open_tls(chosen: &endpoint::Endpoint, tls: &endpoint::TlsFiles) -> Result<Engine> {
        let host = &chosen.host;
        if chosen.skip_tls_verify {
            return Err(EngineError::Endpoint(format!(
                "context {} asks to skip TLS verification, which berth does not do; give the \
                 context the engine's CA (`docker context update --docker ca=...`)",
                chosen.context.as_deref().unwrap_or("default")
            )));
        }
        let docker = Docker::connect_with_ssl(
            host,
            &tls.key,
            &tls.cert,
            &tls.ca,
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| EngineError::Unreachable {
            host: host.clone(),
            reason: root_cause(&e),
        })?;
        Ok(Engine {
            docker,
            host: host.clone(),
            context: None,
            ssh: None,
        })
    }

    /// Connects to `host` (`unix://`, `tcp://`, `https://`, `ssh://`; TLS
    /// when `DOCKER_TLS_VERIFY` is set) and pings: for tests that name the
    /// host.
    #[cfg(test)]
    pub async fn connect_to(host: &str) -> Result<Engine> {
        let engine = Engine::open_at(host)?;
        engine.ping().await?;
        Ok(engine)
    }

    /// The engine at `host`, not pinged.
    fn open_at(host: &str) -> Result<Engine> {
        if host.starts_with("ssh://") {
            return Engine::open_ssh(host);
        }
        // What `connect_with_defaults` does, with the host known for messages.
        let docker = keep_alive_http(host).unwrap_or_else(|| Docker::connect_with_host(host));
        Engine::with_client(host, docker, None)
    }

    /// The engine behind `ssh://[user@]host[:port]` ([`ssh`]), not pinged:
    /// ssh starts with the first call.
    fn open_ssh(host: &str) -> Result<Engine> {
        let target = ssh::Target::parse(host).map_err(EngineError::Endpoint)?;
        let persist = ssh::persist_seconds(std::env::var(ssh::PERSIST_VAR).ok().as_deref())
            .map_err(EngineError::Endpoint)?;
        let dir = crate::runtime_dir::dir().map_err(EngineError::Endpoint)?;
        let tunnel = std::sync::Arc::new(
            ssh::Tunnel::new(target, &dir, persist).map_err(EngineError::Endpoint)?,
        );
        let docker = ssh::docker(tunnel.clone(), REQUEST_TIMEOUT);
        Engine::with_client(host, docker, Some(tunnel))
    }

    /// The engine at `host` through the client bollard made for it (or
    /// the reason it could not).
    fn with_client(
        host: &str,
        docker: std::result::Result<Docker, BollardError>,
        ssh: Option<std::sync::Arc<ssh::Tunnel>>,
    ) -> Result<Engine> {
        let docker = docker.map_err(|e| EngineError::Unreachable {
            host: host.to_string(),
            reason: root_cause(&e),
        })?;
        Ok(Engine {
            docker,
            host: host.to_string(),
            context: None,
            ssh,
        })
    }

    /// Pings: Ok once the engine answers, Unreachable if it does not within
    /// [`PING_TIMEOUT`] ([`SSH_PING_TIMEOUT`] over ssh, whose first ping
    /// also pays the handshake), or ssh's own reason.
    pub async fn ping(&self) -> Result<()> {
        let limit = match self.ssh {
            Some(_) => SSH_PING_TIMEOUT,
            None => PING_TIMEOUT,
        };
        let failed = match tokio::time::timeout(limit, self.docker.ping()).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => self.error(e),
            Err(_) => EngineError::Unreachable {
                host: self.host.clone(),
                reason: format!("no answer within {}s", limit.as_secs()),
            },
        };
        Err(self.with_ssh_reason(failed).await)
    }

    /// An engine that could not be reached over ssh, with ssh's reason
    /// when it gave one: the connection closes a moment before ssh has
    /// exited and said why.
    async fn with_ssh_reason(&self, failed: EngineError) -> EngineError {
        if let (EngineError::Unreachable { .. }, Some(tunnel)) = (&failed, &self.ssh)
            && let Some(f) = tunnel.failure_within(Duration::from_secs(2)).await
        {
            return EngineError::Ssh(f);
        }
        failed
    }

    /// Runs a command's first calls with the ping beside them, on an engine
    /// from [`Engine::open`]: one round trip for both on a slow link. The
    /// first failure wins, so an engine that does not answer is still
    /// reported after [`PING_TIMEOUT`], as the ping's error, rather than
    /// after a call's own two-minute timeout.
    pub async fn answering<T>(
        &self,
        first: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match futures_util::future::try_join(self.ping(), first).await {
            Ok(((), out)) => Ok(out),
            Err(e) => Err(self.with_ssh_reason(e).await),
        }
    }

    /// How many requests berth keeps in flight at once when it fans out
    /// reads (inspects of every container of a project): enough that a
    /// stack of any usual size is read in one round trip, few enough not to
    /// flood an engine (each is a connection of its own, HTTP/1.1 has no
    /// multiplexing; a transport with a cost per connection, as ssh's
    /// sessions have, may want fewer).
    pub fn in_flight(&self) -> usize {
        64
    }

    /// The path of the unix socket berth reaches the engine through, if it
    /// does (`unix:///var/run/docker.sock`): on this machine, so the
    /// engine's too.
    pub fn unix_socket(&self) -> Option<&str> {
        unix_socket_of(&self.host)
    }

    /// The host the engine runs on when it is not this machine: `server`
    /// for `ssh://me@server:2222` or `tcp://server:2376`. None for a unix
    /// socket, the one transport that cannot leave the machine. A tcp or
    /// ssh address on loopback counts as remote too: what answers there
    /// may be a tunnel to another host, and a path berth checked here
    /// would then be the wrong one.
    pub fn remote_host(&self) -> Option<String> {
        remote_host(&self.host)
    }

    /// How the engine is named in a command's header, whenever it is not
    /// the local socket berth uses by default: `ssh://me@server (context
    /// demo)`. None for the default.
    pub fn named(&self) -> Option<String> {
        match (&self.context, self.host.as_str()) {
            (None, DEFAULT_HOST) => None,
            (None, host) => Some(host.to_string()),
            (Some(context), host) => Some(format!("{host} (context {context})")),
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
            | BollardError::UnsupportedURISchemeError { .. } => {
                // Over ssh, what ssh said beats the closed connection.
                match self.ssh.as_ref().and_then(|t| t.failure()) {
                    Some(f) => EngineError::Ssh(f),
                    None => EngineError::Unreachable {
                        host: self.host.clone(),
                        reason: root_cause(&e),
                    },
                }
            }
            // Not an answer with a status (bad JSON, a bad URL...): status 0.
            other => EngineError::Api {
                status: 0,
                message: other.to_string(),
            },
        }
    }
}
