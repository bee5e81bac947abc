//! Planning the Swarm target: the same plan, with services instead of
//! containers.
//!
//! `up --swarm` creates what is missing in dependency order (overlay
//! networks, then services, a service after those it `depends_on` have
//! converged), updates a service only when its spec changed (compared by the
//! hash berth stores on it, so an unchanged service gets no update call and
//! keeps its rollback target), and removes services no longer in the file
//! with `--remove-orphans`. Secrets and configs are named by their content
//! (`spec::object`): a changed one is a new object that its
//! services roll to, and the old one is removed once they have converged
//! without it (so that a failed update can still roll back to it).
//! Networks, secrets and configs whose key left the file go with
//! `--remove-orphans`, after the orphan services' tasks are gone.
//! `down --swarm` removes the services, waits until their tasks are gone,
//! then removes the secrets, configs and networks, and waits until this
//! engine no longer lists the networks (the swarm removes them
//! asynchronously), so that `down` and a new `up` right after never race on
//! a network. `up --swarm --wait` then waits for each selected service to
//! converge ([`plan_swarm_wait`]); every wait for a service says whether
//! this run sent it an update that replaces its tasks
//! ([`ServiceCondition`]).
//!
//! The specs come mapped already ([`SwarmSpecs`], from `spec`): this
//! module only compares and orders.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bollard::models::{NetworkCreateRequest, ServiceSpec};
use indexmap::IndexMap;

use super::resources::{self, Declared};
use super::wait::ServiceCondition;
use super::{Action, Cause, Plan, PlanError, StepId, UpOptions, selection};
use crate::identity;
use crate::model::stack::Stack;
use crate::observe::{Observed, ServiceState};
use crate::spec::{self, ObjectKind, SwarmObject};

/// What the stack asks of the swarm, as request bodies.
#[derive(Debug, Clone, Default)]
pub struct SwarmSpecs {
    /// Each service's spec, by its key in the stack file.
    pub services: IndexMap<String, ServiceSpec>,
    /// The overlay network of each network key the services use.
    pub networks: BTreeMap<String, NetworkCreateRequest>,
    /// The secrets and configs berth creates (not the external ones), named
    /// by their content.
    pub objects: Vec<SwarmObject>,
}

/// The spec with its hash stored as a label (as `spec::service`
/// makes it), so that the next plan can tell an unchanged service without
/// comparing what the engine filled in.
fn hashed(mut spec: ServiceSpec) -> (ServiceSpec, String) {
    let hash = spec::service_hash(&spec);
    let check = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref()?.health_check.as_ref())
        .and_then(|h| serde_json::to_string(h).ok());
    let labels = spec.labels.get_or_insert_with(Default::default);
    labels.insert(identity::CONFIG_HASH.to_string(), hash.clone());
    if let Some(check) = check {
        labels.insert(identity::HEALTHCHECK.to_string(), check);
    }
    (spec, hash)
}

