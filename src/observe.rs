//! What the engine has for a project: one snapshot, facts only.
//!
//! One label-filtered list call per resource kind (containers, networks,
//! volumes), plus an inspect of each of the project's containers (limits,
//! aliases and health are not in the list) and of each image the stack names.
//! Networks and volumes whose names the stack uses are looked up by name too,
//! so that the plan can refuse to take over one that is not berth's. This
//! module decides nothing: that is `plan`'s job.

use std::collections::BTreeMap;

use crate::limits::Limits;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub containers: Vec<ContainerState>,
    /// The project's networks, and any network named like one of the stack's.
    pub networks: Vec<NetworkState>,
    /// The project's volumes, and any volume named like one of the stack's.
    pub volumes: Vec<VolumeState>,
    /// Local image id of each image reference the stack uses; None if absent.
    pub images: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone)]
pub struct ContainerState {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub project: Option<String>,
    pub service: Option<String>,
    pub number: Option<u32>,
    pub config_hash: Option<String>,
    /// The `io.berth.config` label, parsed.
    pub config: Option<serde_json::Value>,
    pub status: Status,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub image_id: String,
    pub limits: Limits,
    /// Engine network name -> aliases on it.
    pub networks: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct NetworkState {
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    /// `io.berth.network`: the network's key in the stack file.
    pub key: Option<String>,
    pub driver: String,
    pub internal: bool,
    /// Names of the containers attached (from inspect; empty if not inspected).
    pub containers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct VolumeState {
    pub name: String,
    pub project: Option<String>,
    /// `io.berth.volume`: the volume's key in the stack file.
    pub key: Option<String>,
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

impl Observed {
    pub fn container(&self, service: &str, number: u32) -> Option<&ContainerState> {
        self.containers
            .iter()
            .find(|c| c.service.as_deref() == Some(service) && c.number == Some(number))
    }

    pub fn network_named(&self, name: &str) -> Option<&NetworkState> {
        self.networks.iter().find(|n| n.name == name)
    }

    pub fn volume_named(&self, name: &str) -> Option<&VolumeState> {
        self.volumes.iter().find(|v| v.name == name)
    }
}
