//! One pipeline for every target: observe -> images -> preflight -> plan ->
//! apply -> record -> wait, written out once ([`up`], [`plan`], [`down`]).
//!
//! A target is where a stack runs: the plain engine ([`plain::Plain`]:
//! containers) or a Docker Swarm ([`swarm::Swarm`]: services). Each is one
//! implementation of [`Target`], with its own snapshot, checks, planner and
//! wait conditions; the pipeline only orders the stages and reports them.
//! A command picks its target once ([`Kind::of`]) and calls one entry here.
//!
//! To add a target (an engine over SSH, podman's API): implement [`Target`]
//! in a file of this folder, add a variant to [`Kind`] and one line to
//! [`with_target!`]; no command file changes. A new kind of change within a
//! target (start-first updates, rollback) is a new plan step and executor
//! arm, reached through the same pipeline.
//!
//! An `up` that changed something ends by recording it as a release
//! ([`release`]), before its waits.
//!
//! Where it stops: it decides nothing itself (the planners do), prints only
//! through [`Progress`] and the diagnostics printer, and returns every
//! failure as a [`Failure`] for the command to present.

pub(crate) mod plain;
pub(crate) mod release;
pub(crate) mod swarm;
mod swarm_facts;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::apply::{self, ApplyError, ApplyOptions, Summary};
use crate::diag::Diagnostic;
use crate::engine::{Engine, EngineError};
use crate::load::Loaded;
use crate::output::{self, Progress};
use crate::plan::{self, DownOptions, ImageOptions, Plan, PlanError, UpOptions};

/// What a pipeline run needs from the command: the stack (when there is
/// one), the project, where progress goes, and how to apply.
pub(crate) struct Context<'a> {
    /// The loaded stack; `down` can run on a project without one.
    pub loaded: Option<&'a Loaded>,
    pub project: &'a str,
    pub progress: &'a Progress,
    pub apply: ApplyOptions,
    /// Apply without progress lines (`watch`: one line per action).
    pub quiet: bool,
}

impl Context<'_> {
    /// The stack of a command that loaded one (`up`, `plan`).
    fn loaded(&self) -> &Loaded {
        self.loaded
            .expect("up and plan are run with a loaded stack")
    }

    /// Says something about the run, unless the context is quiet.
    fn note(&self, text: &str) {
        if !self.quiet {
            self.progress.note(text);
        }
    }

    /// Names the engine first, whenever it is not the local socket berth
    /// uses by default: a change meant for a laptop must not land on the
    /// team's server unnoticed, nor the other way round.
    fn engine_named(&self, engine: &Engine) {
        if let Some(named) = engine.named() {
            self.note(&format!("Engine: {named}"));
        }
    }

    /// Prints a plan's or an apply's warnings, unless the context is quiet.
    fn warnings(&self, warnings: &[String]) {
        if !self.quiet {
            for w in warnings {
                self.progress.warning(w);
            }
        }
    }

    /// Prints located warnings among `diags` and returns the errors, if any,
    /// as the failure of a stack refused before anything changed.
    fn checked(&self, diags: Vec<Diagnostic>) -> Result<(), Failure> {
        let errors = output::print_warnings(diags, &self.loaded().sources);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::Invalid(errors))
        }
    }
}

/// Why a pipeline run stopped. Only [`Failure::Apply`] comes after a change.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The stack, checked against what the target has, is refused.
    Invalid(Vec<Diagnostic>),
    /// The planner refused what was asked (unknown service, a cycle...).
    Refused(Vec<PlanError>),
    /// The engine could not be reached or refused a read.
    Engine(EngineError),
    /// The engine is not this kind of target (a swarm command on an engine
    /// that is no swarm manager): what it is and what to do.
    Unsuitable(String),
    /// A step failed or the run was interrupted; the plan it came from.
    Apply { plan: Plan, error: ApplyError },
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Failure {
        Failure::Engine(e)
    }
}

impl From<Vec<PlanError>> for Failure {
    fn from(e: Vec<PlanError>) -> Failure {
        Failure::Refused(e)
    }
}

/// What `up` and `plan` ask of a target.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpRequest {
    pub up: UpOptions,
    /// How the images are made before the rest is planned; None: they are
    /// made already (`watch` has just built the one it rebuilds).
    pub images: Option<ImageOptions>,
    /// Then wait for every (selected) service: healthy, completed or
    /// converged, as the target's planner says.
    pub wait: bool,
    /// Record a release when something changed (`up`; not `watch`'s
    /// rebuilds).
    pub record: bool,
}

/// A target: where a stack runs, and how each stage of the pipeline is done
/// there. The methods are the stages; the pipeline calls them in order.
pub(crate) trait Target {
    /// The target's snapshot of what exists.
    type Observed;

