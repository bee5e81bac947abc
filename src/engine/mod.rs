//! The Docker engine, as berth needs it: the adapter over bollard.
//!
//! It connects to the engine the docker CLI would use ([`endpoint`]: a
//! context, or `DOCKER_HOST`; unix socket by default; tcp; TLS with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH` or a context's files), maps the
//! engine's answers to
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
pub mod volumes;

#[cfg(test)]
mod live;

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
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

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
        match &chosen.tls {
            None => Engine::open_at(&chosen.host),
            Some(tls) => Engine::open_tls(&chosen, tls),
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
        })
    }

    /// Connects to `host` (`unix://`, `tcp://`, `https://`; TLS when
    /// `DOCKER_TLS_VERIFY` is set) and pings: for tests that name the host.
    #[cfg(test)]
    pub async fn connect_to(host: &str) -> Result<Engine> {
        let engine = Engine::open_at(host)?;
        engine.ping().await?;
        Ok(engine)
    }

    /// The engine at `host`, not pinged.
    fn open_at(host: &str) -> Result<Engine> {
        // What `connect_with_defaults` does, with the host known for messages.
        let docker = keep_alive_http(host)
            .unwrap_or_else(|| Docker::connect_with_host(host))
            .map_err(|e| EngineError::Unreachable {
                host: host.to_string(),
                reason: root_cause(&e),
            })?;
        Ok(Engine {
            docker,
            host: host.to_string(),
        })
    }

    /// Pings: Ok once the engine answers, Unreachable if it does not within
    /// [`PING_TIMEOUT`].
    pub async fn ping(&self) -> Result<()> {
        match tokio::time::timeout(PING_TIMEOUT, self.docker.ping()).await {
            Err(_) => Err(EngineError::Unreachable {
                host: self.host.clone(),
                reason: format!("no answer within {}s", PING_TIMEOUT.as_secs()),
            }),
            Ok(Err(e)) => Err(self.error(e)),
            Ok(Ok(_)) => Ok(()),
        }
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
        let ((), out) = futures_util::future::try_join(self.ping(), first).await?;
        Ok(out)
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
        self.host.strip_prefix("unix://").filter(|p| !p.is_empty())
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
}
