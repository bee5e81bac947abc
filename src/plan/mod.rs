//! The plan: the smallest list of engine calls that makes the engine match
//! what a command asks for, each with the reason it is needed.
//!
//! Every command that changes the engine (`up`, `down`, `start`, `stop`,
//! `restart`, `build`, `pull`) is a [`Plan`] made by a pure function of the
//! stack, the observed state and the command's options (save that a build
//! step carries the text of a Dockerfile outside its context, read here:
//! [`images`]), and carried out by `apply`, which decides nothing: when a
//! wait is over, too, is the planner's, by the condition it puts on the
//! wait and the judges in [`wait`]. Each [`Step`] is one call on one resource
//! and carries everything it will send (the create body is computed here, by
//! `spec`'s pure mappings), a typed [`Cause`], and the steps it waits
//! for, so that `apply` can run independent steps in parallel. What a step
//! does when it finds its work already done is one table, in [`rules`].
//!
//! The text form ([`text`]) is stable: it is what `berth plan` prints and what
//! tests compare; `berth plan --format json` gives the same plan as data. A
//! converged stack plans nothing.
//!
//! One thing is decided again at apply time, on purpose: a build or a pull
//! changes which image a tag names, and whether a container must be
//! recreated depends on it. `up` therefore applies its image steps first,
//! looks at the images again, and plans the containers with what it sees
//! ([`images`]); `berth plan` shows the container steps as they would be with
//! the images present now.
//!
//! Where it stops: it reads the [`Observed`](crate::observe::Observed)
//! snapshot and never calls the engine.

mod down;
pub mod images;
mod lifecycle;
mod newer;
mod resources;
pub mod rules;
mod select;
mod swarm;
pub mod swarm_images;
pub mod text;
mod up;
pub mod wait;

use std::fmt;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, ContainerUpdateBody, EndpointSettings, NetworkCreateRequest, ServiceSpec,
    VolumeCreateRequest,
};

use crate::diag::Diagnostic;
use crate::limits::Change;
use crate::model::stack::Condition;
use crate::source::Span;
use crate::spec::BuildRequest;
use crate::spec::{CopiedFile, ObjectKind, SwarmObject};
use wait::{RolloutCheck, ServiceCondition};

pub use down::{DownOptions, plan_down};
pub use images::{ImageOptions, plan_build, plan_images, plan_pull};
pub use lifecycle::{Lifecycle, plan_lifecycle};
pub use select::{selection, unknown_among, unknown_services};
pub use swarm::{SwarmSpecs, plan_swarm_down, plan_swarm_up, plan_swarm_wait};
pub use up::{UpOptions, plan_up, plan_wait};

/// Index of a step in [`Plan::steps`].
pub type StepId = usize;

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Things the user should know that change nothing (orphans left alone).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub cause: Cause,
    /// Steps that must be done before this one starts.
    pub after: Vec<StepId>,
    /// `Some(id)`: a fallback, run only if step `id` fails (after `after`),
    /// and dropped unseen when it succeeds: how a rollout that fails its
    /// check goes back (`failure_action: rollback`). Only fallbacks of the
    /// same trigger wait for a fallback.
    pub on_failure_of: Option<StepId>,
}

