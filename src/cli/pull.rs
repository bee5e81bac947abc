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
    let session = Session::open(
        global,
        Needs {
            stack: NeedsStack::Yes,
            lock: false,
            ctrl_c: true,
            progress: args.progress.unwrap_or_else(ProgressMode::detect),
        },
    )?;
    let s = &session;
    let plan = plan::plan_pull(&s.loaded().stack, &args.services, args.ignore_pull_failures)
        .map_err(|e| s.plan_errors(&e))?;
    if args.dry_run {
        return s.dry_run(&plan);
    }
    session.block_on(async {
        let engine = s.connect().await?;
        let opts = s.apply_options(16, std::time::Duration::from_secs(300));
        s.apply(&engine, &plan, &opts).await?;
        Ok(Outcome::Success)
    })
}
