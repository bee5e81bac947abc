//! What the engine has for a project: one snapshot, facts only.
//!
//! One label-filtered list call per resource kind (containers, networks,
//! volumes), plus an inspect of each of the project's containers (limits,
//! aliases and health are not in the list) and of each image the stack names.
//! Networks and volumes whose names the stack uses are looked up by name too,
//! so that the plan can refuse to take over one that is not berth's, and the
//! bind sources berth may create are looked up on this host. Each image is
//! inspected once, however many services run it. The project's networks
//! are inspected too (who is attached: a network whose settings changed is
//! recreated only when no one outside the project uses it), and when the
//! stack publishes fixed host ports, one more list call finds the running
//! containers of other projects that publish them.
//!
//! Five snapshots, by what a command needs: [`observe`] for `up` and `plan`,
//! [`observe_for_down`] (the list, and who is attached to each network) and
//! [`observe_containers`] (the list alone) for `start`, `stop`, `restart`,
//! `ps`, `logs` and `exec`; the list is read by one parser,
//! [`container_from_summary`]. For the Swarm target, [`observe_swarm`]
//! (services, networks, volumes, secrets and configs) plans `up`, `plan`
//! and `down --swarm`, and [`observe_swarm_tasks`] (each service with its
//! tasks) serves `ps` and `logs --swarm`. This module decides nothing: that is `plan`'s
//! job.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryHealthStatusEnum, ContainerSummaryStateEnum, EndpointSettings,
    HealthStatusEnum, HostConfig, Network, NetworkInspect, RestartPolicy, RestartPolicyNameEnum,
    ThrottleDevice, Volume,
};
use futures_util::future::join_all;

use crate::engine::objects::ObjectInfo;
use crate::engine::{self, Engine, EngineError};
use crate::identity;
use crate::limits::{Limits, Throttle};
use crate::model::stack::{Restart, Stack};
use crate::spec::ObjectKind;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub containers: Vec<ContainerState>,
    /// The project's networks, and any network named like one of the stack's.
    pub networks: Vec<NetworkState>,
    /// The project's volumes, and any volume named like one of the stack's.
    pub volumes: Vec<VolumeState>,
    /// Local image id of each image reference the stack uses; None if absent.
    pub images: BTreeMap<String, Option<String>>,
    /// Bind sources the stack lets berth create that do not exist.
    pub missing_dirs: BTreeSet<PathBuf>,
    /// Running containers outside the project that publish a host port
    /// the stack publishes (as listed: with their ports).
    pub publishers: Vec<ContainerState>,
    /// Swarm services of the project (the Swarm target only).
    pub services: Vec<ServiceState>,
    /// Every Swarm secret and config (the Swarm target only): the
    /// project's, and the external ones a stack may name.
    pub objects: Vec<ObjectState>,
    /// What the engine can do (its API version, a blkio weight); unknown
    /// unless the snapshot asked.
    pub engine: crate::engine::facts::EngineFacts,
    /// The edge image of this berth, when a service of the stack needs an
    /// edge (`spec::needs_edge`): its reference, and whether the engine has
    /// it.
    pub edge_image: Option<EdgeImageState>,
}

/// The edge image a run would use (`crate::edge::image`), and where the
/// engine's socket is for an edge on the host's network (`spec::edge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeImageState {
    pub reference: String,
    pub present: bool,
    /// The engine's unix socket, when berth reaches the engine through one.
    pub engine_socket: Option<String>,
}

/// A Swarm secret or config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectState {
    pub kind: ObjectKind,
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    /// `io.berth.object`: its key in the stack file.
    pub key: Option<String>,
}

impl ObjectState {
    fn of(o: ObjectInfo) -> ObjectState {
        ObjectState {
            kind: o.kind,
            project: o.labels.get(identity::PROJECT).cloned(),
            key: o.labels.get(identity::OBJECT).cloned(),
            id: o.id,
            name: o.name,
        }
    }
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
    /// Published and exposed ports (from the list; empty after an inspect).
    pub ports: Vec<PortState>,
    /// When it was created (RFC 3339, from inspect; empty from the list).
    pub created: String,
    /// The engine's network mode (from inspect): `container:<id>` for one
    /// that joins another container's network namespace.
    pub network_mode: Option<String>,
    /// It was created to publish host ports (from inspect: its port
    /// bindings), running or not.
    pub publishes: bool,
    /// The service whose edge it is (`io.berth.edge`), for an edge.
    pub edge: Option<String>,
}

/// One port of a container, as the container list shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortState {
    pub ip: Option<String>,
    pub public: Option<u16>,
    pub private: u16,
    pub protocol: String,
}

impl Status {
    /// The engine's word for it: `running`, `exited`...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
            Status::Removing => "removing",
        }
    }
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }

    /// The health in the list's status text ("Up 2 minutes (healthy)"):
    /// API 1.41's list has no health field of its own.
    pub fn from_status_text(status: &str) -> Option<Health> {
        if status.contains("(healthy)") {
            Some(Health::Healthy)
        } else if status.contains("(unhealthy)") {
            Some(Health::Unhealthy)
        } else if status.contains("(health: starting)") {
            Some(Health::Starting)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct NetworkState {
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    /// `io.berth.network`: the network's key in the stack file.
    #[allow(dead_code, reason = "recorded from the label; no plan reads it yet")]
    pub key: Option<String>,
    pub driver: String,
    pub internal: bool,
    /// `local` or `swarm`.
    pub scope: String,
    /// Names of the containers attached (from inspect; empty if not inspected).
    pub containers: Vec<String>,
    /// What its create set, as the list reports it: what a change of the
    /// stack's network is compared with.
    pub settings: NetworkSettings,
}

/// The settings of a network that only a new network can change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    pub options: BTreeMap<String, String>,
    /// `default` unless the create named one.
    pub ipam_driver: String,
    pub ipam_options: BTreeMap<String, String>,
    /// The address pools; the engine picks one when the create gave none.
    pub ipam_config: Vec<IpamPoolState>,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub labels: BTreeMap<String, String>,
}

/// One IPAM pool as the engine reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpamPoolState {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: BTreeMap<String, String>,
}

