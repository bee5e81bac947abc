//! Replacing a service's containers by its `deploy.update_config`, on one
//! engine: in batches of `parallelism`, each checked before the next, with
//! `order: start-first` (the new container beside the old one, which keeps
//! serving until the new one passes its check) or stop-first, and a way
//! back planned as fallbacks of each check (`failure_action: rollback`).
//!
//! A service without `update_config` is replaced as compose replaces it
//! (`Up::recreate`), every replica at once; this module is only for those
//! that ask.
//!
//! One replica's steps, start-first:
//!
//! ```text
//! rename web-1 -> <id>_web-1        the old one keeps serving under its aliases
//! create web-1 (no service aliases) nothing reaches it by the service's name yet
//! start web-1: start-first, beside <id>_web-1
//! wait for the batch's check        healthy, or running for `monitor`
//! disconnect + connect web-1        admitted: it takes the service's aliases
//! drain <id>_web-1                  stopped with its own grace period
//! remove <id>_web-1                 once every batch has passed
//! ```
//!
//! Stop-first stops the old one before the new one starts, and creates the
//! new one with its aliases. Either way the old containers are only
//! removed when the whole service has passed, so that a failed check can
//! bring every one of them back: its fallbacks stop and remove the new
//! containers of this batch and the ones before, rename the old ones back
//! and start them. `pause` plans no fallbacks: the rollout stops at the
//! failed check, and the old containers of the batch keep serving.
//! `continue` goes on past a failed check.
//!
//! A run stopped halfway (killed, or paused by a failed check) leaves the
//! new container under the replica's name beside a parked old one; the
//! next plan goes on from there (`resume`): the new one started, checked,
//! admitted, the old one drained and removed, and the way back planned
//! again. Stop-first too, where the old one has stopped: it is still the
//! way back until the new one passes its check.
//!
//! A published host port cannot be held by two containers at once: a
//! start-first service that publishes ports gets an edge that holds them
//! and forwards to the admitted containers by the service's name
//! (`super::edge`). Where it stops: one that publishes a UDP port, joins a
//! network namespace (`network_mode`) or has a fixed address is replaced
//! stop-first, with a warning.

use std::time::Duration;

use super::super::wait::RolloutCheck;
use super::super::{Action, Cause, Replace, StepId};
use super::{ServiceSteps, Up, is_running};
use crate::identity;
use crate::model::stack::Service;
use crate::observe::ContainerState;
use crate::spec;

/// docker's default `update_config.monitor`.
const MONITOR: Duration = Duration::from_secs(5);

/// What a failed check does (`update_config.failure_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnFailure {
    Pause,
    Continue,
    Rollback,
}

/// A service's `update_config`, with docker's defaults filled in.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    start_first: bool,
    /// Replicas per batch; 0 is all at once.
    parallelism: usize,
    delay: Duration,
    check: RolloutCheck,
    on_failure: OnFailure,
}

impl Settings {
    /// The rollout `svc` asks for, if it has `update_config`; and a warning
    /// when it asks for start-first where that cannot work.
    pub(super) fn of(svc: &Service) -> Option<(Settings, Option<String>)> {
        let u = svc.extras().deploy.as_ref()?.update_config.as_ref()?;
        let monitor = u
            .monitor
            .filter(|d| d.0 > 0)
            .map(|d| Duration::from_nanos(d.0 as u64));
        let replicas = identity::replicas(svc);
        let ratio = u.max_failure_ratio.unwrap_or(0.0).clamp(0.0, 1.0);
        let health = svc
            .extras()
            .healthcheck
            .as_ref()
            .is_some_and(|h| !h.disable);
        let on_failure = match u.failure_action.as_deref() {
            Some("rollback") => OnFailure::Rollback,
            Some("continue") => OnFailure::Continue,
            _ => OnFailure::Pause,
        };
        let asked_start_first = u.order.as_deref() == Some("start-first");
        let blocker = start_first_blocker(svc);
        let warning = match (asked_start_first, &blocker) {
            (true, Some(why)) => Some(format!(
                "service {}: update_config.order start-first is not possible on one engine when the service {why}: its containers are replaced stop-first",
                svc.name
            )),
            _ => None,
        };
        Some((
            Settings {
                start_first: asked_start_first && blocker.is_none(),
                parallelism: u.parallelism.map_or(1, |p| p as usize),
                delay: u
                    .delay
                    .filter(|d| d.0 > 0)
                    .map_or(Duration::ZERO, |d| Duration::from_nanos(d.0 as u64)),
                check: RolloutCheck {
                    health,
                    monitor: monitor.unwrap_or(MONITOR),
                    monitor_set: monitor.is_some(),
                    tolerate: (ratio * f64::from(replicas)).floor() as u32,
                    go_on: on_failure == OnFailure::Continue,
                },
                on_failure,
            },
            warning,
        ))
    }
}