/// One call on one resource, with what it sends.
#[derive(Debug, Clone)]
pub enum Action {
    CreateNetwork {
        name: String,
        request: Box<NetworkCreateRequest>,
    },
    CreateVolume {
        name: String,
        request: Box<VolumeCreateRequest>,
    },
    /// A missing bind source, created as a directory as `docker run -v`
    /// does. The one step that is not an engine call: the engine would make
    /// it owned by root, or fail on a remote engine.
    CreateDirectory {
        service: String,
        path: PathBuf,
    },
    /// Create (not start) replica `number` of `service`, attached to its
    /// first network; the others are `Connect` steps after it.
    CreateContainer {
        service: String,
        #[allow(
            dead_code,
            reason = "carried for the step's readers; none reads it yet"
        )]
        number: u32,
        name: String,
        platform: Option<String>,
        request: Box<ContainerCreateBody>,
    },
    /// Rename a container: how a recreate parks the old one so that the new
    /// one can take its name.
    Rename {
        service: String,
        id: String,
        from: String,
        to: String,
    },
    Start {
        service: String,
        name: String,
    },
    /// Copy a secret or config into a created container, before it starts
    /// (the engine's archive API). Its content is never printed.
    CopyFile {
        service: String,
        name: String,
        file: Box<CopiedFile>,
    },
    /// `docker update`: same container, not restarted.
    Update {
        service: String,
        name: String,
        id: String,
        /// What changed, for people; `request` may also carry fields the
        /// engine derives (swap follows memory).
        changes: Vec<Change>,
        request: Box<ContainerUpdateBody>,
    },
    Connect {
        service: String,
        name: String,
        network: String,
        endpoint: Box<EndpointSettings>,
    },
    Disconnect {
        service: String,
        name: String,
        network: String,
    },
    /// Wait until a container satisfies a condition: no engine change, a
    /// short poll of one container.
    Wait {
        service: String,
        name: String,
        condition: Condition,
        /// `required: false`: a failure is a warning, not an error.
        required: bool,
    },
    /// Wait until the new containers of one batch of a rollout pass its
    /// check (healthy, or running for `monitor`); no engine change. Its
    /// failure is what a rollout's fallbacks run on.
    WaitRollout {
        service: String,
        names: Vec<String>,
        check: RolloutCheck,
    },
    /// Pause between two batches of a rollout (`update_config.delay`).
    Delay {
        service: String,
        duration: std::time::Duration,
    },
    Stop {
        service: Option<String>,
        name: String,
        id: String,
        /// Seconds before the engine kills it; None: its own grace period.
        timeout: Option<i64>,
    },
    /// Import berth's edge image from its own executable (`docker import`; no
    /// registry).
    ImportEdgeImage {
        reference: String,
    },
    /// Write which name a service's edge forwards to (its state file,
    /// through the archive API).
    SetEdgeTarget {
        service: String,
        name: String,
        target: String,
    },
    /// Point a service's edge at one container (by the id the engine gives
    /// `container`, known only once it exists), and wait until the edge
    /// says it sends new connections there: how a rollout takes the old
    /// container out of the edge's way before it is drained.
    PointEdgeAt {
        service: String,
        edge: String,
        container: String,
    },
    /// Stop a replaced container once its successor has taken its traffic:
    /// it gets its own grace period (`stop_grace_period`) to finish what it
    /// has in flight.
    Drain {
        service: String,
        name: String,
        id: String,
    },
    Restart {
        service: Option<String>,
        name: String,
        id: String,
        timeout: Option<i64>,
    },
    Remove {
        service: Option<String>,
        name: String,
        id: String,
    },
    RemoveNetwork {
        name: String,
    },
    RemoveVolume {
        name: String,
    },
    /// Build a service's image from its context directory.
    Build {
        service: String,
        request: Box<BuildStep>,
    },
    /// Pull an image; `optional` (`--ignore-pull-failures`): a failure is a
    /// warning.
    Pull {
        image: String,
        optional: bool,
    },
    /// Create a Swarm service.
    CreateService {
        service: String,
        name: String,
        request: Box<ServiceSpec>,
    },
    /// Update a Swarm service from the version observed: a rolling update
    /// by its `update_config`.
    UpdateService {
        service: String,
        name: String,
        id: String,
        version: u64,
        request: Box<ServiceSpec>,
    },
    RemoveService {
        service: Option<String>,
        name: String,
        id: String,
    },
    /// Wait until a service has converged: the tasks of its current spec
    /// running (or, for a job, completed). No engine change. The condition
    /// says whether this run sent it an update that replaces its tasks, so
    /// that tasks of the old spec still running do not count until the swarm
    /// says the update is done (see [`wait`]).
    WaitService {
        service: String,
        name: String,
        condition: ServiceCondition,
    },
    /// Wait until a removed service's tasks are over and their containers on
    /// this engine gone, so that its networks and volumes can be removed.
    /// The only calls that change something remove the stopped containers
    /// the swarm leaves behind ([`wait::service_containers_gone`]): no
    /// change of the stack's.
    WaitServiceGone {
        name: String,
        /// The removed service's id: the engine no longer resolves its
        /// name (nor its id, in a task filter) once the service is gone,
        /// while its tasks are still shutting down.
        id: String,
    },
    /// Create a Swarm secret or config, named by its content.
    CreateObject {
        object: Box<SwarmObject>,
    },
    /// Remove a Swarm secret or config that no service uses any more.
    RemoveObject {
        kind: ObjectKind,
        name: String,
        id: String,
    },
    /// Wait until a removed swarm network is gone from this engine too (the
    /// swarm removes it asynchronously), so that an `up` right after can
    /// create it again. No engine change.
    WaitNetworkGone {
        name: String,
    },
}

