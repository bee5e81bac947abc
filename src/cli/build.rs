//! `berth build`: build the images of services that have `build:`, as a
//! plan of build steps (`plan_build`) carried out like any other.

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::output::ProgressMode;
use crate::plan;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Only these services (default: every service with `build:`)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Do not use the engine's build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Always try to pull a newer version of the base images
    #[arg(long)]
    pub pull: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: BuildArgs) -> Result<Outcome, Error> {
    // Builds only add images: no lock against an `up` of the project.
    let needs = Needs {
        lock: false,
        ..Needs::change(NeedsStack::Yes, args.dry_run, args.progress)
    };
    let s = Session::open(global, needs)?;
    let plan = plan::plan_build(&s.loaded().stack, &args.services, args.no_cache, args.pull)
        .map_err(|e| s.plan_errors(&e))?;
    // One build at a time, as compose does without bake: one build already
    // uses the machine's cores.
    s.block_on(s.carry_out(None, &plan, args.dry_run, 1))
}
