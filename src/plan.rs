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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use indexmap::IndexSet;

use crate::diag::Diagnostic;
use crate::graph::Graph;
use crate::identity;
use crate::limits::{Change, Limits};
use crate::model::stack::{Condition, EdgeKind, MountType, Service, Stack};
use crate::observe::{ContainerState, Observed, Status};
use crate::source::Span;

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
    /// `docker update`: same container, not restarted. `limits` is the whole
    /// set to apply; it may differ from `changes` in fields the engine derives
    /// (swap follows memory when the stack sets no `memswap_limit`).
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
    fn new(message: String, help: impl Into<String>, span: Option<Span>) -> PlanError {
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

/// The aliases a service's containers carry on one of its networks: the
/// service name, then the aliases the stack gives. Creating a container and
/// connecting one must use the same list, or every `up` would reconnect.
pub fn aliases(service: &Service, network_key: &str) -> Vec<String> {
    let mut out = vec![service.name.clone()];
    if let Some(Some(n)) = service.networks.get(network_key) {
        for a in &n.aliases {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
    }
    out
}

/// The image reference a service's containers run: `image`, else the name
/// compose gives a built image (`<project>-<service>`).
pub fn image_ref(stack: &Stack, service: &Service) -> String {
    match &service.image {
        Some(i) => i.clone(),
        None => format!("{}-{}", stack.name, service.name),
    }
}

fn is_running(status: Status) -> bool {
    matches!(
        status,
        Status::Running | Status::Restarting | Status::Paused
    )
}

/// The named volumes (keys in `volumes:`) a service mounts.
fn volume_keys<'a>(stack: &Stack, service: &'a Service) -> Vec<&'a str> {
    service
        .volumes
        .iter()
        .filter(|v| v.kind == MountType::Volume)
        .filter_map(|v| v.source.as_deref())
        .filter(|s| stack.volumes.contains_key(*s))
        .collect()
}

