//! Carrying out a plan: an event-driven walk of its steps.
//!
//! [`apply`] runs each [`Step`] of a [`Plan`] as the one call it stands for
//! (or, for `Wait`, a short poll of one container) as soon as every step it
//! waits for is done: not level by level, so a slow health check holds back
//! only what depends on it. At most `parallel` engine-changing steps run at
//! once.
//!
//! What to do, in which order and with which request is the plan's
//! business, and what counts as done when the engine says the work is
//! already done is the plan's table of rules ([`rules`]): the executor sends
//! each step's request and looks the answer up there. One policy still
//! lives here, not in the planner: when a `Wait` step is over (`readiness`
//! for a container, `service_converged` for a Swarm service, with its guess
//! of how long a rolling update takes to start).
//!
//! A failed step's dependents never start, but every other step still runs
//! (like `make -k`); when the cancel signal is raised no new step starts.
//! Either way the steps in flight finish and the error says what was done. Progress is
//! reported through [`Event`]s; printing them is `output`'s job.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ServiceSpec};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::engine::images::PullEvent;
use crate::engine::{Engine, EngineError};
use crate::identity;
use crate::spec::{self, ObjectKind};
// The loader's reader of input files: a Dockerfile outside the context is one
// more file named by the stack (regular files only, bounded).
use crate::load::input::{Kind, read_text};
use crate::model::stack::Condition;
use crate::plan::images::Dockerfile;
use crate::plan::rules::{self, Refused};
use crate::plan::{Action, BuildStep, Plan, Step, StepId};

/// How to carry out a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Engine-changing steps in flight at once. Waits do not count: they hold
    /// no engine resource, and counting them would let a few slow health
    /// checks starve every create behind them.
    pub parallel: usize,
    /// How long a `Wait` step polls before it gives up.
    pub wait_timeout: Duration,
    /// The project whose label makes a container "ours" (see [`rules`]).
    pub project: String,
    /// Raised (set to true) on Ctrl-C: no new step starts, waits give up.
    pub cancel: Option<watch::Receiver<bool>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallel: 16,
            wait_timeout: Duration::from_secs(300),
            project: String::new(),
            cancel: None,
        }
    }
}

/// Something that happened to one step, for progress output.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub id: StepId,
    pub step: &'a Step,
    pub kind: EventKind<'a>,
}

/// What a step says while it runs: a build's output lines, a pull's
/// progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Line(String),
    Pull(PullEvent),
}

/// Where a running step sends its [`Output`].
#[derive(Clone)]
pub struct Reporter {
    id: StepId,
    tx: mpsc::UnboundedSender<(StepId, Output)>,
}

impl Reporter {
    fn send(&self, out: Output) {
        // The walk outlives every task it spawned: a closed channel only
        // means the walk has returned, and there is no one left to tell.
        let _ = self.tx.send((self.id, out));
    }
}

/// What a successful apply did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Steps done, in the order they finished.
    pub done: Vec<StepId>,
    pub warnings: Vec<String>,
}

/// One step that failed, with everything the user needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub step: StepId,
    /// `create container gb-db-1`.
    pub what: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// One or more steps failed; nothing new was started after the first.
    #[error("{}", failed_text(failures, *done, *not_started))]
    Failed {
        failures: Vec<Failure>,
        done: usize,
        not_started: usize,
    },
    /// The cancel signal was raised (Ctrl-C).
    #[error(
        "interrupted: {done} step{} done, {not_started} not started; run the command again to finish",
        plural(*done)
    )]
    Interrupted { done: usize, not_started: usize },
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn failed_text(failures: &[Failure], done: usize, not_started: usize) -> String {
    let mut out = String::new();
    for f in failures {
        out.push_str(&format!("{} failed: {}\n", f.what, f.message));
    }
    out.push_str(&format!(
        "{done} step{} done, {not_started} not started (they wait on what failed)",
        plural(done)
    ));
    out
}

/// How one step ended, as the executor reports it to the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    Done {
        note: Option<String>,
    },
    /// Failed, but the plan allows it; counts as done for the dependents.
    Warning(String),
    Failed(String),
    /// Gave up on Ctrl-C having changed nothing (a wait): neither done nor
    /// failed.
    Interrupted,
}

impl StepResult {
    pub fn done() -> StepResult {
        StepResult::Done { note: None }
    }

    fn noted(note: &str) -> StepResult {
        StepResult::Done {
            note: Some(note.to_string()),
        }
    }
}

/// What a walk of the step graph did, before it is turned into a
/// [`Summary`] or an [`ApplyError`].
#[derive(Debug, Default, PartialEq)]
pub struct WalkReport {
    pub done: Vec<StepId>,
    pub warnings: Vec<(StepId, String)>,
    pub failed: Vec<(StepId, String)>,
    pub not_started: Vec<StepId>,
    pub cancelled: bool,
}

