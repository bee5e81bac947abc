//! Planning `up`: what to create, recreate, update, connect and start so
//! that the engine matches the stack, and the waits of `up --wait`.
//!
//! A recreate is plain steps: park the old container under
//! `<short id>_<name>`, create the new one under the name (and connect it),
//! stop and remove the old one, start the new one. A run stopped between any
//! two of them leaves a state the next plan recognises: a parked container
//! beside the new one is a leftover to remove, a parked one alone is
//! recreated again.

mod edge;
mod network_change;
mod rollout;
mod shared;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::resources::{self, Declared, Kind, Verdict};
use super::{Action, Cause, Plan, PlanError, Replace, StepId, selection};
use crate::engine::facts::EngineFacts;
use crate::identity;
use crate::limits::{Change, Limits};
use crate::model::stack::{Condition, EdgeKind, MountType, Service, Stack};
use crate::observe::{ContainerState, Observed, Status};
use crate::spec;

/// What `up` was asked to do beyond converging.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub remove_orphans: bool,
    /// Only these services and what they depend on; empty means all.
    pub services: Vec<String>,
    /// Containers the engine could not start because it keeps a stale task
    /// for them ([`super::rules::stale_task`]): replaced.
    pub stale_tasks: std::collections::BTreeSet<String>,
}

pub(super) fn is_running(status: Status) -> bool {
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

/// What the engine would report for `want` on a container that has `have`:
/// the daemon fills in some limits the stack leaves unset, and those must not
/// look like changes.
fn engine_view(want: &Limits, have: &Limits, engine: &EngineFacts) -> Limits {
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
    // An engine without a blkio weight (cgroup v1 on Linux 5.0 or later, as
    // on these machines) accepts one and keeps none; asking again on every
    // `up` would never converge. The engine says which it is
    // (`engine::facts`); only when it was not asked is a weight the
    // container did not keep taken as discarded.
    match engine.blkio_weight {
        Some(false) => w.blkio_weight = have.blkio_weight,
        Some(true) => {}
        None if have.blkio_weight == 0 => w.blkio_weight = 0,
        None => {}
    }
    // 0 and -1 both mean "no pids limit". podman gives a container that
    // asks for none a limit of its own (`engine::facts`), which its API does
    // not tell from one asked for: the stack's "unset" is whatever the
    // container has there. (So a pids limit removed from the stack stays
    // on podman until the container is recreated for another reason.)
    if w.pids_limit <= 0 && (have.pids_limit <= 0 || engine.podman) {
        w.pids_limit = have.pids_limit;
    } else if w.pids_limit <= 0 {
        w.pids_limit = -1;
    }
    w
}

/// The steps already planned for one service, for its dependents to wait on.
#[derive(Default)]
pub(super) struct ServiceSteps {
    pub creates: Vec<StepId>,
    pub starts: Vec<StepId>,
}

/// The waits a service's starts need: one per container of each dependency
/// whose condition is more than "started", shared by all dependents.
#[derive(Default)]
pub(super) struct Waits {
    by_container: HashMap<(String, &'static str), StepId>,
}

impl Waits {
    /// The steps `svc`'s starts wait for: its dependencies' starts (as
    /// planned in `services`) and their condition waits.
    pub(super) fn before_start(
        &mut self,
        plan: &mut Plan,
        stack: &Stack,
        svc: &Service,
        services: &HashMap<&str, ServiceSteps>,
    ) -> Vec<StepId> {
        let mut after: Vec<StepId> = Vec::new();
        for (dep, d) in &svc.depends_on {
            let dep_starts = services
                .get(dep.as_str())
                .map(|s| s.starts.clone())
                .unwrap_or_default();
            after.extend(&dep_starts);
            if d.condition == Condition::ServiceStarted {
                continue;
            }
            let Some(dep_svc) = stack.services.get(dep) else {
                continue;
            };
            for number in 1..=identity::replicas(dep_svc) {
                let dep_name = identity::container_name(stack, dep_svc, number);
                let key = (dep_name.clone(), d.condition.as_str());
                let id = *self.by_container.entry(key).or_insert_with(|| {
                    plan.push(
                        Action::Wait {
                            service: dep.clone(),
                            name: dep_name,
                            condition: d.condition,
                            required: d.required,
                        },
                        Cause::DependsOn(svc.name.clone()),
                        dep_starts.clone(),
                    )
                });
                after.push(id);
            }
        }
        after.sort_unstable();
        after.dedup();
        after
    }
}

struct Up<'a> {
    stack: &'a Stack,
    observed: &'a Observed,
    opts: &'a UpOptions,
    plan: Plan,
    errors: Vec<PlanError>,
    networks: HashMap<&'a str, StepId>,
    volumes: HashMap<&'a str, StepId>,
    directories: HashMap<std::path::PathBuf, StepId>,
    services: HashMap<&'a str, ServiceSteps>,
    waits: Waits,
    /// Services some dependent waits on to complete successfully: an exited(0)
    /// container of theirs is done, not stopped.
    one_shots: BTreeSet<&'a str>,
    /// Networks recreated because their settings changed.
    recreates: network_change::Recreates,
    /// Names of the containers this plan creates (new or replacing one).
    created: BTreeSet<String>,
    /// The rollout of the service being planned, when it has
    /// `update_config`.
    rollout: Option<rollout::Rollout>,
    /// The import of the edge image, once planned (services share it).
    edge_import: Option<StepId>,
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
        directories: HashMap::new(),
        services: HashMap::new(),
        waits: Waits::default(),
        one_shots: BTreeSet::new(),
        recreates: Default::default(),
        created: BTreeSet::new(),
        rollout: None,
        edge_import: None,
    };
    for name in &order {
        for (dep, d) in &stack.services[name.as_str()].depends_on {
            if d.condition == Condition::ServiceCompletedSuccessfully {
                up.one_shots.insert(dep.as_str());
            }
        }
    }
    up.networks_and_volumes(&order);
    for name in &order {
        if let Err(e) = spec::copied_files(stack, &stack.services[name.as_str()]) {
            up.errors.extend(e.into_iter().map(PlanError::from));
        }
    }
    for name in &order {
        up.service(&stack.services[name.as_str()]);
    }
    up.orphans();
    up.reconnect_the_rest();
    up.remote_binds();
    super::newer::pass_through(&mut up.plan, stack, observed.engine.api_or_base());
    if up.errors.is_empty() {
        Ok(up.plan)
    } else {
        Err(up.errors)
    }
}

