//! `berth up`: make the target match the stack.
//!
//! The flags say what to converge and on which target; the pipeline
//! (`converge`) observes, plans, applies and waits. With `--watch`, then
//! follows the files as `berth watch` does.

use std::time::Duration;

use super::args::PlanFlags;
use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::converge;
use crate::diag::Diagnostic;
use crate::output::ProgressMode;

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
    if !args.watch {
        return session.block_on(up(&session, &args));
    }
    // The watch rules are checked before anything changes.
    let rules = super::watch::prepare(&session, &args.flags.services)?;
    session.block_on(up(&session, &args))?;
    session.release_lock();
    session.block_on(super::watch::follow(&session, &rules, &args.flags))
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

/// `up` on the target the flags chose: the plan printed with `--dry-run`,
/// else carried out.
pub(super) async fn up(s: &Session, args: &UpArgs) -> Result<Outcome, Error> {
    let cx = s.context(args.parallel.into(), Duration::from_secs(args.wait_timeout));
    let target = args.flags.target();
    let request = args.flags.request(args.wait);
    if args.dry_run {
        let plan = converge::plan(target, &cx, &request)
            .await
            .map_err(|f| s.failed(f))?;
        return s.print_plan(&plan);
    }
    converge::up(target, &cx, &request)
        .await
        .map_err(|f| s.failed(f))?;
    Ok(Outcome::Success)
}
