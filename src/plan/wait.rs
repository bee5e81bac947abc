//! When a wait step is over: the condition the planner puts on it, and the
//! judges that say whether the facts meet it.
//!
//! A container's `Wait` carries its dependency's [`Condition`], judged by
//! [`readiness`]; a Swarm service's `WaitService` carries a
//! [`ServiceCondition`], judged by [`converged`]; the waits for what a
//! removal leaves behind are judged by [`service_gone`] and
//! [`network_gone`]. Every judge is a pure function of the condition, what
//! the executor fetched and, for a service, the [`Times`] it was given.
//!
//! Where it stops: nothing here calls the engine, reads the clock or polls;
//! `apply`'s executor fetches the facts, asks the judge, and polls until the
//! answer is not [`Readiness::NotYet`] or the time is up.

use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ContainerSummary, Network, Service, Task};

use crate::engine::clock::timestamp_secs;
use crate::model::stack::Condition;

/// A judge's answer.
#[derive(Debug, PartialEq)]
pub enum Readiness {
    Ready,
    NotYet,
    /// Not yet, and this is what to say if the wait runs out.
    Pending(String),
    Failed(String),
}

/// Whether an inspected container meets a dependency condition, as compose
/// judges it: `service_started` once it has started (even if it has exited
/// since), `service_healthy` on a healthy health check and failed as soon as
/// it exits or turns unhealthy, `service_completed_successfully` on exit 0.
/// `running_for` is how long the waiter has seen it running (its own clock):
/// a health check the engine never runs fails `service_healthy`
/// ([`health_check_not_run`]) rather than the whole wait timeout.
pub fn readiness(
    condition: Condition,
    info: &ContainerInspectResponse,
    running_for: Option<Duration>,
) -> Readiness {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let state = info.state.as_ref();
    let status = state.and_then(|s| s.status).unwrap_or(S::EMPTY);
    let code = state.and_then(|s| s.exit_code).unwrap_or(0);
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .unwrap_or(H::NONE);
    let exited = matches!(status, S::EXITED | S::DEAD);
    match condition {
        Condition::ServiceStarted => match status {
            S::EMPTY | S::CREATED => Readiness::NotYet,
            _ => Readiness::Ready,
        },
        // Exited first: the engine marks an exited container unhealthy too,
        // and the exit is the more useful thing to say.
        Condition::ServiceHealthy => match health {
            _ if exited => Readiness::Failed(format!("it exited with code {code}")),
            H::HEALTHY => Readiness::Ready,
            H::UNHEALTHY => Readiness::Failed("its health check reports unhealthy".into()),
            H::NONE | H::EMPTY if status == S::RUNNING => {
                Readiness::Failed("it has no health check".into())
            }
            _ => match health_check_not_run(info, running_for, WAITS_INSTEAD) {
                Some(why) => Readiness::Failed(why),
                None => Readiness::NotYet,
            },
        },
        Condition::ServiceCompletedSuccessfully => match status {
            S::EXITED if code == 0 => Readiness::Ready,
            S::EXITED | S::DEAD => Readiness::Failed(format!("it exited with code {code}")),
            _ => Readiness::NotYet,
        },
    }
}

/// How many health check intervals past its `start_period` (and one
/// `timeout` more, for a first check that hangs) a running container may go
/// without a single health check result before berth takes it that the
/// engine does not run its health checks.
pub const UNRUN_INTERVALS: u32 = 3;

/// The way out of a dependency's (or `--wait`'s) health check that never runs.
const WAITS_INSTEAD: &str = "drop `condition: service_healthy` (and `--wait`) for this service";

/// The way out of a start-first rollout's health check that never runs.
const ROLLOUT_INSTEAD: &str =
    "replace the service stop-first (drop `update_config.order: start-first`)";