/// A Swarm service of the project, as the engine reports it.
#[derive(Debug, Clone)]
pub struct ServiceState {
    pub id: String,
    pub name: String,
    /// The version an update must name.
    pub version: u64,
    pub project: Option<String>,
    /// `io.berth.service`: the service's key in the stack file.
    pub service: Option<String>,
    /// `io.berth.config-hash`: the hash of the spec berth sent.
    pub hash: Option<String>,
    pub spec: bollard::models::ServiceSpec,
}

#[derive(Debug, Clone)]
pub struct VolumeState {
    pub name: String,
    pub project: Option<String>,
    /// `io.berth.volume`: the volume's key in the stack file.
    #[allow(dead_code, reason = "recorded from the label; no plan reads it yet")]
    pub key: Option<String>,
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

impl Observed {
    pub fn network_named(&self, name: &str) -> Option<&NetworkState> {
        self.networks.iter().find(|n| n.name == name)
    }

    pub fn volume_named(&self, name: &str) -> Option<&VolumeState> {
        self.volumes.iter().find(|v| v.name == name)
    }
}

/// One snapshot of what the engine has for a stack, for `up` and `plan`.
///
/// Lists containers, networks and volumes, looks up each image the stack
/// runs and inspects each of the project's containers and networks. On a
/// slow link each sequential round trip counts, and a no-op `up` is all
/// reads: so everything goes out at once, the inspects included, by the
/// names the stack gives its containers and networks ([`read_ahead`]). Only
/// what the lists show and the names did not find (a container named
/// otherwise, one of a removed service) is inspected after the lists. A
/// container removed between the list and its inspect is left out.
pub async fn observe(engine: &Engine, stack: &Stack) -> engine::Result<Observed> {
    let project = stack.name.as_str();
    let network_names: Vec<String> = stack.networks.values().map(|n| n.name.clone()).collect();
    let volume_names: Vec<String> = stack.volumes.values().map(|v| v.name.clone()).collect();
    let images = stack_images(stack);
    let ahead = read_ahead(stack);

    let containers = async {
        let (listed, found) = futures_util::join!(
            engine.list_containers(project),
            each(engine, &ahead.containers, |name| engine
                .inspect_container(name)),
        );
        let mut found: HashMap<String, ContainerInspectResponse> = found
            .into_iter()
            .filter_map(|r| r.ok())
            .filter_map(|i| Some((i.id.clone()?, i)))
            .collect();
        let listed = listed?;
        let ids: Vec<&str> = listed.iter().filter_map(|c| c.id.as_deref()).collect();
        let rest: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !found.contains_key(*id))
            .collect();
        let inspects = each(engine, &rest, |id| engine.inspect_container(id)).await;
        let mut out: Vec<ContainerState> = ids
            .iter()
            .filter_map(|id| found.remove(*id))
            .map(|i| container_state(&i))
            .collect();
        for r in inspects {
            match r {
                Ok(i) => out.push(container_state(&i)),
                Err(EngineError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    };
    let image_ids = join_all(images.iter().map(|i| engine.image_id(i)));
    // The project's networks say who is attached: a network whose settings
    // changed is recreated only when nothing outside the project uses it.
    let networks = observe_networks(engine, project, &network_names, &ahead.networks);
    let published = published_ports(stack);
    let publishers = async {
        if published.is_empty() {
            return Ok(Vec::new());
        }
        engine.list_publishing(&published).await
    };
    let edge = async {
        match stack.services.values().any(crate::spec::needs_edge) {
            true => edge_image(engine).await.map(Some),
            false => Ok(None),
        }
    };
    let (containers, networks, volumes, image_ids, publishers, facts, edge) = futures_util::join!(
        containers,
        networks,
        engine.list_volumes(project, &volume_names),
        image_ids,
        publishers,
        engine.facts(sets_blkio_weight(stack)),
        edge,
    );
    let facts = facts?;
    // Bind sources are paths on the engine's host: on another host berth
    // can neither look at them nor make them (the engine makes them there:
    // `spec::created_by_the_engine`).
    let missing_dirs = match facts.remote {
        None => missing_dirs(stack),
        Some(_) => BTreeSet::new(),
    };
    let mut observed = Observed {
        engine: facts,
        containers: containers?,
        networks: networks?,
        volumes: volumes?.iter().map(volume_state).collect(),
        missing_dirs,
        publishers: publishers?
            .iter()
            .map(container_from_summary)
            .filter(|c| c.project.as_deref() != Some(project))
            .collect(),
        edge_image: edge?,
        ..Observed::default()
    };
    for (image, id) in images.into_iter().zip(image_ids) {
        observed.images.insert(image, id?);
    }
    sort(&mut observed);
    Ok(observed)
}

/// The names a snapshot inspects before the lists answer: each container
/// the stack's services would have (`container_name`, or
/// `<project>-<service>-<n>` for each replica) and each network the stack
/// makes. What they find counts only for a container or network the lists
/// then show with the same id, so a guess that finds something else (a
/// container of another project under a fixed `container_name`) or nothing
/// (a cold `up`) costs a request in the same round trip and changes nothing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReadAhead {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

pub fn read_ahead(stack: &Stack) -> ReadAhead {
    let mut containers: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| {
            (1..=crate::identity::replicas(s))
                .map(move |n| crate::identity::container_name(stack, s, n))
        })
        .filter(|n| plain_name(n))
        .collect();
    containers.sort();
    containers.dedup();
    let mut networks: Vec<String> = stack
        .networks
        .values()
        .filter(|n| !n.external && plain_name(&n.name))
        .map(|n| n.name.clone())
        .collect();
    networks.sort();
    networks.dedup();
    ReadAhead {
        containers,
        networks,
    }
}

/// A name that goes into a request path as it is (the engine's own rule for
/// container names): anything else is not guessed, only inspected by id.
fn plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `call` on each of `keys`, at most [`Engine::in_flight`] at once; the
/// answers in the order of `keys`.
async fn each<'k, K, T, F, Fut>(engine: &Engine, keys: &'k [K], call: F) -> Vec<engine::Result<T>>
where
    K: 'k,
    F: FnMut(&'k K) -> Fut,
    Fut: std::future::Future<Output = engine::Result<T>>,
{
    use futures_util::StreamExt;
    futures_util::stream::iter(keys)
        .map(call)
        .buffered(engine.in_flight())
        .collect()
        .await
}

/// The edge image of the running berth, and whether the engine has it.
/// Hashing the executable is the cost, paid only by stacks with an edge.
async fn edge_image(engine: &Engine) -> engine::Result<EdgeImageState> {
    let reference = tokio::task::spawn_blocking(|| {
        std::fs::read("/proc/self/exe").map(|exe| crate::edge::image::reference(&exe))
    })
    .await
    .map_err(|e| EngineError::Api {
        status: 0,
        message: format!("cannot read berth's executable for its edge image: {e}"),
    })?
    .map_err(|e| EngineError::Api {
        status: 0,
        message: format!("cannot read berth's executable for its edge image: {e}"),
    })?;
    let present = engine.image_id(&reference).await?.is_some();
    Ok(EdgeImageState {
        reference,
        present,
        engine_socket: engine.unix_socket().map(String::from),
    })
}

/// The image references a stack's services run, each once, sorted.
pub fn stack_images(stack: &Stack) -> Vec<String> {
    let mut images: Vec<String> = stack
        .services
        .values()
        .map(|s| crate::identity::image_ref(stack, s))
        .collect();
    images.sort();
    images.dedup();
    images
}

/// The fixed host ports the stack publishes, as the list's `publish`
/// filter takes them (`8080/tcp`, `9000-9001/udp`), each once.
fn published_ports(stack: &Stack) -> Vec<String> {
    let mut out: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| &s.ports)
        .filter_map(|p| {
            let published = p.published.as_deref().filter(|s| !s.is_empty())?;
            Some(format!("{published}/{}", p.protocol))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The bind sources berth may create (`create_host_path`, the default) that
/// do not exist on this host.
fn missing_dirs(stack: &Stack) -> BTreeSet<PathBuf> {
    stack
        .services
        .values()
        .flat_map(crate::spec::host_dirs)
        .filter(|p| !p.exists())
        .collect()
}

/// Looks up image references again, after builds and pulls changed them.
pub async fn refresh_images(
    engine: &Engine,
    observed: &mut Observed,
    images: &[String],
) -> engine::Result<()> {
    observed.images.extend(image_ids(engine, images).await?);
    Ok(())
}

/// The local id of each image reference (None: the engine has no such
/// image), all looked up at once.
pub async fn image_ids(
    engine: &Engine,
    images: &[String],
) -> engine::Result<BTreeMap<String, Option<String>>> {
    let ids = join_all(images.iter().map(|i| engine.image_id(i))).await;
    images
        .iter()
        .cloned()
        .zip(ids)
        .map(|(image, id)| Ok((image, id?)))
        .collect()
}

/// The project's containers as listed (no inspect): what `start`, `stop`
/// and `restart` need.
pub async fn observe_containers(engine: &Engine, project: &str) -> engine::Result<Observed> {
    let mut observed = Observed {
        containers: engine
            .list_containers(project)
            .await?
            .iter()
            .map(container_from_summary)
            .collect(),
        ..Observed::default()
    };
    sort(&mut observed);
    Ok(observed)
}

/// The snapshot `down` needs: the project's containers as listed (no inspect:
/// names, ids, services and states are all in the list), its networks with
/// the containers attached to each, and its volumes. With a stack, networks
/// and volumes named like the stack's are listed too.
pub async fn observe_for_down(
    engine: &Engine,
    project: &str,
    stack: Option<&Stack>,
) -> engine::Result<Observed> {
    let (network_names, volume_names): (Vec<String>, Vec<String>) = match stack {
        Some(s) => (
            s.networks.values().map(|n| n.name.clone()).collect(),
            s.volumes.values().map(|v| v.name.clone()).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let ahead = stack.map(read_ahead).unwrap_or_default();
    let networks = observe_networks(engine, project, &network_names, &ahead.networks);
    let (containers, networks, volumes) = futures_util::join!(
        engine.list_containers(project),
        networks,
        engine.list_volumes(project, &volume_names),
    );
    let mut observed = Observed {
        containers: containers?.iter().map(container_from_summary).collect(),
        networks: networks?,
        volumes: volumes?.iter().map(volume_state).collect(),
        ..Observed::default()
    };
    sort(&mut observed);
    Ok(observed)
}

/// The project's networks and those named `names`, each with the
/// containers attached to it, the inspects of `ahead` (the stack's names)
/// sent beside the lists: the one round trip of a no-op run.
async fn observe_networks(
    engine: &Engine,
    project: &str,
    names: &[String],
    ahead: &[String],
) -> engine::Result<Vec<NetworkState>> {
    let (listed, found) = futures_util::join!(
        engine.list_networks(project, names),
        each(engine, ahead, |name| engine.inspect_network(name)),
    );
    let mut out: Vec<NetworkState> = listed?.iter().map(network_state).collect();
    let found = found.into_iter().filter_map(|r| r.ok()).collect();
    attach(engine, project, &mut out, found).await?;
    Ok(out)
}

/// Fills in who is attached to each of the project's networks: from
/// `found` (inspects made already, by name) for a network with the same id,
/// else one inspect each, all at once.
async fn attach(
    engine: &Engine,
    project: &str,
    networks: &mut [NetworkState],
    found: Vec<NetworkInspect>,
) -> engine::Result<()> {
    let rest: Vec<String> = networks
        .iter()
        .filter(|n| n.project.as_deref() == Some(project))
        .filter(|n| !found.iter().any(|f| f.id.as_ref() == Some(&n.id)))
        .map(|n| n.id.clone())
        .collect();
    let inspects = each(engine, &rest, |id| engine.inspect_network(id)).await;
    let found = found.into_iter().map(Ok);
    for r in found.chain(inspects) {
        match r {
            Ok(i) => {
                if let Some(n) = networks
                    .iter_mut()
                    .filter(|n| n.project.as_deref() == Some(project))
                    .find(|n| Some(&n.id) == i.id.as_ref())
                {
                    n.containers = attached_containers(&i);
                }
            }
            Err(EngineError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The engine lists in no particular order; plans must not depend on it.
fn sort(o: &mut Observed) {
    o.containers.sort_by(|a, b| a.name.cmp(&b.name));
    o.networks.sort_by(|a, b| a.name.cmp(&b.name));
    o.volumes.sort_by(|a, b| a.name.cmp(&b.name));
}

/// A container as `docker inspect` shows it.
pub fn container_state(i: &ContainerInspectResponse) -> ContainerState {
    let empty = HashMap::new();
    let labels = i
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .unwrap_or(&empty);
    let state = i.state.as_ref();
    let mut c = labelled(
        i.id.clone().unwrap_or_default(),
        i.name.as_deref().unwrap_or_default(),
        labels,
    );
    c.status = state
        .and_then(|s| s.status)
        .map_or(Status::Created, status_of);
    c.health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .and_then(|h| match h {
            HealthStatusEnum::STARTING => Some(Health::Starting),
            HealthStatusEnum::HEALTHY => Some(Health::Healthy),
            HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        });
    c.exit_code = state.and_then(|s| s.exit_code);
    c.image_id = i.image.clone().unwrap_or_default();
    c.limits = limits_of(i.host_config.as_ref().unwrap_or(&HostConfig::default()));
    c.created = i.created.clone().unwrap_or_default();
    c.network_mode = i.host_config.as_ref().and_then(|h| h.network_mode.clone());
    c.publishes = i
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
        .is_some_and(|b| {
            b.values()
                .any(|v| v.as_ref().is_some_and(|v| !v.is_empty()))
        });
    c.networks = i
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(endpoints)
        .unwrap_or_default();
    c
}

/// A container as the list shows it: enough for `down` and `ps`, but without
/// limits or aliases.
pub fn container_from_summary(s: &ContainerSummary) -> ContainerState {
    let empty = HashMap::new();
    let name = s
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map_or("", String::as_str);
    let mut c = labelled(
        s.id.clone().unwrap_or_default(),
        name,
        s.labels.as_ref().unwrap_or(&empty),
    );
    c.status = match s.state {
        Some(ContainerSummaryStateEnum::RUNNING) => Status::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => Status::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => Status::Restarting,
        Some(ContainerSummaryStateEnum::EXITED) => Status::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => Status::Dead,
        Some(ContainerSummaryStateEnum::REMOVING) => Status::Removing,
        _ => Status::Created,
    };
    c.health = s
        .health
        .as_ref()
        .and_then(|h| h.status)
        .and_then(|h| match h {
            ContainerSummaryHealthStatusEnum::STARTING => Some(Health::Starting),
            ContainerSummaryHealthStatusEnum::HEALTHY => Some(Health::Healthy),
            ContainerSummaryHealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            _ => None,
        })
        .or_else(|| s.status.as_deref().and_then(Health::from_status_text));
    c.ports = s
        .ports
        .iter()
        .flatten()
        .map(|p| PortState {
            ip: p.ip.clone().filter(|ip| !ip.is_empty()),
            public: p.public_port,
            private: p.private_port,
            protocol: p.typ.map_or_else(|| "tcp".to_string(), |t| t.to_string()),
        })
        .collect();
    if c.ports.is_empty() && c.edge.is_some() {
        c.ports = edge_ports(s.labels.as_ref().unwrap_or(&empty));
    }
    c.ports.sort();
    c.ports.dedup();
    c.image_id = s.image_id.clone().unwrap_or_default();
    c.networks = s
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(endpoints)
        .unwrap_or_default();
    c
}

/// What an edge on the host's network listens on, from its label
/// ([`identity::EDGE_PORTS`]), as the ports the list shows of a container
/// that publishes them: the engine lists none for it.
fn edge_ports(labels: &HashMap<String, String>) -> Vec<PortState> {
    let Some(text) = labels.get(identity::EDGE_PORTS) else {
        return Vec::new();
    };
    let Ok(rows) = serde_json::from_str::<Vec<(Option<String>, u16, u16)>>(text) else {
        return Vec::new();
    };
    rows.into_iter()
        .map(|(ip, public, private)| PortState {
            ip,
            public: Some(public),
            private,
            protocol: "tcp".into(),
        })
        .collect()
}

/// The identity part of a container, from its name and labels.
fn labelled(id: String, name: &str, labels: &HashMap<String, String>) -> ContainerState {
    let label = |k: &str| labels.get(k).cloned();
    ContainerState {
        id,
        name: name.trim_start_matches('/').to_string(),
        project: label(identity::PROJECT),
        service: label(identity::SERVICE),
        number: labels.get(identity::NUMBER).and_then(|n| n.parse().ok()),
        config_hash: label(identity::CONFIG_HASH),
        config: labels
            .get(identity::CONFIG)
            .and_then(|c| serde_json::from_str(c).ok()),
        status: Status::Created,
        health: None,
        exit_code: None,
        image_id: String::new(),
        limits: Limits::default(),
        networks: BTreeMap::new(),
        ports: Vec::new(),
        created: String::new(),
        network_mode: None,
        publishes: false,
        edge: label(identity::EDGE),
    }
}

fn endpoints(n: &HashMap<String, EndpointSettings>) -> BTreeMap<String, Vec<String>> {
    n.iter()
        .map(|(name, e)| (name.clone(), e.aliases.clone().unwrap_or_default()))
        .collect()
}

fn status_of(s: ContainerStateStatusEnum) -> Status {
    match s {
        ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING => Status::Running,
        ContainerStateStatusEnum::PAUSED => Status::Paused,
        ContainerStateStatusEnum::RESTARTING => Status::Restarting,
        ContainerStateStatusEnum::REMOVING => Status::Removing,
        ContainerStateStatusEnum::EXITED => Status::Exited,
        ContainerStateStatusEnum::DEAD => Status::Dead,
        ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::EMPTY => Status::Created,
    }
}

/// What `docker update` can change, in the units [`Limits::of`] uses.
pub fn limits_of(h: &HostConfig) -> Limits {
    let throttles = |v: &Option<Vec<ThrottleDevice>>| {
        let mut out: Vec<Throttle> = v
            .iter()
            .flatten()
            .map(|t| Throttle {
                path: t.path.clone().unwrap_or_default(),
                rate: t.rate.unwrap_or(0),
            })
            .collect();
        out.sort();
        out
    };
    Limits {
        cpu_shares: h.cpu_shares.unwrap_or(0),
        nano_cpus: h.nano_cpus.unwrap_or(0),
        cpuset_cpus: h.cpuset_cpus.clone().unwrap_or_default(),
        cpu_quota: h.cpu_quota.unwrap_or(0),
        cpu_period: h.cpu_period.unwrap_or(0),
        memory: h.memory.unwrap_or(0),
        memory_swap: h.memory_swap.unwrap_or(0),
        memory_reservation: h.memory_reservation.unwrap_or(0),
        blkio_weight: h.blkio_weight.unwrap_or(0),
        device_read_bps: throttles(&h.blkio_device_read_bps),
        device_write_bps: throttles(&h.blkio_device_write_bps),
        device_read_iops: throttles(&h.blkio_device_read_iops),
        device_write_iops: throttles(&h.blkio_device_write_iops),
        pids_limit: h.pids_limit.unwrap_or(0),
        restart: h.restart_policy.as_ref().map_or(Restart::No, restart_of),
    }
}

/// The engine's restart policy as the stack file writes it: a retry count
/// of 0 is no limit, `on-failure`.
pub fn restart_of(p: &RestartPolicy) -> Restart {
    match p.name {
        Some(RestartPolicyNameEnum::ALWAYS) => Restart::Always,
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => Restart::UnlessStopped,
        Some(RestartPolicyNameEnum::ON_FAILURE) => Restart::OnFailure(
            p.maximum_retry_count
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
        ),
        Some(RestartPolicyNameEnum::NO | RestartPolicyNameEnum::EMPTY) | None => Restart::No,
    }
}

pub fn network_state(n: &Network) -> NetworkState {
    let label = |k: &str| n.labels.as_ref().and_then(|l| l.get(k)).cloned();
    NetworkState {
        id: n.id.clone().unwrap_or_default(),
        name: n.name.clone().unwrap_or_default(),
        project: label(identity::PROJECT),
        key: label(identity::NETWORK),
        driver: n.driver.clone().unwrap_or_default(),
        internal: n.internal.unwrap_or(false),
        scope: n.scope.clone().unwrap_or_default(),
        containers: Vec::new(),
        settings: network_settings(n),
    }
}

fn network_settings(n: &Network) -> NetworkSettings {
    let sorted = |m: Option<&HashMap<String, String>>| -> BTreeMap<String, String> {
        m.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let ipam = n.ipam.as_ref();
    let mut ipam_config: Vec<IpamPoolState> = ipam
        .and_then(|i| i.config.as_ref())
        .into_iter()
        .flatten()
        .map(|p| IpamPoolState {
            subnet: p.subnet.clone().filter(|s| !s.is_empty()),
            ip_range: p.ip_range.clone().filter(|s| !s.is_empty()),
            gateway: p.gateway.clone().filter(|s| !s.is_empty()),
            aux_addresses: sorted(p.auxiliary_addresses.as_ref()),
        })
        .collect();
    ipam_config.sort();
    NetworkSettings {
        options: sorted(n.options.as_ref()),
        ipam_driver: ipam
            .and_then(|i| i.driver.clone())
            .unwrap_or_else(|| "default".into()),
        ipam_options: sorted(ipam.and_then(|i| i.options.as_ref())),
        ipam_config,
        attachable: n.attachable.unwrap_or(false),
        enable_ipv6: n.enable_ipv6.unwrap_or(false),
        labels: sorted(n.labels.as_ref()),
    }
}

/// A service as the service list shows it.
pub fn service_state(s: &bollard::models::Service) -> ServiceState {
    let mut spec = s.spec.clone().unwrap_or_default();
    let label = |k: &str| spec.labels.as_ref().and_then(|l| l.get(k)).cloned();
    // bollard drops the engine's `Healthcheck` (it reads `HealthCheck`):
    // the one berth sent, from its label, stands in for it.
    let sent_check = label(identity::HEALTHCHECK).and_then(|j| serde_json::from_str(&j).ok());
    if let Some(container) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
        && container.health_check.is_none()
    {
        container.health_check = sent_check;
    }
    let label = |k: &str| spec.labels.as_ref().and_then(|l| l.get(k)).cloned();
    ServiceState {
        id: s.id.clone().unwrap_or_default(),
        name: spec.name.clone().unwrap_or_default(),
        version: s.version.as_ref().and_then(|v| v.index).unwrap_or_default(),
        project: label(identity::PROJECT),
        service: label(identity::SERVICE),
        hash: label(identity::CONFIG_HASH),
        spec,
    }
}

/// The snapshot the Swarm target plans from: the project's services, its
/// networks (with those named like the stack's) and its volumes on this
/// node. `up --swarm` adds the stack's images with [`refresh_images`].
pub async fn observe_swarm(
    engine: &Engine,
    project: &str,
    stack: Option<&Stack>,
) -> engine::Result<Observed> {
    let network_names: Vec<String> = stack
        .map(|s| s.networks.values().map(|n| n.name.clone()).collect())
        .unwrap_or_default();
    let (services, networks, volumes, objects) = futures_util::join!(
        engine.list_services(project),
        engine.list_networks(project, &network_names),
        engine.list_volumes(project, &[]),
        engine.list_objects(),
    );
    let mut observed = Observed {
        services: services?.iter().map(service_state).collect(),
        networks: networks?.iter().map(network_state).collect(),
        // The volumes the swarm's tasks made on this node, with the labels
        // berth gave their mounts.
        volumes: volumes?.iter().map(volume_state).collect(),
        objects: objects?.into_iter().map(ObjectState::of).collect(),
        ..Observed::default()
    };
    observed.services.sort_by(|a, b| a.name.cmp(&b.name));
    observed
        .objects
        .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    sort(&mut observed);
    Ok(observed)
}

/// A Swarm service of the project with its tasks, for `ps --swarm` and
/// `logs --swarm`.
#[derive(Debug, Clone)]
pub struct SwarmService {
    pub state: ServiceState,
    /// The ports as the engine publishes them (with any port it picked),
    /// else as the spec asks.
    pub ports: Vec<bollard::models::EndpointPortConfig>,
    /// Every task the swarm still keeps (its history too), by slot (or
    /// node), the newest first.
    pub tasks: Vec<TaskState>,
}

/// A task of a Swarm service, as the task list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub id: String,
    /// The replica's slot (1, 2, ...); None for a global service's task.
    pub slot: Option<u64>,
    pub node_id: String,
    /// The node's hostname, or its id when the node list does not name it.
    pub node: String,
    /// `running`, `failed`, `shutdown`, ... (the engine's words).
    pub state: String,
    /// What the swarm wants of it: `running`, `shutdown`, `complete`...
    pub desired: String,
    /// When the task entered its state (RFC 3339).
    pub since: String,
    /// Why it failed or was rejected; empty if it did not.
    pub error: String,
    pub created: String,
}

/// A task as the task list shows it; `nodes` maps node ids to hostnames.
pub fn task_state(t: &bollard::models::Task, nodes: &HashMap<String, String>) -> TaskState {
    let status = t.status.clone().unwrap_or_default();
    let node_id = t.node_id.clone().unwrap_or_default();
    TaskState {
        id: t.id.clone().unwrap_or_default(),
        slot: t
            .slot
            .and_then(|s| u64::try_from(s).ok())
            .filter(|&s| s > 0),
        node: nodes
            .get(&node_id)
            .cloned()
            .unwrap_or_else(|| node_id.clone()),
        node_id,
        state: status.state.map(|s| s.to_string()).unwrap_or_default(),
        desired: t
            .desired_state
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        since: status.timestamp.unwrap_or_default(),
        error: status.err.unwrap_or_default(),
        created: t.created_at.clone().unwrap_or_default(),
    }
}

/// The project's Swarm services, each with its tasks: the service and node
/// lists at once, then one task list for all the services. Services sorted
/// by name.
pub async fn observe_swarm_tasks(
    engine: &Engine,
    project: &str,
) -> engine::Result<Vec<SwarmService>> {
    let (services, nodes) = futures_util::join!(engine.list_services(project), engine.list_nodes());
    let services = services?;
    let nodes: HashMap<String, String> = nodes?
        .iter()
        .filter_map(|n| {
            let host = n.description.as_ref()?.hostname.clone()?;
            Some((n.id.clone()?, host))
        })
        .collect();
    let ids: Vec<String> = services.iter().filter_map(|s| s.id.clone()).collect();
    let tasks = engine.tasks_of(&ids).await?;
    let mut out: Vec<SwarmService> = services
        .iter()
        .map(|s| {
            let state = service_state(s);
            let ports = s
                .endpoint
                .as_ref()
                .and_then(|e| e.ports.clone())
                .filter(|p| !p.is_empty())
                .or_else(|| state.spec.endpoint_spec.as_ref()?.ports.clone())
                .unwrap_or_default();
            let mut tasks: Vec<TaskState> = tasks
                .iter()
                .filter(|t| t.service_id.as_deref() == Some(state.id.as_str()))
                .map(|t| task_state(t, &nodes))
                .collect();
            tasks.sort_by(|a, b| {
                (a.slot, &a.node)
                    .cmp(&(b.slot, &b.node))
                    .then_with(|| b.created.cmp(&a.created))
            });
            SwarmService {
                state,
                ports,
                tasks,
            }
        })
        .collect();
    out.sort_by(|a, b| a.state.name.cmp(&b.state.name));
    Ok(out)
}

/// Names of the containers attached to a network, sorted.
pub fn attached_containers(n: &NetworkInspect) -> Vec<String> {
    let mut out: Vec<String> = n
        .containers
        .iter()
        .flatten()
        .map(|(id, e)| e.name.clone().unwrap_or_else(|| id.clone()))
        .collect();
    out.sort();
    out
}

pub fn volume_state(v: &Volume) -> VolumeState {
    VolumeState {
        name: v.name.clone(),
        project: v.labels.get(identity::PROJECT).cloned(),
        key: v.labels.get(identity::VOLUME).cloned(),
        driver: v.driver.clone(),
        options: v
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Whether a service of `stack` asks for a blkio weight: only then does the
/// snapshot ask the engine whether it keeps one.
fn sets_blkio_weight(stack: &Stack) -> bool {
    stack.services.values().any(|s| {
        s.extras()
            .blkio_config
            .as_ref()
            .is_some_and(|b| b.weight.is_some_and(|w| w > 0) || !b.weight_device.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        ContainerConfig, ContainerState as EngineState, EndpointResource, Health as EngineHealth,
        NetworkSettings,
    };

    use super::*;

    /// A swarm service as the engine answers `GET /services/{id}`, with
    /// the health check under `Healthcheck`.
    fn service_answer(labels: serde_json::Value) -> bollard::models::Service {
        serde_json::from_value(serde_json::json!({
            "ID": "svc1",
            "Version": {"Index": 7},
            "Spec": {
                "Name": "gb_web",
                "Labels": labels,
                "TaskTemplate": {"ContainerSpec": {
                    "Image": "gb/web:1",
                    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5000000000_i64},
                }},
            },
        }))
        .unwrap()
    }

    #[test]
    fn a_swarm_services_health_check_is_the_one_berth_sent_as_bollard_reads_none() {
        let sent = bollard::models::HealthConfig {
            test: Some(vec!["CMD".into(), "true".into()]),
            interval: Some(5_000_000_000),
            ..Default::default()
        };
        let labels = serde_json::json!({
            identity::HEALTHCHECK: serde_json::to_string(&sent).unwrap(),
        });
        let check = |s: &ServiceState| {
            s.spec
                .task_template
                .as_ref()
                .and_then(|t| t.container_spec.as_ref()?.health_check.clone())
        };
        assert_eq!(check(&service_state(&service_answer(labels))), Some(sent));
        // Deployed before berth sent the label: unknown, as bollard has it.
        let unlabelled = service_state(&service_answer(serde_json::json!({})));
        assert_eq!(check(&unlabelled), None);
    }

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn read_ahead_names_every_replica_and_the_networks_berth_makes() {
        let stack = crate::testutil::stack(
            "services:
  web:
    image: busybox
    scale: 2
    networks: [front, outside]
  db:
    image: busybox
    container_name: the-db
networks:
  front: {}
  outside:
    external: true
    name: shared
",
        );
        assert_eq!(
            read_ahead(&stack),
            ReadAhead {
                containers: vec!["t-web-1".into(), "t-web-2".into(), "the-db".into()],
                networks: vec!["t_default".into(), "t_front".into()],
            }
        );
    }

    #[test]
    fn an_inspected_container_gives_identity_state_limits_and_aliases() {
        let inspect = ContainerInspectResponse {
            id: Some("abc123".into()),
            name: Some("/gb-backend-1".into()),
            image: Some("sha256:img".into()),
            config: Some(ContainerConfig {
                labels: Some(labels(&[
                    (identity::PROJECT, "gb"),
                    (identity::SERVICE, "backend"),
                    (identity::NUMBER, "2"),
                    (identity::CONFIG_HASH, "h"),
                    (identity::CONFIG, r#"{"image":"gb/backend"}"#),
                ])),
                ..Default::default()
            }),
            state: Some(EngineState {
                status: Some(ContainerStateStatusEnum::EXITED),
                exit_code: Some(3),
                health: Some(EngineHealth {
                    status: Some(HealthStatusEnum::UNHEALTHY),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                nano_cpus: Some(500_000_000),
                memory: Some(200 << 20),
                memory_swap: Some(400 << 20),
                cpuset_cpus: Some("0-1".into()),
                pids_limit: Some(100),
                blkio_device_read_bps: Some(vec![
                    ThrottleDevice {
                        path: Some("/dev/sdb".into()),
                        rate: Some(2),
                    },
                    ThrottleDevice {
                        path: Some("/dev/sda".into()),
                        rate: Some(1),
                    },
                ]),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::ON_FAILURE),
                    maximum_retry_count: Some(3),
                }),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    "gb_devapp-net".to_string(),
                    EndpointSettings {
                        aliases: Some(vec!["backend".into(), "abc123".into()]),
                        ..Default::default()
                    },
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = container_state(&inspect);
        assert_eq!(c.id, "abc123");
        assert_eq!(c.name, "gb-backend-1");
        assert_eq!(c.project.as_deref(), Some("gb"));
        assert_eq!(c.service.as_deref(), Some("backend"));
        assert_eq!(c.number, Some(2));
        assert_eq!(c.config_hash.as_deref(), Some("h"));
        assert_eq!(c.config, Some(serde_json::json!({"image": "gb/backend"})));
        assert_eq!(c.status, Status::Exited);
        assert_eq!(c.exit_code, Some(3));
        assert_eq!(c.health, Some(Health::Unhealthy));
        assert_eq!(c.image_id, "sha256:img");
        assert_eq!(
            c.limits,
            Limits {
                nano_cpus: 500_000_000,
                memory: 200 << 20,
                memory_swap: 400 << 20,
                cpuset_cpus: "0-1".into(),
                pids_limit: 100,
                device_read_bps: vec![
                    Throttle {
                        path: "/dev/sda".into(),
                        rate: 1
                    },
                    Throttle {
                        path: "/dev/sdb".into(),
                        rate: 2
                    },
                ],
                restart: Restart::OnFailure(Some(3)),
                ..Limits::default()
            }
        );
        assert_eq!(
            c.networks,
            BTreeMap::from([(
                "gb_devapp-net".to_string(),
                vec!["backend".to_string(), "abc123".to_string()]
            )])
        );
    }

    #[test]
    fn a_container_without_labels_or_state_is_not_anyones() {
        let c = container_state(&ContainerInspectResponse::default());
        assert_eq!(c.project, None);
        assert_eq!(c.number, None);
        assert_eq!(c.status, Status::Created);
        assert_eq!(c.limits.restart, Restart::No);
    }

    #[test]
    fn restart_policies_read_as_the_stack_file_writes_them() {
        let p = |name, n| RestartPolicy {
            name: Some(name),
            maximum_retry_count: n,
        };
        assert_eq!(
            restart_of(&p(RestartPolicyNameEnum::ALWAYS, None)),
            Restart::Always
        );
        assert_eq!(
            restart_of(&p(RestartPolicyNameEnum::UNLESS_STOPPED, Some(0))),
            Restart::UnlessStopped
        );
        assert_eq!(
            restart_of(&p(RestartPolicyNameEnum::ON_FAILURE, Some(0))),
            Restart::OnFailure(None)
        );
        assert_eq!(
            restart_of(&p(RestartPolicyNameEnum::EMPTY, None)),
            Restart::No
        );
        assert_eq!(restart_of(&RestartPolicy::default()), Restart::No);
    }

    #[test]
    fn a_listed_container_gives_identity_and_state() {
        let s = ContainerSummary {
            id: Some("abc".into()),
            names: Some(vec!["/gb-db-1".into()]),
            labels: Some(labels(&[
                (identity::PROJECT, "gb"),
                (identity::SERVICE, "db"),
            ])),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        };
        let c = container_from_summary(&s);
        assert_eq!(c.name, "gb-db-1");
        assert_eq!(c.service.as_deref(), Some("db"));
        assert_eq!(c.status, Status::Running);
    }

    #[test]
    fn networks_and_volumes_carry_their_owner() {
        let n = network_state(&Network {
            id: Some("n1".into()),
            name: Some("gb_default".into()),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(labels(&[
                (identity::PROJECT, "gb"),
                (identity::NETWORK, "default"),
            ])),
            ..Default::default()
        });
        assert_eq!(n.project.as_deref(), Some("gb"));
        assert_eq!(n.key.as_deref(), Some("default"));
        assert!(n.internal);
        let attached = attached_containers(&NetworkInspect {
            containers: Some(HashMap::from([
                (
                    "id2".to_string(),
                    EndpointResource {
                        name: Some("zeta".into()),
                        ..Default::default()
                    },
                ),
                ("id1".to_string(), EndpointResource::default()),
            ])),
            ..Default::default()
        });
        assert_eq!(attached, ["id1", "zeta"]);
        let v = volume_state(&Volume {
            name: "gb_data".into(),
            driver: "local".into(),
            labels: labels(&[(identity::PROJECT, "gb"), (identity::VOLUME, "data")]),
            options: labels(&[("type", "tmpfs")]),
            ..Default::default()
        });
        assert_eq!(v.project.as_deref(), Some("gb"));
        assert_eq!(v.key.as_deref(), Some("data"));
        assert_eq!(
            v.options,
            BTreeMap::from([("type".to_string(), "tmpfs".to_string())])
        );
        let unlabelled = volume_state(&Volume {
            name: "gb_data".into(),
            ..Default::default()
        });
        assert_eq!(unlabelled.project, None);
    }
}