/// `--wait`: one wait per container of the selected services (all when none
/// is named): healthy where the service has a health check, else started.
/// Health checks that come only from the image are not seen here.
pub fn plan_wait(stack: &Stack, only: &[String]) -> Plan {
    let mut plan = Plan::default();
    for svc in stack.services.values() {
        if !only.is_empty() && !only.contains(&svc.name) {
            continue;
        }
        let healthy = svc
            .extras()
            .healthcheck
            .as_ref()
            .is_some_and(|h| !h.disable);
        let condition = if healthy {
            Condition::ServiceHealthy
        } else {
            Condition::ServiceStarted
        };
        for n in 1..=identity::replicas(svc) {
            plan.push(
                Action::Wait {
                    service: svc.name.clone(),
                    name: identity::container_name(stack, svc, n),
                    condition,
                    required: true,
                },
                Cause::WaitFlag,
                Vec::new(),
            );
        }
    }
    plan
}

impl<'a> Up<'a> {
    fn project_containers(&self) -> impl Iterator<Item = &'a ContainerState> + use<'a> {
        let project = self.stack.name.as_str();
        self.observed
            .containers
            .iter()
            .filter(move |c| c.project.as_deref() == Some(project))
    }

    /// The networks and volumes the selected services use, by the rules
    /// both share ([`resources`]): a create step for each that is missing,
    /// an error for each that is not the project's to take.
    fn networks_and_volumes(&mut self, order: &[String]) {
        let stack = self.stack;
        let services = || order.iter().map(|s| &stack.services[s.as_str()]);
        let networks: BTreeSet<&str> = services()
            .flat_map(|s| s.networks.keys().map(String::as_str))
            .collect();
        let volumes: BTreeSet<&str> = services().flat_map(|s| volume_keys(stack, s)).collect();
        let mut wanted: Vec<(Declared<'a>, &'a str, Option<Action>)> = Vec::new();
        for (key, n) in stack
            .networks
            .iter()
            .filter(|(k, _)| networks.contains(k.as_str()))
        {
            let create = spec::network(stack, key).map(|request| Action::CreateNetwork {
                name: n.name.clone(),
                request: Box::new(request),
            });
            wanted.push((Declared::network(n), key, create));
        }
        for (key, v) in stack
            .volumes
            .iter()
            .filter(|(k, _)| volumes.contains(k.as_str()))
        {
            let create = spec::volume(stack, key).map(|request| Action::CreateVolume {
                name: v.name.clone(),
                request: Box::new(request),
            });
            wanted.push((Declared::volume(v), key, create));
        }
        for (declared, key, create) in wanted {
            let found = match declared.kind {
                Kind::Network => self
                    .observed
                    .network_named(declared.name)
                    .map(|n| &n.project),
                Kind::Volume => self
                    .observed
                    .volume_named(declared.name)
                    .map(|v| &v.project),
            };
            match resources::decide(&stack.name, &declared, found.map(Option::as_deref)) {
                Ok(Verdict::Use) => {}
                Ok(Verdict::Create) => {
                    let Some(action) = create else { continue };
                    let id = self.plan.push(action, Cause::NotFound, vec![]);
                    match declared.kind {
                        Kind::Network => self.networks.insert(key, id),
                        Kind::Volume => self.volumes.insert(key, id),
                    };
                }
                Err(e) => self.errors.push(e),
            }
        }
        // The project's own network must still be the one the stack
        // describes; one that is not is recreated (it holds no data).
        for (key, net) in &stack.networks {
            let Some(have) = self.observed.network_named(&net.name) else {
                continue;
            };
            if net.external
                || !networks.contains(key.as_str())
                || have.project.as_ref() != Some(&stack.name)
            {
                continue;
            }
            self.network_changed(key, net, have);
        }
        // The project's own volume must still be the one the stack
        // describes: its data is never replaced implicitly.
        for (key, vol) in &stack.volumes {
            let Some(v) = self.observed.volume_named(&vol.name) else {
                continue;
            };
            if vol.external
                || !volumes.contains(key.as_str())
                || v.project.as_ref() != Some(&stack.name)
            {
                continue;
            }
            let driver = vol.driver.as_deref().unwrap_or("local");
            let options: BTreeMap<String, String> = vol
                .driver_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let have = (v.driver.as_str(), &v.options);
            if let Some(e) = resources::volume_changed(&v.name, have, (driver, &options), vol.span)
            {
                self.errors.push(e);
            }
        }
    }

