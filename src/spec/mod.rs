//! Model to engine: the request bodies that create networks, volumes and
//! containers for a stack, with berth's labels on each, and the body of a
//! `docker update`.
//!
//! Its own layer between `model` and `plan` (`crate::layers` keeps it so):
//! it imports neither the loader nor the plan, and what it cannot map is a
//! [`SpecError`], which the plan reports with its own errors.
//!
//! Pure functions, no I/O: what a body holds can be tested without an engine.
//! The builders set only fields that Docker API 1.41 (Docker 20.10) knows; a
//! key that needs a newer engine is listed with its version by
//! [`newer::container_keys`] (preflight warns where the engine is older) and
//! added by [`newer`] where it is new enough. Name resolution (network
//! keys to engine names, `service:x` to a container name) happens here too.
//! Whether a bind source must be created is the plan's business (a step of
//! its own), and calling the engine is `Engine`'s.
//!
//! [`container()`] only assembles the body; each part of it is a builder of
//! its own (the environment, the healthcheck, mounts, ports, endpoints,
//! limits...), so that a Swarm service spec, which carries most of the same
//! parts in other places, can be built from the same pieces. By file:
//!
//! - `container.rs`: the create body, its labels and process fields;
//! - `network.rs`: network create requests, endpoints, ports, DNS and hosts;
//! - `storage.rs`: volume create requests, mounts, tmpfs, bind sources;
//! - `resources.rs`: CPU, memory, block I/O, pids, ulimits, the restart
//!   policy, and the `docker update` body;
//! - `edge.rs`: the edge container of a start-first service with ports
//!   (`crate::edge`), and the archive that sets its target.

mod build;
mod container;
mod copies;
mod edge;
mod network;
pub mod newer;
mod objects;
mod resources;
mod service;
mod storage;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::identity;
use crate::source::Span;
pub use build::{BuildRequest, build_request};
pub use container::{container, environment, healthcheck};
pub use copies::{CopiedFile, copied_files};
pub use edge::{edge_container, edge_name, edge_target_tar, needs_edge};
pub use network::{endpoints, network};
pub use objects::{
    ObjectKind, ObjectNames, SwarmObject, object, objects_of, with_ids, without_ids,
};
pub use resources::{ulimits, update};
pub use service::{
    canonical, overlay_network, pin_image, service, service_changes, service_hash, service_name,
};
pub use storage::{created_by_the_engine, host_dirs, volume, volume_mounts};

/// What the stack asks that cannot be sent to the engine (a secret whose
/// variable is not set, a file to copy into a read-only container): named,
/// with what to do, at the place the stack declares it. The plan reports it
/// with its own errors (`plan::PlanError` is made from it).
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// What is wrong, naming the resource.
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// Where the resource is declared, when the stack declares it.
    pub span: Option<Span>,
}

impl SpecError {
    pub(crate) fn new(message: String, help: impl Into<String>, span: Option<Span>) -> SpecError {
        SpecError {
            message,
            help: help.into(),
            span,
        }
    }
}

use crate::model::Map;
use crate::model::stack::Stack;
#[cfg(test)]
use crate::model::stack::{MountType, Service};

/// The labels berth puts on a network or volume it creates: the user's, then
/// its own, which win.
fn resource_labels(
    user: &Map<String>,
    project: &str,
    kind: &str,
    key: &str,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> =
        user.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    labels.insert(identity::PROJECT.into(), project.into());
    labels.insert(kind.into(), key.into());
    labels.insert(identity::VERSION.into(), identity::BERTH_VERSION.into());
    labels
}

/// An empty map is unset (None), so that the engine's default applies.
fn map(m: &Map<String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// An empty list is unset (None).
fn list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// Replica 1 of a service of this stack: what `service:x` names.
fn first_container(stack: &Stack, service: &str) -> String {
    match stack.services.get(service) {
        Some(s) => identity::container_name(stack, s, 1),
        None => format!("{}-{service}-1", stack.name),
    }
}

/// `service:x` -> `container:<x's first container>`; other modes unchanged.
fn namespace_mode(stack: &Stack, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(s) => format!("container:{}", first_container(stack, s)),
        None => mode.to_string(),
    }
}

/// Fields a service sets that berth cannot pass to a Docker 20.10 engine
/// (API 1.41) or that mean nothing outside swarm or Windows, by their stack
/// file key. They are left out of the container, not refused. (`bind.selinux`
/// goes as a bind, `newer` adds the rest where the engine has them, and a
/// secret's uid, gid and mode apply when it is copied in.)
#[cfg(test)]
pub fn unsupported(service: &Service) -> Vec<&'static str> {
    let extras = service.extras();
    let mut out = Vec::new();
    let mut check = |set: bool, key: &'static str| {
        if set {
            out.push(key);
        }
    };
    check(extras.mac_address.is_some(), "mac_address");
    check(extras.annotations.is_some(), "annotations");
    check(extras.isolation.is_some(), "isolation");
    check(extras.cpu_count.is_some(), "cpu_count");
    check(extras.cpu_percent.is_some(), "cpu_percent");
    check(
        extras
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.start_interval.is_some()),
        "healthcheck.start_interval",
    );
    let vols = &service.volumes;
    check(
        vols.iter()
            .any(|v| v.volume.as_ref().is_some_and(|o| o.subpath.is_some())),
        "volumes[].volume.subpath",
    );
    check(
        vols.iter().any(|v| {
            v.bind
                .as_ref()
                .and_then(|b| b.recursive.as_deref())
                .is_some_and(|r| r == "writable" || r == "readonly")
        }),
        "volumes[].bind.recursive",
    );
    check(
        vols.iter().any(|v| {
            matches!(
                v.kind,
                MountType::Npipe | MountType::Cluster | MountType::Image
            )
        }),
        "volumes[].type",
    );
    check(
        service
            .networks
            .values()
            .flatten()
            .any(|n| n.mac_address.is_some() || n.gw_priority.is_some()),
        "networks.*.mac_address/gw_priority",
    );
    out
}
