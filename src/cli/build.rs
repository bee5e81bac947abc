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
    let stack = &s.loaded().stack;
    let plan = plan::plan_build(stack, &args.services, args.no_cache, args.pull)
        .map_err(|e| s.plan_errors(&e))?;
    if args.dry_run {
        return s.dry_run(&plan);
    }
    session.block_on(async {
        let engine = s.connect().await?;
        // Builds one at a time, as compose does without bake: the engine
        // already uses the machine's cores for one build.
        let opts = s.apply_options(1, std::time::Duration::from_secs(300));
        s.apply(&engine, &plan, &opts).await?;
        Ok(Outcome::Success)
    })
}