/// A test hook for crash safety: with `BERTH_TEST_KILL_AFTER=N`, berth kills
/// itself (SIGKILL, no cleanup) as soon as N steps are done, so that tests can
/// stop a run at every step boundary. Only debug builds, which the tests
/// run, have it: a release binary neither reads the variable nor holds the
/// `unsafe` call.
#[cfg(debug_assertions)]
fn kill_after() -> Option<usize> {
    std::env::var("BERTH_TEST_KILL_AFTER").ok()?.parse().ok()
}

#[cfg(not(debug_assertions))]
fn kill_after() -> Option<usize> {
    None
}

#[cfg(debug_assertions)]
fn kill_self() {
    // SAFETY: kill(2) with our own pid has no memory effects.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

#[cfg(not(debug_assertions))]
fn kill_self() {}

/// Carries out `plan` on `engine`, reporting each step through `events`.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    opts: &ApplyOptions,
    events: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Summary, ApplyError> {
    run_started();
    let after: Vec<Vec<StepId>> = plan.steps.iter().map(|s| s.after.clone()).collect();
    let limited: Vec<bool> = plan.steps.iter().map(|s| s.action.mutates()).collect();
    // Tasks outlive any borrow, so each gets shared ownership of what it
    // reads.
    let ctx = Arc::new(Executor {
        engine: engine.clone(),
        opts: opts.clone(),
        object_ids: Mutex::default(),
    });
    let kill = kill_after();
    let mut finished = 0usize;
    let report = walk(
        &after,
        &limited,
        opts.parallel,
        opts.cancel.clone(),
        |id, reporter| {
            let ctx = ctx.clone();
            let action = plan.steps[id].action.clone();
            async move { ctx.run(&action, &reporter).await }
        },
        |id, kind| {
            events(Event {
                id,
                step: &plan.steps[id],
                kind,
            });
            if matches!(kind, EventKind::Done(_)) {
                finished += 1;
                if kill == Some(finished) {
                    kill_self();
                }
            }
        },
    )
    .await;
    report.into_result(plan)
}

/// How often a `Wait` step looks at its container.
const POLL: Duration = Duration::from_millis(150);
/// How much of a failed container's log an error shows.
const LOG_LINES: usize = 15;

/// Sends one step's call and reads the answer through the plan's rules.
struct Executor {
    engine: Engine,
    opts: ApplyOptions,
    /// The ids of the secrets and configs this run created, by kind and
    /// name: a service spec names them by id, which only the engine gives.
    object_ids: Mutex<HashMap<(ObjectKind, String), String>>,
}

impl Executor {
    async fn run(&self, action: &Action, out: &Reporter) -> StepResult {
        let e = &self.engine;
        let result: crate::engine::Result<Option<String>> = match action {
            Action::CreateNetwork { request, .. } => match e.create_network(request).await {
                Ok(created) if rules::duplicate_network(&created.warning) => {
                    let _ = e.remove_network(&created.id).await;
                    return StepResult::noted("already existed");
                }
                other => other.map(|_| None),
            },
            Action::CreateVolume { request, .. } => e.create_volume(request).await.map(|_| None),
            Action::CreateDirectory { path, .. } => return create_directory(path),
            Action::CreateContainer {
                name,
                platform,
                request,
                ..
            } => e
                .create_container(name, platform.as_deref(), request)
                .await
                .map(|_| None),
            Action::Rename { id, to, .. } => e.rename_container(id, to).await.map(|_| None),
            Action::Start { name, .. } => e.start_container(name).await.map(|_| None),
            Action::CopyFile { name, file, .. } => match file.tar() {
                Ok(tar) => e.upload_to_container(name, tar).await.map(|_| None),
                Err(err) => {
                    return StepResult::Failed(format!("cannot pack {}: {err}", file.target));
                }
            },
            Action::Update { id, request, .. } => {
                e.update_container(id, request).await.map(|_| None)
            }
            Action::Connect {
                name,
                network,
                endpoint,
                ..
            } => e
                .connect_network(name, network, endpoint.as_ref().clone())
                .await
                .map(|_| None),
            Action::Disconnect { name, network, .. } => {
                e.disconnect_network(name, network).await.map(|_| None)
            }
            Action::Wait {
                service,
                name,
                condition,
                required,
            } => return self.wait(service, name, *condition, *required).await,
            Action::Stop { id, timeout, .. } => e.stop_container(id, *timeout).await.map(|_| None),
            Action::Restart { id, timeout, .. } => {
                e.restart_container(id, *timeout).await.map(|_| None)
            }
            Action::Remove { id, .. } => e.remove_container(id, false).await.map(|_| None),
            Action::RemoveNetwork { name } => e.remove_network(name).await.map(|_| None),
            Action::RemoveVolume { name } => e.remove_volume(name).await.map(|_| None),
            Action::Build { service, request } => return self.build(service, request, out).await,
            Action::CreateService { request, .. } => match self.with_object_ids(request).await {
                Ok(spec) => e.create_service(&spec).await.map(|_| None),
                Err(failed) => return failed,
            },
            Action::UpdateService {
                id,
                version,
                request,
                ..
            } => match self.with_object_ids(request).await {
                Ok(spec) => e.update_service(id, *version, &spec).await.map(|_| None),
                Err(failed) => return failed,
            },
            Action::CreateObject { object } => match e.create_object(object).await {
                Ok(id) => {
                    let key = (object.kind, object.name.clone());
                    self.object_ids
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key, id);
                    Ok(None)
                }
                Err(err) => Err(err),
            },
            Action::RemoveObject { kind, id, .. } => e.remove_object(*kind, id).await.map(|_| None),
            Action::RemoveService { id, .. } => e.remove_service(id).await.map(|_| None),
            Action::WaitService {
                service,
                name,
                rolling,
            } => {
                let (rolling, waiting) = (*rolling, crate::engine::clock::now_secs());
                let check = move |e, n| service_converged(e, n, rolling, waiting);
                return match self.poll(name, check).await {
                    Polled::Ready => StepResult::done(),
                    Polled::Interrupted => StepResult::Interrupted,
                    Polled::Failed(why) => StepResult::Failed(format!("service {service}: {why}")),
                };
            }
            Action::WaitNetworkGone { name } => {
                return match self.poll(name, network_gone).await {
                    Polled::Ready => StepResult::done(),
                    Polled::Interrupted => StepResult::Interrupted,
                    Polled::Failed(why) => StepResult::Failed(why),
                };
            }
            Action::WaitServiceGone { name, id } => {
                let gone = |engine, _| service_gone(engine, id.clone());
                return match self.poll(name, gone).await {
                    Polled::Ready => StepResult::done(),
                    Polled::Interrupted => StepResult::Interrupted,
                    Polled::Failed(why) => StepResult::Failed(why),
                };
            }
            Action::Pull { image, optional } => {
                let pulled = e
                    .pull_image(image, |ev| out.send(Output::Pull(ev.clone())))
                    .await;
                return match pulled {
                    Ok(()) => StepResult::done(),
                    Err(err) if *optional => {
                        StepResult::Warning(format!("cannot pull {image}: {err}"))
                    }
                    Err(err) => StepResult::Failed(format!("cannot pull {image}: {err}")),
                };
            }
        };
        match result {
            Ok(note) => StepResult::Done { note },
            Err(err) => match rules::refused(action, &err) {
                Refused::Done(note) => StepResult::Done {
                    note: note.map(str::to_string),
                },
                Refused::DoneIfOurs => self.if_ours(action, err).await,
                Refused::Failed => match rules::advice(action, &err) {
                    Some(help) => StepResult::Failed(format!("{err}\n  help: {help}")),
                    None => match crate::host_port::advice(e, action, &err).await {
                        Some(help) => StepResult::Failed(format!("{err}\n  help: {help}")),
                        None => StepResult::Failed(err.to_string()),
                    },
                },
            },
        }
    }

    /// `spec` with the id of each secret and config it references: those
    /// this run created, else the engine's answer for the name (objects
    /// that existed before, or that an interrupted run created).
    async fn with_object_ids(&self, spec: &ServiceSpec) -> Result<ServiceSpec, StepResult> {
        let mut ids = HashMap::new();
        for (kind, name) in spec::without_ids(spec) {
            let known = self
                .object_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(kind, name.clone()))
                .cloned();
            let id = match known {
                Some(found) => found,
                None => self
                    .engine
                    .object_id(kind, &name)
                    .await
                    .map_err(|e| StepResult::Failed(format!("{} {name}: {e}", kind.word())))?,
            };
            ids.insert((kind, name), id);
        }
        Ok(spec::with_ids(spec.clone(), &ids))
    }

    /// The rule for a name already taken: done when the container under the
    /// name carries the project's label.
    async fn if_ours(&self, action: &Action, err: EngineError) -> StepResult {
        let Action::CreateContainer { name, .. } = action else {
            return StepResult::Failed(err.to_string());
        };
        match self.engine.inspect_container(name).await {
            Ok(info) if labelled(&info, &self.opts.project) => StepResult::noted("already existed"),
            _ => StepResult::Failed(err.to_string()),
        }
    }

    /// Packs the context and builds; the image id is the step's note.
    async fn build(&self, service: &str, step: &BuildStep, out: &Reporter) -> StepResult {
        let failed =
            |why: String| StepResult::Failed(format!("cannot build service {service}: {why}"));
        let context = step.context.clone();
        let shown = context.display().to_string();
        // The context is read now, as `docker build` reads it when it sends.
        if !context.is_dir() {
            return failed(format!("the build context {shown} is not a directory"));
        }
        let inline = match &step.dockerfile {
            None => {
                let path = context.join(&step.request.dockerfile);
                if !path.is_file() {
                    return failed(format!("there is no Dockerfile at {}", path.display()));
                }
                None
            }
            Some(Dockerfile::Inline(text)) => Some(text.clone()),
            Some(Dockerfile::Outside(path)) => match read_text(path, Kind::Stack) {
                Ok(text) => Some(text),
                Err(e) => {
                    return failed(format!(
                        "cannot read the Dockerfile {}: {e}",
                        path.display()
                    ));
                }
            },
        };
        let dockerfile = step.request.dockerfile.clone();
        let dir = context.clone();
        let packed = tokio::task::spawn_blocking(move || {
            crate::engine::context::context_tar(&dir, &dockerfile, inline.as_deref())
        })
        .await;
        let tar = match packed {
            Ok(Ok(tar)) => tar,
            Ok(Err(e)) => return failed(format!("cannot read the context {shown}: {e}")),
            Err(e) => return failed(e.to_string()),
        };
        match self
            .engine
            .build_image(&step.request, tar, |line| {
                out.send(Output::Line(line.to_string()))
            })
            .await
        {
            Ok(id) => StepResult::Done { note: Some(id) },
            Err(e) => failed(e.to_string()),
        }
    }

    /// Polls the container until it meets `condition`, fails, or the time is
    /// up. A failure carries the tail of the container's log.
    async fn wait(
        &self,
        service: &str,
        name: &str,
        condition: Condition,
        required: bool,
    ) -> StepResult {
        let check = |engine: Engine, name: String| async move {
            match engine.inspect_container(&name).await {
                Ok(info) => readiness(condition, &info),
                Err(EngineError::NotFound(_)) => {
                    Readiness::Failed(format!("container {name} does not exist"))
                }
                Err(err) => Readiness::Failed(err.to_string()),
            }
        };
        let reason = match self.poll(name, check).await {
            Polled::Ready => return StepResult::done(),
            Polled::Interrupted => return StepResult::Interrupted,
            Polled::Failed(reason) => reason,
        };
        let mut message = format!(
            "service {service} did not meet its condition {}: {reason}",
            condition.as_str()
        );
        if let Ok(log) = self.engine.logs_tail(name, LOG_LINES).await {
            let log = log.trim_end();
            if !log.is_empty() {
                message.push_str(&format!("\nlast lines of {name}'s log:\n{log}"));
            }
        }
        if required {
            StepResult::Failed(message)
        } else {
            StepResult::Warning(format!("{message}\n(required: false, so berth goes on)"))
        }
    }
}