    /// Connects, and refuses an engine that is not this kind of target. A
    /// target may leave the ping to its first snapshot ([`Engine::answering`]).
    async fn connect(&self) -> Result<Engine, Failure>;

    /// What exists of the stack (for `up` and `plan`).
    async fn observe(&self, engine: &Engine, cx: &Context<'_>) -> Result<Self::Observed, Failure>;

    /// The builds and pulls to do before the rest is planned (a new image
    /// can recreate containers). None by default.
    fn plan_images(
        &self,
        _cx: &Context<'_>,
        _observed: &Self::Observed,
        _services: &[String],
        _options: ImageOptions,
    ) -> Result<Plan, Failure> {
        Ok(Plan::default())
    }

    /// Looks again at the images a build or pull made.
    async fn refresh_images(
        &self,
        _engine: &Engine,
        _observed: &mut Self::Observed,
        _images: &[String],
    ) -> Result<(), Failure> {
        Ok(())
    }

    /// Checks the stack against the snapshot (printing warnings), then plans
    /// everything but the images.
    fn plan_up(
        &self,
        cx: &Context<'_>,
        observed: &Self::Observed,
        options: &UpOptions,
    ) -> Result<Plan, Failure>;

    /// After a failed apply: what a second plan, made from a fresh snapshot,
    /// should replace (containers whose stale task the engine cannot start).
    /// Empty: the failure ends the run.
    fn replace_after(&self, _plan: &Plan, _failed: &ApplyError) -> BTreeSet<String> {
        BTreeSet::new()
    }

    /// The image each service of the stack runs once `applied` is carried
    /// out, for the release record.
    fn release_images(
        &self,
        cx: &Context<'_>,
        observed: &Self::Observed,
        applied: &Plan,
    ) -> BTreeMap<String, crate::releases::ServiceImage>;

    /// The waits of `--wait`, after `applied` was carried out.
    fn plan_wait(&self, cx: &Context<'_>, applied: &Plan, services: &[String]) -> Plan;

    /// What exists of the project, for `down`.
    async fn observe_down(
        &self,
        engine: &Engine,
        cx: &Context<'_>,
    ) -> Result<Self::Observed, Failure>;

    /// The plan of `down`.
    fn plan_down(&self, cx: &Context<'_>, observed: &Self::Observed, options: &DownOptions)
    -> Plan;

    /// What `down` says when there is nothing to remove.
    fn nothing_to_remove(&self, project: &str) -> String;
}

/// The targets a command can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Plain,
    Swarm,
}

impl Kind {
    /// The target a command's `--swarm` flag chooses.
    pub fn of(swarm: bool) -> Kind {
        if swarm { Kind::Swarm } else { Kind::Plain }
    }
}

/// Runs `$body` with `$t` bound to the implementation of target `$kind`:
/// the one place a target is dispatched.
macro_rules! with_target {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            Kind::Plain => {
                let $t = &plain::Plain;
                $body
            }
            Kind::Swarm => {
                let $t = &swarm::Swarm;
                $body
            }
        }
    };
}

/// `up`: brings the stack to what its file says on target `kind`. Returns
/// the plan carried out after the images (empty when nothing changed).
pub(crate) async fn up(kind: Kind, cx: &Context<'_>, request: &UpRequest) -> Result<Plan, Failure> {
    with_target!(kind, t => up_on(t, kind, cx, request).await)
}

/// The plan `up` would carry out, changing nothing (`berth plan`,
/// `up --dry-run`): the image steps, then the rest as it would be with the
/// images present now.
pub(crate) async fn plan(
    kind: Kind,
    cx: &Context<'_>,
    request: &UpRequest,
) -> Result<Plan, Failure> {
    with_target!(kind, t => plan_on(t, cx, request).await)
}

/// `down`: removes what the project has on target `kind` (or, with
/// `dry_run`, returns the plan). None: there was nothing to remove.
pub(crate) async fn down(
    kind: Kind,
    cx: &Context<'_>,
    options: &DownOptions,
    dry_run: bool,
) -> Result<Option<Plan>, Failure> {
    with_target!(kind, t => down_on(t, cx, options, dry_run).await)
}

async fn plan_on<T: Target>(t: &T, cx: &Context<'_>, request: &UpRequest) -> Result<Plan, Failure> {
    let engine = t.connect().await?;
    cx.engine_named(&engine);
    let observed = t.observe(&engine, cx).await?;
    let images = match request.images {
        Some(options) => t.plan_images(cx, &observed, &request.up.services, options)?,
        None => Plan::default(),
    };
    let rest = t.plan_up(cx, &observed, &request.up)?;
    Ok(images.then(rest, true))
}

