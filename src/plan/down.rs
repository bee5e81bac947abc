//! Planning `down`: stop the project's containers, dependents first, remove
//! them, then its networks, and its volumes only when asked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::up::{is_running, orphans_left};
use super::{Action, Cause, Plan, StepId, select};
use crate::model::stack::Stack;
use crate::observe::{ContainerState, Observed};

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    pub remove_orphans: bool,
    /// Seconds each container gets to stop; None: its own grace period.
    pub timeout: Option<i64>,
}

/// Services that depend on each one, by name.
pub(super) fn dependents(stack: Option<&Stack>) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    if let Some(s) = stack {
        for (name, svc) in &s.services {
            for dep in svc.depends_on.keys() {
                out.entry(dep.as_str()).or_default().push(name.as_str());
            }
        }
    }
    out
}

/// One step per container in `containers`, dependents' steps before their
/// dependencies' (the reverse of start order); containers of services the
/// stack does not know go in parallel. `step` makes the action, or None to
/// leave a container alone. Returns the step of each container, by id.
pub(super) fn in_reverse_order<'c>(
    plan: &mut Plan,
    stack: Option<&Stack>,
    containers: &[&'c ContainerState],
    mut step: impl FnMut(&ContainerState) -> Option<(Action, Cause)>,
) -> HashMap<&'c str, StepId> {
    let mut order: Vec<String> = stack.map(select::start_order).unwrap_or_default();
    order.reverse();
    let dependents = dependents(stack);
    // Each service's containers, grouped once in their given order, so that
    // planning stays linear in the number of services.
    let mut by_service: HashMap<&str, Vec<&ContainerState>> = HashMap::new();
    for c in containers {
        if let Some(s) = c.service.as_deref() {
            by_service.entry(s).or_default().push(c);
        }
    }
    // What a service's dependents wait behind: its own steps if it has any,
    // else what its dependents wait behind, passed on.
    let mut blocking: HashMap<&str, Vec<StepId>> = HashMap::new();
    let mut out: HashMap<&str, StepId> = HashMap::new();
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
        for c in by_service.get(service.as_str()).into_iter().flatten() {
            if let Some((action, cause)) = step(c) {
                let id = plan.push(action, cause, after.clone());
                out.insert(c.id.as_str(), id);
                own.push(id);
            }
        }
        blocking.insert(service.as_str(), if own.is_empty() { after } else { own });
    }
    let known: HashSet<&str> = order.iter().map(String::as_str).collect();
    for c in containers {
        let known = c.service.as_deref().is_some_and(|s| known.contains(s));
        if !known && let Some((action, cause)) = step(c) {
            out.insert(c.id.as_str(), plan.push(action, cause, vec![]));
        }
    }
    out
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
        plan.warnings.push(orphans_left(service, *n));
    }
    let cause = |c: &ContainerState| {
        if in_stack(c) {
            Cause::Down
        } else {
            Cause::Orphan(
                c.service
                    .clone()
                    .unwrap_or_else(|| "(unlabelled)".to_string()),
            )
        }
    };
    let stops = in_reverse_order(&mut plan, stack, &containers, |c| {
        is_running(c.status).then(|| {
            (
                Action::Stop {
                    service: c.service.clone(),
                    name: c.name.clone(),
                    id: c.id.clone(),
                    timeout: opts.timeout,
                },
                cause(c),
            )
        })
    });
    let mut removes = Vec::new();
    for c in &containers {
        removes.push(plan.push(
            Action::Remove {
                service: c.service.clone(),
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
                Cause::Down,
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
                Cause::Volumes,
                removes.clone(),
            );
        }
    }
    plan
}
