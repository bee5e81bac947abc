//! `berth down`: stop and remove the project's containers, then its
//! networks, and its named volumes only with `--volumes`.
//!
//! Works without a stack file when `-p` names the project: then every
//! container carrying the project's label goes, in no dependency order. With
//! a stack file, its name and dependency order are used. `plan_down` decides
//! what goes; this file wires it to the session.

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::output::ProgressMode;
use crate::plan::{self, DownOptions};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when everything is gone (or nothing was there), \
                        1 when the stack is invalid, the engine cannot be reached or a step \
                        failed, 130 when interrupted (run `berth down` again to finish)."
)]
pub struct DownArgs {
    /// Remove the stack's named volumes too (their data is lost)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove containers of services no longer in the stack file too
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds each container gets to stop before it is killed (default: its
    /// stop_grace_period, else 10)
    #[arg(short = 't', long, value_name = "SECS")]
    pub timeout: Option<i64>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Remove the stack's Swarm services and networks (deployed with `up --swarm`)
    #[arg(long)]
    pub swarm: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: DownArgs) -> Result<Outcome, Error> {
    let needs = Needs::change(NeedsStack::OrProject, args.dry_run, args.progress);
    let session = Session::open(global, needs)?;
    if args.swarm {
        return session.block_on(super::swarm::down(&session, args.dry_run, args.volumes));
    }
    session.block_on(down(&session, &args))
}

async fn down(s: &Session, args: &DownArgs) -> Result<Outcome, Error> {
    let engine = s.connect().await?;
    let observed = crate::observe::observe_for_down(&engine, &s.project, s.stack())
        .await
        .map_err(|e| Error::engine(&e))?;
    let opts = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
        timeout: args.timeout,
    };
    let plan = plan::plan_down(&s.project, &observed, s.stack(), &opts);
    if plan.is_empty() && !args.dry_run {
        for w in &plan.warnings {
            s.progress.warning(w);
        }
        s.progress.note(&format!(
            "Nothing to remove: {} has nothing berth made",
            s.project
        ));
        return Ok(Outcome::Success);
    }
    s.apply_or_print(&engine, &plan, args.dry_run, 16).await
}