/// Why the wait for `info` to turn healthy ends now, when the engine has
/// not run its health check once in all the time it should have: running
/// for `running_for`, its status still "starting", and no result in its
/// health log. Docker runs a check every `interval` (logging the result,
/// a timeout too); podman runs them from systemd timers, so a podman
/// without systemd (as `podman system service` in a container or a plain
/// root session) never does, and the wait would last its whole timeout.
/// `instead` is the last way out the message offers: what in the stack (or
/// the command) asks for the health check to pass.
pub fn health_check_not_run(
    info: &ContainerInspectResponse,
    running_for: Option<Duration>,
    instead: &str,
) -> Option<String> {
    let running_for = running_for?;
    let health = info.state.as_ref()?.health.as_ref()?;
    if health.log.as_ref().is_some_and(|l| !l.is_empty()) {
        return None;
    }
    let check = info.config.as_ref()?.healthcheck.as_ref()?;
    // The engine's defaults where the container's check leaves them unset.
    let ns = |v: Option<i64>, default_s: u64| match v {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => Duration::from_secs(default_s),
    };
    let interval = ns(check.interval, 30);
    let timeout = ns(check.timeout, 30);
    let start_period = ns(check.start_period, 0).max(Duration::ZERO);
    let grace = start_period + interval * UNRUN_INTERVALS + timeout;
    if running_for < grace {
        return None;
    }
    Some(format!(
        "the engine has not run its health check once in {}s of running (start_period {}s, \
         interval {}s): it does not run health checks. podman runs them from systemd timers, \
         so without systemd they never run: use a podman with systemd, run \
         `podman healthcheck run {name}` yourself (from cron or a loop), or {instead}",
        running_for.as_secs(),
        start_period.as_secs_f64(),
        interval.as_secs_f64(),
        name = info
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/'),
    ))
}

/// What a rollout's new container must show before it takes traffic, as
/// the planner states it from `update_config`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RolloutCheck {
    /// The service has a health check: healthy is the bar. Without one,
    /// running for `monitor` without exiting is.
    pub health: bool,
    /// `update_config.monitor` (5 s, docker's default, when unset).
    pub monitor: Duration,
    /// The monitor was set: with a health check, not healthy within it is a
    /// failure too. Unset, the health check's own verdict (unhealthy after
    /// its retries) decides.
    pub monitor_set: bool,
    /// New containers of the service that may fail before the rollout
    /// fails (`max_failure_ratio` of its replicas, rounded down).
    pub tolerate: u32,
    /// `failure_action: continue`: a failure is reported and the rollout
    /// goes on.
    pub go_on: bool,
}

/// Whether a rollout's new container passes `check`, given how long the
/// executor has seen it running (`running_for`, from its own clock: the
/// engine's clock may differ from this machine's).
pub fn rollout_readiness(
    check: &RolloutCheck,
    info: &ContainerInspectResponse,
    running_for: Option<Duration>,
) -> Readiness {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let state = info.state.as_ref();
    let status = state.and_then(|s| s.status).unwrap_or(S::EMPTY);
    let code = state.and_then(|s| s.exit_code).unwrap_or(0);
    if matches!(status, S::EXITED | S::DEAD) {
        return Readiness::Failed(format!("it exited with code {code}"));
    }
    if status == S::RESTARTING {
        return Readiness::Failed(format!("it is restarting (last exit code {code})"));
    }
    let running_for = running_for.unwrap_or_default();
    if check.health {
        let health = state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .unwrap_or(H::NONE);
        return match health {
            H::HEALTHY => Readiness::Ready,
            H::UNHEALTHY => Readiness::Failed("its health check reports unhealthy".into()),
            _ if check.monitor_set && running_for >= check.monitor => Readiness::Failed(format!(
                "not healthy within {}s (update_config.monitor)",
                check.monitor.as_secs_f64()
            )),
            _ => match health_check_not_run(info, Some(running_for), ROLLOUT_INSTEAD) {
                Some(why) => Readiness::Failed(why),
                None => Readiness::Pending("its health check has not passed yet".into()),
            },
        };
    }
    if status == S::RUNNING && running_for >= check.monitor {
        Readiness::Ready
    } else {
        Readiness::Pending(format!(
            "running for {:.1}s of the {}s update_config.monitor asks",
            running_for.as_secs_f64(),
            check.monitor.as_secs_f64()
        ))
    }
}

/// The last health check's output of an inspected container, for a failure
/// message.
pub fn last_health_output(info: &ContainerInspectResponse) -> Option<String> {
    let log = info.state.as_ref()?.health.as_ref()?.log.as_ref()?;
    let last = log.last()?;
    let out = last.output.as_deref().unwrap_or("").trim();
    Some(format!(
        "exit code {}{}{}",
        last.exit_code.unwrap_or(-1),
        if out.is_empty() { "" } else { ": " },
        out
    ))
}

