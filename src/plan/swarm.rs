//! Planning the Swarm target: the same plan, with services instead of
//! containers.
//!
//! `up --swarm` creates what is missing in dependency order (overlay
//! networks, then services, a service after those it `depends_on` have
//! converged), updates a service only when its spec changed (compared by the
//! hash berth stores on it, so an unchanged service gets no update call and
//! keeps its rollback target), and removes services no longer in the file
//! with `--remove-orphans`. `down --swarm` removes the services, waits until
//! their tasks are gone, then removes the networks and waits until this
//! engine no longer lists them (the swarm removes them asynchronously), so
//! that `down` and a new `up` right after never race on a network.
//!
//! The specs come mapped already ([`SwarmSpecs`], from `engine::spec`): this
//! module only compares and orders.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{NetworkCreateRequest, ServiceSpec};
use indexmap::IndexMap;

use super::resources::{self, Declared};
use super::{Action, Cause, Plan, PlanError, StepId, UpOptions, selection};
use crate::engine::spec;
use crate::identity;
use crate::model::stack::Stack;
use crate::observe::{Observed, ServiceState};

/// What the stack asks of the swarm, as request bodies.
#[derive(Debug, Clone, Default)]
pub struct SwarmSpecs {
    /// Each service's spec, by its key in the stack file.
    pub services: IndexMap<String, ServiceSpec>,
    /// The overlay network of each network key the services use.
    pub networks: BTreeMap<String, NetworkCreateRequest>,
}

/// The spec with its hash stored as a label (as `engine::spec::service`
/// makes it), so that the next plan can tell an unchanged service without
/// comparing what the engine filled in.
fn hashed(mut spec: ServiceSpec) -> (ServiceSpec, String) {
    let hash = spec::service_hash(&spec);
    spec.labels
        .get_or_insert_with(Default::default)
        .insert(identity::CONFIG_HASH.to_string(), hash.clone());
    (spec, hash)
}

/// Plan `up --swarm`: the networks and services of the selected services.
pub fn plan_swarm_up(
    stack: &Stack,
    observed: &Observed,
    specs: &SwarmSpecs,
    opts: &UpOptions,
) -> Result<Plan, Vec<PlanError>> {
    let order = selection(stack, &opts.services)?;
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let mut networks: HashMap<&str, StepId> = HashMap::new();
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
    // What a service's create or update waits for: its networks, and the
    // convergence of each dependency this plan changes.
    let mut converged: HashMap<&str, StepId> = HashMap::new();
    let by_name: HashMap<&str, &ServiceState> = observed
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    for key in &order {
        let svc = &stack.services[key.as_str()];
        let Some(spec) = specs.services.get(key) else {
            continue;
        };
        // The image's local id goes into the spec (and its hash), so that
        // an image rebuilt under the same tag rolls the service.
        let deployed = spec.name.as_deref().and_then(|n| by_name.get(n));
        let spec = spec::pin_image(spec.clone(), &observed.images, deployed.map(|s| &s.spec));
        let (spec, hash) = hashed(spec);
        let name = spec.name.clone().unwrap_or_default();
        let mut after: Vec<StepId> = svc
            .networks
            .keys()
            .filter_map(|k| networks.get(k.as_str()).copied())
            .collect();
        after.extend(
            svc.depends_on
                .keys()
                .filter_map(|d| converged.get(d.as_str()).copied()),
        );
        let mut rolling = false;
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
                rolling = rolls(&changes);
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
        // Dependents wait for this service to converge, only when this plan
        // changes it and something depends on it.
        let depended_on = order.iter().any(|o| {
            stack.services[o.as_str()]
                .depends_on
                .contains_key(key.as_str())
        });
        if let Some(step) = step
            && depended_on
        {
            let wait = plan.push(
                Action::WaitService {
                    service: key.clone(),
                    name,
                    rolling,
                },
                Cause::DependsOn(dependents_of(stack, key)),
                vec![step],
            );
            converged.insert(key.as_str(), wait);
        }
    }
    let orphans: Vec<&ServiceState> = observed
        .services
        .iter()
        .filter(|s| s.project.as_deref() == Some(stack.name.as_str()))
        .filter(|s| {
            s.service
                .as_deref()
                .is_none_or(|k| !stack.services.contains_key(k))
        })
        .collect();
    for s in orphans {
        let service = s.service.clone().unwrap_or_else(|| "(unlabelled)".into());
        if opts.remove_orphans {
            plan.push(
                Action::RemoveService {
                    service: s.service.clone(),
                    name: s.name.clone(),
                    id: s.id.clone(),
                },
                Cause::Orphan(service),
                vec![],
            );
        } else {
            plan.warnings.push(format!(
                "service {service} is no longer in the stack file: its swarm service {} is left running; remove it with --remove-orphans",
                s.name
            ));
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Whether an update with these changes replaces the service's tasks: any
/// change but the number of replicas does.
pub fn rolls(changes: &[String]) -> bool {
    changes.is_empty() || changes.iter().any(|c| !c.starts_with("replicas "))
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

/// The services that depend on `key`, for a wait's cause.
fn dependents_of(stack: &Stack, key: &str) -> String {
    let names: Vec<&str> = stack
        .services
        .values()
        .filter(|s| s.depends_on.contains_key(key))
        .map(|s| s.name.as_str())
        .collect();
    names.join(", ")
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
