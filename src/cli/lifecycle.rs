//! `berth start`, `stop` and `restart`: act on the containers a project
//! already has. `plan_lifecycle` decides what and in which order (a service
//! starts as soon as what it depends on is ready; stops go dependents
//! first); this file wires it to the session.

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::plan::{self, Lifecycle};

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Seconds each container gets to stop before it is killed (default: its
    /// stop_grace_period, else 10)
    #[arg(short = 't', long, value_name = "SECS")]
    pub timeout: Option<i64>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn start(global: &Global, args: StartArgs) -> Result<Outcome, Error> {
    run(global, Lifecycle::Start, &args.services, None, args.dry_run)
}

pub fn stop(global: &Global, args: StopArgs) -> Result<Outcome, Error> {
    run(
        global,
        Lifecycle::Stop,
        &args.services,
        args.timeout,
        args.dry_run,
    )
}

pub fn restart(global: &Global, args: StopArgs) -> Result<Outcome, Error> {
    run(
        global,
        Lifecycle::Restart,
        &args.services,
        args.timeout,
        args.dry_run,
    )
}

fn run(
    global: &Global,
    verb: Lifecycle,
    services: &[String],
    timeout: Option<i64>,
    dry_run: bool,
) -> Result<Outcome, Error> {
    // An `up` or `down` in flight would race with these calls.
    let s = Session::open(global, Needs::change(NeedsStack::OrProject, dry_run, None))?;
    // One block from observing to the last step, so that Ctrl-C is heard
    // throughout.
    s.block_on(async {
        let engine = s.connect().await?;
        let observed = crate::observe::observe_containers(&engine, &s.project)
            .await
            .map_err(|e| Error::engine(&e))?;
        let plan = plan::plan_lifecycle(verb, &s.project, &observed, s.stack(), services, timeout)
            .map_err(|e| s.plan_errors(&e))?;
        s.carry_out(Some(&engine), &plan, dry_run, 16).await
    })
}