/// What a `WaitService` step waits for, as the planner states it: the
/// service converged, judged as `docker service` progress judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceCondition {
    /// Every task of the service's current spec running (for a job,
    /// complete), as many as the spec asks for.
    Converged,
    /// The same, after an update this run sent that replaces the service's
    /// tasks. Right after such an update, before the swarm has started
    /// rolling, the old tasks still run: the service is not converged until
    /// the swarm reports the update; but for no longer than `roll_start`,
    /// should the swarm find nothing to roll.
    ConvergedAfterUpdate { roll_start: Duration },
}

/// The times [`converged`] needs, in Unix seconds, as the executor knows
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// When this run began to apply: a service's update status that started
    /// before then (by more than a second) is an earlier update's, not one
    /// this run may have sent.
    pub run_started: i64,
    /// When this wait began.
    pub waiting_since: i64,
    pub now: i64,
}

/// Whether a Swarm service has converged, as `docker service` progress
/// judges it: every task of the current spec running (or, for a job,
/// completed), as many as the spec asks for; a paused or rolled-back update
/// is a failure, with the tasks' errors. `tasks` are the service's tasks.
pub fn converged(
    condition: ServiceCondition,
    service: &Service,
    tasks: &[Task],
    times: Times,
) -> Readiness {
    use bollard::models::{ServiceUpdateStatusStateEnum as U, TaskState as T};
    // An update status from before this run is an earlier update's, not
    // the one this run may have sent.
    let since = times.run_started - 1;
    // Each failed task's own words: its error, else its status message.
    let errors: Vec<String> = tasks
        .iter()
        .filter_map(|t| {
            let status = t.status.as_ref()?;
            let failed = matches!(status.state, Some(T::FAILED | T::REJECTED));
            status
                .err
                .clone()
                .filter(|e| !e.is_empty())
                .or_else(|| status.message.clone().filter(|_| failed))
        })
        .collect();

    let current = service.update_status.as_ref().filter(|u| {
        u.started_at
            .as_deref()
            .and_then(timestamp_secs)
            .is_none_or(|t| t >= since)
    });
    let update_message = current
        .and_then(|u| u.message.clone())
        .filter(|m| !m.is_empty());
    let with_errors = |what: &str| {
        let mut text = what.to_string();
        if let Some(m) = &update_message {
            text.push_str(&format!(" ({m})"));
        }
        if let Some(last) = errors.last() {
            text.push_str(&format!("; task error: {last}"));
        }
        text
    };
    if let ServiceCondition::ConvergedAfterUpdate { roll_start } = condition {
        let waited = times.now - times.waiting_since;
        let roll_start = i64::try_from(roll_start.as_secs()).unwrap_or(i64::MAX);
        if current.is_none() && waited < roll_start {
            return Readiness::NotYet;
        }
    }
    if let Some(state) = current.and_then(|u| u.state) {
        match state {
            U::PAUSED => return Readiness::Failed(with_errors("its update is paused")),
            U::ROLLBACK_STARTED | U::ROLLBACK_PAUSED | U::ROLLBACK_COMPLETED => {
                return Readiness::Failed(with_errors("its update was rolled back"));
            }
            U::UPDATING => return Readiness::NotYet,
            U::COMPLETED | U::EMPTY => {}
        }
    }
    let mode = service
        .spec
        .as_ref()
        .and_then(|s| s.mode.clone())
        .unwrap_or_default();
    let job = mode.replicated_job.is_some() || mode.global_job.is_some();
    let (wanted, done) = if job {
        (T::COMPLETE, T::COMPLETE)
    } else {
        (T::RUNNING, T::RUNNING)
    };
    let current: Vec<_> = tasks
        .iter()
        .filter(|t| t.desired_state == Some(wanted))
        .collect();
    let finished = current
        .iter()
        .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(done))
        .count();
    let needed = match mode.replicated.as_ref().and_then(|r| r.replicas) {
        Some(n) => usize::try_from(n).unwrap_or(0),
        None if mode.global.is_some() => current.len().max(1),
        None => mode
            .replicated_job
            .as_ref()
            .and_then(|j| j.total_completions.or(j.max_concurrent))
            .map_or(current.len().max(1), |n| usize::try_from(n).unwrap_or(0)),
    };
    if finished >= needed && finished == current.len() {
        Readiness::Ready
    } else if errors.is_empty() {
        Readiness::NotYet
    } else {
        // The swarm retries failed tasks: not a failure yet, but what to
        // say if the wait runs out.
        Readiness::Pending(with_errors(&format!(
            "{finished} of {needed} tasks running"
        )))
    }
}

