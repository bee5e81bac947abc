//! `berth up`: make the engine match the stack.
//!
//! load -> lock the project -> connect -> observe -> preflight -> plan ->
//! apply -> (with `--wait`) wait for every service. The plan and apply
//! stages decide and act; this file only wires them together, prints, and
//! picks the exit code. It also holds what `plan` and `down` share with it:
//! the runtime, the connect error, the project lock and Ctrl-C.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Global, Outcome, load_stack, print_diagnostics};
use crate::apply::{self, ApplyError, ApplyOptions};
use crate::diag::Diagnostic;
use crate::engine::{Engine, EngineError};
use crate::identity;
use crate::load::Loaded;
use crate::model::stack::{Condition, Stack};
use crate::observe::Observed;
use crate::output::{Progress, ProgressMode};
use crate::plan::{self, Action, Plan, UpOptions};

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
}

impl PlanFlags {
    fn options(&self) -> UpOptions {
        UpOptions {
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans: self.remove_orphans,
            services: self.services.clone(),
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
    /// Build images before starting containers (default: only missing ones)
    #[arg(long)]
    pub build: bool,
}

pub fn run(global: &Global, args: UpArgs) -> Outcome {
    let Some(loaded) = load_stack(global, None) else {
        return Outcome::Invalid;
    };
    let progress = Progress::stderr(args.progress.unwrap_or_else(ProgressMode::detect));
    if args.dry_run {
        return runtime().block_on(dry_run(&loaded, &args.flags, &progress));
    }
    // Held for the whole run: a second `up` on the project waits here, then
    // observes what the first one made and finds nothing to do.
    let _lock = match lock_project(&loaded.stack.name, &progress) {
        Ok(lock) => lock,
        Err(outcome) => return outcome,
    };
    runtime().block_on(up(&loaded, &args, &progress))
}

async fn dry_run(loaded: &Loaded, flags: &PlanFlags, progress: &Progress) -> Outcome {
    let plan = match prepare(loaded, flags, progress).await {
        Ok((_, _, plan)) => plan,
        Err(outcome) => return outcome,
    };
    super::print_out(&plan.to_string());
    Outcome::Success
}

async fn up(loaded: &Loaded, args: &UpArgs, progress: &Progress) -> Outcome {
    let started = Instant::now();
    let stack = &loaded.stack;
    // Build and pull what is needed first, so that observe sees the images.
    let images = async {
        let engine = connect(progress).await?;
        super::build::ensure_images(&engine, loaded, &args.flags.services, args.build, progress)
            .await
    };
    if let Err(outcome) = images.await {
        return outcome;
    }
    let (engine, _, plan) = match prepare(loaded, &args.flags, progress).await {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let cancel = on_ctrl_c(progress);
    let opts = ApplyOptions {
        parallel: args.parallel.into(),
        wait_timeout: Duration::from_secs(args.wait_timeout),
        stop_timeout: None,
        cancel: Some(cancel),
    };
    let events = |ev: apply::Event<'_>| progress.event(&ev);
    if plan.is_empty() {
        progress.note(&format!("Nothing to change: {} is up to date", stack.name));
    } else {
        let result = apply::apply(&engine, Some(stack), &plan, &opts, &events).await;
        if let Err(e) = result {
            return apply_failed(Some(loaded), &plan, &e, progress);
        }
    }
    if args.wait {
        let waits = wait_plan(stack, &args.flags.services);
        if let Err(e) = apply::apply(&engine, Some(stack), &waits, &opts, &events).await {
            return apply_failed(Some(loaded), &waits, &e, progress);
        }
    }
    if !plan.is_empty() {
        progress.status(
            "Finished",
            &format!(
                "{} is up ({} step{} in {:.1}s)",
                stack.name,
                plan.steps.len(),
                if plan.steps.len() == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64()
            ),
        );
    }
    Outcome::Success
}

/// Connect, observe, preflight and plan: everything `up` does before it
/// changes anything, and all that `plan` does. Errors are printed here.
pub(super) async fn prepare(
    loaded: &Loaded,
    flags: &PlanFlags,
    progress: &Progress,
) -> Result<(Engine, Observed, Plan), Outcome> {
    let stack = &loaded.stack;
    let engine = connect(progress).await?;
    let observed = match crate::observe::observe(&engine, stack).await {
        Ok(o) => o,
        Err(e) => {
            engine_failed(&e, progress);
            return Err(Outcome::Invalid);
        }
    };
    let diags = crate::preflight::check(stack, &observed);
    print_diagnostics(&diags, &loaded.sources);
    if diags.iter().any(Diagnostic::is_error) {
        progress.error("nothing was changed");
        return Err(Outcome::Invalid);
    }
    let plan = match plan::plan_up(stack, &observed, &flags.options()) {
        Ok(plan) => plan,
        Err(errors) => {
            let diags: Vec<Diagnostic> = errors.iter().map(|e| e.to_diagnostic()).collect();
            print_diagnostics(&diags, &loaded.sources);
            progress.error("nothing was changed");
            return Err(Outcome::Invalid);
        }
    };
    for w in &plan.warnings {
        progress.warning(w);
    }
    Ok((engine, observed, plan))
}

/// `--wait`: one wait per container of the selected services (all when none
/// is named): healthy where the service has a health check, else started.
/// Health checks that come only from the image are not seen here.
fn wait_plan(stack: &Stack, only: &[String]) -> Plan {
    let mut plan = Plan::default();
    for svc in stack.services.values() {
        if !only.is_empty() && !only.contains(&svc.name) {
            continue;
        }
        let healthy = svc.healthcheck.as_ref().is_some_and(|h| !h.disable);
        let condition = if healthy {
            Condition::ServiceHealthy
        } else {
            Condition::ServiceStarted
        };
        for n in 1..=identity::replicas(svc) {
            plan.push(
                Action::Wait {
                    service: svc.name.clone(),
                    name: identity::container_name(stack, svc, n),
                    condition,
                    required: true,
                },
                "--wait",
                Vec::new(),
            );
        }
    }
    plan
}

/// Prints an apply error once: failed steps of a service as diagnostics
/// pointing at the service in the stack file, then what was done.
pub(super) fn apply_failed(
    loaded: Option<&Loaded>,
    plan: &Plan,
    e: &ApplyError,
    progress: &Progress,
) -> Outcome {
    match e {
        ApplyError::Interrupted { .. } => {
            progress.error(&e.to_string());
            Outcome::Interrupted
        }
        ApplyError::Failed {
            failures,
            done,
            not_started,
        } => {
            let Some(loaded) = loaded.filter(|_| progress.mode() != ProgressMode::Json) else {
                progress.error(&e.to_string());
                return Outcome::Invalid;
            };
            let diags: Vec<Diagnostic> = failures
                .iter()
                .map(|f| {
                    let d = Diagnostic::error(format!("{} failed: {}", f.what, f.message));
                    match service_of(&plan.steps[f.step].action)
                        .and_then(|s| loaded.stack.services.get(s))
                    {
                        Some(svc) => d.label(svc.span, format!("service {}", svc.name)),
                        None => d,
                    }
                })
                .collect();
            print_diagnostics(&diags, &loaded.sources);
            progress.error(&format!(
                "{done} step{} done before berth stopped, {not_started} not started; \
                 fix the cause and run the command again",
                if *done == 1 { "" } else { "s" }
            ));
            Outcome::Invalid
        }
    }
}

fn service_of(action: &Action) -> Option<&str> {
    match action {
        Action::CreateContainer { service, .. }
        | Action::Recreate { service, .. }
        | Action::Start { service, .. }
        | Action::Update { service, .. }
        | Action::Connect { service, .. }
        | Action::Disconnect { service, .. }
        | Action::Wait { service, .. } => Some(service),
        _ => None,
    }
}

/// The runtime a command runs on; `main` stays synchronous.
pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime")
}

/// Connects, or prints the one error that says where berth looked and what
/// to do.
pub(super) async fn connect(progress: &Progress) -> Result<Engine, Outcome> {
    Engine::connect().await.map_err(|e| {
        engine_failed(&e, progress);
        Outcome::Invalid
    })
}

pub(super) fn engine_failed(e: &EngineError, progress: &Progress) {
    match e {
        EngineError::Unreachable { host, .. } => {
            let how = match std::env::var("DOCKER_HOST") {
                Ok(h) if !h.is_empty() => format!("DOCKER_HOST is set to {h}; is that right?"),
                _ => format!(
                    "DOCKER_HOST is not set, so berth used {host}; set it if the engine is elsewhere"
                ),
            };
            progress.error(&format!(
                "{e}\n  help: is dockerd running (`systemctl start docker`, or `dockerd &`)? {how}"
            ));
        }
        other => progress.error(&format!("the Docker engine refused a request: {other}")),
    }
}

/// Takes the project's lock file (`<tmp>/berth-locks/<project>.lock`),
/// waiting for another berth that holds it. The OS releases the lock when
/// the process ends, however it ends, so a killed berth never leaves the
/// project locked. The empty file stays: removing it while another berth
/// waits on it would let a third one lock a new file beside it.
/// A failure is printed here, as [`connect`] does.
pub(super) fn lock_project(project: &str, progress: &Progress) -> Result<File, Outcome> {
    take_lock(project, progress).map_err(|message| {
        progress.error(&message);
        Outcome::Invalid
    })
}

fn take_lock(project: &str, progress: &Progress) -> Result<File, String> {
    let dir = std::env::temp_dir().join("berth-locks");
    let path: PathBuf = dir.join(format!("{project}.lock"));
    let open = || -> std::io::Result<File> {
        std::fs::create_dir_all(&dir)?;
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    };
    let file = open().map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => progress.status(
            "Waiting",
            &format!("for another berth working on {project} to finish"),
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()));
        }
    }
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

/// Installs the Ctrl-C handler: the first Ctrl-C raises the returned signal
/// (no new step starts, steps in flight finish); a second one quits at once.
pub(super) fn on_ctrl_c(progress: &Progress) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let progress = progress.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let _ = tx.send(true);
        progress.interrupted();
        if tokio::signal::ctrl_c().await.is_ok() {
            // exit skips the drop that clears the spinners.
            progress.clear();
            std::process::exit(130);
        }
    });
    rx
}