/// Why two containers of `svc` cannot run side by side, if they cannot.
/// Published TCP ports can: the service's edge holds them (`spec::edge`).
fn start_first_blocker(svc: &Service) -> Option<&'static str> {
    if svc.extras().network_mode.is_some() {
        return Some("sets network_mode");
    }
    let fixed = svc.networks.values().flatten().any(|n| {
        n.ipv4_address.is_some() || n.ipv6_address.is_some() || !n.link_local_ips.is_empty()
    });
    if fixed {
        return Some("has a fixed address on a network");
    }
    if svc.ports.iter().any(|p| p.protocol != "tcp") {
        return Some("publishes a UDP port (its edge forwards TCP only)");
    }
    None
}

/// Whether `svc`'s published ports are held by its edge: it publishes
/// ports and is replaced start-first, which it can be.
pub(super) fn fronted(svc: &Service) -> bool {
    spec::needs_edge(svc) && start_first_blocker(svc).is_none()
}

/// One replica being replaced.
#[derive(Debug, Clone)]
struct Member {
    /// The replica's name, which the new container takes.
    name: String,
    /// Where the old one is parked meanwhile.
    parked: String,
    old_id: String,
    old_running: bool,
}

/// The rollout of one service, as its replicas are planned.
pub(super) struct Rollout {
    settings: Settings,
    /// What the next batch's first steps wait for.
    gate: Vec<StepId>,
    /// The current batch: each member and its start.
    batch: Vec<(Member, StepId)>,
    /// Members of the batches already closed.
    done: Vec<Member>,
    /// Said when something is replaced: why start-first was not possible.
    warning: Option<String>,
}

impl Rollout {
    pub(super) fn start_first(&self) -> bool {
        self.settings.start_first
    }

    pub(super) fn new((settings, warning): (Settings, Option<String>)) -> Rollout {
        Rollout {
            settings,
            gate: Vec::new(),
            batch: Vec::new(),
            done: Vec::new(),
            warning,
        }
    }
}