/// Whether a removed service's tasks are all over, from the list of every
/// task: none of them is the service's (by its id, which the engine no
/// longer resolves from the name) and still to run or running. A task that
/// has ended holds no network, and may never leave the list: Docker 20.10
/// keeps a job's completed tasks after its service is removed, so waiting
/// for those to go waited for ever. What an ended task leaves on this
/// engine, its container, is [`service_containers_gone`]'s.
pub fn service_gone(id: &str, all_tasks: &[Task]) -> Readiness {
    use bollard::models::TaskState as T;
    let ended = |t: &Task| {
        matches!(
            t.status.as_ref().and_then(|s| s.state),
            Some(T::COMPLETE | T::SHUTDOWN | T::FAILED | T::REJECTED | T::REMOVE | T::ORPHANED)
        )
    };
    if all_tasks
        .iter()
        .any(|t| t.service_id.as_deref() == Some(id) && !ended(t))
    {
        Readiness::NotYet
    } else {
        Readiness::Ready
    }
}

/// Whether a removed service whose tasks are over has left no container on
/// this engine, and which of those left to remove: the ones that no longer
/// run.
///
/// A task's container can outlive the task by a second or two (the node's
/// agent removes it after the swarm has dropped the task; measured on
/// 20.10), and holds the service's named volumes until then: `down --swarm
/// --volumes` that removed them as soon as the tasks were gone failed with
/// "volume is in use". Docker 20.10 never removes a completed job's
/// container. So the stopped ones are removed (as the agent would; it
/// takes a container already gone as removed), and a running one, which
/// the agent is stopping, is waited for.
pub fn service_containers_gone(containers: &[ContainerSummary]) -> (Readiness, Vec<String>) {
    use bollard::models::ContainerSummaryStateEnum as S;
    if containers.is_empty() {
        return (Readiness::Ready, Vec::new());
    }
    let stopped = containers
        .iter()
        .filter(|c| matches!(c.state, Some(S::CREATED | S::EXITED | S::DEAD)))
        .filter_map(|c| c.id.clone())
        .collect();
    (Readiness::NotYet, stopped)
}