/// How a poll ended.
enum Polled {
    Ready,
    /// Ctrl-C: a wait changes nothing, so it gives up at once.
    Interrupted,
    Failed(String),
}

impl Executor {
    /// Polls `check` on `name` until it says ready, fails, or the time is
    /// up.
    async fn poll<F, Fut>(&self, name: &str, check: F) -> Polled
    where
        F: Fn(Engine, String) -> Fut,
        Fut: Future<Output = Readiness>,
    {
        let deadline = tokio::time::Instant::now() + self.opts.wait_timeout;
        let mut cancel = self.opts.cancel.clone();
        let mut last = String::new();
        loop {
            match check(self.engine.clone(), name.to_string()).await {
                Readiness::Ready => return Polled::Ready,
                Readiness::Failed(reason) => return Polled::Failed(reason),
                Readiness::Pending(why) => last = format!(": {why}"),
                Readiness::NotYet => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Polled::Failed(format!(
                    "{name} did not get there within {}s (--wait-timeout){last}",
                    self.opts.wait_timeout.as_secs()
                ));
            }
            let sleep = tokio::time::sleep(POLL);
            match cancel.as_mut() {
                Some(rx) => {
                    tokio::select! {
                        () = sleep => {}
                        changed = rx.changed() => {
                            if changed.is_err() {
                                cancel = None;
                            } else if *rx.borrow() {
                                return Polled::Interrupted;
                            }
                        }
                    }
                }
                None => sleep.await,
            }
        }
    }
}

