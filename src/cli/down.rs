//! `berth down`: stop and remove the project's containers, then its
//! networks, and its named volumes only with `--volumes`.
//!
//! Works without a stack file when `-p` names the project: then every
//! container carrying the project's label goes, in no dependency order. With
//! a stack file, its name and dependency order are used. The target's
//! planner decides what goes (`--swarm`: the project's Swarm services,
//! networks, secrets and configs); the pipeline carries it out.

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::converge::{self, Kind};
use crate::output::ProgressMode;
use crate::plan::DownOptions;

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
    let s = Session::open(global, needs)?;
    let cx = s.context(16, std::time::Duration::from_secs(300));
    let options = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
        timeout: args.timeout,
    };
    let target = Kind::of(args.swarm);
    let plan = s.block_on(async {
        converge::down(target, &cx, &options, args.dry_run)
            .await
            .map_err(|f| s.failed(f))
    })?;
    match plan {
        Some(plan) if args.dry_run => s.print_plan(&plan),
        _ => Ok(Outcome::Success),
    }
}