/// Whether a removed network is gone from this engine's list of networks
/// by that name.
pub fn network_gone(name: &str, found: &[Network]) -> Readiness {
    if found.iter().any(|n| n.name.as_deref() == Some(name)) {
        Readiness::NotYet
    } else {
        Readiness::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspected(status: &str, health: Option<&str>, code: i64) -> ContainerInspectResponse {
        serde_json::from_value(serde_json::json!({
            "State": {
                "Status": status,
                "ExitCode": code,
                "Health": health.map(|h| serde_json::json!({ "Status": h })),
            }
        }))
        .unwrap()
    }

    #[test]
    fn service_healthy_fails_fast_when_the_dependency_exits_or_turns_unhealthy() {
        let c = Condition::ServiceHealthy;
        assert_eq!(
            readiness(c, &inspected("running", Some("starting"), 0), None),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("running", Some("healthy"), 0), None),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("running", Some("unhealthy"), 0), None),
            Readiness::Failed("its health check reports unhealthy".into())
        );
        assert_eq!(
            readiness(c, &inspected("exited", Some("unhealthy"), 3), None),
            Readiness::Failed("it exited with code 3".into())
        );
        assert_eq!(
            readiness(c, &inspected("running", None, 0), None),
            Readiness::Failed("it has no health check".into())
        );
    }

    /// A running container whose health check (every 1 s, 1 s timeout, 2 s
    /// start period) is still starting, with `results` in its health log.
    fn unchecked(results: usize) -> ContainerInspectResponse {
        let log: Vec<_> = (0..results)
            .map(|_| serde_json::json!({ "ExitCode": 1, "Output": "no" }))
            .collect();
        serde_json::from_value(serde_json::json!({
            "Name": "/pm-db-1",
            "State": {
                "Status": "running",
                "Running": true,
                "Health": { "Status": "starting", "FailingStreak": 0, "Log": log },
            },
            "Config": { "Healthcheck": {
                "Test": ["CMD", "true"],
                "Interval": 1_000_000_000,
                "Timeout": 1_000_000_000,
                "StartPeriod": 2_000_000_000,
            } },
        }))
        .unwrap()
    }

    #[test]
    fn a_health_check_the_engine_never_runs_fails_the_wait_and_names_podmans_systemd() {
        let c = Condition::ServiceHealthy;
        let secs = |s| Some(Duration::from_secs(s));
        // start_period 2 + 3 intervals of 1 + timeout 1 = 6 s.
        assert_eq!(readiness(c, &unchecked(0), secs(5)), Readiness::NotYet);
        assert_eq!(readiness(c, &unchecked(0), None), Readiness::NotYet);
        let Readiness::Failed(why) = readiness(c, &unchecked(0), secs(6)) else {
            panic!("a check never run fails the wait");
        };
        assert!(
            why.starts_with("the engine has not run its health check once in 6s"),
            "{why}"
        );
        assert!(why.contains("systemd"), "{why}");
        assert!(why.contains("`podman healthcheck run pm-db-1`"), "{why}");
        // Results, even failing ones, mean the engine runs it: wait on.
        assert_eq!(readiness(c, &unchecked(1), secs(600)), Readiness::NotYet);

        // A start-first rollout's check says so, and the way out is hers.
        let check = RolloutCheck {
            health: true,
            monitor: Duration::from_secs(5),
            monitor_set: false,
            tolerate: 0,
            go_on: false,
        };
        let Readiness::Failed(why) = rollout_readiness(&check, &unchecked(0), secs(6)) else {
            panic!("a rollout's check never run fails it");
        };
        assert!(
            why.contains("drop `update_config.order: start-first`"),
            "{why}"
        );
        assert_eq!(
            rollout_readiness(&check, &unchecked(1), secs(600)),
            Readiness::Pending("its health check has not passed yet".into())
        );
    }

    #[test]
    fn service_completed_successfully_needs_exit_code_0() {
        let c = Condition::ServiceCompletedSuccessfully;
        assert_eq!(
            readiness(c, &inspected("running", None, 0), None),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 0), None),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 1), None),
            Readiness::Failed("it exited with code 1".into())
        );
    }

    #[test]
    fn service_started_is_met_once_the_container_has_started() {
        let c = Condition::ServiceStarted;
        assert_eq!(
            readiness(c, &inspected("created", None, 0), None),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("running", None, 0), None),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 0), None),
            Readiness::Ready
        );
    }

    /// A replicated service of `replicas`, with `update` as its update
    /// status (`[state, started_at]`).
    fn service(replicas: i64, update: Option<[&str; 2]>) -> Service {
        serde_json::from_value(serde_json::json!({
            "Spec": { "Mode": { "Replicated": { "Replicas": replicas } } },
            "UpdateStatus": update.map(|[state, at]| serde_json::json!({
                "State": state,
                "StartedAt": at,
                "Message": "update paused due to failure",
            })),
        }))
        .unwrap()
    }

    /// A task that should run, in `state`, with `err`.
    fn task(state: &str, err: Option<&str>) -> Task {
        serde_json::from_value(serde_json::json!({
            "DesiredState": "running",
            "Status": { "State": state, "Err": err },
        }))
        .unwrap()
    }

    /// 2024-05-01T10:11:12Z.
    const T0: i64 = 1_714_558_272;

    fn times(waited: i64) -> Times {
        Times {
            run_started: T0,
            waiting_since: T0 + 5,
            now: T0 + 5 + waited,
        }
    }

    const AFTER_UPDATE: ServiceCondition = ServiceCondition::ConvergedAfterUpdate {
        roll_start: Duration::from_secs(15),
    };

    #[test]
    fn a_service_converges_when_as_many_tasks_run_as_it_asks_for() {
        let running = [task("running", None), task("running", None)];
        let s = service(2, None);
        let c = ServiceCondition::Converged;
        assert_eq!(converged(c, &s, &running, times(0)), Readiness::Ready);
        let one = [task("running", None), task("starting", None)];
        assert_eq!(converged(c, &s, &one, times(0)), Readiness::NotYet);
        let failing = [task("running", None), task("failed", Some("exit 1"))];
        assert_eq!(
            converged(c, &s, &failing, times(0)),
            Readiness::Pending("1 of 2 tasks running; task error: exit 1".into())
        );
    }

    #[test]
    fn after_an_update_the_old_tasks_count_only_once_the_grace_to_start_rolling_is_over() {
        let running = [task("running", None)];
        let s = service(1, None);
        assert_eq!(
            converged(AFTER_UPDATE, &s, &running, times(14)),
            Readiness::NotYet
        );
        assert_eq!(
            converged(AFTER_UPDATE, &s, &running, times(15)),
            Readiness::Ready
        );
        let c = ServiceCondition::Converged;
        assert_eq!(converged(c, &s, &running, times(0)), Readiness::Ready);
    }

    #[test]
    fn an_update_status_from_before_the_run_is_an_earlier_runs() {
        let running = [task("running", None)];
        // Paused since this run began (a second's slack): a failure.
        let paused = service(1, Some(["paused", "2024-05-01T10:11:11Z"]));
        assert_eq!(
            converged(AFTER_UPDATE, &paused, &running, times(0)),
            Readiness::Failed("its update is paused (update paused due to failure)".into())
        );
        // Paused before it: not this run's, so the tasks decide.
        let earlier = service(1, Some(["paused", "2024-05-01T10:11:10Z"]));
        let c = ServiceCondition::Converged;
        assert_eq!(converged(c, &earlier, &running, times(0)), Readiness::Ready);
        let rolled_back = service(1, Some(["rollback_completed", "2024-05-01T10:11:20Z"]));
        assert_eq!(
            converged(c, &rolled_back, &running, times(0)),
            Readiness::Failed("its update was rolled back (update paused due to failure)".into())
        );
    }

    #[test]
    fn a_removal_is_over_when_nothing_by_its_id_or_name_is_listed() {
        let of = |id: &str| -> Task {
            serde_json::from_value(serde_json::json!({ "ServiceID": id })).unwrap()
        };
        assert_eq!(service_gone("a", &[of("b")]), Readiness::Ready);
        assert_eq!(service_gone("a", &[of("b"), of("a")]), Readiness::NotYet);
        let in_state = |state: &str, desired: &str| -> Task {
            serde_json::from_value(serde_json::json!({
                "ServiceID": "a",
                "Status": { "State": state },
                "DesiredState": desired,
            }))
            .unwrap()
        };
        // Being stopped for the removal: not yet.
        assert_eq!(
            service_gone("a", &[in_state("running", "remove")]),
            Readiness::NotYet
        );
        // Ended: a job's completed task, which 20.10 keeps for ever after
        // its service is removed, and a shut-down one.
        assert_eq!(
            service_gone(
                "a",
                &[
                    in_state("complete", "complete"),
                    in_state("shutdown", "remove")
                ]
            ),
            Readiness::Ready
        );
        let net: Network = serde_json::from_value(serde_json::json!({ "Name": "n" })).unwrap();
        assert_eq!(
            network_gone("n", std::slice::from_ref(&net)),
            Readiness::NotYet
        );
        assert_eq!(network_gone("m", &[net]), Readiness::Ready);
    }

    #[test]
    fn a_removed_services_stopped_containers_are_removed_and_running_ones_waited_for() {
        let c = |id: &str, state: &str| -> ContainerSummary {
            serde_json::from_value(serde_json::json!({ "Id": id, "State": state })).unwrap()
        };
        assert_eq!(service_containers_gone(&[]), (Readiness::Ready, vec![]));
        // The agent is stopping it: wait, remove nothing.
        assert_eq!(
            service_containers_gone(&[c("a", "running")]),
            (Readiness::NotYet, vec![])
        );
        // Stopped (a task's, about to go; a 20.10 job's, never going):
        // removed; one being removed already is waited for.
        assert_eq!(
            service_containers_gone(&[
                c("a", "exited"),
                c("b", "removing"),
                c("c", "created"),
                c("d", "dead")
            ]),
            (
                Readiness::NotYet,
                vec!["a".to_string(), "c".to_string(), "d".to_string()]
            )
        );
    }
}
