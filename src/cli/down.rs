//! `berth down`: stop and remove the project's containers, then its
//! networks, and its named volumes only with `--volumes`.
//!
//! Works without a stack file when `-p` names the project: then every
//! container carrying the project's label goes, in no dependency order. With
//! a stack file, its name and dependency order are used. `plan_down` decides
//! what goes; this file wires, prints and picks the exit code.

use std::path::Path;

use super::up::{apply_failed, connect, engine_failed, lock_project, on_ctrl_c, runtime};
use super::{Global, Outcome, load_stack};
use crate::apply::{self, ApplyOptions};
use crate::load::Loaded;
use crate::output::{Progress, ProgressMode};
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
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: DownArgs) -> Outcome {
    let progress = Progress::stderr(args.progress.unwrap_or_else(ProgressMode::detect));
    let (loaded, project) = match project(global, &progress) {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let _lock = match lock_project(&project, &progress) {
        Ok(lock) => lock,
        Err(outcome) => return outcome,
    };
    runtime().block_on(down(loaded.as_ref(), &project, &args, &progress))
}

async fn down(
    loaded: Option<&Loaded>,
    project: &str,
    args: &DownArgs,
    progress: &Progress,
) -> Outcome {
    let stack = loaded.map(|l| &l.stack);
    let engine = match connect(progress).await {
        Ok(e) => e,
        Err(outcome) => return outcome,
    };
    let observed = match crate::observe::observe_for_down(&engine, project, stack).await {
        Ok(o) => o,
        Err(e) => {
            engine_failed(&e, progress);
            return Outcome::Invalid;
        }
    };
    let opts = DownOptions {
        volumes: args.volumes,
        remove_orphans: args.remove_orphans,
    };
    let plan = plan::plan_down(project, &observed, stack, &opts);
    for w in &plan.warnings {
        progress.warning(w);
    }
    if plan.is_empty() {
        progress.note(&format!(
            "Nothing to remove: {project} has nothing berth made"
        ));
        return Outcome::Success;
    }
    let opts = ApplyOptions {
        stop_timeout: args.timeout,
        cancel: Some(on_ctrl_c(progress)),
        ..ApplyOptions::default()
    };
    let events = |ev: apply::Event<'_>| progress.event(&ev);
    match apply::apply(&engine, stack, &plan, &opts, &events).await {
        Ok(_) => Outcome::Success,
        Err(e) => apply_failed(loaded, &plan, &e, progress),
    }
}

/// The project to take down, and its stack when there is one: a stack file
/// when one is named or found, else the `-p` name alone.
pub(super) fn project(
    global: &Global,
    progress: &Progress,
) -> Result<(Option<Loaded>, String), Outcome> {
    if stack_file_exists(global) {
        let loaded = load_stack(global, None).ok_or(Outcome::Invalid)?;
        let name = loaded.stack.name.clone();
        return Ok((Some(loaded), name));
    }
    match &global.project_name {
        Some(name) => Ok((None, crate::load::normalize_project_name(name))),
        None => {
            progress.error(
                "no stack file found, and no project name given; \
                 run berth next to the stack file, or name the project with -p NAME",
            );
            Err(Outcome::Invalid)
        }
    }
}

/// Whether loading would find a stack file: one named with `-f` or in
/// COMPOSE_FILE, or a default name in the directory or one of its parents.
fn stack_file_exists(global: &Global) -> bool {
    if !global.files.is_empty() || std::env::var_os("COMPOSE_FILE").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    let start = match &global.project_directory {
        Some(d) => d.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| ".".into()),
    };
    let names = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
    ];
    let mut dir: Option<&Path> = Some(&start);
    while let Some(d) = dir {
        if names.iter().any(|n| d.join(n).is_file()) {
            return true;
        }
        dir = d.parent();
    }
    false
}
