//! The executor: carries out each step the walk starts. It sends a
//! step's request and reads the engine's answer through the plan's table of
//! rules ([`rules`]); passes on what a running step says (build output,
//! pull progress); and polls a wait, fetching the facts its condition needs
//! (an inspected container; a service and its tasks) and asking the plan's
//! judge ([`wait`]) whether they meet it.
//!
//! Where it stops: it decides nothing. Which request, what a refusal means
//! and when a wait is over are the plan's; it knows only how to send, fetch
//! and poll, and the times it hands the judge.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ServiceSpec};

use super::walk::{Reporter, StepResult};
use super::{ApplyOptions, Output};
use crate::engine::clock::now_secs;
use crate::engine::{Engine, EngineError};
use crate::identity;
use crate::model::stack::Condition;
use crate::plan::images::Dockerfile;
use crate::plan::rules::{self, Refused};
use crate::plan::wait::{self, Readiness, RolloutCheck, ServiceCondition, Times};
use crate::plan::{Action, BuildStep};
use crate::spec::{self, ObjectKind};

/// How often a `Wait` step looks at its container.
const POLL: Duration = Duration::from_millis(150);
/// How often a rollout's check looks at its new containers: the old ones
/// serve until it passes, so each poll's wait is added to the rollout.
const ROLLOUT_POLL: Duration = Duration::from_millis(50);
/// How long an edge may take to say it switched to a new target (it reads
/// its state file every 20 ms).
const EDGE_SWITCH: Duration = Duration::from_secs(5);
/// How long a network remove outwaits an endpoint count that has not come
/// down yet (see [`Executor::remove_network`]).
const ENDPOINTS_RELEASED: Duration = Duration::from_secs(rules::ENDPOINTS_WAIT_SECS);
/// How much of a failed container's log an error shows.
const LOG_LINES: usize = 15;

/// Sends one step's call and reads the answer through the plan's rules.
pub(super) struct Executor {
    engine: Engine,
    opts: ApplyOptions,
    /// When this run began to apply, in Unix seconds, for the judge of a
    /// service's convergence (see [`Times`]).
    run_started: i64,
    /// The ids of the secrets and configs this run created, by kind and
    /// name: a service spec names them by id, which only the engine gives.
    object_ids: Mutex<HashMap<(ObjectKind, String), String>>,
    /// New containers that failed a rollout check so far, by service: what
    /// `max_failure_ratio` tolerates is counted over the whole rollout.
    rollout_failures: Mutex<HashMap<String, u32>>,
}

impl Executor {
    pub(super) fn new(engine: Engine, opts: ApplyOptions, run_started: i64) -> Executor {
        Executor {
            engine,
            opts,
            run_started,
            object_ids: Mutex::default(),
            rollout_failures: Mutex::default(),
        }
    }