/// Whether a Swarm service has converged, as `docker service` progress
/// judges it: every task of the current spec running (or, for a job,
/// completed), as many as the spec asks for; a paused or rolled-back update
/// is a failure, with the tasks' errors.
async fn service_converged(engine: Engine, name: String, rolling: bool, waiting: i64) -> Readiness {
    // An update status from before this run is an earlier update's, not
    // the one this run may have sent.
    let since = run_started() - 1;
    let name = name.as_str();
    use bollard::models::{ServiceUpdateStatusStateEnum as U, TaskState as T};
    let service = match engine.inspect_service(name).await {
        Ok(s) => s,
        Err(e) => return Readiness::Failed(e.to_string()),
    };
    let tasks = match engine.service_tasks(name).await {
        Ok(t) => t,
        Err(e) => return Readiness::Failed(e.to_string()),
    };
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
            .and_then(crate::engine::clock::timestamp_secs)
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
    // Right after an update that replaces the tasks, before the swarm has
    // started rolling, the old tasks still run: not converged until the
    // swarm reports the update; but not forever, should the swarm find
    // nothing to roll.
    const ROLL_START: i64 = 15;
    let waited = crate::engine::clock::now_secs() - waiting;
    if rolling && current.is_none() && waited < ROLL_START {
        return Readiness::NotYet;
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

/// When this run of berth first applied anything, in Unix seconds.
fn run_started() -> i64 {
    static STARTED: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *STARTED.get_or_init(crate::engine::clock::now_secs)
}

/// Whether a removed service's tasks are all gone.
async fn service_gone(engine: Engine, id: String) -> Readiness {
    // Not a `service` filter: the engine resolves it to a service first and
    // answers 404 as soon as the service is removed, while its tasks still
    // run and hold their networks (measured on 20.10).
    match engine.all_tasks().await {
        Ok(tasks)
            if tasks
                .iter()
                .any(|t| t.service_id.as_deref() == Some(id.as_str())) =>
        {
            Readiness::NotYet
        }
        Ok(_) => Readiness::Ready,
        Err(e) => Readiness::Failed(e.to_string()),
    }
}

/// Whether a removed network is gone from this engine's list.
async fn network_gone(engine: Engine, name: String) -> Readiness {
    match engine.list_networks("", std::slice::from_ref(&name)).await {
        Ok(found)
            if found
                .iter()
                .any(|n| n.name.as_deref() == Some(name.as_str())) =>
        {
            Readiness::NotYet
        }
        Ok(_) => Readiness::Ready,
        Err(e) => Readiness::Failed(e.to_string()),
    }
}

/// A bind source, made as `docker run -v` would; one that exists by now is
/// done (see [`rules`]).
fn create_directory(path: &Path) -> StepResult {
    match std::fs::create_dir_all(path) {
        Ok(()) => StepResult::done(),
        Err(e) => StepResult::Failed(format!("cannot create {}: {e}", path.display())),
    }
}

fn labelled(info: &ContainerInspectResponse, project: &str) -> bool {
    info.config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(identity::PROJECT))
        .is_some_and(|p| p == project)
}

#[derive(Debug, PartialEq)]
enum Readiness {
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
fn readiness(condition: Condition, info: &ContainerInspectResponse) -> Readiness {
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
            _ => Readiness::NotYet,
        },
        Condition::ServiceCompletedSuccessfully => match status {
            S::EXITED if code == 0 => Readiness::Ready,
            S::EXITED | S::DEAD => Readiness::Failed(format!("it exited with code {code}")),
            _ => Readiness::NotYet,
        },
    }
}