async fn up_on<T: Target>(
    t: &T,
    kind: Kind,
    cx: &Context<'_>,
    request: &UpRequest,
) -> Result<Plan, Failure> {
    let started = Instant::now();
    let engine = t.connect().await?;
    cx.engine_named(&engine);
    let mut observed = t.observe(&engine, cx).await?;
    let images = match request.images {
        Some(options) => t.plan_images(cx, &observed, &request.up.services, options)?,
        None => Plan::default(),
    };
    if !images.is_empty() {
        apply(cx, &engine, &images).await?;
        // A build or pull changed what the tags name: look again, at those.
        let touched: Vec<String> = images.steps.iter().filter_map(image_of).collect();
        t.refresh_images(&engine, &mut observed, &touched).await?;
    }
    let mut plan = t.plan_up(cx, &observed, &request.up)?;
    // What this run changes, in the plans' words, for its release.
    let mut changes = if request.record {
        release::changes(&plan)
    } else {
        Vec::new()
    };
    if plan.is_empty() {
        cx.warnings(&plan.warnings);
        cx.note(&format!("Nothing to change: {} is up to date", cx.project));
    } else if let Err(failed) = apply(cx, &engine, &plan).await {
        // What the engine cannot do again as asked (a container whose
        // stale task it cannot start) is replaced, once, by a plan made
        // again from what is there now; any other failure ends `up`.
        let Failure::Apply { error, .. } = &failed else {
            return Err(failed);
        };
        let replace = t.replace_after(&plan, error);
        if replace.is_empty() {
            return Err(failed);
        }
        cx.note(&format!(
            "Replacing {}: the engine cannot start them again (a stale task)",
            replace.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        observed = t.observe(&engine, cx).await?;
        let options = UpOptions {
            stale_tasks: replace,
            ..request.up.clone()
        };
        plan = t.plan_up(cx, &observed, &options)?;
        apply(cx, &engine, &plan).await?;
        if request.record {
            changes.extend(release::changes(&plan));
        }
    }
    if request.record && !plan.is_empty() {
        let images = t.release_images(cx, &observed, &plan);
        release::record(cx, &engine, kind, changes, images).await;
    }
    if request.wait {
        let waits = t.plan_wait(cx, &plan, &request.up.services);
        apply(cx, &engine, &waits).await?;
    }
    if !plan.is_empty() && !cx.quiet {
        let steps = plan.steps.len();
        cx.progress.status(
            "Finished",
            &format!(
                "{} is up ({steps} step{} in {:.1}s)",
                cx.project,
                if steps == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64()
            ),
        );
    }
    Ok(plan)
}

async fn down_on<T: Target>(
    t: &T,
    cx: &Context<'_>,
    options: &DownOptions,
    dry_run: bool,
) -> Result<Option<Plan>, Failure> {
    let engine = t.connect().await?;
    cx.engine_named(&engine);
    let observed = t.observe_down(&engine, cx).await?;
    let plan = t.plan_down(cx, &observed, options);
    if dry_run {
        return Ok(Some(plan));
    }
    if plan.is_empty() {
        cx.warnings(&plan.warnings);
        cx.note(&t.nothing_to_remove(cx.project));
        return Ok(None);
    }
    apply(cx, &engine, &plan).await?;
    Ok(Some(plan))
}

/// Carries out `plan` on `engine`: its warnings, then the steps with
/// progress (unless the context is quiet), then the warnings the steps
/// gave. The one way every command applies a plan.
pub(crate) async fn apply(
    cx: &Context<'_>,
    engine: &Engine,
    plan: &Plan,
) -> Result<Summary, Failure> {
    let quiet = cx.quiet;
    cx.warnings(&plan.warnings);
    let events = |ev: apply::Event<'_>| {
        if !quiet {
            cx.progress.event(&ev);
        }
    };
    let summary = apply::apply(engine, plan, &cx.apply, &events)
        .await
        .map_err(|error| Failure::Apply {
            plan: plan.clone(),
            error,
        })?;
    cx.warnings(&summary.warnings);
    Ok(summary)
}

/// The image a build or pull step makes.
fn image_of(step: &plan::Step) -> Option<String> {
    match &step.action {
        plan::Action::Build { request, .. } => Some(request.request.tag.clone()),
        plan::Action::Pull { image, .. } => Some(image.clone()),
        _ => None,
    }
}

/// Apply options for one command: every plan it applies with them (`up`'s
/// images, its changes, its waits) counts the run from now.
pub(crate) fn apply_options(
    project: &str,
    parallel: usize,
    wait_timeout: Duration,
) -> ApplyOptions {
    ApplyOptions {
        parallel,
        wait_timeout,
        project: project.to_string(),
        cancel: None,
        run_started: Some(crate::engine::clock::now_secs()),
    }
}