    pub(super) async fn run(&self, action: &Action, out: &Reporter) -> StepResult {
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
            Action::WaitRollout {
                service,
                names,
                check,
            } => return self.wait_rollout(service, names, check).await,
            Action::Delay { duration, .. } => return self.delay(*duration).await,
            Action::Drain { id, .. } => e.stop_container(id, None).await.map(|_| None),
            Action::ImportEdgeImage { .. } => e.ensure_edge_image().await.map(|_| None),
            Action::PointEdgeAt {
                edge, container, ..
            } => return self.point_edge(edge, container).await,
            Action::SetEdgeTarget { name, target, .. } => match spec::edge_target_tar(target) {
                Ok(tar) => e.upload_to_container(name, tar).await.map(|_| None),
                Err(err) => {
                    return StepResult::Failed(format!("cannot pack the edge's target: {err}"));
                }
            },
            Action::Stop { id, timeout, .. } => e.stop_container(id, *timeout).await.map(|_| None),
            Action::Restart { id, timeout, .. } => {
                e.restart_container(id, *timeout).await.map(|_| None)
            }
            Action::Remove { id, .. } => e.remove_container(id, false).await.map(|_| None),
            Action::RemoveNetwork { name } => self.remove_network(name).await.map(|_| None),
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
                condition,
            } => {
                let (condition, run_started) = (*condition, self.run_started);
                let waiting_since = now_secs();
                let check =
                    move |e, n| service_converged(e, n, condition, run_started, waiting_since);
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

    /// Removes a network, outwaiting an endpoint count that has not come
    /// down yet. Docker 20.10 releases a stopped container's endpoints
    /// when it handles the container's exit, which can come after `stop`
    /// and `rm` have answered: a remove right after them then finds
    /// "active endpoints" although no container is left (seen once in a
    /// full test run under load). So while the network lists no endpoint
    /// of a container that still exists, the remove is tried again for up
    /// to [`ENDPOINTS_RELEASED`]; an endpoint it lists whose container is
    /// gone is disconnected by force first (moby#42119's way out). An
    /// endpoint of a container that exists is not berth's to take away:
    /// the refusal stands at once, with [`rules::advice`]'s help.
    async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        let e = &self.engine;
        let deadline = tokio::time::Instant::now() + ENDPOINTS_RELEASED;
        let mut pause = Duration::from_millis(100);
        loop {
            let err = match e.remove_network(name).await {
                Ok(()) => return Ok(()),
                Err(err) if rules::endpoints_left(&err) => err,
                Err(err) => return Err(err),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(err);
            }
            let Ok(network) = e.inspect_network(name).await else {
                return Err(err);
            };
            for (id, endpoint) in network.containers.unwrap_or_default() {
                match e.inspect_container(&id).await {
                    Err(EngineError::NotFound(_)) => {
                        if let Some(endpoint) = endpoint.name {
                            // Best effort: the next remove says whether
                            // it was enough.
                            let _ = e.force_disconnect_network(&endpoint, name).await;
                        }
                    }
                    // A container still uses it, or the engine cannot say.
                    _ => return Err(err),
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
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
            Some(Dockerfile::Outside { path, text }) => match text {
                Ok(text) => Some(text.clone()),
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
        // When this executor first saw it running, on its own clock: an
        // engine's clock may not be the one berth runs by.
        let seen = Arc::new(Mutex::new(None::<tokio::time::Instant>));
        let check = |engine: Engine, name: String| {
            let seen = seen.clone();
            async move {
                match engine.inspect_container(&name).await {
                    Ok(info) => {
                        let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
                        let running_for = {
                            let mut at = seen.lock().unwrap_or_else(|p| p.into_inner());
                            if running && at.is_none() {
                                *at = Some(tokio::time::Instant::now());
                            }
                            at.map(|t| t.elapsed())
                        };
                        wait::readiness(condition, &info, running_for)
                    }
                    Err(EngineError::NotFound(_)) => {
                        Readiness::Failed(format!("container {name} does not exist"))
                    }
                    Err(err) => Readiness::Failed(err.to_string()),
                }
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

impl Executor {
    /// Checks the new containers of one rollout batch, all at once; fails
    /// when more of the service's new containers failed than it tolerates
    /// (a warning instead with `failure_action: continue`).
    async fn wait_rollout(
        &self,
        service: &str,
        names: &[String],
        check: &RolloutCheck,
    ) -> StepResult {
        let polls = names.iter().map(|name| async move {
            // When this executor first saw it running, on its own clock.
            let seen = Arc::new(Mutex::new(None::<tokio::time::Instant>));
            let judge = |engine: Engine, name: String| {
                let seen = seen.clone();
                let check = *check;
                async move {
                    let info = match engine.inspect_container(&name).await {
                        Ok(info) => info,
                        Err(err) => return Readiness::Failed(err.to_string()),
                    };
                    let running = info.state.as_ref().and_then(|s| s.running).unwrap_or(false);
                    let running_for = {
                        let mut at = seen.lock().unwrap_or_else(|p| p.into_inner());
                        if running && at.is_none() {
                            *at = Some(tokio::time::Instant::now());
                        }
                        at.map(|t| t.elapsed())
                    };
                    wait::rollout_readiness(&check, &info, running_for)
                }
            };
            (name, self.poll_every(name, judge, ROLLOUT_POLL).await)
        });
        let results = futures_util::future::join_all(polls).await;
        let mut failed = Vec::new();
        for (name, polled) in results {
            match polled {
                Polled::Ready => {}
                Polled::Interrupted => return StepResult::Interrupted,
                Polled::Failed(reason) => failed.push((name, reason)),
            }
        }
        if failed.is_empty() {
            return StepResult::done();
        }
        let mut message = String::new();
        for (name, reason) in &failed {
            if !message.is_empty() {
                message.push('\n');
            }
            message.push_str(&format!(
                "new container {name} failed its rollout check: {reason}"
            ));
            if let Ok(info) = self.engine.inspect_container(name).await
                && let Some(out) = wait::last_health_output(&info)
            {
                message.push_str(&format!("\nlast health check of {name}: {out}"));
            }
            if let Ok(log) = self.engine.logs_tail(name, LOG_LINES).await {
                let log = log.trim_end();
                if !log.is_empty() {
                    message.push_str(&format!("\nlast lines of {name}'s log:\n{log}"));
                }
            }
        }
        let total = {
            let mut counts = self
                .rollout_failures
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(service.to_string()).or_default();
            *n += failed.len() as u32;
            *n
        };
        if check.go_on {
            StepResult::Warning(format!(
                "{message}\n(failure_action: continue, so the rollout of {service} goes on)"
            ))
        } else if total <= check.tolerate {
            StepResult::Warning(format!(
                "{message}\n({total} failed, max_failure_ratio allows {}: the rollout of {service} goes on)",
                check.tolerate
            ))
        } else {
            StepResult::Failed(message)
        }
    }

    /// Points `edge` at `container` by its short id (which the engine's
    /// DNS resolves on the edge's network, across restarts), and waits,
    /// for a few seconds at most, until the edge says new connections go
    /// there.
    async fn point_edge(&self, edge: &str, container: &str) -> StepResult {
        let e = &self.engine;
        let id = match e.inspect_container(container).await {
            Ok(info) => info.id.unwrap_or_default(),
            Err(err) => return StepResult::Failed(err.to_string()),
        };
        let short = id.get(..12).unwrap_or(&id).to_string();
        let tar = match spec::edge_target_tar(&short) {
            Ok(tar) => tar,
            Err(err) => {
                return StepResult::Failed(format!("cannot pack the edge's target: {err}"));
            }
        };
        if let Err(err) = e.upload_to_container(edge, tar).await {
            return StepResult::Failed(err.to_string());
        }
        let deadline = tokio::time::Instant::now() + EDGE_SWITCH;
        loop {
            if let Ok(Some(status)) = e.edge_status(edge).await
                && status.target.as_deref() == Some(short.as_str())
            {
                return StepResult::done();
            }
            if tokio::time::Instant::now() >= deadline {
                return StepResult::Failed(format!(
                    "the edge {edge} did not take its new target {container} ({short}) within {}s",
                    EDGE_SWITCH.as_secs()
                ));
            }
            tokio::time::sleep(crate::edge::POLL).await;
        }
    }

    /// `update_config.delay` between two batches; Ctrl-C ends it at once.
    async fn delay(&self, duration: Duration) -> StepResult {
        let sleep = tokio::time::sleep(duration);
        match self.opts.cancel.clone() {
            Some(mut rx) => tokio::select! {
                () = sleep => StepResult::done(),
                changed = rx.changed() => {
                    if changed.is_ok() && *rx.borrow() {
                        StepResult::Interrupted
                    } else {
                        // The sender is gone or lowered: sleep out the rest.
                        tokio::time::sleep(duration).await;
                        StepResult::done()
                    }
                }
            },
            None => {
                sleep.await;
                StepResult::done()
            }
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
        self.poll_every(name, check, POLL).await
    }

    /// [`Executor::poll`], looking every `every`.
    async fn poll_every<F, Fut>(&self, name: &str, check: F, every: Duration) -> Polled
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
            let sleep = tokio::time::sleep(every);
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

/// Fetches a Swarm service and its tasks, and asks the plan's judge
/// whether it meets `condition`.
async fn service_converged(
    engine: Engine,
    name: String,
    condition: ServiceCondition,
    run_started: i64,
    waiting_since: i64,
) -> Readiness {
    let service = match engine.inspect_service(&name).await {
        Ok(s) => s,
        Err(e) => return Readiness::Failed(e.to_string()),
    };
    let tasks = match engine.service_tasks(&name).await {
        Ok(t) => t,
        Err(e) => return Readiness::Failed(e.to_string()),
    };
    let times = Times {
        run_started,
        waiting_since,
        now: now_secs(),
    };
    wait::converged(condition, &service, &tasks, times)
}

/// Whether a removed service's tasks are all gone.
async fn service_gone(engine: Engine, id: String) -> Readiness {
    // Not a `service` filter: the engine resolves it to a service first and
    // answers 404 as soon as the service is removed, while its tasks still
    // run and hold their networks (measured on 20.10).
    match engine.all_tasks().await {
        Ok(tasks) => match wait::service_gone(&id, &tasks) {
            Readiness::Ready => {}
            other => return other,
        },
        Err(e) => return Readiness::Failed(e.to_string()),
    }
    // Then its containers here, which may hold its volumes a moment longer.
    let containers = match engine.service_containers(&id).await {
        Ok(c) => c,
        Err(e) => return Readiness::Failed(e.to_string()),
    };
    let (gone, stopped) = wait::service_containers_gone(&containers);
    for c in stopped {
        // The agent may be removing it too (409) or be done (404): the next
        // look says.
        let _ = engine.remove_container(&c, false).await;
    }
    gone
}

/// Whether a removed network is gone from this engine's list.
async fn network_gone(engine: Engine, name: String) -> Readiness {
    match engine.list_networks("", std::slice::from_ref(&name)).await {
        Ok(found) => wait::network_gone(&name, &found),
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