/// Plan `up --swarm`: the networks, secrets, configs and services of the
/// selected services, then what of the project no service uses any more.
pub fn plan_swarm_up(
    stack: &Stack,
    observed: &Observed,
    specs: &SwarmSpecs,
    opts: &UpOptions,
) -> Result<Plan, Vec<PlanError>> {
    let order = selection(stack, &opts.services)?;
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let networks = plan_networks(stack, observed, specs, &mut plan, &mut errors);
    let by_name: HashMap<&str, &ServiceState> = observed
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    // The specs of the selected services, hashed before any object id is
    // filled in: ids are the engine's, the hash is of what the stack says.
    // The image's local id goes into the spec (and its hash), so that an
    // image rebuilt under the same tag rolls the service.
    let hashed_specs: Vec<(&String, ServiceSpec, String)> = order
        .iter()
        .filter_map(|key| Some((key, specs.services.get(key)?)))
        .map(|(key, spec)| {
            let deployed = spec.name.as_deref().and_then(|n| by_name.get(n));
            let spec = spec::pin_image(spec.clone(), &observed.images, deployed.map(|s| &s.spec));
            let (spec, hash) = hashed(spec);
            (key, spec, hash)
        })
        .collect();
    let referenced: HashSet<(ObjectKind, String)> = hashed_specs
        .iter()
        .flat_map(|(_, spec, _)| spec::objects_of(spec))
        .collect();
    let objects = plan_objects(stack, observed, specs, &referenced, &mut plan, &mut errors);

    // What a service's create or update waits for: its networks, its
    // secrets and configs, and the convergence of each dependency this plan
    // changes.
    let mut converged: HashMap<&str, StepId> = HashMap::new();
    // The steps after which a service no longer uses a network or object it
    // used before; and what the services use once the plan is applied.
    let mut released: HashMap<Used, Vec<StepId>> = HashMap::new();
    let mut in_use: HashSet<Used> = HashSet::new();
    let mut planned: HashSet<&str> = HashSet::new();
    // Built once, so that each service's look-up is not a pass over all.
    let dependents = dependents(stack);
    let selected: HashSet<&str> = order.iter().map(String::as_str).collect();
    for (key, spec, hash) in hashed_specs {
        let svc = &stack.services[key.as_str()];
        let name = spec.name.clone().unwrap_or_default();
        planned.insert(svc.name.as_str());
        let new_uses = uses(&spec, observed);
        let mut after: Vec<StepId> = svc
            .networks
            .keys()
            .filter_map(|k| networks.get(k.as_str()).copied())
            .collect();
        after.extend(
            spec::objects_of(&spec)
                .iter()
                .filter_map(|o| objects.created.get(o).copied()),
        );
        after.extend(
            svc.depends_on
                .keys()
                .filter_map(|d| converged.get(d.as_str()).copied()),
        );
        let spec = spec::with_ids(spec, &objects.ids);
        let mut condition = ServiceCondition::Converged;
        let mut dropped: Vec<Used> = Vec::new();
        let step = match by_name.get(name.as_str()) {
            None => Some(plan.push(
                Action::CreateService {
                    service: key.clone(),
                    name: name.clone(),
                    request: Box::new(spec),
                },
                Cause::NotFound,
                after,
            )),
            Some(found) if found.project.as_deref() != Some(stack.name.as_str()) => {
                errors.push(PlanError::new(
                    format!(
                        "service {name} exists and is not managed by berth (project {})",
                        stack.name
                    ),
                    format!(
                        "remove it (`docker service rm {name}`), or rename the project with -p"
                    ),
                    Some(svc.span),
                ));
                None
            }
            Some(found) if found.hash.as_deref() == Some(hash.as_str()) => None,
            Some(found) => {
                let changes = spec::service_changes(&found.spec, &by_network_id(&spec, observed));
                condition = after_update(rolls(&changes));
                dropped = uses(&found.spec, observed)
                    .into_iter()
                    .filter(|u| !new_uses.contains(u))
                    .collect();
                Some(plan.push(
                    Action::UpdateService {
                        service: key.clone(),
                        name: name.clone(),
                        id: found.id.clone(),
                        version: found.version,
                        request: Box::new(spec.clone()),
                    },
                    Cause::ServiceChanged(changes),
                    after,
                ))
            }
        };
        in_use.extend(new_uses);
        // Dependents wait for this service to converge, only when this plan
        // changes it and something depends on it; so does the removal of
        // what its old spec used, so that a failed update can still roll
        // back to it.
        let its_dependents = dependents.get(key.as_str()).map_or(&[][..], Vec::as_slice);
        let depended_on = its_dependents.iter().any(|(k, _)| selected.contains(k));
        if let Some(step) = step
            && (depended_on || !dropped.is_empty())
        {
            let cause = if depended_on {
                let names: Vec<&str> = its_dependents.iter().map(|(_, name)| *name).collect();
                Cause::DependsOn(names.join(", "))
            } else {
                Cause::Unused
            };
            let wait = plan.push(
                Action::WaitService {
                    service: key.clone(),
                    name,
                    condition,
                },
                cause,
                vec![step],
            );
            converged.insert(key.as_str(), wait);
            for u in dropped {
                released.entry(u).or_default().push(wait);
            }
        }
    }
    // The project's other services: orphans, and those not selected.
    for s in observed
        .services
        .iter()
        .filter(|s| s.project.as_deref() == Some(stack.name.as_str()))
    {
        let orphan = s
            .service
            .as_deref()
            .is_none_or(|k| !stack.services.contains_key(k));
        if !orphan {
            if !s.service.as_deref().is_some_and(|k| planned.contains(k)) {
                in_use.extend(uses(&s.spec, observed));
            }
            continue;
        }
        let service = s.service.clone().unwrap_or_else(|| "(unlabelled)".into());
        if !opts.remove_orphans {
            in_use.extend(uses(&s.spec, observed));
            plan.warnings.push(format!(
                "service {service} is no longer in the stack file: its swarm service {} is left running; remove it with --remove-orphans",
                s.name
            ));
            continue;
        }
        let removed = plan.push(
            Action::RemoveService {
                service: s.service.clone(),
                name: s.name.clone(),
                id: s.id.clone(),
            },
            Cause::Orphan(service),
            vec![],
        );
        let used = uses(&s.spec, observed);
        if !used.is_empty() {
            // Networks outlive a service's tasks, not only the service.
            let gone = plan.push(
                Action::WaitServiceGone {
                    name: s.name.clone(),
                    id: s.id.clone(),
                },
                Cause::Unused,
                vec![removed],
            );
            for u in used {
                released.entry(u).or_default().push(gone);
            }
        }
    }
    remove_unused(stack, observed, &in_use, &released, opts, &mut plan);
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// A network (by id) or a secret or config (by kind and name) that a
/// service uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Used {
    Network(String),
    Object(ObjectKind, String),
}

