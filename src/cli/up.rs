//! `berth up`: make the engine match the stack.
//!
//! observe -> plan and apply the images (builds, pulls) -> look at the
//! images again -> preflight -> plan the rest -> apply -> (with `--wait`)
//! wait for every service. The plan and apply stages decide and act; this
//! file wires them together and says what happened.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome, print_diagnostics};
use crate::apply::ApplyError;
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::observe::{self, Observed};
use crate::output::ProgressMode;
use crate::plan::{self, ImageOptions, Plan, UpOptions};

/// The flags `up` and `plan` share: what to converge and how.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFlags {
    /// Only these services and what they depend on (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Remove containers of services no longer in the stack file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Recreate containers even if their configuration is unchanged
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate existing containers, even if their configuration changed
    #[arg(long)]
    pub no_recreate: bool,
    /// Build images before starting containers (default: only missing ones)
    #[arg(long)]
    pub build: bool,
    /// Deploy to the Docker Swarm that the engine at DOCKER_HOST manages:
    /// services instead of containers
    #[arg(long)]
    pub swarm: bool,
}

impl PlanFlags {
    pub(super) fn options(&self) -> UpOptions {
        UpOptions {
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans: self.remove_orphans,
            services: self.services.clone(),
            stale_tasks: Default::default(),
        }
    }

    pub(super) fn images(&self) -> ImageOptions {
        ImageOptions {
            force_build: self.build,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when the stack is up, 1 when the stack is invalid, \
                        the engine cannot be reached or a step failed, 130 when interrupted \
                        (run `berth up` again to finish)."
)]
pub struct UpArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Wait until every service is running, or healthy where it has a health check
    #[arg(long)]
    pub wait: bool,
    /// How long a wait for a dependency (or `--wait`) may take, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait_timeout: u64,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Engine calls in flight at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Accepted for compose compatibility: `up` always returns once the stack
    /// has converged, and never attaches to the containers' output
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
    /// Then follow the files of the services' `develop.watch` rules, as
    /// `berth watch` does
    #[arg(long, conflicts_with_all = ["dry_run", "swarm"])]
    pub watch: bool,
}

pub fn run(global: &Global, args: UpArgs) -> Result<Outcome, Error> {
    // The lock is held for the whole run: a second `up` on the project
    // waits, then observes what the first one made and finds nothing to do.
    let needs = Needs::change(NeedsStack::Yes, args.dry_run, args.progress);
    let mut session = Session::open(global, needs)?;
    if session.loaded().stack.services.is_empty() {
        return Err(no_services(&session));
    }
    if args.flags.swarm {
        return session.block_on(super::swarm::up(&session, &args));
    }
    if !args.watch {
        return session.block_on(up(&session, &args));
    }
    // The watch rules are checked before anything changes.
    let rules = super::watch::prepare(&session, &args.flags.services)?;
    session.block_on(up(&session, &args))?;
    session.release_lock();
    session.block_on(super::watch::follow(&session, &rules, &args))
}

/// compose's `up` refuses a stack without services ("no service selected")
/// rather than bringing up only its networks: it is a truncated or wrong file.
fn no_services(s: &Session) -> Error {
    let d = Diagnostic::error("no service selected: the stack defines no services")
        .label(
            crate::source::Span::new(crate::source::FileId(0), 0..0),
            "no services in this stack",
        )
        .help(
            "define at least one service under `services:`; `berth config` shows what berth read",
        );
    Error::diagnostics(vec![d], Some(s.loaded())).then("nothing was changed")
}

