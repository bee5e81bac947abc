//! The Docker engine, as berth needs it: a thin adapter over bollard.
//!
//! It connects through `DOCKER_HOST` (unix socket by default; tcp; TLS with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), maps the engine's answers to
//! [`EngineError`] (404 -> NotFound, 409 -> Conflict, no answer ->
//! Unreachable), and offers one method per engine call berth makes. It
//! decides nothing; [`spec`] turns the model into engine request bodies.

pub mod spec;

use bollard::Docker;

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
