//! The plan: the smallest list of engine calls that makes the engine match the
//! stack, each with the reason it is needed.
//!
//! [`plan_up`] and [`plan_down`] are pure functions of the stack, the
//! observed state and the options; they never call the engine. Each step is
//! one engine action on one resource, with a cause ("not found",
//! "config changed: image", "cpus 0.5 -> 0.2") and the steps it must wait
//! for, so that `apply` can run independent steps in parallel. Its text form
//! is stable: it is what `berth plan` prints and what tests compare. A
//! converged stack plans nothing.

use std::fmt;

use crate::limits::{Change, Limits};
use crate::model::stack::Condition;

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
    pub cause: String,
    /// Steps that must be done before this one starts.
    pub after: Vec<StepId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CreateNetwork {
        key: String,
        name: String,
    },
    CreateVolume {
        key: String,
        name: String,
    },
    /// Create (not start) a container for replica `number` of `service`.
    CreateContainer {
        service: String,
        number: u32,
        name: String,
    },
    /// Replace a container whose configuration changed: create the new one
    /// under a temporary name, stop and remove the old one, rename the new
    /// one. Named volumes are kept; the new container is left created.
    Recreate {
        service: String,
        number: u32,
        name: String,
        old_id: String,
    },
    Start {
        service: String,
        name: String,
    },
    /// `docker update`: same container, not restarted.
    Update {
        service: String,
        name: String,
        id: String,
        limits: Box<Limits>,
        changes: Vec<Change>,
    },
    Connect {
        service: String,
        name: String,
        network: String,
        aliases: Vec<String>,
    },
    Disconnect {
        service: String,
        name: String,
        network: String,
    },
    /// Wait until a dependency satisfies a condition.
    Wait {
        service: String,
        name: String,
        condition: Condition,
        /// `required: false`: a failure is a warning, not an error.
        required: bool,
    },
    Stop {
        name: String,
        id: String,
    },
    Remove {
        name: String,
        id: String,
    },
    RemoveNetwork {
        name: String,
    },
    RemoveVolume {
        name: String,
    },
}

impl Action {
    /// True for steps that change something on the engine.
    pub fn mutates(&self) -> bool {
        !matches!(self, Action::Wait { .. })
    }

    /// The verb and object, as printed: `create network gb_devapp-net`.
    pub fn describe(&self) -> String {
        match self {
            Action::CreateNetwork { name, .. } => format!("create network {name}"),
            Action::CreateVolume { name, .. } => format!("create volume {name}"),
            Action::CreateContainer { name, .. } => format!("create container {name}"),
            Action::Recreate { name, .. } => format!("recreate {name}"),
            Action::Start { name, .. } => format!("start {name}"),
            Action::Update { name, .. } => format!("update {name} in place"),
            Action::Connect { name, network, .. } => format!("connect {name} to {network}"),
            Action::Disconnect { name, network, .. } => {
                format!("disconnect {name} from {network}")
            }
            Action::Wait {
                name, condition, ..
            } => format!(
                "wait for {name} to be {}",
                match condition {
                    Condition::ServiceStarted => "started",
                    Condition::ServiceHealthy => "healthy",
                    Condition::ServiceCompletedSuccessfully => "completed successfully",
                }
            ),
            Action::Stop { name, .. } => format!("stop {name}"),
            Action::Remove { name, .. } => format!("remove {name}"),
            Action::RemoveNetwork { name } => format!("remove network {name}"),
            Action::RemoveVolume { name } => format!("remove volume {name}"),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action.describe(), self.cause)
    }
}

impl Plan {
    /// True when applying the plan would change nothing on the engine.
    pub fn is_empty(&self) -> bool {
        !self.steps.iter().any(|s| s.action.mutates())
    }

    pub fn push(&mut self, action: Action, cause: impl Into<String>, after: Vec<StepId>) -> StepId {
        self.steps.push(Step {
            action,
            cause: cause.into(),
            after,
        });
        self.steps.len() - 1
    }
}

/// The stable text form: one line per mutating step, or `no changes`.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        for step in self.steps.iter().filter(|s| s.action.mutates()) {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// What `up` was asked to do beyond converging.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// Only these services and what they depend on; empty means all.
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub remove_orphans: bool,
}
