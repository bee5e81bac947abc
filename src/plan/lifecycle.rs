//! Planning `start`, `stop` and `restart`: act on the containers a project
//! already has, following dependency edges (a service starts as soon as what
//! it depends on is ready; stops go dependents first). They never create
//! anything: a service without a container is an error pointing at `up`.
//! Without a stack file (`-p` alone) there are no edges: all go at once.

use std::collections::HashMap;

use super::down::in_reverse_order;
use super::up::{ServiceSteps, Waits, is_running};
use super::{Action, Cause, Plan, PlanError, select};
use crate::identity;
use crate::model::stack::Stack;
use crate::observe::{ContainerState, Observed};

/// Which of the three commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Start,
    Stop,
    Restart,
}

impl Lifecycle {
    fn word(self) -> &'static str {
        match self {
            Lifecycle::Start => "start",
            Lifecycle::Stop => "stop",
            Lifecycle::Restart => "restart",
        }
    }
}

/// The plan of `berth start|stop|restart [SERVICE...]` for `project`'s
/// containers in `observed`; `named` empty means every service.
pub fn plan_lifecycle(
    verb: Lifecycle,
    project: &str,
    observed: &Observed,
    stack: Option<&Stack>,
    named: &[String],
    timeout: Option<i64>,
) -> Result<Plan, Vec<PlanError>> {
    let mut containers: Vec<&ContainerState> = observed
        .containers
        .iter()
        .filter(|c| c.project.as_deref() == Some(project) && c.service.is_some())
        .collect();
    containers.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    let unknown = match stack {
        Some(s) => select::unknown_services(s, named),
        None => {
            let mut known: Vec<&str> = containers
                .iter()
                .filter_map(|c| c.service.as_deref())
                .collect();
            known.dedup();
            select::unknown_among(&known, named)
        }
    };
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let selected = |s: &str| named.is_empty() || named.iter().any(|n| n == s);
    containers.retain(|c| c.service.as_deref().is_some_and(selected));
    let cause = Cause::Asked(verb.word());
    if verb != Lifecycle::Stop
        && let Some(s) = stack
    {
        // A service scaled to zero has no container to start, by design.
        let missing: Vec<&str> = s
            .services
            .values()
            .filter(|svc| identity::replicas(svc) > 0)
            .map(|svc| svc.name.as_str())
            .filter(|s| selected(s))
            .filter(|s| !containers.iter().any(|c| c.service.as_deref() == Some(*s)))
            .collect();
        if !missing.is_empty() {
            return Err(vec![PlanError::new(
                format!(
                    "no container for {}: nothing was {}ed",
                    missing.join(", "),
                    if verb == Lifecycle::Start {
                        "start"
                    } else {
                        "restart"
                    }
                ),
                format!(
                    "run `berth up` to create {}",
                    if missing.len() == 1 { "it" } else { "them" }
                ),
                None,
            )]);
        }
    }
    let mut plan = Plan::default();
    match verb {
        Lifecycle::Stop => {
            in_reverse_order(&mut plan, stack, &containers, |c| {
                is_running(c.status).then(|| {
                    (
                        Action::Stop {
                            service: c.service.clone(),
                            name: c.name.clone(),
                            id: c.id.clone(),
                            timeout,
                        },
                        cause.clone(),
                    )
                })
            });
        }
        Lifecycle::Start | Lifecycle::Restart => {
            let order: Vec<String> = match stack {
                Some(s) => select::start_order(s),
                None => {
                    let mut v: Vec<String> = containers
                        .iter()
                        .filter_map(|c| c.service.clone())
                        .collect();
                    v.dedup();
                    v
                }
            };
            let mut services: HashMap<&str, ServiceSteps> = HashMap::new();
            let mut waits = Waits::default();
            for service in order.iter().filter(|s| selected(s)) {
                let mut steps = ServiceSteps::default();
                let mine = containers
                    .iter()
                    .filter(|c| c.service.as_deref() == Some(service.as_str()));
                for c in mine {
                    if verb == Lifecycle::Start && is_running(c.status) {
                        continue;
                    }
                    // Dependencies' waits only when something here starts.
                    let after = match stack.and_then(|s| Some((s, s.services.get(service)?))) {
                        Some((s, svc)) => waits.before_start(&mut plan, s, svc, &services),
                        None => Vec::new(),
                    };
                    let action = if verb == Lifecycle::Start {
                        Action::Start {
                            service: service.clone(),
                            name: c.name.clone(),
                        }
                    } else {
                        Action::Restart {
                            service: c.service.clone(),
                            name: c.name.clone(),
                            id: c.id.clone(),
                            timeout,
                        }
                    };
                    steps.starts.push(plan.push(action, cause.clone(), after));
                }
                services.insert(service.as_str(), steps);
            }
        }
    }
    Ok(plan)
}