/// What `spec` uses: its networks (named by id, as the engine keeps them,
/// or by name, as berth sends them) and its secrets and configs.
fn uses(spec: &ServiceSpec, observed: &Observed) -> HashSet<Used> {
    let networks = spec
        .task_template
        .as_ref()
        .and_then(|t| t.networks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|a| a.target.as_deref())
        .map(|t| {
            let id = observed
                .networks
                .iter()
                .find(|n| n.name == t || n.id == t)
                .map_or(t, |n| n.id.as_str());
            Used::Network(id.to_string())
        });
    let objects = spec::objects_of(spec)
        .into_iter()
        .map(|(kind, name)| Used::Object(kind, name));
    networks.chain(objects).collect()
}

/// The overlay networks to create, by key; errors for external networks
/// that are missing or not swarm-scoped.
fn plan_networks<'a>(
    stack: &Stack,
    observed: &Observed,
    specs: &'a SwarmSpecs,
    plan: &mut Plan,
    errors: &mut Vec<PlanError>,
) -> HashMap<&'a str, StepId> {
    let mut networks = HashMap::new();
    for (key, request) in &specs.networks {
        let Some(net) = stack.networks.get(key) else {
            continue;
        };
        let found = observed.network_named(&net.name);
        let owner = found.map(|n| n.project.as_deref());
        match resources::decide(&stack.name, &Declared::network(net), owner) {
            Ok(resources::Verdict::Create) => {
                let id = plan.push(
                    Action::CreateNetwork {
                        name: net.name.clone(),
                        request: Box::new(request.clone()),
                    },
                    Cause::NotFound,
                    vec![],
                );
                networks.insert(key.as_str(), id);
            }
            Ok(resources::Verdict::Use) => {
                if let Some(n) = found.filter(|n| n.scope != "swarm") {
                    errors.push(PlanError::new(
                        format!(
                            "network {} has scope {}; a swarm service needs a network of swarm scope (an overlay network)",
                            n.name, n.scope
                        ),
                        format!(
                            "create it with `docker network create --driver overlay --attachable {}`, or let berth create it (drop `external: true`)",
                            n.name
                        ),
                        Some(net.span).filter(|s| *s != Default::default()),
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    networks
}

/// The secrets and configs the plan creates (by kind and name, the step
/// that creates each) and those that exist already (their ids).
#[derive(Default)]
struct Objects {
    created: HashMap<(ObjectKind, String), StepId>,
    ids: HashMap<(ObjectKind, String), String>,
}

/// Create each referenced secret and config that the swarm lacks; an
/// external one must exist.
fn plan_objects(
    stack: &Stack,
    observed: &Observed,
    specs: &SwarmSpecs,
    referenced: &HashSet<(ObjectKind, String)>,
    plan: &mut Plan,
    errors: &mut Vec<PlanError>,
) -> Objects {
    let mut out = Objects::default();
    let found = |kind: ObjectKind, name: &str| {
        observed
            .objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    };
    for o in &specs.objects {
        let key = (o.kind, o.name.clone());
        if !referenced.contains(&key) {
            continue;
        }
        match found(o.kind, &o.name) {
            // The name carries the content's hash: the same name, the same
            // content.
            Some(existing) => {
                out.ids.insert(key, existing.id.clone());
            }
            None => {
                let step = plan.push(
                    Action::CreateObject {
                        object: Box::new(o.clone()),
                    },
                    Cause::NotFound,
                    vec![],
                );
                out.created.insert(key, step);
            }
        }
    }
    for (kind, objects) in [
        (ObjectKind::Secret, &stack.secrets),
        (ObjectKind::Config, &stack.configs),
    ] {
        for obj in objects.values().filter(|o| o.external) {
            let key = (kind, obj.name.clone());
            if !referenced.contains(&key) {
                continue;
            }
            match found(kind, &obj.name) {
                Some(existing) => {
                    out.ids.insert(key, existing.id.clone());
                }
                None => errors.push(PlanError::new(
                    format!(
                        "{} {} is external, and the swarm has no {0} of that name",
                        kind.word(),
                        obj.name
                    ),
                    format!(
                        "create it first (`docker {} create {} FILE`), or let berth create it: drop `external: true` and give it a `file:`",
                        kind.word(),
                        obj.name
                    ),
                    Some(obj.span).filter(|s| *s != Default::default()),
                )),
            }
        }
    }
    out
}

/// Remove the project's swarm networks, secrets and configs that no
/// service uses once the plan is applied, after the steps that stop their
/// use. An old version of a secret or config still in the file always
/// goes; one whose key left the file (and a network) only with
/// `--remove-orphans`, as orphan services do.
fn remove_unused(
    stack: &Stack,
    observed: &Observed,
    in_use: &HashSet<Used>,
    released: &HashMap<Used, Vec<StepId>>,
    opts: &UpOptions,
    plan: &mut Plan,
) {
    let ours = |p: &Option<String>| p.as_deref() == Some(stack.name.as_str());
    let after = |u: &Used| released.get(u).cloned().unwrap_or_default();
    for o in observed.objects.iter().filter(|o| ours(&o.project)) {
        let used = Used::Object(o.kind, o.name.clone());
        if in_use.contains(&used) {
            continue;
        }
        let declared = match o.kind {
            ObjectKind::Secret => &stack.secrets,
            ObjectKind::Config => &stack.configs,
        };
        let in_file = o.key.as_ref().is_some_and(|k| declared.contains_key(k));
        if in_file || opts.remove_orphans {
            plan.push(
                Action::RemoveObject {
                    kind: o.kind,
                    name: o.name.clone(),
                    id: o.id.clone(),
                },
                Cause::Unused,
                after(&used),
            );
        } else {
            plan.warnings.push(format!(
                "{} {} is no longer in the stack file and no service uses it; remove it with --remove-orphans",
                o.kind.word(),
                o.name
            ));
        }
    }
    let declared: HashSet<&str> = stack.networks.values().map(|n| n.name.as_str()).collect();
    for n in observed
        .networks
        .iter()
        .filter(|n| ours(&n.project) && n.scope == "swarm")
    {
        let used = Used::Network(n.id.clone());
        if in_use.contains(&used) || declared.contains(n.name.as_str()) {
            continue;
        }
        if opts.remove_orphans {
            plan.push(
                Action::RemoveNetwork {
                    name: n.name.clone(),
                },
                Cause::Unused,
                after(&used),
            );
        } else {
            plan.warnings.push(format!(
                "network {} is no longer in the stack file; remove it with --remove-orphans",
                n.name
            ));
        }
    }
}

/// Whether an update with these changes replaces the service's tasks: any
/// change but the number of replicas does.
fn rolls(changes: &[String]) -> bool {
    changes.is_empty() || changes.iter().any(|c| !c.starts_with("replicas "))
}

/// How long the swarm may take, after an update that replaces a service's
/// tasks, to report that it has started rolling: until then the old tasks
/// still run and do not count. A planned guess, not a measure.
const ROLL_START: Duration = Duration::from_secs(15);

/// What a wait for a service means: after an update this run sent that
/// replaces its tasks (`rolling`), or not.
fn after_update(rolling: bool) -> ServiceCondition {
    if rolling {
        ServiceCondition::ConvergedAfterUpdate {
            roll_start: ROLL_START,
        }
    } else {
        ServiceCondition::Converged
    }
}

/// `up --swarm --wait`, once `applied` (the plan of `up --swarm`) is done:
/// a wait for each of the `services` named (every service when none is)
/// to converge, after the update `applied` sent it when that replaces its
/// tasks.
pub fn plan_swarm_wait(stack: &Stack, applied: &Plan, services: &[String]) -> Plan {
    let mut waits = Plan::default();
    for svc in stack.services.values() {
        if !services.is_empty() && !services.contains(&svc.name) {
            continue;
        }
        // Sent an update that replaces its tasks in this run?
        let rolling = applied.steps.iter().any(|st| {
            matches!(&st.action, Action::UpdateService { service, .. } if *service == svc.name)
                && matches!(&st.cause, Cause::ServiceChanged(c) if rolls(c))
        });
        waits.push(
            Action::WaitService {
                service: svc.name.clone(),
                name: spec::service_name(stack, svc),
                condition: after_update(rolling),
            },
            Cause::WaitFlag,
            vec![],
        );
    }
    waits
}

/// `spec` with its networks named by id, as the engine reports a deployed
/// service's: so that comparing the two shows only what really changed.
fn by_network_id(spec: &ServiceSpec, observed: &Observed) -> ServiceSpec {
    let mut spec = spec.clone();
    let attachments = spec
        .task_template
        .as_mut()
        .and_then(|t| t.networks.as_mut())
        .into_iter()
        .flatten();
    for a in attachments {
        if let Some(n) = a.target.as_deref().and_then(|t| observed.network_named(t)) {
            a.target = Some(n.id.clone());
        }
    }
    spec
}

/// The services that depend on each one, by key: each dependent's key and
/// name, in the stack's order.
fn dependents(stack: &Stack) -> HashMap<&str, Vec<(&str, &str)>> {
    let mut out: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (key, svc) in &stack.services {
        for dep in svc.depends_on.keys() {
            out.entry(dep.as_str())
                .or_default()
                .push((key.as_str(), svc.name.as_str()));
        }
    }
    out
}

/// Plan `down --swarm`: remove the project's services, wait until their
/// tasks are gone, then remove its networks, and with `volumes` its named
/// volumes on this node.
pub fn plan_swarm_down(project: &str, observed: &Observed, volumes: bool) -> Plan {
    let mut plan = Plan::default();
    let mut gone = Vec::new();
    for s in observed
        .services
        .iter()
        .filter(|s| s.project.as_deref() == Some(project))
    {
        let removed = plan.push(
            Action::RemoveService {
                service: s.service.clone(),
                name: s.name.clone(),
                id: s.id.clone(),
            },
            Cause::Down,
            vec![],
        );
        gone.push(plan.push(
            Action::WaitServiceGone {
                name: s.name.clone(),
                id: s.id.clone(),
            },
            Cause::Down,
            vec![removed],
        ));
    }
    // Only the swarm's networks: a plain `up` of the same project keeps its
    // own.
    for n in observed
        .networks
        .iter()
        .filter(|n| n.project.as_deref() == Some(project) && n.scope == "swarm")
    {
        let removed = plan.push(
            Action::RemoveNetwork {
                name: n.name.clone(),
            },
            Cause::Down,
            gone.clone(),
        );
        plan.push(
            Action::WaitNetworkGone {
                name: n.name.clone(),
            },
            Cause::Down,
            vec![removed],
        );
    }
    // Secrets and configs once no service uses them.
    for o in observed
        .objects
        .iter()
        .filter(|o| o.project.as_deref() == Some(project))
    {
        plan.push(
            Action::RemoveObject {
                kind: o.kind,
                name: o.name.clone(),
                id: o.id.clone(),
            },
            Cause::Down,
            gone.clone(),
        );
    }
    // Named volumes only when asked, once no task uses them. On a swarm they
    // live on each node: these are this node's.
    if volumes {
        for v in observed
            .volumes
            .iter()
            .filter(|v| v.project.as_deref() == Some(project))
        {
            plan.push(
                Action::RemoveVolume {
                    name: v.name.clone(),
                },
                Cause::Volumes,
                gone.clone(),
            );
        }
    }
    plan
}
