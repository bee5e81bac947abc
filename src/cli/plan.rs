//! `berth plan`: print what `up` would do, and change nothing.
//!
//! One line per step with its cause, or `no changes`. The exit status tells
//! scripts which, as terraform's `plan -detailed-exitcode` does.

use super::up::{PlanFlags, prepare, runtime};
use super::{Global, Outcome, load_stack, print_out};
use crate::output::{Progress, ProgressMode};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when the stack is up to date (prints `no changes`), \
                        3 when `berth up` would change something, 1 when the stack is invalid, \
                        the engine cannot be reached or the plan is refused, 2 for a usage error."
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
}

pub fn run(global: &Global, args: PlanArgs) -> Outcome {
    let Some(loaded) = load_stack(global, None) else {
        return Outcome::Invalid;
    };
    // Errors and warnings go to stderr as `up` prints them; the plan itself
    // to stdout.
    let progress = Progress::stderr(ProgressMode::detect());
    let plan = match runtime().block_on(prepare(&loaded, &args.flags, &progress)) {
        Ok((_, _, plan)) => plan,
        Err(outcome) => return outcome,
    };
    print_out(&plan.to_string());
    if plan.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    }
}