/// What a build sends: the context directory is packed at apply time, the
/// rest is fixed here.
#[derive(Debug, Clone)]
pub struct BuildStep {
    pub context: PathBuf,
    /// The Dockerfile, when it is not a file inside the context.
    pub dockerfile: Option<images::Dockerfile>,
    pub request: BuildRequest,
}

/// Why a step is in the plan. One `Display` gives every cause's words.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// The resource does not exist.
    NotFound,
    /// The container must be replaced; every step of the replacement carries
    /// this, with the reason.
    Recreate(Replace),
    /// Limits or the restart policy changed: updated in place.
    Limits(Vec<Change>),
    NetworkAdded,
    NetworkRemoved,
    AliasesChanged,
    /// A container is started because it was just created...
    Created,
    /// ...or replaced...
    Recreated,
    /// ...or found stopped (or created and never started).
    Stopped,
    /// A dependency must meet its condition before `service` starts.
    DependsOn(String),
    /// A bind source of the service does not exist.
    BindSourceMissing,
    ScaledDown,
    /// Left over from an interrupted recreate, beside the one kept.
    LeftOver,
    /// A container of a service no longer in the stack file.
    Orphan(String),
    /// `berth down`.
    Down,
    /// `berth down --volumes`.
    Volumes,
    /// `up --wait`.
    WaitFlag,
    /// `berth start`, `stop` or `restart` asked for it.
    Asked(&'static str),
    /// Why an image is built or pulled.
    Image(ImageReason),
    /// A Swarm service's spec changed: what changed, in words.
    ServiceChanged(Vec<String>),
    /// A swarm network, secret or config of the project that no service
    /// uses any more (a secret's old version, or one gone from the file).
    Unused,
    /// A rollout starts the new container while the old one (parked under
    /// `beside`) still serves (`update_config.order: start-first`).
    StartFirst {
        beside: String,
    },
    /// A rollout's check of its new containers.
    Rollout,
    /// The new container passed its check: it takes over the service's
    /// aliases (leaving and joining each network again, as the engine
    /// cannot change an endpoint's aliases).
    Admit,
    /// The old container of a rollout, once its successor serves.
    Replaced,
    /// `update_config.delay` between two batches of a rollout.
    RolloutDelay,
    /// `failure_action: rollback`: the new containers of `service` failed
    /// their check, and the old ones come back.
    RollBack {
        service: String,
    },
    /// A network of the project whose settings the stack changed: it is
    /// removed and created again, its containers disconnected and
    /// connected again around that.
    NetworkChanged {
        network: String,
        /// `field old -> new`.
        changes: Vec<String>,
    },
}

/// Why a container is replaced.
#[derive(Debug, Clone, PartialEq)]
pub enum Replace {
    /// The recreate-relevant configuration changed; the keys when known.
    Config {
        keys: Vec<String>,
        image_changed: bool,
    },
    /// The tag now names another image.
    Image,
    ForceRecreate,
    /// Left under another name by an interrupted recreate.
    Parked(String),
    Dead,
    BeingRemoved,
    /// The engine keeps a task for it that it cannot start again (dockerd
    /// was restarted while starting it).
    StaleTask,
    /// A limit was removed, which `docker update` cannot do.
    LimitRemoved(Vec<Change>),
    /// Limits changed on an engine without `docker update` (podman 4.3).
    NoUpdate(Vec<Change>),
    /// Its published ports move to the service's edge (start-first), or
    /// back from it: a container's port bindings are fixed at its creation.
    Ports {
        to_edge: bool,
    },
    /// It joins the network namespace of (`network_mode: service:x`), or
    /// mounts the volumes of (`volumes_from`), a container that this plan
    /// replaces, or that was replaced since it was created: what it holds
    /// is the old container's.
    Shares {
        what: Shared,
        container: String,
        /// Replaced before this plan (the dependent still holds the old
        /// one), rather than by it.
        earlier: bool,
    },
}

/// What a container takes from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    NetworkNamespace,
    Volumes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageReason {
    Missing,
    /// `berth build` or `berth pull`.
    Asked,
    /// `up --build`.
    BuildFlag,
    /// `pull_policy: always`, or `berth pull`.
    PolicyAlways,
    /// `pull_policy: build`.
    PolicyBuild,
}