/// The scheduler, apart from any engine: starts `run(id, reporter)` for each step as
/// soon as every step in `after[id]` is done, with at most `parallel` steps
/// whose `limited[id]` is true in flight at once. Ready steps start in index
/// order, so that a plan runs the same way each time. A failed step's
/// dependents (and theirs) never start, but every other step still runs, so
/// that one bad service does not leave the rest of the stack undone. After a
/// raised `cancel`, nothing new starts and the steps in flight are awaited.
/// `on` sees every start, output, end and skip, in the order they happen.
pub async fn walk<F, Fut>(
    after: &[Vec<StepId>],
    limited: &[bool],
    parallel: usize,
    mut cancel: Option<watch::Receiver<bool>>,
    mut run: F,
    mut on: impl FnMut(StepId, EventKind<'_>),
) -> WalkReport
where
    F: FnMut(StepId, Reporter) -> Fut,
    Fut: Future<Output = StepResult> + Send + 'static,
{
    let n = after.len();
    let parallel = parallel.max(1);
    let mut report = WalkReport::default();
    // Unfinished prerequisites per step; duplicates and out-of-range ids in
    // `after` are a plan bug, but must not hang the walk.
    let mut waiting: Vec<usize> = vec![0; n];
    let mut dependents: Vec<Vec<StepId>> = vec![Vec::new(); n];
    for (id, deps) in after.iter().enumerate() {
        let deps: BTreeSet<StepId> = deps.iter().copied().filter(|&d| d < n).collect();
        waiting[id] = deps.len();
        for d in deps {
            dependents[d].push(id);
        }
    }
    let mut ready: BTreeSet<StepId> = (0..n).filter(|&id| waiting[id] == 0).collect();
    let mut started = vec![false; n];
    let mut tasks: JoinSet<StepResult> = JoinSet::new();
    let mut task_step: HashMap<tokio::task::Id, StepId> = HashMap::new();
    let mut limited_in_flight = 0usize;
    let mut stopping = is_raised(&cancel);
    report.cancelled = stopping;
    let (tx, mut outputs) = mpsc::unbounded_channel::<(StepId, Output)>();

    loop {
        if !stopping {
            while let Some(id) = ready
                .iter()
                .copied()
                .find(|&id| !limited[id] || limited_in_flight < parallel)
            {
                ready.remove(&id);
                started[id] = true;
                if limited[id] {
                    limited_in_flight += 1;
                }
                on(id, EventKind::Started);
                let reporter = Reporter { id, tx: tx.clone() };
                let handle = tasks.spawn(run(id, reporter));
                task_step.insert(handle.id(), id);
            }
        }
        if tasks.is_empty() {
            break;
        }
        let raised = async {
            match cancel.as_mut().filter(|_| !stopping) {
                Some(rx) => rx.changed().await.map(|()| *rx.borrow()),
                None => std::future::pending::<Result<bool, watch::error::RecvError>>().await,
            }
        };
        let next = tokio::select! {
            biased;
            Some((id, out)) = outputs.recv() => Next::Output(id, out),
            joined = tasks.join_next_with_id() => Next::Joined(joined),
            changed = raised => Next::Cancel(changed),
        };
        let joined = match next {
            Next::Output(id, out) => {
                on(id, EventKind::Output(&out));
                continue;
            }
            Next::Cancel(changed) => {
                match changed {
                    // A dropped sender can no longer cancel anything.
                    Err(_) => cancel = None,
                    Ok(true) => {
                        stopping = true;
                        report.cancelled = true;
                    }
                    Ok(false) => {}
                }
                continue;
            }
            Next::Joined(joined) => joined,
        };
        let Some(joined) = joined else { break };
        let (task, result) = match joined {
            Ok((task, result)) => {
                // What the step said before it ended is shown before its end.
                while let Ok((id, out)) = outputs.try_recv() {
                    on(id, EventKind::Output(&out));
                }
                (task, result)
            }
            Err(e) => (
                e.id(),
                StepResult::Failed(format!("berth's task for this step ended early: {e}")),
            ),
        };
        let Some(id) = task_step.remove(&task) else {
            continue;
        };
        if limited[id] {
            limited_in_flight -= 1;
        }
        let finished = match &result {
            StepResult::Done { note } => {
                on(id, EventKind::Done(note.as_deref()));
                report.done.push(id);
                true
            }
            StepResult::Warning(message) => {
                on(id, EventKind::Warning(message));
                report.warnings.push((id, message.clone()));
                report.done.push(id);
                true
            }
            // Like `make -k`: what does not depend on the failed step goes
            // on; what does is never started.
            StepResult::Failed(message) => {
                on(id, EventKind::Failed(message));
                report.failed.push((id, message.clone()));
                false
            }
            StepResult::Interrupted => {
                on(id, EventKind::Skipped);
                report.not_started.push(id);
                false
            }
        };
        if finished {
            for &d in &dependents[id] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
    }

    for id in (0..n).filter(|&id| !started[id]) {
        on(id, EventKind::Skipped);
        report.not_started.push(id);
    }
    // With no failure and no cancel, a step left over waits on a cycle: a
    // plan bug, but one that must be reported rather than passed as success.
    if !stopping
        && report.failed.is_empty()
        && let Some(&id) = report.not_started.first()
    {
        report.failed.push((
            id,
            "the plan makes this step wait for itself (a cycle in the plan); this is a bug in berth"
                .into(),
        ));
    }
    report
}

/// What woke the walk up.
enum Next<T> {
    Output(StepId, Output),
    Joined(Option<T>),
    Cancel(Result<bool, watch::error::RecvError>),
}

/// What happened to a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind<'a> {
    Started,
    /// Carries a note when how it was done is worth knowing
    /// ("already existed").
    Done(Option<&'a str>),
    /// Something the step said while running (build output, pull progress).
    Output(&'a Output),
    /// The step failed but the plan allows that (`required: false`); its
    /// dependents go ahead.
    Warning(&'a str),
    Failed(&'a str),
    /// Never started, because berth stopped scheduling.
    Skipped,
}

fn is_raised(cancel: &Option<watch::Receiver<bool>>) -> bool {
    cancel.as_ref().is_some_and(|rx| *rx.borrow())
}

impl WalkReport {
    /// The result `apply` returns for this walk of `plan`.
    pub fn into_result(self, plan: &Plan) -> Result<Summary, ApplyError> {
        if !self.failed.is_empty() {
            return Err(ApplyError::Failed {
                failures: self
                    .failed
                    .into_iter()
                    .map(|(step, message)| Failure {
                        step,
                        what: plan.steps[step].action.describe(),
                        message,
                    })
                    .collect(),
                done: self.done.len(),
                not_started: self.not_started.len(),
            });
        }
        if self.cancelled && !self.not_started.is_empty() {
            return Err(ApplyError::Interrupted {
                done: self.done.len(),
                not_started: self.not_started.len(),
            });
        }
        Ok(Summary {
            done: self.done,
            warnings: self.warnings.into_iter().map(|(_, w)| w).collect(),
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} step{} done",
            self.done.len(),
            plural(self.done.len())
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Runs a walk where step `i` takes `secs[i]` seconds of paused, virtual
    /// time and fails when listed in `fail`; returns the event log as
    /// `(virtual whole seconds, step, event)`. Seconds, because the timer
    /// rounds each sleep up to the next millisecond.
    fn simulate(
        after: &[Vec<StepId>],
        secs: &[u64],
        fail: &[StepId],
        parallel: usize,
    ) -> (Vec<(u64, StepId, String)>, WalkReport) {
        let rt = rt();
        rt.block_on(async {
            tokio::time::pause();
            let t0 = tokio::time::Instant::now();
            let log = Arc::new(Mutex::new(Vec::new()));
            let limited = vec![true; after.len()];
            let report = walk(
                after,
                &limited,
                parallel,
                None,
                |id, _| {
                    let d = secs[id];
                    let fails = fail.contains(&id);
                    async move {
                        tokio::time::sleep(Duration::from_secs(d)).await;
                        if fails {
                            StepResult::Failed("boom".into())
                        } else {
                            StepResult::done()
                        }
                    }
                },
                |id, ev| {
                    let t = t0.elapsed().as_secs();
                    let ev = match ev {
                        EventKind::Started => "start".to_string(),
                        EventKind::Done(_) => "done".into(),
                        EventKind::Warning(w) => format!("warn {w}"),
                        EventKind::Failed(m) => format!("fail {m}"),
                        EventKind::Skipped => "skip".into(),
                        EventKind::Output(_) => "output".into(),
                    };
                    log.lock().unwrap().push((t, id, ev));
                },
            )
            .await;
            let log = log.lock().unwrap().clone();
            (log, report)
        })
    }

    fn started_at(log: &[(u64, StepId, String)], id: StepId) -> Option<u64> {
        log.iter()
            .find(|(_, i, e)| *i == id && e == "start")
            .map(|(t, _, _)| *t)
    }

    #[test]
    fn a_step_starts_when_its_own_prerequisites_are_done_not_a_whole_level() {
        // 0 (slow) and 1 (fast) have no prerequisites; 2 waits for 1 only,
        // 3 for 0. A level-by-level walk would hold 2 back until 0 is done.
        let after = vec![vec![], vec![], vec![1], vec![0]];
        let (log, report) = simulate(&after, &[1000, 10, 10, 10], &[], 16);
        assert_eq!(started_at(&log, 0), Some(0));
        assert_eq!(started_at(&log, 1), Some(0));
        assert_eq!(started_at(&log, 2), Some(10));
        assert_eq!(started_at(&log, 3), Some(1000));
        assert_eq!(report.done, vec![1, 2, 0, 3]);
        assert!(report.failed.is_empty() && report.not_started.is_empty());
    }

    #[test]
    fn no_more_than_parallel_limited_steps_run_at_once() {
        let after = vec![vec![]; 5];
        let (log, _) = simulate(&after, &[100; 5], &[], 2);
        let starts: Vec<u64> = (0..5).map(|i| started_at(&log, i).unwrap()).collect();
        assert_eq!(starts, vec![0, 0, 100, 100, 200]);
    }

    #[test]
    fn waits_do_not_count_against_the_parallel_limit() {
        let rt = rt();
        let report = rt.block_on(async {
            tokio::time::pause();
            let after = vec![vec![], vec![], vec![]];
            // Step 0 is a long wait; 1 and 2 are limited to one at a time.
            let limited = vec![false, true, true];
            let t0 = tokio::time::Instant::now();
            let starts = Arc::new(Mutex::new(Vec::new()));
            let s = starts.clone();
            walk(
                &after,
                &limited,
                1,
                None,
                |id, _| async move {
                    tokio::time::sleep(Duration::from_secs(if id == 0 { 1000 } else { 10 })).await;
                    StepResult::done()
                },
                move |id, ev| {
                    if ev == EventKind::Started {
                        s.lock().unwrap().push((id, t0.elapsed().as_secs()));
                    }
                },
            )
            .await;
            starts.lock().unwrap().clone()
        });
        assert_eq!(report, vec![(0, 0), (1, 0), (2, 10)]);
    }

    #[test]
    fn a_failure_stops_only_what_depends_on_it() {
        // 0 fails fast; 1 is in flight and finishes, then 2 (after 1) runs;
        // 3 (after 0) and 4 (after 3) never start.
        let after = vec![vec![], vec![], vec![1], vec![0], vec![3]];
        let (log, report) = simulate(&after, &[10, 100, 10, 10, 10], &[0], 16);
        assert_eq!(report.failed, vec![(0, "boom".to_string())]);
        assert_eq!(report.done, vec![1, 2]);
        assert_eq!(report.not_started, vec![3, 4]);
        assert!(log.contains(&(100, 1, "done".into())));
        assert!(log.contains(&(110, 2, "done".into())));
        assert!(!log.iter().any(|(_, id, what)| *id == 3 && what != "skip"));
    }

    #[test]
    fn a_warning_counts_as_done_for_the_dependents() {
        let rt = rt();
        let report = rt.block_on(walk(
            &[vec![], vec![0]],
            &[false, true],
            4,
            None,
            |id, _| async move {
                if id == 0 {
                    StepResult::Warning("db is not healthy".into())
                } else {
                    StepResult::done()
                }
            },
            |_, _| {},
        ));
        assert_eq!(report.done, vec![0, 1]);
        assert_eq!(report.warnings, vec![(0, "db is not healthy".to_string())]);
    }

    #[test]
    fn cancelling_stops_scheduling_and_lets_steps_in_flight_finish() {
        let rt = rt();
        let (report, plan_result) = rt.block_on(async {
            tokio::time::pause();
            let (tx, rx) = watch::channel(false);
            let after = vec![vec![], vec![0], vec![1]];
            let walk = walk(
                &after,
                &[true, true, true],
                4,
                Some(rx),
                |_, _| async {
                    tokio::time::sleep(Duration::from_secs(100)).await;
                    StepResult::done()
                },
                |_, _| {},
            );
            let cancel = async {
                tokio::time::sleep(Duration::from_secs(150)).await;
                tx.send(true).unwrap();
            };
            let (report, ()) = tokio::join!(walk, cancel);
            let mut plan = Plan::default();
            for after in [vec![], vec![0], vec![1]] {
                plan.push(
                    crate::plan::Action::RemoveNetwork { name: "n".into() },
                    crate::plan::Cause::Down,
                    after,
                );
            }
            let result = WalkReport {
                done: report.done.clone(),
                warnings: vec![],
                failed: report.failed.clone(),
                not_started: report.not_started.clone(),
                cancelled: report.cancelled,
            }
            .into_result(&plan);
            (report, result)
        });
        // Step 1 was in flight at 150s and finished at 200s.
        assert_eq!(report.done, vec![0, 1]);
        assert_eq!(report.not_started, vec![2]);
        assert!(report.cancelled);
        assert_eq!(
            plan_result,
            Err(ApplyError::Interrupted {
                done: 2,
                not_started: 1
            })
        );
    }

    #[test]
    fn a_cycle_in_the_plan_is_reported_not_passed_as_success() {
        let rt = rt();
        let report = rt.block_on(walk(
            &[vec![1], vec![0]],
            &[true, true],
            4,
            None,
            |_, _| async { StepResult::done() },
            |_, _| {},
        ));
        assert_eq!(report.not_started, vec![0, 1]);
        assert_eq!(report.failed.len(), 1);
    }

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
            readiness(c, &inspected("running", Some("starting"), 0)),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("running", Some("healthy"), 0)),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("running", Some("unhealthy"), 0)),
            Readiness::Failed("its health check reports unhealthy".into())
        );
        assert_eq!(
            readiness(c, &inspected("exited", Some("unhealthy"), 3)),
            Readiness::Failed("it exited with code 3".into())
        );
        assert_eq!(
            readiness(c, &inspected("running", None, 0)),
            Readiness::Failed("it has no health check".into())
        );
    }

    #[test]
    fn service_completed_successfully_needs_exit_code_0() {
        let c = Condition::ServiceCompletedSuccessfully;
        assert_eq!(
            readiness(c, &inspected("running", None, 0)),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 0)),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 1)),
            Readiness::Failed("it exited with code 1".into())
        );
    }

    #[test]
    fn service_started_is_met_once_the_container_has_started() {
        let c = Condition::ServiceStarted;
        assert_eq!(
            readiness(c, &inspected("created", None, 0)),
            Readiness::NotYet
        );
        assert_eq!(
            readiness(c, &inspected("running", None, 0)),
            Readiness::Ready
        );
        assert_eq!(
            readiness(c, &inspected("exited", None, 0)),
            Readiness::Ready
        );
    }
}