/// An error for each of `names` that is not a service of the stack.
pub fn unknown_services(stack: &Stack, names: &[String]) -> Vec<PlanError> {
    names
        .iter()
        .filter(|n| !stack.services.contains_key(n.as_str()))
        .map(|n| {
            PlanError::new(
                format!("no such service: {n}"),
                format!(
                    "the stack's services are: {}",
                    stack
                        .services
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            )
        })
        .collect()
}

/// The services to bring up: the named ones and everything they depend on,
/// in start order (dependencies first, then file order).
pub fn selection(stack: &Stack, names: &[String]) -> Result<Vec<String>, Vec<PlanError>> {
    let unknown = unknown_services(stack, names);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut wanted: IndexSet<&str> = IndexSet::new();
    let mut todo: Vec<&str> = if names.is_empty() {
        stack.services.keys().map(String::as_str).collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    while let Some(n) = todo.pop() {
        if !wanted.insert(n) {
            continue;
        }
        if let Some(svc) = stack.services.get(n) {
            todo.extend(svc.edges.iter().map(|e| e.to.as_str()));
            todo.extend(svc.depends_on.keys().map(String::as_str));
        }
    }
    Ok(Graph::new(stack)
        .waves()
        .into_iter()
        .flatten()
        .filter(|n| wanted.contains(n.as_str()))
        .collect())
}

/// What the engine would report for `want` on a container that has `have`:
/// the daemon fills in some limits the stack leaves unset, and those must not
/// look like changes.
fn engine_view(want: &Limits, have: &Limits) -> Limits {
    let mut w = want.clone();
    // The daemon sets swap to twice the memory when only memory is given (or
    // to -1 without swap accounting); keep whatever it chose while memory
    // stays, and follow a new memory the way a new container would.
    if w.memory_swap == 0 && w.memory > 0 {
        w.memory_swap = if have.memory == w.memory || have.memory_swap == -1 {
            have.memory_swap
        } else {
            2 * w.memory
        };
    }
    // A kernel without a proportional I/O scheduler (cgroup v1 without CFQ
    // or BFQ, as on these machines) accepts a blkio weight and keeps none;
    // asking again on every `up` would never converge.
    if have.blkio_weight == 0 {
        w.blkio_weight = 0;
    }
    // 0 and -1 both mean "no pids limit".
    if w.pids_limit <= 0 && have.pids_limit <= 0 {
        w.pids_limit = have.pids_limit;
    } else if w.pids_limit <= 0 {
        w.pids_limit = -1;
    }
    w
}

/// The steps already planned for one service, for its dependents to wait on.
#[derive(Default)]
struct ServiceSteps {
    creates: Vec<StepId>,
    starts: Vec<StepId>,
}

struct Up<'a> {
    stack: &'a Stack,
    observed: &'a Observed,
    opts: &'a UpOptions,
    plan: Plan,
    errors: Vec<PlanError>,
    networks: HashMap<&'a str, StepId>,
    volumes: HashMap<&'a str, StepId>,
    services: HashMap<&'a str, ServiceSteps>,
    /// Wait steps by (container name, condition), shared by all dependents.
    waits: HashMap<(String, &'static str), StepId>,
    /// Services some dependent waits on to complete successfully: an exited(0)
    /// container of theirs is done, not stopped.
    one_shots: BTreeSet<&'a str>,
}

/// Plan `up`: what to create, recreate, update, connect and start so that the
/// engine matches the stack. Errors when the engine has something berth must
/// not take over, or lacks something the stack says exists.
pub fn plan_up(
    stack: &Stack,
    observed: &Observed,
    opts: &UpOptions,
) -> Result<Plan, Vec<PlanError>> {
    let order = selection(stack, &opts.services)?;
    let mut up = Up {
        stack,
        observed,
        opts,
        plan: Plan::default(),
        errors: Vec::new(),
        networks: HashMap::new(),
        volumes: HashMap::new(),
        services: HashMap::new(),
        waits: HashMap::new(),
        one_shots: BTreeSet::new(),
    };
    for name in &order {
        for (dep, d) in &stack.services[name.as_str()].depends_on {
            if d.condition == Condition::ServiceCompletedSuccessfully {
                up.one_shots.insert(dep.as_str());
            }
        }
    }
    up.networks(&order);
    up.volumes(&order);
    for name in &order {
        up.service(&stack.services[name.as_str()]);
    }
    up.orphans();
    if up.errors.is_empty() {
        Ok(up.plan)
    } else {
        Err(up.errors)
    }
}

/// An `external: true` network or volume that the engine does not have.
fn missing_external(kind: &str, name: &str, span: Option<Span>) -> PlanError {
    PlanError::new(
        format!("external {kind} {name} does not exist"),
        format!(
            "create it (`docker {kind} create {name}`), or drop `external: true` to let berth create it"
        ),
        span,
    )
}

impl<'a> Up<'a> {
    fn project_containers(&self) -> impl Iterator<Item = &'a ContainerState> + use<'a> {
        let project = self.stack.name.as_str();
        self.observed
            .containers
            .iter()
            .filter(move |c| c.project.as_deref() == Some(project))
    }

    fn networks(&mut self, order: &[String]) {
        let stack = self.stack;
        let used: BTreeSet<&str> = order
            .iter()
            .flat_map(|s| stack.services[s.as_str()].networks.keys())
            .map(String::as_str)
            .collect();
        for (key, net) in &stack.networks {
            if !used.contains(key.as_str()) {
                continue;
            }
            let found = self.observed.network_named(&net.name);
            let span = Some(net.span).filter(|s| *s != Span::default());
            match found {
                None if net.external => self
                    .errors
                    .push(missing_external("network", &net.name, span)),
                None => {
                    let id = self.plan.push(
                        Action::CreateNetwork {
                            key: key.clone(),
                            name: net.name.clone(),
                        },
                        "not found",
                        vec![],
                    );
                    self.networks.insert(key.as_str(), id);
                }
                Some(_) if net.external => {}
                Some(n) => {
                    if let Some(e) = self.foreign("network", &n.name, n.project.as_deref(), span) {
                        self.errors.push(e);
                    }
                }
            }
        }
    }

    fn volumes(&mut self, order: &[String]) {
        let stack = self.stack;
        let used: BTreeSet<&str> = order
            .iter()
            .flat_map(|s| volume_keys(stack, &stack.services[s.as_str()]))
            .collect();
        for (key, vol) in &stack.volumes {
            if !used.contains(key.as_str()) {
                continue;
            }
            let span = Some(vol.span).filter(|s| *s != Span::default());
            match self.observed.volume_named(&vol.name) {
                None if vol.external => self
                    .errors
                    .push(missing_external("volume", &vol.name, span)),
                None => {
                    let id = self.plan.push(
                        Action::CreateVolume {
                            key: key.clone(),
                            name: vol.name.clone(),
                        },
                        "not found",
                        vec![],
                    );
                    self.volumes.insert(key.as_str(), id);
                }
                Some(_) if vol.external => {}
                Some(v) => {
                    if let Some(e) = self.foreign("volume", &v.name, v.project.as_deref(), span) {
                        self.errors.push(e);
                        continue;
                    }
                    let driver = vol.driver.as_deref().unwrap_or("local");
                    let options: BTreeMap<String, String> = vol
                        .driver_opts
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if v.driver != driver || v.options != options {
                        self.errors.push(PlanError::new(
                            format!(
                                "volume {} exists with driver {} and options {}, but the stack asks for driver {driver} and options {}",
                                v.name,
                                v.driver,
                                show_options(&v.options),
                                show_options(&options)
                            ),
                            "berth never deletes data implicitly; run `berth down --volumes` to recreate it, or change the stack back",
                            span,
                        ));
                    }
                }
            }
        }
    }

    /// The error for a same-named network or volume that is not this project's.
    fn foreign(
        &self,
        kind: &str,
        name: &str,
        owner: Option<&str>,
        span: Option<Span>,
    ) -> Option<PlanError> {
        let project = &self.stack.name;
        let help = format!(
            "declare it `external: true` to use it, or remove it (`docker {kind} rm {name}`)"
        );
        match owner {
            Some(p) if p == project => None,
            Some(p) => Some(PlanError::new(
                format!("{kind} {name} belongs to berth project {p}, not to {project}"),
                help,
                span,
            )),
            None => Some(PlanError::new(
                format!("{kind} {name} exists and is not managed by berth (project {project})"),
                help,
                span,
            )),
        }
    }

    fn service(&mut self, svc: &'a Service) {
        let stack = self.stack;
        let wanted = identity::replicas(svc);
        let mine: Vec<&ContainerState> = {
            let mut v: Vec<&ContainerState> = self
                .project_containers()
                .filter(|c| c.service.as_deref() == Some(svc.name.as_str()))
                .collect();
            v.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
            v
        };
        // What this service's creates wait for: its networks and volumes, and
        // the containers whose volumes or network namespace it takes.
        let mut create_after: Vec<StepId> = Vec::new();
        for key in svc.networks.keys() {
            create_after.extend(self.networks.get(key.as_str()));
        }
        for key in volume_keys(stack, svc) {
            create_after.extend(self.volumes.get(key));
        }
        for e in &svc.edges {
            if matches!(e.kind, EdgeKind::VolumesFrom | EdgeKind::NetworkMode)
                && let Some(s) = self.services.get(e.to.as_str())
            {
                create_after.extend(&s.creates);
            }
        }
        // What its starts wait for: each dependency's starts, and a Wait per
        // dependency container whose condition is more than "started". The
        // waits are made only if something here is started.
        let mut start_after: Vec<StepId> = Vec::new();
        for dep in svc.depends_on.keys() {
            if let Some(s) = self.services.get(dep.as_str()) {
                start_after.extend(&s.starts);
            }
        }
        let mut steps = ServiceSteps::default();
        for number in 1..=wanted {
            let name = identity::container_name(stack, svc, number);
            let candidates: Vec<&ContainerState> = mine
                .iter()
                .copied()
                .filter(|c| c.number == Some(number))
                .collect();
            // An interrupted recreate leaves two containers for one replica:
            // keep the one with the expected name, else one with the current
            // config, else the first.
            let want_hash = identity::config_hash(svc);
            let keep = candidates
                .iter()
                .position(|c| c.name == name)
                .or_else(|| {
                    candidates
                        .iter()
                        .position(|c| c.config_hash.as_deref() == Some(want_hash.as_str()))
                })
                .unwrap_or(0);
            let mut before: Vec<StepId> = Vec::new();
            for (i, c) in candidates.iter().enumerate() {
                if i != keep {
                    before.push(self.take_away(c, "left over from an interrupted recreate"));
                }
            }
            let after: Vec<StepId> = create_after.iter().chain(&before).copied().collect();
            self.replica(
                svc,
                number,
                &name,
                candidates.get(keep).copied(),
                after,
                &start_after,
                &mut steps,
            );
        }
        for c in mine.iter().filter(|c| c.number.is_none_or(|n| n > wanted)) {
            self.take_away(c, "scaled down");
        }
        self.services.insert(svc.name.as_str(), steps);
    }

    /// Stop (if running) and remove one container; the id of the remove.
    fn take_away(&mut self, c: &ContainerState, cause: &str) -> StepId {
        let mut after = Vec::new();
        if is_running(c.status) {
            after.push(self.plan.push(
                Action::Stop {
                    name: c.name.clone(),
                    id: c.id.clone(),
                },
                cause,
                vec![],
            ));
        }
        self.plan.push(
            Action::Remove {
                name: c.name.clone(),
                id: c.id.clone(),
            },
            cause,
            after,
        )
    }

    /// Why a container must be replaced, if it must.
    fn recreate_cause(
        &self,
        svc: &Service,
        name: &str,
        c: &ContainerState,
        limits: &[Change],
    ) -> Option<String> {
        if matches!(c.status, Status::Dead | Status::Removing) {
            return Some(format!(
                "container is {}",
                if c.status == Status::Dead {
                    "dead"
                } else {
                    "being removed"
                }
            ));
        }
        if self.opts.no_recreate {
            return None;
        }
        let want = identity::recreate_config(svc);
        let image_changed = match self.observed.images.get(&image_ref(self.stack, svc)) {
            Some(Some(id)) => *id != c.image_id,
            _ => false,
        };
        if c.config_hash.as_deref() != Some(identity::config_hash(svc).as_str()) {
            let keys = c
                .config
                .as_ref()
                .map(|old| identity::changed_keys(old, &want))
                .unwrap_or_default();
            let mut cause = if keys.is_empty() {
                "config changed".to_string()
            } else {
                format!("config changed: {}", keys.join(", "))
            };
            if image_changed && !keys.iter().any(|k| k == "image") {
                cause.push_str("; image changed");
            }
            return Some(cause);
        }
        if image_changed {
            return Some("image changed".into());
        }
        if self.opts.force_recreate {
            return Some("--force-recreate".into());
        }
        if c.name != name {
            return Some(format!(
                "left over from an interrupted recreate (named {})",
                c.name
            ));
        }
        let removed: Vec<String> = limits
            .iter()
            .filter(|c| c.to == "unset")
            .map(|c| c.to_string())
            .collect();
        if !removed.is_empty() {
            return Some(format!(
                "{}: a limit cannot be removed in place",
                removed.join(", ")
            ));
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn replica(
        &mut self,
        svc: &'a Service,
        number: u32,
        name: &str,
        existing: Option<&ContainerState>,
        create_after: Vec<StepId>,
        start_after: &[StepId],
        steps: &mut ServiceSteps,
    ) {
        let Some(c) = existing else {
            let id = self.plan.push(
                Action::CreateContainer {
                    service: svc.name.clone(),
                    number,
                    name: name.to_string(),
                },
                "not found",
                create_after,
            );
            steps.creates.push(id);
            self.start(svc, name, "created", vec![id], start_after, steps);
            return;
        };
        let want_limits = Limits::of(svc);
        let limits = engine_view(&want_limits, &c.limits);
        let changes = c.limits.changes(&limits);
        if let Some(cause) = self.recreate_cause(svc, name, c, &changes) {
            let id = self.plan.push(
                Action::Recreate {
                    service: svc.name.clone(),
                    number,
                    name: name.to_string(),
                    old_id: c.id.clone(),
                },
                cause,
                create_after,
            );
            steps.creates.push(id);
            self.start(svc, name, "recreated", vec![id], start_after, steps);
            return;
        }
        let mut own: Vec<StepId> = Vec::new();
        // Swap the stack does not set follows memory; saying so would only
        // repeat the memory change.
        let shown: Vec<Change> = changes
            .iter()
            .filter(|ch| !(ch.field == "memswap" && want_limits.memory_swap == 0))
            .cloned()
            .collect();
        if !changes.is_empty() && !changes.iter().any(|ch| ch.to == "unset") {
            let cause = if shown.is_empty() { &changes } else { &shown };
            let text: Vec<String> = cause.iter().map(Change::to_string).collect();
            own.push(self.plan.push(
                Action::Update {
                    service: svc.name.clone(),
                    name: c.name.clone(),
                    id: c.id.clone(),
                    limits: Box::new(limits),
                    changes: shown,
                },
                text.join(", "),
                vec![],
            ));
        }
        if svc.network_mode.is_none() {
            own.extend(self.reconnect(svc, c));
        }
        let done = c.status == Status::Exited
            && c.exit_code == Some(0)
            && self.one_shots.contains(svc.name.as_str());
        if !is_running(c.status) && !done {
            let cause = if c.status == Status::Created {
                "created"
            } else {
                "stopped"
            };
            self.start(svc, name, cause, own, start_after, steps);
        }
    }

    /// Connect and disconnect one container so that its networks and aliases
    /// are the service's.
    fn reconnect(&mut self, svc: &Service, c: &ContainerState) -> Vec<StepId> {
        let stack = self.stack;
        let short_id = c.id.get(..12).unwrap_or(&c.id);
        // The engine adds the short id (and, in newer versions, the name) as
        // aliases of its own; they are not the stack's business.
        let ours =
            |a: &&String| a.as_str() != short_id && a.as_str() != c.name && a.as_str() != c.id;
        let mut out = Vec::new();
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for key in svc.networks.keys() {
            let Some(net) = stack.networks.get(key) else {
                continue;
            };
            wanted.insert(net.name.as_str());
            let want = aliases(svc, key);
            let connect = |up: &mut Up, cause: &str, mut after: Vec<StepId>| {
                after.extend(up.networks.get(key.as_str()));
                up.plan.push(
                    Action::Connect {
                        service: svc.name.clone(),
                        name: c.name.clone(),
                        network: net.name.clone(),
                        aliases: want.clone(),
                    },
                    cause,
                    after,
                )
            };
            match c.networks.get(&net.name) {
                None => out.push(connect(self, "network added", vec![])),
                Some(have) => {
                    let have: BTreeSet<&String> = have.iter().filter(ours).collect();
                    let wanted_aliases: BTreeSet<&String> = want.iter().filter(ours).collect();
                    if have != wanted_aliases {
                        // The engine cannot change an endpoint's aliases:
                        // leave the network and join it again.
                        let d = self.plan.push(
                            Action::Disconnect {
                                service: svc.name.clone(),
                                name: c.name.clone(),
                                network: net.name.clone(),
                            },
                            "aliases changed",
                            vec![],
                        );
                        out.push(connect(self, "aliases changed", vec![d]));
                    }
                }
            }
        }
        for network in c.networks.keys() {
            if !wanted.contains(network.as_str()) {
                out.push(self.plan.push(
                    Action::Disconnect {
                        service: svc.name.clone(),
                        name: c.name.clone(),
                        network: network.clone(),
                    },
                    "network removed",
                    vec![],
                ));
            }
        }
        out
    }

    /// Start one container after `own` steps and its dependencies.
    fn start(
        &mut self,
        svc: &'a Service,
        name: &str,
        cause: &str,
        mut after: Vec<StepId>,
        start_after: &[StepId],
        steps: &mut ServiceSteps,
    ) {
        after.extend(start_after);
        for (dep, d) in &svc.depends_on {
            if d.condition == Condition::ServiceStarted {
                continue;
            }
            let Some(dep_svc) = self.stack.services.get(dep) else {
                continue;
            };
            for number in 1..=identity::replicas(dep_svc) {
                let dep_name = identity::container_name(self.stack, dep_svc, number);
                let key = (dep_name.clone(), d.condition.as_str());
                let id = match self.waits.get(&key) {
                    Some(&id) => id,
                    None => {
                        let dep_starts = self
                            .services
                            .get(dep.as_str())
                            .map(|s| s.starts.clone())
                            .unwrap_or_default();
                        let id = self.plan.push(
                            Action::Wait {
                                service: dep.clone(),
                                name: dep_name,
                                condition: d.condition,
                                required: d.required,
                            },
                            format!("{} depends on it", svc.name),
                            dep_starts,
                        );
                        self.waits.insert(key, id);
                        id
                    }
                };
                after.push(id);
            }
        }
        after.sort_unstable();
        after.dedup();
        let id = self.plan.push(
            Action::Start {
                service: svc.name.clone(),
                name: name.to_string(),
            },
            cause,
            after,
        );
        steps.starts.push(id);
    }

    fn orphans(&mut self) {
        let mut by_service: BTreeMap<String, Vec<&ContainerState>> = BTreeMap::new();
        for c in self.project_containers() {
            let service = c.service.clone().unwrap_or_else(|| "(unlabelled)".into());
            if !self.stack.services.contains_key(&service) {
                by_service.entry(service).or_default().push(c);
            }
        }
        for (service, mut containers) in by_service {
            if self.opts.remove_orphans {
                containers.sort_by(|a, b| a.name.cmp(&b.name));
                let cause = format!("orphan: service {service} is no longer in the stack file");
                for c in containers {
                    self.take_away(c, &cause);
                }
            } else {
                self.plan.warnings.push(format!(
                    "service {service} is no longer in the stack file: {} container(s) left running; remove with --remove-orphans",
                    containers.len()
                ));
            }
        }
    }
}

fn show_options(o: &BTreeMap<String, String>) -> String {
    if o.is_empty() {
        return "{}".into();
    }
    let items: Vec<String> = o.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}

/// Plan `down`: stop the project's containers, dependents first, remove them,
/// then its networks, and its volumes only when asked. Without a stack every
/// container with the project's label goes; with one, containers of services
/// no longer in it stay unless `remove_orphans`.
pub fn plan_down(
    project: &str,
    observed: &Observed,
    stack: Option<&Stack>,
    opts: &DownOptions,
) -> Plan {
    let mut plan = Plan::default();
    let mut containers: Vec<&ContainerState> = observed
        .containers
        .iter()
        .filter(|c| c.project.as_deref() == Some(project))
        .collect();
    containers
        .sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));

    // Orphans are left alone unless asked, with a word about them.
    let in_stack = |c: &ContainerState| match (stack, &c.service) {
        (None, _) => true,
        (Some(s), Some(svc)) => s.services.contains_key(svc),
        (Some(_), None) => false,
    };
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    containers.retain(|c| {
        let keep = in_stack(c) || opts.remove_orphans;
        if !keep {
            *kept
                .entry(c.service.clone().unwrap_or_else(|| "(unlabelled)".into()))
                .or_default() += 1;
        }
        keep
    });
    for (service, n) in &kept {
        plan.warnings.push(format!(
            "service {service} is no longer in the stack file: {n} container(s) left running; remove with --remove-orphans"
        ));
    }

    // Stop dependents before what they depend on: walk services from the
    // last to start to the first. A service with nothing to stop passes its
    // dependents' stops on to its own dependencies.
    let order: Vec<String> = stack.map_or_else(Vec::new, |s| {
        let mut v: Vec<String> = Graph::new(s).waves().into_iter().flatten().collect();
        v.reverse();
        v
    });
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    if let Some(s) = stack {
        for (name, svc) in &s.services {
            for dep in svc.depends_on.keys() {
                dependents
                    .entry(dep.as_str())
                    .or_default()
                    .push(name.as_str());
            }
        }
    }
    // Services whose stops must be done first, by service: its own stops if
    // it has any, else what its dependents wait behind.
    let mut blocking: HashMap<&str, Vec<StepId>> = HashMap::new();
    let mut stops: HashMap<&str, StepId> = HashMap::new();
    let cause = |c: &ContainerState| {
        if in_stack(c) {
            "down".to_string()
        } else {
            format!(
                "orphan: service {} is no longer in the stack file",
                c.service.as_deref().unwrap_or("(unlabelled)")
            )
        }
    };
    for service in &order {
        let mut after: Vec<StepId> = dependents
            .get(service.as_str())
            .into_iter()
            .flatten()
            .flat_map(|d| blocking.get(d).cloned().unwrap_or_default())
            .collect();
        after.sort_unstable();
        after.dedup();
        let mut own = Vec::new();
        for c in containers
            .iter()
            .filter(|c| c.service.as_deref() == Some(service.as_str()))
        {
            if is_running(c.status) {
                let id = plan.push(
                    Action::Stop {
                        name: c.name.clone(),
                        id: c.id.clone(),
                    },
                    cause(c),
                    after.clone(),
                );
                stops.insert(c.id.as_str(), id);
                own.push(id);
            }
        }
        blocking.insert(service.as_str(), if own.is_empty() { after } else { own });
    }
    // Containers of services the stack does not know stop in parallel.
    for c in &containers {
        let known = c
            .service
            .as_deref()
            .is_some_and(|s| order.iter().any(|o| o == s));
        if !known && is_running(c.status) {
            let id = plan.push(
                Action::Stop {
                    name: c.name.clone(),
                    id: c.id.clone(),
                },
                cause(c),
                vec![],
            );
            stops.insert(c.id.as_str(), id);
        }
    }
    let mut removes = Vec::new();
    for c in &containers {
        removes.push(plan.push(
            Action::Remove {
                name: c.name.clone(),
                id: c.id.clone(),
            },
            cause(c),
            stops.get(c.id.as_str()).copied().into_iter().collect(),
        ));
    }

    let removed: BTreeSet<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let mut networks: Vec<_> = observed
        .networks
        .iter()
        .filter(|n| n.project.as_deref() == Some(project))
        .collect();
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    for n in networks {
        let others: Vec<&str> = n
            .containers
            .iter()
            .map(String::as_str)
            .filter(|c| !removed.contains(c))
            .collect();
        if others.is_empty() {
            plan.push(
                Action::RemoveNetwork {
                    name: n.name.clone(),
                },
                "down",
                removes.clone(),
            );
        } else {
            plan.warnings.push(format!(
                "network {} is still used by {}, not part of this stack: not removed; disconnect {} (`docker network disconnect {} CONTAINER`) and run `berth down` again",
                n.name,
                others.join(", "),
                if others.len() == 1 { "it" } else { "them" },
                n.name
            ));
        }
    }
    if opts.volumes {
        let mut volumes: Vec<_> = observed
            .volumes
            .iter()
            .filter(|v| v.project.as_deref() == Some(project))
            .collect();
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        for v in volumes {
            plan.push(
                Action::RemoveVolume {
                    name: v.name.clone(),
                },
                "--volumes",
                removes.clone(),
            );
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{Options, load};
    use crate::observe::{NetworkState, VolumeState};

    fn stack(yaml: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, yaml).unwrap();
        let opts = Options {
            files: vec![file],
            cwd: dir.path().to_path_buf(),
            ..Options::default()
        };
        match load(&opts) {
            Ok(l) => l.stack,
            Err(f) => panic!("{:?}", f.diagnostics),
        }
    }

    /// The 3-tier lab: frontend -> backend -> mongodb (healthy).
    const THREE_TIER: &str = r#"
name: gb
services:
  frontend:
    image: gb/frontend
    ports: ["8080:80"]
    depends_on: [backend]
    networks: [devapp-net]
  backend:
    image: gb/backend
    cpus: 0.5
    mem_limit: 200m
    depends_on:
      mongodb: {condition: service_healthy}
    networks: [devapp-net]
  mongodb:
    image: gb/mongo
    volumes: [mongo-data:/data/db]
    networks: [devapp-net]
    healthcheck:
      test: ["CMD", "true"]
networks:
  devapp-net: {}
volumes:
  mongo-data: {}
"#;

    fn image_id(image: &str) -> String {
        format!("sha256:{image}")
    }

    /// A container just as `up` would have left it for this stack: running,
    /// labelled, with the limits and aliases the engine reports.
    fn container(stack: &Stack, service: &str, number: u32) -> ContainerState {
        let svc = &stack.services[service];
        let name = identity::container_name(stack, svc, number);
        let id = format!("{:0<64}", name.replace(['-', '_'], ""));
        let mut limits = Limits::of(svc);
        if limits.memory > 0 && limits.memory_swap == 0 {
            limits.memory_swap = 2 * limits.memory;
        }
        let networks = svc
            .networks
            .keys()
            .map(|k| {
                let mut a = aliases(svc, k);
                a.push(id[..12].to_string());
                (stack.networks[k].name.clone(), a)
            })
            .collect();
        ContainerState {
            id,
            name,
            project: Some(stack.name.clone()),
            service: Some(service.into()),
            number: Some(number),
            config_hash: Some(identity::config_hash(svc)),
            config: Some(identity::recreate_config(svc)),
            status: Status::Running,
            health: None,
            exit_code: None,
            image_id: image_id(&image_ref(stack, svc)),
            limits,
            networks,
        }
    }

    /// What the engine has after a successful `up` of `stack`.
    fn converged(stack: &Stack) -> Observed {
        let mut o = Observed::default();
        for (key, n) in &stack.networks {
            o.networks.push(NetworkState {
                id: format!("net-{key}"),
                name: n.name.clone(),
                project: (!n.external).then(|| stack.name.clone()),
                key: Some(key.clone()),
                driver: "bridge".into(),
                internal: false,
                containers: Vec::new(),
            });
        }
        for (key, v) in &stack.volumes {
            o.volumes.push(VolumeState {
                name: v.name.clone(),
                project: (!v.external).then(|| stack.name.clone()),
                key: Some(key.clone()),
                driver: v.driver.clone().unwrap_or_else(|| "local".into()),
                options: v
                    .driver_opts
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        for (name, svc) in &stack.services {
            let image = image_ref(stack, svc);
            o.images.insert(image.clone(), Some(image_id(&image)));
            for n in 1..=identity::replicas(svc) {
                o.containers.push(container(stack, name, n));
            }
        }
        o
    }

    fn up(stack: &Stack, observed: &Observed) -> Plan {
        plan_up(stack, observed, &UpOptions::default()).unwrap()
    }

    fn step(plan: &Plan, text: &str) -> StepId {
        plan.steps
            .iter()
            .position(|s| s.to_string() == text)
            .unwrap_or_else(|| panic!("no step {text:?} in\n{plan}"))
    }

    fn after(plan: &Plan, text: &str) -> Vec<String> {
        plan.steps[step(plan, text)]
            .after
            .iter()
            .map(|&i| plan.steps[i].to_string())
            .collect()
    }

    #[test]
    fn an_empty_engine_gets_everything_created_in_dependency_order() {
        let s = stack(THREE_TIER);
        let mut o = Observed::default();
        for svc in s.services.values() {
            let image = image_ref(&s, svc);
            o.images.insert(image.clone(), Some(image_id(&image)));
        }
        let plan = up(&s, &o);
        assert_eq!(
            plan.to_string(),
            "\
create network gb_devapp-net: not found
create volume gb_mongo-data: not found
create container gb-mongodb-1: not found
start gb-mongodb-1: created
create container gb-backend-1: not found
start gb-backend-1: created
create container gb-frontend-1: not found
start gb-frontend-1: created
"
        );
        assert_eq!(
            after(&plan, "create container gb-mongodb-1: not found"),
            [
                "create network gb_devapp-net: not found",
                "create volume gb_mongo-data: not found"
            ]
        );
        assert_eq!(
            after(&plan, "start gb-backend-1: created"),
            [
                "start gb-mongodb-1: created",
                "create container gb-backend-1: not found",
                "wait for gb-mongodb-1 to be healthy: backend depends on it",
            ]
        );
        assert_eq!(
            after(
                &plan,
                "wait for gb-mongodb-1 to be healthy: backend depends on it"
            ),
            ["start gb-mongodb-1: created"]
        );
        // service_started needs no wait beyond the order.
        assert_eq!(
            after(&plan, "start gb-frontend-1: created"),
            [
                "start gb-backend-1: created",
                "create container gb-frontend-1: not found",
            ]
        );
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn a_converged_stack_plans_nothing() {
        let s = stack(THREE_TIER);
        let plan = up(&s, &converged(&s));
        assert_eq!(plan.to_string(), "no changes\n");
        assert!(plan.is_empty());
        assert!(plan.steps.is_empty(), "not even waits: {:?}", plan.steps);
    }

    #[test]
    fn a_new_image_id_recreates_and_waits_for_healthy_dependency() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        o.images
            .insert("gb/backend".into(), Some("sha256:newer".into()));
        let plan = up(&s, &o);
        assert_eq!(
            plan.to_string(),
            "\
recreate gb-backend-1: image changed
start gb-backend-1: recreated
"
        );
        assert_eq!(
            after(&plan, "start gb-backend-1: recreated"),
            [
                "recreate gb-backend-1: image changed",
                "wait for gb-mongodb-1 to be healthy: backend depends on it",
            ]
        );
        assert!(matches!(
            &plan.steps[step(&plan, "recreate gb-backend-1: image changed")].action,
            Action::Recreate { old_id, number: 1, .. } if *old_id == o.containers[1].id
        ));
    }

    #[test]
    fn a_changed_tag_and_environment_recreate_naming_the_keys() {
        let old = stack(THREE_TIER);
        let new = stack(&THREE_TIER.replace(
            "image: gb/frontend",
            "image: gb/frontend:2\n    environment: {API: http://backend}",
        ));
        let mut o = converged(&old);
        o.images
            .insert("gb/frontend:2".into(), Some("sha256:two".into()));
        assert_eq!(
            up(&new, &o).to_string(),
            "\
recreate gb-frontend-1: config changed: environment, image
start gb-frontend-1: recreated
"
        );
    }

    #[test]
    fn force_recreate_and_no_recreate() {
        let s = stack(THREE_TIER);
        let o = converged(&s);
        let opts = UpOptions {
            force_recreate: true,
            services: vec!["mongodb".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            plan_up(&s, &o, &opts).unwrap().to_string(),
            "\
recreate gb-mongodb-1: --force-recreate
start gb-mongodb-1: recreated
"
        );
        let mut o = converged(&s);
        o.images
            .insert("gb/mongo".into(), Some("sha256:new".into()));
        o.containers[2].status = Status::Exited;
        let opts = UpOptions {
            no_recreate: true,
            ..UpOptions::default()
        };
        assert_eq!(
            plan_up(&s, &o, &opts).unwrap().to_string(),
            "start gb-mongodb-1: stopped\n"
        );
    }

    #[test]
    fn changed_cpus_and_memory_update_in_place() {
        let old = stack(THREE_TIER);
        let new = stack(
            &THREE_TIER
                .replace("cpus: 0.5", "cpus: 0.2")
                .replace("mem_limit: 200m", "mem_limit: 300m"),
        );
        let plan = up(&new, &converged(&old));
        assert_eq!(
            plan.to_string(),
            "update gb-backend-1 in place: cpus 0.5 -> 0.2, memory 200m -> 300m\n"
        );
        let Action::Update { limits, id, .. } = &plan.steps[0].action else {
            panic!("{plan}")
        };
        assert_eq!(*id, converged(&old).containers[1].id);
        assert_eq!(limits.nano_cpus, 200_000_000);
        assert_eq!(limits.memory, 300 << 20);
        // Swap follows memory, as it would on a new container.
        assert_eq!(limits.memory_swap, 600 << 20);
    }

    #[test]
    fn restart_policy_and_pids_limit_update_in_place() {
        let old = stack(THREE_TIER);
        let new = stack(&THREE_TIER.replace(
            "image: gb/mongo",
            "image: gb/mongo\n    restart: on-failure:3\n    pids_limit: 100",
        ));
        assert_eq!(
            up(&new, &converged(&old)).to_string(),
            "update gb-mongodb-1 in place: pids_limit unset -> 100, restart no -> on-failure:3\n"
        );
    }

    #[test]
    fn a_removed_limit_recreates_since_docker_update_cannot_unset_it() {
        let old = stack(THREE_TIER);
        let new = stack(&THREE_TIER.replace("    cpus: 0.5\n", ""));
        assert_eq!(
            up(&new, &converged(&old)).to_string(),
            "\
recreate gb-backend-1: cpus 0.5 -> unset: a limit cannot be removed in place
start gb-backend-1: recreated
"
        );
    }

    #[test]
    fn an_added_network_is_connected_in_place() {
        let old = stack(THREE_TIER);
        let new = stack(
            &THREE_TIER
                .replace(
                    "    depends_on: [backend]\n    networks: [devapp-net]",
                    "    depends_on: [backend]\n    networks: [devapp-net, edge]",
                )
                .replace("  devapp-net: {}", "  devapp-net: {}\n  edge: {}"),
        );
        let plan = up(&new, &converged(&old));
        assert_eq!(
            plan.to_string(),
            "\
create network gb_edge: not found
connect gb-frontend-1 to gb_edge: network added
"
        );
        assert_eq!(
            after(&plan, "connect gb-frontend-1 to gb_edge: network added"),
            ["create network gb_edge: not found"]
        );
        assert!(matches!(
            &plan.steps[1].action,
            Action::Connect { aliases, .. } if *aliases == ["frontend"]
        ));
        // And taken away again: disconnected, the network left for `down`.
        assert_eq!(
            up(&old, &converged(&new)).to_string(),
            "disconnect gb-frontend-1 from gb_edge: network removed\n"
        );
    }

    #[test]
    fn changed_aliases_reconnect() {
        let old = stack(THREE_TIER);
        let new = stack(&THREE_TIER.replace(
            "    image: gb/mongo\n    volumes: [mongo-data:/data/db]\n    networks: [devapp-net]",
            "    image: gb/mongo\n    volumes: [mongo-data:/data/db]\n    networks:\n      devapp-net:\n        aliases: [db]",
        ));
        let plan = up(&new, &converged(&old));
        assert_eq!(
            plan.to_string(),
            "\
disconnect gb-mongodb-1 from gb_devapp-net: aliases changed
connect gb-mongodb-1 to gb_devapp-net: aliases changed
"
        );
        assert_eq!(
            after(
                &plan,
                "connect gb-mongodb-1 to gb_devapp-net: aliases changed"
            ),
            ["disconnect gb-mongodb-1 from gb_devapp-net: aliases changed"]
        );
    }

    #[test]
    fn stopped_and_created_containers_are_started_after_their_dependencies() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        o.containers[0].status = Status::Exited;
        o.containers[0].exit_code = Some(137);
        o.containers[1].status = Status::Created;
        let plan = up(&s, &o);
        assert_eq!(
            plan.to_string(),
            "\
start gb-backend-1: created
start gb-frontend-1: stopped
"
        );
        assert_eq!(
            after(&plan, "start gb-frontend-1: stopped"),
            ["start gb-backend-1: created"]
        );
        // mongodb is running and unchanged: only its health is waited for.
        assert_eq!(
            after(&plan, "start gb-backend-1: created"),
            ["wait for gb-mongodb-1 to be healthy: backend depends on it"]
        );
        assert_eq!(
            after(
                &plan,
                "wait for gb-mongodb-1 to be healthy: backend depends on it"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_one_shot_that_completed_is_done_not_stopped() {
        let s = stack(
            r#"
name: app
services:
  migrate:
    image: app/migrate
  web:
    image: app/web
    depends_on:
      migrate: {condition: service_completed_successfully}
"#,
        );
        let mut o = converged(&s);
        o.containers[0].status = Status::Exited;
        o.containers[0].exit_code = Some(0);
        assert_eq!(up(&s, &o).to_string(), "no changes\n");
        o.containers[0].exit_code = Some(1);
        let plan = up(&s, &o);
        assert_eq!(plan.to_string(), "start app-migrate-1: stopped\n");
    }

    #[test]
    fn orphans_are_reported_or_removed_with_remove_orphans() {
        let old = stack(
            &THREE_TIER
                .replace(
                    "volumes:\n  mongo-data: {}",
                    "volumes:\n  mongo-data: {}\nx-unused: 1",
                )
                .replace(
                    "services:\n",
                    "services:\n  cache:\n    image: gb/cache\n    scale: 2\n",
                ),
        );
        let new = stack(THREE_TIER);
        let o = converged(&old);
        let plan = up(&new, &o);
        assert_eq!(plan.to_string(), "no changes\n");
        assert_eq!(
            plan.warnings,
            [
                "service cache is no longer in the stack file: 2 container(s) left running; remove with --remove-orphans"
            ]
        );
        let opts = UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        let plan = plan_up(&new, &o, &opts).unwrap();
        assert_eq!(
            plan.to_string(),
            "\
stop gb-cache-1: orphan: service cache is no longer in the stack file
remove gb-cache-1: orphan: service cache is no longer in the stack file
stop gb-cache-2: orphan: service cache is no longer in the stack file
remove gb-cache-2: orphan: service cache is no longer in the stack file
"
        );
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn scaling_down_removes_the_highest_numbers() {
        let old =
            stack(&THREE_TIER.replace("image: gb/frontend", "image: gb/frontend\n    scale: 3"));
        let new =
            stack(&THREE_TIER.replace("image: gb/frontend", "image: gb/frontend\n    scale: 2"));
        let mut o = converged(&old);
        o.containers[2].status = Status::Exited;
        assert_eq!(
            up(&new, &o).to_string(),
            "\
remove gb-frontend-3: scaled down
"
        );
        let o = converged(&old);
        assert_eq!(
            up(&new, &o).to_string(),
            "\
stop gb-frontend-3: scaled down
remove gb-frontend-3: scaled down
"
        );
    }

    #[test]
    fn a_same_named_network_without_the_label_is_refused() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        o.containers.clear();
        o.networks[0].project = None;
        let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "network gb_devapp-net exists and is not managed by berth (project gb)\n  \
              help: declare it `external: true` to use it, or remove it (`docker network rm gb_devapp-net`)"
            ]
        );
        o.networks[0].project = Some("other".into());
        let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
        assert_eq!(
            errors[0].message,
            "network gb_devapp-net belongs to berth project other, not to gb"
        );
    }

    #[test]
    fn a_missing_external_network_or_volume_is_an_error() {
        let s = stack(
            &THREE_TIER
                .replace(
                    "  devapp-net: {}",
                    "  devapp-net: {external: true, name: shared}",
                )
                .replace("  mongo-data: {}", "  mongo-data: {external: true}"),
        );
        let mut o = converged(&s);
        o.networks.clear();
        o.volumes.clear();
        let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "external network shared does not exist\n  help: create it (`docker network create shared`), or drop `external: true` to let berth create it",
                "external volume mongo-data does not exist\n  help: create it (`docker volume create mongo-data`), or drop `external: true` to let berth create it",
            ]
        );
        // Present, unlabelled, and external: used as it is.
        assert_eq!(up(&s, &converged(&s)).to_string(), "no changes\n");
    }

    #[test]
    fn a_changed_volume_driver_is_an_error_naming_the_volume() {
        let old = stack(THREE_TIER);
        let new = stack(&THREE_TIER.replace(
            "  mongo-data: {}",
            "  mongo-data:\n    driver_opts: {type: tmpfs, device: tmpfs}",
        ));
        let errors = plan_up(&new, &converged(&old), &UpOptions::default()).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "volume gb_mongo-data exists with driver local and options {}, but the stack asks for driver local and options {device=tmpfs, type=tmpfs}\n  \
              help: berth never deletes data implicitly; run `berth down --volumes` to recreate it, or change the stack back"
            ]
        );
        assert!(errors[0].span.is_some());
    }

    #[test]
    fn leftovers_of_an_interrupted_recreate_are_removed() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        // The new container was made under a temporary name; the old one
        // (expected name) was not yet removed.
        let mut temp = container(&s, "backend", 1);
        temp.id = "f".repeat(64);
        temp.name = "gb-backend-1-new".into();
        temp.status = Status::Created;
        o.containers.push(temp);
        let plan = up(&s, &o);
        assert_eq!(
            plan.to_string(),
            "remove gb-backend-1-new: left over from an interrupted recreate\n"
        );
        // Interrupted after the old one was removed, before the rename: the
        // survivor is replaced by one with the right name.
        let mut o = converged(&s);
        o.containers[1].name = "gb-backend-1-new".into();
        assert_eq!(
            up(&s, &o).to_string(),
            "\
recreate gb-backend-1: left over from an interrupted recreate (named gb-backend-1-new)
start gb-backend-1: recreated
"
        );
    }

    #[test]
    fn naming_services_brings_up_those_and_their_dependencies() {
        let s = stack(THREE_TIER);
        let mut o = Observed::default();
        for svc in s.services.values() {
            let image = image_ref(&s, svc);
            o.images.insert(image.clone(), Some(image_id(&image)));
        }
        let opts = UpOptions {
            services: vec!["backend".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            plan_up(&s, &o, &opts).unwrap().to_string(),
            "\
create network gb_devapp-net: not found
create volume gb_mongo-data: not found
create container gb-mongodb-1: not found
start gb-mongodb-1: created
create container gb-backend-1: not found
start gb-backend-1: created
"
        );
        let opts = UpOptions {
            services: vec!["nope".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            plan_up(&s, &o, &opts).unwrap_err()[0].to_string(),
            "no such service: nope\n  help: the stack's services are: frontend, backend, mongodb"
        );
    }

    #[test]
    fn volumes_from_waits_for_the_other_containers_create() {
        let s = stack(
            r#"
name: app
services:
  data:
    image: app/data
  web:
    image: app/web
    volumes_from: [data]
"#,
        );
        let mut o = converged(&s);
        o.containers.clear();
        let plan = up(&s, &o);
        assert_eq!(
            after(&plan, "create container app-web-1: not found"),
            ["create container app-data-1: not found"]
        );
    }

    fn down(s: &Stack, o: &Observed, volumes: bool) -> Plan {
        let opts = DownOptions {
            volumes,
            ..DownOptions::default()
        };
        plan_down(&s.name, o, Some(s), &opts)
    }

    #[test]
    fn down_stops_dependents_first_and_keeps_volumes() {
        let s = stack(THREE_TIER);
        let o = converged(&s);
        let plan = down(&s, &o, false);
        assert_eq!(
            plan.to_string(),
            "\
stop gb-frontend-1: down
stop gb-backend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
"
        );
        assert_eq!(
            after(&plan, "stop gb-frontend-1: down"),
            Vec::<String>::new()
        );
        assert_eq!(
            after(&plan, "stop gb-backend-1: down"),
            ["stop gb-frontend-1: down"]
        );
        assert_eq!(
            after(&plan, "stop gb-mongodb-1: down"),
            ["stop gb-backend-1: down"]
        );
        assert_eq!(
            after(&plan, "remove gb-mongodb-1: down"),
            ["stop gb-mongodb-1: down"]
        );
        assert_eq!(after(&plan, "remove network gb_devapp-net: down").len(), 3);
    }

    #[test]
    fn down_with_volumes_removes_them_after_the_containers() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        // backend is already stopped: nothing to stop, but mongodb still
        // waits for frontend through it.
        o.containers[1].status = Status::Exited;
        let plan = down(&s, &o, true);
        assert_eq!(
            plan.to_string(),
            "\
stop gb-frontend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
remove volume gb_mongo-data: --volumes
"
        );
        assert_eq!(
            after(&plan, "stop gb-mongodb-1: down"),
            ["stop gb-frontend-1: down"]
        );
        assert_eq!(
            after(&plan, "remove volume gb_mongo-data: --volumes").len(),
            3
        );
    }

    #[test]
    fn down_leaves_a_network_another_container_uses_and_says_so() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        o.containers.truncate(1);
        o.networks[0].containers = vec!["gb-frontend-1".into(), "debugger".into()];
        let plan = down(&s, &o, false);
        assert_eq!(
            plan.to_string(),
            "\
stop gb-frontend-1: down
remove gb-frontend-1: down
"
        );
        assert_eq!(
            plan.warnings,
            [
                "network gb_devapp-net is still used by debugger, not part of this stack: not removed; \
              disconnect it (`docker network disconnect gb_devapp-net CONTAINER`) and run `berth down` again"
            ]
        );
    }

    #[test]
    fn down_without_a_stack_file_removes_every_labelled_container() {
        let s = stack(THREE_TIER);
        let mut o = converged(&s);
        o.containers[0].service = Some("gone".into());
        let plan = plan_down("gb", &o, None, &DownOptions::default());
        assert_eq!(
            plan.to_string(),
            "\
stop gb-backend-1: down
stop gb-frontend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
"
        );
        // With the stack, the container of a service no longer in it stays.
        let plan = down(&s, &o, false);
        assert_eq!(
            plan.warnings,
            [
                "service gone is no longer in the stack file: 1 container(s) left running; remove with --remove-orphans"
            ]
        );
        assert!(!plan.to_string().contains("gb-frontend-1"));
    }
}