impl Action {
    /// True for steps that change something on the engine.
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Action::Wait { .. }
                | Action::WaitRollout { .. }
                | Action::Delay { .. }
                | Action::WaitService { .. }
                | Action::WaitServiceGone { .. }
                | Action::WaitNetworkGone { .. }
        )
    }

    /// The service a step acts for, when it acts for one.
    pub fn service(&self) -> Option<&str> {
        match self {
            Action::CreateDirectory { service, .. }
            | Action::CreateContainer { service, .. }
            | Action::Rename { service, .. }
            | Action::Start { service, .. }
            | Action::CopyFile { service, .. }
            | Action::Update { service, .. }
            | Action::Connect { service, .. }
            | Action::Disconnect { service, .. }
            | Action::Wait { service, .. }
            | Action::WaitRollout { service, .. }
            | Action::Delay { service, .. }
            | Action::Drain { service, .. }
            | Action::SetEdgeTarget { service, .. }
            | Action::PointEdgeAt { service, .. }
            | Action::Build { service, .. }
            | Action::CreateService { service, .. }
            | Action::UpdateService { service, .. }
            | Action::WaitService { service, .. } => Some(service),
            Action::Stop { service, .. }
            | Action::Restart { service, .. }
            | Action::Remove { service, .. }
            | Action::RemoveService { service, .. } => service.as_deref(),
            Action::CreateNetwork { .. }
            | Action::CreateVolume { .. }
            | Action::RemoveNetwork { .. }
            | Action::RemoveVolume { .. }
            | Action::Pull { .. }
            | Action::ImportEdgeImage { .. }
            | Action::CreateObject { .. }
            | Action::RemoveObject { .. }
            | Action::WaitServiceGone { .. }
            | Action::WaitNetworkGone { .. } => None,
        }
    }
}

impl Plan {
    /// True when applying the plan would change nothing on the engine.
    pub fn is_empty(&self) -> bool {
        !self.steps.iter().any(|s| s.action.mutates())
    }

    pub fn push(&mut self, action: Action, cause: Cause, after: Vec<StepId>) -> StepId {
        self.steps.push(Step {
            action,
            cause,
            after,
            on_failure_of: None,
        });
        self.steps.len() - 1
    }

    /// A step that runs only if step `trigger` fails, after `after`.
    pub fn push_fallback(
        &mut self,
        trigger: StepId,
        action: Action,
        cause: Cause,
        after: Vec<StepId>,
    ) -> StepId {
        self.steps.push(Step {
            action,
            cause,
            after,
            on_failure_of: Some(trigger),
        });
        self.steps.len() - 1
    }

    /// `other`'s steps after this plan's, each waiting for what it waited for
    /// and, when `barrier`, for every step of this plan.
    pub fn then(mut self, other: Plan, barrier: bool) -> Plan {
        let base = self.steps.len();
        let all: Vec<StepId> = (0..base).collect();
        for mut step in other.steps {
            for a in &mut step.after {
                *a += base;
            }
            if let Some(t) = &mut step.on_failure_of {
                *t += base;
            }
            if barrier {
                step.after.extend(&all);
            }
            self.steps.push(step);
        }
        self.warnings.extend(other.warnings);
        self
    }
}

/// Something in the way of a plan: the engine has a resource berth may not
/// take over, or lacks one the stack says is there. Nothing has changed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    /// What is wrong, naming the resource.
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// Where the resource is declared, when the stack declares it.
    pub span: Option<Span>,
}

impl PlanError {
    pub(crate) fn new(message: String, help: impl Into<String>, span: Option<Span>) -> PlanError {
        PlanError {
            message,
            help: help.into(),
            span,
        }
    }

    /// As a diagnostic, so that the CLI renders it like a load error, with the
    /// stack file's text when the span is known.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::error(self.message.clone()).help(self.help.clone());
        if let Some(span) = self.span {
            d = d.label(span, "declared here");
        }
        d
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  help: {}", self.message, self.help)
    }
}

impl std::error::Error for PlanError {}

impl From<crate::spec::SpecError> for PlanError {
    fn from(e: crate::spec::SpecError) -> PlanError {
        PlanError::new(e.message, e.help, e.span)
    }
}

#[cfg(test)]
mod tests;