    fn service(&mut self, svc: &'a Service) {
        let stack = self.stack;
        let wanted = identity::replicas(svc);
        let mine: Vec<&ContainerState> = {
            let mut v: Vec<&ContainerState> = self
                .project_containers()
                .filter(|c| c.service.as_deref() == Some(svc.name.as_str()) && c.edge.is_none())
                .collect();
            v.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
            v
        };
        // What this service's creates wait for: its networks, volumes and
        // missing bind sources, and the containers whose volumes or network
        // namespace it takes.
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
        create_after.extend(self.directories(svc));
        create_after.extend(self.edges_gone(svc));
        let first = self.plan.steps.len();
        let mut steps = ServiceSteps::default();
        self.rollout = rollout::Settings::of(svc).map(rollout::Rollout::new);
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
            // A rollout stopped halfway: the new container has the name
            // and the configuration, and an old one is still there to
            // come back to. Start-first, the old ones still serve;
            // stop-first, the rollout stopped them before the new one
            // started, so a stopped one counts too: taken for a leftover,
            // it would be removed and the new one kept unchecked.
            let halfway = self.rollout.as_ref().is_some_and(|r| {
                candidates.get(keep).is_some_and(|c| {
                    c.name == name && c.config_hash.as_deref() == Some(want_hash.as_str())
                }) && candidates
                    .iter()
                    .enumerate()
                    .any(|(i, c)| i != keep && (is_running(c.status) || !r.start_first()))
            });
            if halfway {
                let parked: Vec<&ContainerState> = candidates
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != keep)
                    .map(|(_, c)| *c)
                    .collect();
                self.resume(svc, candidates[keep], &parked, &mut steps);
                continue;
            }
            let mut before: Vec<StepId> = Vec::new();
            for (i, c) in candidates.iter().enumerate() {
                if i != keep {
                    before.push(self.take_away(c, Cause::LeftOver));
                }
            }
            self.replica(
                svc,
                number,
                &name,
                candidates.get(keep).copied(),
                (&create_after, before),
                &mut steps,
            );
        }
        self.finish_rollout(svc);
        self.edge(svc, first);
        for c in mine.iter().filter(|c| c.number.is_none_or(|n| n > wanted)) {
            self.take_away(c, Cause::ScaledDown);
        }
        self.services.insert(svc.name.as_str(), steps);
    }

    /// On an engine on another host, says once what the containers this
    /// plan creates bind: paths there, not here (a relative source was
    /// made absolute against this machine's project directory).
    fn remote_binds(&mut self) {
        let Some(host) = &self.observed.engine.remote else {
            return;
        };
        let mut sources: BTreeSet<String> = BTreeSet::new();
        for step in &self.plan.steps {
            let Action::CreateContainer {
                service, request, ..
            } = &step.action
            else {
                continue;
            };
            let Some(svc) = self.stack.services.get(service) else {
                continue;
            };
            let hc = request.host_config.as_ref();
            let binds = hc.and_then(|h| h.binds.as_ref()).into_iter().flatten();
            let mounts = hc.and_then(|h| h.mounts.as_ref()).into_iter().flatten();
            let bound = binds
                .filter_map(|b| b.split(':').next().map(str::to_string))
                .chain(
                    mounts
                        .filter(|m| m.typ == Some(bollard::models::MountType::BIND))
                        .filter_map(|m| m.source.clone()),
                );
            sources.extend(bound.map(|source| format!("{source} ({})", svc.name)));
        }
        if !sources.is_empty() {
            self.plan.warnings.push(format!(
                "bind sources are paths on {host}, the engine's host, not on this machine: {}; \
                 the engine creates a missing one there, owned by root",
                sources.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    /// A step per missing bind source of `svc` that berth may create (each
    /// directory once in the plan); their ids.
    fn directories(&mut self, svc: &Service) -> Vec<StepId> {
        let mut out = Vec::new();
        for path in spec::host_dirs(svc) {
            if !self.observed.missing_dirs.contains(&path) {
                continue;
            }
            let id = match self.directories.get(&path) {
                Some(&id) => id,
                None => {
                    let id = self.plan.push(
                        Action::CreateDirectory {
                            service: svc.name.clone(),
                            path: path.clone(),
                        },
                        Cause::BindSourceMissing,
                        vec![],
                    );
                    self.directories.insert(path, id);
                    id
                }
            };
            out.push(id);
        }
        out
    }

    /// Stop (if running) and remove one container; the id of the remove.
    fn take_away(&mut self, c: &ContainerState, cause: Cause) -> StepId {
        self.removed(c);
        take_away(&mut self.plan, c, cause, vec![])
    }

    /// Why a container must be replaced, if it must.
    fn recreate_cause(
        &self,
        svc: &Service,
        name: &str,
        c: &ContainerState,
        limits: &[Change],
    ) -> Option<Replace> {
        match c.status {
            Status::Dead => return Some(Replace::Dead),
            Status::Removing => return Some(Replace::BeingRemoved),
            _ if self.opts.stale_tasks.contains(&c.name) => return Some(Replace::StaleTask),
            _ => {}
        }
        if self.opts.no_recreate {
            return None;
        }
        let want = identity::recreate_config(svc);
        let image_changed = match self
            .observed
            .images
            .get(&identity::image_ref(self.stack, svc))
        {
            Some(Some(id)) => *id != c.image_id,
            _ => false,
        };
        if c.config_hash.as_deref() != Some(identity::config_hash(svc).as_str()) {
            let keys = c
                .config
                .as_ref()
                .map(|old| identity::changed_keys(old, &want))
                .unwrap_or_default();
            return Some(Replace::Config {
                keys,
                image_changed,
            });
        }
        if image_changed {
            return Some(Replace::Image);
        }
        if self.opts.force_recreate {
            return Some(Replace::ForceRecreate);
        }
        if let Some(why) = self.shares_replaced(svc, c) {
            return Some(why);
        }
        // Port bindings are fixed when a container is made: they move to
        // the edge, or back, only with a new container.
        let fronted = rollout::fronted(svc);
        if fronted && c.publishes {
            return Some(Replace::Ports { to_edge: true });
        }
        if !fronted && !svc.ports.is_empty() && !c.publishes {
            return Some(Replace::Ports { to_edge: false });
        }
        if c.name != name {
            return Some(Replace::Parked(c.name.clone()));
        }
        let removed: Vec<Change> = limits.iter().filter(|c| c.to == "unset").cloned().collect();
        if !removed.is_empty() {
            return Some(Replace::LimitRemoved(removed));
        }
        if !limits.is_empty() && self.observed.engine.podman {
            return Some(Replace::NoUpdate(limits.to_vec()));
        }
        None
    }

    /// Create replica `number` as `name` and connect it to its other
    /// networks: the create's id and the ids the start must wait for.
    fn create(
        &mut self,
        svc: &Service,
        number: u32,
        name: &str,
        cause: Cause,
        after: Vec<StepId>,
    ) -> (StepId, Vec<StepId>) {
        let mut spec = spec::container(self.stack, svc, number);
        if self.observed.engine.remote.is_some()
            && let Some(hc) = spec.body.host_config.as_mut()
        {
            spec::created_by_the_engine(svc, hc);
        }
        if rollout::fronted(svc)
            && let Some(hc) = spec.body.host_config.as_mut()
        {
            // Its edge publishes the service's ports (`spec::edge`).
            hc.port_bindings = None;
        }
        self.created.insert(name.to_string());
        let create = self.plan.push(
            Action::CreateContainer {
                service: svc.name.clone(),
                number,
                name: name.to_string(),
                platform: spec.platform,
                request: Box::new(spec.body),
            },
            cause.clone(),
            after,
        );
        let mut ready = vec![create];
        ready.extend(self.copies(svc, name, &cause, vec![create]));
        // API 1.41 attaches one network at create; the others follow.
        for (network, endpoint) in spec.connect {
            let mut after = vec![create];
            if let Some(key) = self.network_key(&network) {
                after.extend(self.networks.get(key));
            }
            ready.push(self.plan.push(
                Action::Connect {
                    service: svc.name.clone(),
                    name: name.to_string(),
                    network,
                    endpoint: Box::new(endpoint),
                },
                cause.clone(),
                after,
            ));
        }
        (create, ready)
    }

    /// A step per secret or config copied into container `name` after
    /// `after` (its create); their ids.
    fn copies(
        &mut self,
        svc: &Service,
        name: &str,
        cause: &Cause,
        after: Vec<StepId>,
    ) -> Vec<StepId> {
        let files = spec::copied_files(self.stack, svc).unwrap_or_default();
        // "copy ... into x: not found" would say the file is missing.
        let cause = match cause {
            Cause::NotFound => &Cause::Created,
            other => other,
        };
        files
            .into_iter()
            .map(|file| {
                self.plan.push(
                    Action::CopyFile {
                        service: svc.name.clone(),
                        name: name.to_string(),
                        file: Box::new(file),
                    },
                    cause.clone(),
                    after.clone(),
                )
            })
            .collect()
    }

    fn network_key(&self, engine_name: &str) -> Option<&'a str> {
        self.stack
            .networks
            .iter()
            .find(|(_, n)| n.name == engine_name)
            .map(|(k, _)| k.as_str())
    }

    #[allow(clippy::too_many_arguments)]
    fn replica(
        &mut self,
        svc: &'a Service,
        number: u32,
        name: &str,
        existing: Option<&ContainerState>,
        (create_after, leftovers): (&[StepId], Vec<StepId>),
        steps: &mut ServiceSteps,
    ) {
        // Leftovers of an interrupted recreate go first: a parked container
        // may hold the host ports the kept one needs.
        let create_after: Vec<StepId> = create_after.iter().chain(&leftovers).copied().collect();
        let Some(c) = existing else {
            let (create, ready) = self.create(svc, number, name, Cause::NotFound, create_after);
            steps.creates.push(create);
            self.start(svc, name, Cause::Created, ready, steps);
            return;
        };
        let want_limits = Limits::of(svc);
        let have = c.limits.shaped_like(&want_limits);
        let limits = engine_view(&want_limits, &have, &self.observed.engine);
        let changes = have.changes(&limits);
        if let Some(why) = self.recreate_cause(svc, name, c, &changes) {
            if self.rollout.is_some() {
                self.roll(svc, number, name, c, why, create_after, steps);
                return;
            }
            let ready = self.recreate(svc, number, name, c, why, create_after, steps);
            self.start(svc, name, Cause::Recreated, ready, steps);
            return;
        }
        let mut own: Vec<StepId> = leftovers;
        // Swap the stack does not set follows memory; saying so would only
        // repeat the memory change.
        let shown: Vec<Change> = changes
            .iter()
            .filter(|ch| !(ch.field == "memswap" && want_limits.memory_swap == 0))
            .cloned()
            .collect();
        // A removed limit needs a recreate, which `--no-recreate` refuses.
        // podman cannot update in place: `recreate_cause` replaced the
        // container, unless `--no-recreate` refused that too.
        if !changes.is_empty()
            && !changes.iter().any(|ch| ch.to == "unset")
            && !self.observed.engine.podman
        {
            let cause = if shown.is_empty() { &changes } else { &shown };
            own.push(self.plan.push(
                Action::Update {
                    service: svc.name.clone(),
                    name: c.name.clone(),
                    id: c.id.clone(),
                    changes: shown.clone(),
                    request: Box::new(spec::update(&limits)),
                },
                Cause::Limits(cause.clone()),
                vec![],
            ));
        }
        if svc.extras().network_mode.is_none() {
            own.extend(self.reconnect(svc, c));
        }
        let done = c.status == Status::Exited
            && c.exit_code == Some(0)
            && self.one_shots.contains(svc.name.as_str());
        if !is_running(c.status) && !done {
            let cause = if c.status == Status::Created {
                // Never started: a run may have stopped before its files
                // were copied; copying again is harmless.
                own.extend(self.copies(svc, &c.name, &Cause::Created, vec![]));
                Cause::Created
            } else {
                Cause::Stopped
            };
            self.start(svc, name, cause, own, steps);
        }
    }

    /// The steps that replace `old` with a new container under `name`; the
    /// ids the new one's start waits for.
    #[allow(clippy::too_many_arguments)]
    fn recreate(
        &mut self,
        svc: &Service,
        number: u32,
        name: &str,
        old: &ContainerState,
        why: Replace,
        mut create_after: Vec<StepId>,
        steps: &mut ServiceSteps,
    ) -> Vec<StepId> {
        self.removed(old);
        let cause = Cause::Recreate(why);
        let parked = identity::parked_name(&old.id, name);
        // Park the old one first, so the new one can take the name; one
        // already parked (an interrupted run) stays where it is.
        if old.name != parked {
            create_after.push(self.park(svc, old, &parked, &cause, vec![]));
        }
        let (create, mut ready) = self.create(svc, number, name, cause.clone(), create_after);
        steps.creates.push(create);
        let mut gone = vec![create];
        if is_running(old.status) {
            gone = vec![self.plan.push(
                Action::Stop {
                    service: Some(svc.name.clone()),
                    name: parked.clone(),
                    id: old.id.clone(),
                    timeout: None,
                },
                cause.clone(),
                gone,
            )];
        }
        ready.push(self.plan.push(
            Action::Remove {
                service: Some(svc.name.clone()),
                name: parked,
                id: old.id.clone(),
            },
            cause,
            gone,
        ));
        ready
    }

    /// Renames `old` to `parked`, so that its replacement can take its
    /// name; the rename's id.
    fn park(
        &mut self,
        svc: &Service,
        old: &ContainerState,
        parked: &str,
        cause: &Cause,
        after: Vec<StepId>,
    ) -> StepId {
        self.plan.push(
            Action::Rename {
                service: svc.name.clone(),
                id: old.id.clone(),
                from: old.name.clone(),
                to: parked.to_string(),
            },
            cause.clone(),
            after,
        )
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
        let endpoints = spec::endpoints(stack, svc);
        for key in svc.networks.keys() {
            let Some(net) = stack.networks.get(key) else {
                continue;
            };
            wanted.insert(net.name.as_str());
            let want = identity::aliases(svc, key);
            let endpoint = endpoints
                .iter()
                .find(|(n, _)| *n == net.name)
                .map(|(_, e)| e.clone())
                .unwrap_or_default();
            let connect = |up: &mut Up, cause: Cause, mut after: Vec<StepId>| {
                after.extend(up.networks.get(key.as_str()));
                up.plan.push(
                    Action::Connect {
                        service: svc.name.clone(),
                        name: c.name.clone(),
                        network: net.name.clone(),
                        endpoint: Box::new(endpoint.clone()),
                    },
                    cause,
                    after,
                )
            };
            if let Some(cause) = self.detached_from(c, &net.name) {
                out.push(connect(self, cause, vec![]));
                continue;
            }
            match c.networks.get(&net.name) {
                None => out.push(connect(self, Cause::NetworkAdded, vec![])),
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
                            Cause::AliasesChanged,
                            vec![],
                        );
                        out.push(connect(self, Cause::AliasesChanged, vec![d]));
                    }
                }
            }
        }
        for network in c.networks.keys() {
            if !wanted.contains(network.as_str()) && self.detached_from(c, network).is_none() {
                out.push(self.plan.push(
                    Action::Disconnect {
                        service: svc.name.clone(),
                        name: c.name.clone(),
                        network: network.clone(),
                    },
                    Cause::NetworkRemoved,
                    vec![],
                ));
            }
        }
        out
    }

    /// Start one container after `own` steps and its dependencies (whose
    /// waits are planned only when something of `svc` starts).
    fn start(
        &mut self,
        svc: &'a Service,
        name: &str,
        cause: Cause,
        mut after: Vec<StepId>,
        steps: &mut ServiceSteps,
    ) {
        let deps = self
            .waits
            .before_start(&mut self.plan, self.stack, svc, &self.services);
        after.extend(deps);
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
                for c in containers {
                    self.take_away(c, Cause::Orphan(service.clone()));
                }
            } else {
                self.plan
                    .warnings
                    .push(orphans_left(&service, containers.len()));
            }
        }
    }
}

/// The warning for containers of a service no longer in the stack file.
pub(super) fn orphans_left(service: &str, n: usize) -> String {
    format!(
        "service {service} is no longer in the stack file: {n} container(s) left running; remove with --remove-orphans"
    )
}

/// Stop (if running) and remove one container; the id of the remove.
pub(super) fn take_away(
    plan: &mut Plan,
    c: &ContainerState,
    cause: Cause,
    after: Vec<StepId>,
) -> StepId {
    let mut before = after;
    if is_running(c.status) {
        before = vec![plan.push(
            Action::Stop {
                service: c.service.clone(),
                name: c.name.clone(),
                id: c.id.clone(),
                timeout: None,
            },
            cause.clone(),
            before,
        )];
    }
    plan.push(
        Action::Remove {
            service: c.service.clone(),
            name: c.name.clone(),
            id: c.id.clone(),
        },
        cause,
        before,
    )
}
