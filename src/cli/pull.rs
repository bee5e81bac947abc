//! `berth pull`: pull the images of the stack's services, as a plan of pull
//! steps (`plan_pull`) run side by side. Services whose image is built are
//! left out.

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::output::ProgressMode;
use crate::plan;

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Pull what can be pulled and report the failures as warnings
    #[arg(long)]
    pub ignore_pull_failures: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: PullArgs) -> Result<Outcome, Error> {
    // Pulls only add images: no lock against an `up` of the project.
    let needs = Needs {
        lock: false,
        ..Needs::change(NeedsStack::Yes, args.dry_run, args.progress)
    };
    let s = Session::open(global, needs)?;
    let plan = plan::plan_pull(&s.loaded().stack, &args.services, args.ignore_pull_failures)
        .map_err(|e| s.plan_errors(&e))?;
    s.block_on(s.carry_out(None, &plan, args.dry_run, 16))
}