pub(super) async fn up(s: &Session, args: &UpArgs) -> Result<Outcome, Error> {
    let started = Instant::now();
    let stack = &s.loaded().stack;
    let (engine, mut observed) = observe(s).await?;
    let images = plan::plan_images(stack, &observed, &args.flags.services, args.flags.images())
        .map_err(|e| s.plan_errors(&e))?;
    if args.dry_run {
        let rest = plan_rest(s, &observed, &args.flags)?;
        return s.dry_run(&images.then(rest, true));
    }
    let opts = s.apply_options(args.parallel.into(), Duration::from_secs(args.wait_timeout));
    if !images.is_empty() {
        s.apply(&engine, &images, &opts).await?;
        // A build or pull changed what the tags name: look again, at those.
        let touched: Vec<String> = images.steps.iter().filter_map(image_of).collect();
        observe::refresh_images(&engine, &mut observed, &touched)
            .await
            .map_err(|e| Error::engine(&e))?;
    }
    let mut plan = plan_rest(s, &observed, &args.flags)?;
    if let Err(failed) = s.try_converge(&engine, &plan, &opts).await {
        // A container the engine cannot start because it keeps a stale task
        // (dockerd was killed while starting it) is replaced, once, by a plan
        // made again from what is there now; any other failure ends `up`.
        let stale = stale_starts(&plan, &failed);
        if stale.is_empty() {
            return Err(s.apply_failed(&plan, &failed));
        }
        s.progress.note(&format!(
            "Replacing {}: the engine cannot start them again (a stale task)",
            stale.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        let observed = observe::observe(&engine, stack)
            .await
            .map_err(|e| Error::engine(&e))?;
        plan = plan_replacing(s, &observed, &args.flags, &stale)?;
        s.converge(&engine, &plan, &opts).await?;
    }
    if args.wait {
        let waits = plan::plan_wait(stack, &args.flags.services);
        s.apply(&engine, &waits, &opts).await?;
    }
    if !plan.is_empty() {
        let steps = plan.steps.len();
        s.progress.status(
            "Finished",
            &format!(
                "{} is up ({steps} step{} in {:.1}s)",
                stack.name,
                if steps == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64()
            ),
        );
    }
    Ok(Outcome::Success)
}

/// The image a build or pull step makes.
fn image_of(step: &plan::Step) -> Option<String> {
    match &step.action {
        plan::Action::Build { request, .. } => Some(request.request.tag.clone()),
        plan::Action::Pull { image, .. } => Some(image.clone()),
        _ => None,
    }
}

/// Connects and takes the snapshot `up` and `plan` start from.
pub(super) async fn observe(s: &Session) -> Result<(Engine, Observed), Error> {
    let engine = s.connect().await?;
    let observed = observe::observe(&engine, &s.loaded().stack)
        .await
        .map_err(|e| Error::engine(&e))?;
    Ok((engine, observed))
}

/// Preflight and the plan of everything but the images: all `up` does
/// before it changes anything, and what `plan` shows after the images.
pub(super) fn plan_rest(
    s: &Session,
    observed: &Observed,
    flags: &PlanFlags,
) -> Result<Plan, Error> {
    plan_replacing(s, observed, flags, &BTreeSet::new())
}

/// [`plan_rest`], replacing the containers in `stale_tasks`.
fn plan_replacing(
    s: &Session,
    observed: &Observed,
    flags: &PlanFlags,
    stale_tasks: &BTreeSet<String>,
) -> Result<Plan, Error> {
    let loaded = s.loaded();
    let diags = crate::preflight::check(&loaded.stack, observed);
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diags.into_iter().partition(Diagnostic::is_error);
    print_diagnostics(&warnings, &loaded.sources);
    if !errors.is_empty() {
        return Err(Error::diagnostics(errors, Some(loaded)).then("nothing was changed"));
    }
    let opts = UpOptions {
        stale_tasks: stale_tasks.clone(),
        ..flags.options()
    };
    plan::plan_up(&loaded.stack, observed, &opts).map_err(|e| s.plan_errors(&e))
}

/// The containers whose start failed on a stale task, if the apply failed.
fn stale_starts(plan: &Plan, failed: &ApplyError) -> BTreeSet<String> {
    let ApplyError::Failed { failures, .. } = failed else {
        return BTreeSet::new();
    };
    failures
        .iter()
        .filter_map(|f| plan::rules::stale_task(&plan.steps[f.step].action, &f.message))
        .collect()
}
