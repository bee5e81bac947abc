//! Carrying out a plan: what callers use.
//!
//! [`apply`] runs each [`Step`] of a [`Plan`] as the one call it stands for
//! (or, for a wait, a short poll) as soon as every step it waits for is
//! done: not level by level, so a slow health check holds back only what
//! depends on it. At most `parallel` engine-changing steps run at once.
//! Here are the entry, its [`ApplyOptions`], the [`Event`]s it reports
//! (printing them is `output`'s job), and the [`Summary`] or [`ApplyError`]
//! it returns.
//!
//! Below it, `walk` is the scheduler, apart from any engine, and
//! `executor` sends each step's request and polls each wait. Neither
//! decides: what to send, in which order, what counts as done when the
//! engine says the work is already done ([`rules`]) and when a wait is over
//! ([`wait`]) are the plan's.
//!
//! A failed step's dependents never start, but every other step still runs
//! (like `make -k`); when the cancel signal is raised no new step starts.
//! Either way the steps in flight finish and the error says what was done.
//!
//! [`rules`]: crate::plan::rules
//! [`wait`]: crate::plan::wait

mod executor;
mod walk;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::Engine;
use crate::engine::images::PullEvent;
use crate::plan::{Plan, Step, StepId};
use executor::Executor;
use walk::{WalkReport, walk};

/// How to carry out a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Engine-changing steps in flight at once. Waits do not count: they hold
    /// no engine resource, and counting them would let a few slow health
    /// checks starve every create behind them.
    pub parallel: usize,
    /// How long a `Wait` step polls before it gives up.
    pub wait_timeout: Duration,
    /// The project whose label makes a container "ours" (see
    /// [`rules`](crate::plan::rules)).
    pub project: String,
    /// Raised (set to true) on Ctrl-C: no new step starts, waits give up.
    pub cancel: Option<watch::Receiver<bool>>,
    /// When the command this apply is part of began, in Unix seconds: a
    /// Swarm service's update status from before then is an earlier run's
    /// (see [`Times`](crate::plan::wait::Times)). A command that applies
    /// more than one plan (`up --swarm --wait`) gives each the same time;
    /// None: when this apply starts.
    pub run_started: Option<i64>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallel: 16,
            wait_timeout: Duration::from_secs(300),
            project: String::new(),
            cancel: None,
            run_started: None,
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
    let run_started = opts
        .run_started
        .unwrap_or_else(crate::engine::clock::now_secs);
    let after: Vec<Vec<StepId>> = plan.steps.iter().map(|s| s.after.clone()).collect();
    let fallback: Vec<Option<StepId>> = plan.steps.iter().map(|s| s.on_failure_of).collect();
    let limited: Vec<bool> = plan.steps.iter().map(|s| s.action.mutates()).collect();
    // Tasks outlive any borrow, so each gets shared ownership of what it
    // reads.
    let ctx = Arc::new(Executor::new(engine.clone(), opts.clone(), run_started));
    let kill = kill_after();
    let mut finished = 0usize;
    let report = walk(
        &after,
        &fallback,
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

impl WalkReport {
    /// The result `apply` returns for this walk of `plan`.
    pub fn into_result(self, plan: &Plan) -> Result<Summary, ApplyError> {
        if !self.failed.is_empty() {
            return Err(ApplyError::Failed {
                failures: self
                    .failed
                    .into_iter()
                    .map(|(step, mut message)| {
                        // Its fallbacks (a rollout's way back) ran: say so.
                        let back: Vec<StepId> = (0..plan.steps.len())
                            .filter(|&i| plan.steps[i].on_failure_of == Some(step))
                            .collect();
                        if !back.is_empty() {
                            let done = back.iter().filter(|i| self.done.contains(i)).count();
                            if done == back.len() {
                                message.push_str(
                                    "\nrolled back: the old containers serve again (failure_action: rollback)",
                                );
                            } else {
                                message.push_str(&format!(
                                    "\nthe roll back did not finish ({done} of {} steps done): run `berth up` again, or `berth ps` to see what runs",
                                    back.len()
                                ));
                            }
                        }
                        Failure {
                            step,
                            what: plan.steps[step].action.describe(),
                            message,
                        }
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
