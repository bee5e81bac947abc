//! `berth plan`: print what `up` would do, and change nothing.
//!
//! One line per step with its cause, or `no changes`; with `--format json`,
//! the plan as data (see the README's "Plans as data"). The exit status tells
//! scripts which, as terraform's `plan -detailed-exitcode` does.

use super::args::PlanFlags;
use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome, print_out};
use crate::converge;
use crate::output::ProgressMode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One line per step: `create network gb_net: not found`
    Text,
    /// One JSON object: every step with its id, action, resource, cause,
    /// the steps it waits for and the request it sends
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when the stack is up to date (prints `no changes`), \
                        3 when `berth up` would change something, 1 when the stack is invalid, \
                        the engine cannot be reached or the plan is refused, 2 for a usage error."
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(global: &Global, args: PlanArgs) -> Result<Outcome, Error> {
    // Errors and warnings go to stderr as `up` prints them; the plan itself
    // to stdout.
    let session = Session::open(
        global,
        Needs {
            stack: NeedsStack::Yes,
            lock: false,
            ctrl_c: false,
            progress: ProgressMode::detect(),
        },
    )?;
    let cx = session.context(16, std::time::Duration::from_secs(300));
    let request = args.flags.request(false);
    let plan = session.block_on(async {
        converge::plan(args.flags.target(), &cx, &request)
            .await
            .map_err(|f| session.failed(f))
    })?;
    match args.format {
        Format::Text => {
            session.print_plan(&plan)?;
        }
        Format::Json => print_json(&plan, &session.project)?,
    }
    Ok(if plan.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    })
}

/// The plan as data (`--format json`) on stdout.
pub(super) fn print_json(plan: &crate::plan::Plan, project: &str) -> Result<(), Error> {
    let json = plan.to_json(project);
    print_out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    ))
}