impl<'a> Up<'a> {
    /// Replace `old` with a new container under `name`, as one member of
    /// the service's rollout.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn roll(
        &mut self,
        svc: &'a Service,
        number: u32,
        name: &str,
        old: &ContainerState,
        why: Replace,
        mut create_after: Vec<StepId>,
        steps: &mut ServiceSteps,
    ) {
        let Some(mut r) = self.rollout.take() else {
            return;
        };
        self.removed(old);
        let cause = Cause::Recreate(why);
        let parked = identity::parked_name(&old.id, name);
        create_after.extend(&r.gate);
        let mut start_after = Vec::new();
        if old.name != parked {
            let rename = self.park(svc, old, &parked, &cause, r.gate.clone());
            create_after.push(rename);
            start_after.push(rename);
        }
        let member = Member {
            name: name.to_string(),
            parked: parked.clone(),
            old_id: old.id.clone(),
            old_running: is_running(old.status),
        };
        if !r.settings.start_first && member.old_running {
            start_after.push(self.plan.push(
                Action::Stop {
                    service: Some(svc.name.clone()),
                    name: parked.clone(),
                    id: old.id.clone(),
                    timeout: None,
                },
                cause.clone(),
                start_after.clone(),
            ));
        }
        let (create, ready) = if r.settings.start_first {
            self.create_unnamed(svc, number, name, cause, create_after)
        } else {
            self.create(svc, number, name, cause, create_after)
        };
        steps.creates.push(create);
        start_after.extend(ready);
        let start_cause = if r.settings.start_first {
            Cause::StartFirst { beside: parked }
        } else {
            Cause::Recreated
        };
        let before = steps.starts.len();
        self.start(svc, name, start_cause, start_after, steps);
        let start = steps.starts[before];
        r.batch.push((member, start));
        if r.settings.parallelism > 0 && r.batch.len() >= r.settings.parallelism {
            self.close_batch(svc, &mut r);
        }
        self.rollout = Some(r);
    }

    /// Creates replica `number` as `name` without the service's aliases:
    /// until it passes its check, nothing finds it by the service's name.
    fn create_unnamed(
        &mut self,
        svc: &Service,
        number: u32,
        name: &str,
        cause: Cause,
        after: Vec<StepId>,
    ) -> (StepId, Vec<StepId>) {
        let (create, ready) = self.create(svc, number, name, cause, after);
        if let Action::CreateContainer { request, .. } = &mut self.plan.steps[create].action
            && let Some(endpoints) = request
                .networking_config
                .as_mut()
                .and_then(|n| n.endpoints_config.as_mut())
        {
            for e in endpoints.values_mut() {
                e.aliases = None;
            }
        }
        for &id in &ready {
            if let Action::Connect { endpoint, .. } = &mut self.plan.steps[id].action {
                endpoint.aliases = None;
            }
        }
        (create, ready)
    }

    /// Plans the check of the current batch, what follows it, and what
    /// goes back if it fails.
    fn close_batch(&mut self, svc: &Service, r: &mut Rollout) {
        if r.batch.is_empty() {
            return;
        }
        let starts: Vec<StepId> = r.batch.iter().map(|(_, s)| *s).collect();
        let check = self.plan.push(
            Action::WaitRollout {
                service: svc.name.clone(),
                names: r.batch.iter().map(|(m, _)| m.name.clone()).collect(),
                check: r.settings.check,
            },
            Cause::Rollout,
            starts,
        );
        let members: Vec<Member> = r.batch.drain(..).map(|(m, _)| m).collect();
        if r.settings.on_failure == OnFailure::Rollback {
            let back: Vec<Member> = r.done.iter().chain(&members).cloned().collect();
            self.roll_back(svc, check, &back);
        }
        let mut end = vec![check];
        if r.settings.start_first {
            end.clear();
            let endpoints = spec::endpoints(self.stack, svc);
            for m in &members {
                let mut admitted = vec![check];
                for (network, endpoint) in &endpoints {
                    let leave = self.plan.push(
                        Action::Disconnect {
                            service: svc.name.clone(),
                            name: m.name.clone(),
                            network: network.clone(),
                        },
                        Cause::Admit,
                        vec![check],
                    );
                    admitted.push(self.plan.push(
                        Action::Connect {
                            service: svc.name.clone(),
                            name: m.name.clone(),
                            network: network.clone(),
                            endpoint: Box::new(endpoint.clone()),
                        },
                        Cause::Admit,
                        vec![leave],
                    ));
                }
                let admitted = self.point_edge(svc, &m.name, admitted);
                if m.old_running {
                    end.push(self.plan.push(
                        Action::Drain {
                            service: svc.name.clone(),
                            name: m.parked.clone(),
                            id: m.old_id.clone(),
                        },
                        Cause::Replaced,
                        admitted,
                    ));
                } else {
                    end.extend(admitted);
                }
            }
        }
        r.done.extend(members);
        r.gate = if r.settings.delay > Duration::ZERO {
            vec![self.plan.push(
                Action::Delay {
                    service: svc.name.clone(),
                    duration: r.settings.delay,
                },
                Cause::RolloutDelay,
                end,
            )]
        } else {
            end
        };
    }

    /// Fallbacks of `check`: every member's new container stopped and
    /// removed, its old one renamed back and started again if it ran.
    fn roll_back(&mut self, svc: &Service, check: StepId, members: &[Member]) {
        let cause = Cause::RollBack {
            service: svc.name.clone(),
        };
        for m in members {
            // By name: the new container's id is the engine's to give.
            let stop = self.plan.push_fallback(
                check,
                Action::Stop {
                    service: Some(svc.name.clone()),
                    name: m.name.clone(),
                    id: m.name.clone(),
                    timeout: None,
                },
                cause.clone(),
                vec![],
            );
            let remove = self.plan.push_fallback(
                check,
                Action::Remove {
                    service: Some(svc.name.clone()),
                    name: m.name.clone(),
                    id: m.name.clone(),
                },
                cause.clone(),
                vec![stop],
            );
            let rename = self.plan.push_fallback(
                check,
                Action::Rename {
                    service: svc.name.clone(),
                    id: m.old_id.clone(),
                    from: m.parked.clone(),
                    to: m.name.clone(),
                },
                cause.clone(),
                vec![remove],
            );
            if m.old_running {
                self.plan.push_fallback(
                    check,
                    Action::Start {
                        service: svc.name.clone(),
                        name: m.name.clone(),
                    },
                    cause.clone(),
                    vec![rename],
                );
            }
        }
    }

    /// Finishes a replacement a run left halfway (killed, or paused by a
    /// failed check): `new` has the replica's name and the current
    /// configuration, and the old containers it replaces are parked beside
    /// it: start-first, still serving; stop-first, stopped (or stopping).
    /// The new one is started if it is not (stop-first, once the old ones
    /// have stopped), checked, admitted, and only then are the old ones
    /// drained and removed, as an uninterrupted rollout would have done; a
    /// failed check brings an old one back.
    pub(super) fn resume(
        &mut self,
        svc: &'a Service,
        new: &ContainerState,
        parked: &[&ContainerState],
        steps: &mut ServiceSteps,
    ) {
        let Some(r) = self.rollout.take() else {
            return;
        };
        let start_first = r.settings.start_first;
        for old in parked {
            self.removed(old);
        }
        // Stop-first: an old one a killed run left stopping stops before
        // the new one starts.
        let mut stopped = Vec::new();
        if !start_first {
            for old in parked.iter().filter(|c| is_running(c.status)) {
                stopped.push(self.plan.push(
                    Action::Stop {
                        service: Some(svc.name.clone()),
                        name: old.name.clone(),
                        id: old.id.clone(),
                        timeout: None,
                    },
                    Cause::Replaced,
                    vec![],
                ));
            }
        }
        let mut check_after = Vec::new();
        if !is_running(new.status) {
            let mut own = stopped;
            if new.status == crate::observe::Status::Created {
                own.extend(self.copies(svc, &new.name, &Cause::Created, vec![]));
            }
            let cause = if start_first {
                Cause::StartFirst {
                    beside: parked
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            } else {
                Cause::Recreated
            };
            let before = steps.starts.len();
            self.start(svc, &new.name, cause, own, steps);
            check_after.push(steps.starts[before]);
        } else {
            check_after.extend(stopped);
        }
        let check = self.plan.push(
            Action::WaitRollout {
                service: svc.name.clone(),
                names: vec![new.name.clone()],
                check: r.settings.check,
            },
            Cause::Rollout,
            check_after,
        );
        // The one to come back to: start-first, one that serves; stop-first,
        // the one the rollout stopped, started again.
        let comes_back = if start_first {
            parked.iter().find(|c| is_running(c.status))
        } else {
            parked.first()
        };
        if r.settings.on_failure == OnFailure::Rollback
            && let Some(old) = comes_back
        {
            let back = Member {
                name: new.name.clone(),
                parked: old.name.clone(),
                old_id: old.id.clone(),
                old_running: true,
            };
            self.roll_back(svc, check, &[back]);
        }
        // What the admission is: joining its networks with the service's
        // aliases, which `reconnect` plans from what the container has
        // (stop-first, it was created with them: nothing).
        let first = self.plan.steps.len();
        let mut admitted = self.reconnect(svc, new);
        for id in first..self.plan.steps.len() {
            self.plan.steps[id].after.push(check);
        }
        admitted.push(check);
        let admitted = self.point_edge(svc, &new.name, admitted);
        for old in parked {
            let mut gone = admitted.clone();
            if start_first && is_running(old.status) {
                gone = vec![self.plan.push(
                    Action::Drain {
                        service: svc.name.clone(),
                        name: old.name.clone(),
                        id: old.id.clone(),
                    },
                    Cause::Replaced,
                    gone,
                )];
            }
            self.plan.push(
                Action::Remove {
                    service: Some(svc.name.clone()),
                    name: old.name.clone(),
                    id: old.id.clone(),
                },
                Cause::Replaced,
                gone,
            );
        }
        self.rollout = Some(r);
    }

    /// For a service of one replica behind an edge: points the edge at the
    /// admitted container `name` after `admitted`, so that the old one
    /// gets no new connection before it is drained (the service's name
    /// resolves to both until the old one has stopped). The steps the drain
    /// waits for. With several replicas the edge keeps following the
    /// service's name.
    fn point_edge(&mut self, svc: &Service, name: &str, admitted: Vec<StepId>) -> Vec<StepId> {
        let edge = spec::edge_name(&self.stack.name, &svc.name);
        // An edge this plan makes starts after the rollout (the old
        // container still holds the ports then): nothing to point yet.
        let running = self
            .observed
            .containers
            .iter()
            .any(|c| c.name == edge && c.edge.is_some() && is_running(c.status));
        if !fronted(svc) || identity::replicas(svc) != 1 || !running {
            return admitted;
        }
        vec![self.plan.push(
            Action::PointEdgeAt {
                service: svc.name.clone(),
                edge,
                container: name.to_string(),
            },
            Cause::Admit,
            admitted,
        )]
    }

    /// Closes the last batch and removes the old containers once every
    /// batch has passed.
    pub(super) fn finish_rollout(&mut self, svc: &Service) {
        let Some(mut r) = self.rollout.take() else {
            return;
        };
        self.close_batch(svc, &mut r);
        if !r.done.is_empty()
            && let Some(w) = r.warning.take()
        {
            self.plan.warnings.push(w);
        }
        for m in &r.done {
            self.plan.push(
                Action::Remove {
                    service: Some(svc.name.clone()),
                    name: m.parked.clone(),
                    id: m.old_id.clone(),
                },
                Cause::Replaced,
                r.gate.clone(),
            );
        }
    }
}
