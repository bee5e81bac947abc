//! `berth watch [SERVICE...]` and `berth up --watch`: bring the stack up,
//! then follow the files of the services' `develop.watch` rules.
//!
//! Changes are collected until the files have been quiet for half a second
//! (compose's window; at most [`MAX_BATCH_WAIT`] under a steady stream),
//! sorted into work per service by `crate::watch`, and carried out in
//! compose's order: rebuilds, then syncs, then restarts, then `exec`
//! commands. Each action prints one line on stdout naming the service,
//! what was done and the files that caused it; a failed action prints one
//! line on stderr and watching goes on.
//!
//! - sync: the files are sent as one tar to each running container of the
//!   service through the engine's archive API; deleted files are deleted
//!   with `rm -rf` in the container (as compose does).
//! - rebuild: `berth build`'s plan for that service, then `up`'s plan for
//!   it alone (a new image recreates its containers), both quietly.
//! - restart: `berth restart`'s plan for that service.
//!
//! The project's lock is held only while an action changes the engine, so
//! `berth down` or `berth up` in another terminal do not wait for the watch
//! to end. Ctrl-C stops watching and leaves the stack running (exit 0); a
//! Ctrl-C that cuts an action short exits 130, as elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, FromArgMatches};
use tokio::time::Instant;

use super::args::PlanFlags;
use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome, print_out};
use crate::apply::ApplyError;
use crate::converge::{self, Failure, Kind};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::engine::archive::RunRequest;
use crate::model::develop::WatchAction;
use crate::output::ProgressMode;
use crate::plan::{self, Lifecycle};
use crate::watch::{Rules, Work, count, sync_tar};

/// How long the files must be quiet before a batch is acted on (compose's).
const QUIET: Duration = Duration::from_millis(500);
/// The longest a batch waits under a steady stream of changes.
const MAX_BATCH_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when watching was stopped with Ctrl-C (the stack keeps \
                        running), 1 when the stack is invalid or cannot be brought up, 130 when \
                        Ctrl-C cut an action short."
)]
pub struct WatchArgs {
    /// Only these services (and what they depend on) are brought up, and
    /// only their files followed (default: every service with `develop.watch`)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Do not bring the stack up first: follow the files of what runs
    #[arg(long)]
    pub no_up: bool,
    /// How to show the progress of bringing the stack up (default: tty on a
    /// terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: WatchArgs) -> Result<Outcome, Error> {
    let needs = Needs {
        lock: false,
        ..Needs::change(NeedsStack::Yes, false, args.progress)
    };
    let s = Session::open(global, needs)?;
    let rules = prepare(&s, &args.services)?;
    let flags = up_flags(&args.services);
    s.block_on(async {
        if !args.no_up {
            let _lock = s.lock()?;
            let cx = s.context(16, Duration::from_secs(300));
            converge::up(Kind::Plain, &cx, &flags.request(false))
                .await
                .map_err(|f| s.failed(f))?;
        }
        follow(&s, &rules, &flags).await
    })
}

/// `up`'s flags as `berth up SERVICE...` would have them: the same
/// defaults, whatever flags `up` has.
fn up_flags(services: &[String]) -> PlanFlags {
    let command = PlanFlags::augment_args(clap::Command::new("up").no_binary_name(true));
    let matches = command
        .try_get_matches_from(services)
        .expect("service names parse as up's positional arguments");
    PlanFlags::from_arg_matches(&matches).expect("up's defaults are valid")
}

/// The rules of the services to follow, checked before anything changes:
/// named services exist and have `develop.watch`, rebuild rules have a
/// build, `sync+exec` rules a command.
pub(super) fn prepare(s: &Session, named: &[String]) -> Result<Rules, Error> {
    let loaded = s.loaded();
    let stack = &loaded.stack;
    let unknown = plan::unknown_services(stack, named);
    if !unknown.is_empty() {
        return Err(s.plan_errors(&unknown));
    }
    let rules = Rules::of(stack, named)
        .map_err(|e| Error::message(format!("cannot read a build context's .dockerignore: {e}")))?;
    for (service, path) in &rules.bind_mounted {
        s.progress.warning(&format!(
            "{service}: `{path}` is bind-mounted into the container already; its sync rule is not followed"
        ));
    }
    if rules.rules.is_empty() {
        return Err(Error::message(
            "none of the selected services is configured for watch, consider setting a \
             'develop' section",
        ));
    }
    let mut diags = Vec::new();
    for r in &rules.rules {
        let svc = &stack.services[r.service.as_str()];
        if r.rule.action == WatchAction::Rebuild && svc.extras().build.is_none() {
            diags.push(
                Diagnostic::error(format!(
                    "cannot watch `{}` with a `rebuild` rule: it has no `build:`",
                    r.service
                ))
                .label(r.rule.span, "rebuild what?")
                .help("add a `build:` section, or use `restart`"),
            );
        }
        if r.rule.action == WatchAction::SyncExec && r.rule.exec.command.is_none() {
            diags.push(
                Diagnostic::error(format!(
                    "cannot watch `{}` with `sync+exec` and no command",
                    r.service
                ))
                .label(r.rule.span, "no `exec.command`")
                .help("add `exec: {command: ...}`, or use `sync`"),
            );
        }
    }
    if !diags.is_empty() {
        return Err(Error::diagnostics(diags, Some(loaded)).then("nothing was changed"));
    }
    Ok(rules)
}

/// Follows the files until Ctrl-C.
pub(super) async fn follow(s: &Session, rules: &Rules, up: &PlanFlags) -> Result<Outcome, Error> {
    use notify::Watcher;
    let engine = s.connect().await?;
    initial_sync(s, &engine, rules).await?;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .map_err(|e| Error::message(format!("cannot watch files: {e}")))?;
    for (path, mode) in watch_points(&rules.paths()) {
        watcher
            .watch(&path, mode)
            .map_err(|e| Error::message(format!("cannot watch {}: {e}", path.display())))?;
    }
    let followed: BTreeSet<&str> = rules.rules.iter().map(|r| r.service.as_str()).collect();
    s.progress.note(&format!(
        "Watching {} for changes (Ctrl-C to stop; the stack keeps running)",
        followed.into_iter().collect::<Vec<_>>().join(", ")
    ));

    let mut cancel = s.cancel();
    let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
    let mut first = Instant::now();
    let mut last = Instant::now();
    loop {
        let due = (last + QUIET).min(first + MAX_BATCH_WAIT);
        tokio::select! {
            () = cancelled(&mut cancel) => break,
            got = rx.recv() => match got {
                Some(path) => {
                    if pending.is_empty() {
                        first = Instant::now();
                    }
                    last = Instant::now();
                    pending.insert(path);
                }
                None => break,
            },
            () = tokio::time::sleep_until(due), if !pending.is_empty() => {
                let batch = std::mem::take(&mut pending);
                act(s, &engine, rules, up, &batch).await?;
            }
        }
    }
    drop(watcher);
    s.progress
        .note(&format!("Stopped watching; {} keeps running", s.project));
    Ok(Outcome::Success)
}

/// Resolves when Ctrl-C is heard; never without Ctrl-C handling.
async fn cancelled(cancel: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match cancel {
        Some(rx) => {
            if rx.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Where to put the file watches: a directory rule's directory, with what
/// is under it; a file rule's directory (editors save by replacing the
/// file, which would end a watch on the file itself); for a path that does
/// not exist yet, the nearest directory above it that does.
fn watch_points(paths: &[PathBuf]) -> Vec<(PathBuf, notify::RecursiveMode)> {
    use notify::RecursiveMode::{NonRecursive, Recursive};
    let mut out: Vec<(PathBuf, notify::RecursiveMode)> = Vec::new();
    for p in paths {
        let point = if p.is_dir() {
            (p.clone(), Recursive)
        } else {
            let mut dir: Option<&Path> = p.parent();
            while let Some(d) = dir
                && !d.is_dir()
            {
                dir = d.parent();
            }
            (dir.unwrap_or(Path::new("/")).to_path_buf(), NonRecursive)
        };
        match out.iter_mut().find(|(q, _)| *q == point.0) {
            Some(existing) if point.1 == Recursive => existing.1 = Recursive,
            Some(_) => {}
            None => out.push(point),
        }
    }
    out
}

/// `initial_sync: true`: every file under the rule's path is copied once
/// before watching starts.
async fn initial_sync(s: &Session, engine: &Engine, rules: &Rules) -> Result<(), Error> {
    for r in &rules.rules {
        if !(r.rule.initial_sync && r.rule.action.syncs()) {
            continue;
        }
        let changed = BTreeSet::from([PathBuf::from(&r.rule.path)]);
        let Some(work) = rules.batch(&changed).remove(&r.service) else {
            continue;
        };
        let work = Work {
            sync: work.sync,
            ..Work::default()
        };
        match sync(s, engine, &r.service, &work).await? {
            Ok(done) => say(&format!(
                "watch: {}: {done} (initial sync of {})",
                r.service,
                Path::new(&r.rule.path)
                    .file_name()
                    .map_or_else(|| r.rule.path.clone(), |n| n.to_string_lossy().into_owned())
            ))?,
            Err(why) => complain(&format!("watch: {}: initial sync failed: {why}", r.service)),
        }
    }
    Ok(())
}

/// Carries out one batch: rebuilds, then syncs, then restarts, then execs.
async fn act(
    s: &Session,
    engine: &Engine,
    rules: &Rules,
    up: &PlanFlags,
    batch: &BTreeSet<PathBuf>,
) -> Result<(), Error> {
    let work: BTreeMap<String, Work> = rules.batch(batch);
    if work.is_empty() {
        return Ok(());
    }
    let _lock = s.lock()?;
    let mut rebuilt = BTreeSet::new();
    for (service, w) in work.iter().filter(|(_, w)| !w.rebuild.is_empty()) {
        match rebuild(s, engine, up, service).await? {
            Ok(done) => {
                rebuilt.insert(service.clone());
                say(&w.changed_line(service, &done, &w.rebuild))?;
            }
            Err(why) => {
                complain(&w.changed_line(service, &format!("rebuild failed: {why}"), &w.rebuild))
            }
        }
    }
    for (service, w) in &work {
        // A new container has the new files already, and has just started.
        if rebuilt.contains(service) || (w.sync.is_empty() && w.restart.is_empty()) {
            continue;
        }
        let mut files: BTreeSet<String> = w.sync.iter().map(|m| m.shown.clone()).collect();
        files.extend(w.restart.iter().cloned());
        let mut done = Vec::new();
        if !w.sync.is_empty() {
            match sync(s, engine, service, w).await? {
                Ok(d) => done.push(d),
                Err(why) => {
                    complain(&w.line(service, &format!("sync failed: {why}"), &files));
                    continue;
                }
            }
        }
        if w.restart_after_sync || !w.restart.is_empty() {
            match restart(s, engine, service).await? {
                Ok(()) => done.push("restarted".into()),
                Err(why) => {
                    complain(&w.line(service, &format!("restart failed: {why}"), &files));
                    continue;
                }
            }
        }
        for hook in &w.exec {
            let shown = hook.command.clone().unwrap_or_default().join(" ");
            match exec(s, engine, service, hook).await? {
                Ok(()) => done.push(format!("ran `{shown}`")),
                Err(why) => done.push(format!("ran `{shown}`, which failed: {why}")),
            }
        }
        // A restart alone says what changed; a sync names what it copied.
        let line = if w.sync.is_empty() {
            w.changed_line(service, &join_and(&done), &files)
        } else {
            w.line(service, &join_and(&done), &files)
        };
        say(&line)?;
    }
    Ok(())
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn say(line: &str) -> Result<(), Error> {
    print_out(&format!("{line}\n"))
}

fn complain(line: &str) {
    eprintln!("{line}");
}

/// An action's outcome: `Err` of the outer result ends the watch (Ctrl-C
/// cut it short), `Err` of the inner one is printed and watching goes on.
type Acted<T> = Result<Result<T, String>, Error>;

/// The running containers of `service`.
async fn running(s: &Session, engine: &Engine, service: &str) -> Acted<Vec<String>> {
    let ids: Vec<String> = match crate::observe::observe_containers(engine, &s.project).await {
        Ok(o) => o
            .containers
            .into_iter()
            .filter(|c| {
                c.service.as_deref() == Some(service) && c.status == crate::observe::Status::Running
            })
            .map(|c| c.id)
            .collect(),
        Err(e) => return Ok(Err(e.to_string())),
    };
    if ids.is_empty() {
        return Ok(Err(format!(
            "{service} has no running container; run `berth up {service}`"
        )));
    }
    Ok(Ok(ids))
}

/// Copies the files of `w.sync` into every running container of
/// `service`, and deletes there what was deleted here.
async fn sync(s: &Session, engine: &Engine, service: &str, w: &Work) -> Acted<String> {
    let (tar, deleted) = match sync_tar(&w.sync) {
        Ok(t) => t,
        Err(e) => return Ok(Err(format!("cannot read the changed files: {e}"))),
    };
    let ids = match running(s, engine, service).await? {
        Ok(ids) => ids,
        Err(why) => return Ok(Err(why)),
    };
    let copied = w.sync.len() - deleted.len();
    for id in &ids {
        if !deleted.is_empty() {
            let mut cmd = vec!["rm".to_string(), "-rf".to_string()];
            cmd.extend(deleted.iter().cloned());
            let req = RunRequest {
                cmd,
                ..RunRequest::default()
            };
            match engine.run_in(id, &req).await {
                Ok((0, _)) => {}
                Ok((code, out)) => {
                    return Ok(Err(format!("`rm -rf` exited {code}: {}", out.trim())));
                }
                Err(e) => return Ok(Err(e.to_string())),
            }
        }
        if copied > 0
            && let Err(e) = engine.upload_archive(id, tar.clone()).await
        {
            return Ok(Err(e.to_string()));
        }
    }
    Ok(Ok(match (copied, deleted.len()) {
        (c, 0) => format!("synced {}", count(c, "file")),
        (0, d) => format!("deleted {}", count(d, "file")),
        (c, d) => format!("synced {} and deleted {d}", count(c, "file")),
    }))
}

/// Restarts the service's containers with `berth restart`'s plan.
async fn restart(s: &Session, engine: &Engine, service: &str) -> Acted<()> {
    let observed = match crate::observe::observe_containers(engine, &s.project).await {
        Ok(o) => o,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let plan = match plan::plan_lifecycle(
        Lifecycle::Restart,
        &s.project,
        &observed,
        s.stack(),
        &[service.to_string()],
        None,
    ) {
        Ok(p) => p,
        Err(errors) => return Ok(Err(plan_error_text(&errors))),
    };
    quietly(s, engine, &plan).await
}

/// Builds the service's image, then brings it alone up: a new image
/// recreates its containers. Says which of the two happened.
async fn rebuild(s: &Session, engine: &Engine, up: &PlanFlags, service: &str) -> Acted<String> {
    let stack = &s.loaded().stack;
    let build = match plan::plan_build(stack, &[service.to_string()], false, false) {
        Ok(p) => p,
        Err(errors) => return Ok(Err(plan_error_text(&errors))),
    };
    if let Err(why) = quietly(s, engine, &build).await? {
        return Ok(Err(why));
    }
    let mut flags = up.clone();
    flags.services = vec![service.to_string()];
    // The image is built: no image stage. A rebuild in a development loop
    // is no release.
    let request = converge::UpRequest {
        images: None,
        record: false,
        ..flags.request(false)
    };
    let plan = match converge::up(Kind::Plain, &quiet(s), &request).await {
        Ok(plan) => plan,
        Err(failure) => return failed(failure),
    };
    let recreated = plan.steps.iter().any(|step| {
        matches!(&step.action, plan::Action::CreateContainer { service: svc, .. } if svc == service)
    });
    Ok(Ok(if recreated {
        "rebuilt and recreated".into()
    } else {
        "rebuilt; the image is unchanged, nothing recreated".into()
    }))
}

/// Runs a `sync+exec` command in every running container of the service.
async fn exec(
    s: &Session,
    engine: &Engine,
    service: &str,
    hook: &crate::model::develop::ServiceHook,
) -> Acted<()> {
    let ids = match running(s, engine, service).await? {
        Ok(ids) => ids,
        Err(why) => return Ok(Err(why)),
    };
    let req = RunRequest {
        cmd: hook.command.clone().unwrap_or_default(),
        user: hook.user.clone(),
        workdir: hook.working_dir.clone(),
        env: hook
            .environment
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect(),
        privileged: hook.privileged,
    };
    for id in &ids {
        match engine.run_in(id, &req).await {
            Ok((0, _)) => {}
            Ok((code, out)) => {
                let out = out.trim();
                return Ok(Err(if out.is_empty() {
                    format!("exit code {code}")
                } else {
                    format!("exit code {code}: {out}")
                }));
            }
            Err(e) => return Ok(Err(e.to_string())),
        }
    }
    Ok(Ok(()))
}

/// The pipeline's context for an action: no progress lines, since the
/// action's one line says what happened.
fn quiet(s: &Session) -> converge::Context<'_> {
    converge::Context {
        quiet: true,
        ..s.context(16, Duration::from_secs(300))
    }
}

/// Carries out a plan quietly. Ctrl-C ends the watch (130).
async fn quietly(s: &Session, engine: &Engine, plan: &plan::Plan) -> Acted<()> {
    if plan.is_empty() {
        return Ok(Ok(()));
    }
    match converge::apply(&quiet(s), engine, plan).await {
        Ok(_) => Ok(Ok(())),
        Err(failure) => failed(failure),
    }
}

/// A failed action in one line, for the line that reports it; Ctrl-C ends
/// the watch (130).
fn failed<T>(failure: Failure) -> Acted<T> {
    let text = match failure {
        Failure::Apply {
            error: e @ ApplyError::Interrupted { .. },
            ..
        } => return Err(Error::interrupted(e.to_string())),
        Failure::Apply { error, .. } => error.to_string(),
        Failure::Refused(errors) => plan_error_text(&errors),
        Failure::Invalid(diags) => diags
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        Failure::Engine(e) => e.to_string(),
        Failure::Unsuitable(why) => why,
    };
    Ok(Err(text))
}

fn plan_error_text(errors: &[plan::PlanError]) -> String {
    errors
        .iter()
        .map(|e| e.to_diagnostic().message)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_rules_watch_their_directory_and_directory_rules_recurse() {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        std::fs::create_dir(&www).unwrap();
        let file = dir.path().join("Dockerfile");
        std::fs::write(&file, "FROM x").unwrap();
        let missing = dir.path().join("not/yet/here");
        let points = watch_points(&[file, www.clone(), missing]);
        assert_eq!(
            points,
            vec![
                (
                    dir.path().to_path_buf(),
                    notify::RecursiveMode::NonRecursive
                ),
                (www, notify::RecursiveMode::Recursive),
            ]
        );
    }

    #[test]
    fn done_parts_join_with_and() {
        let parts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_and(&parts(&["synced 1 file"])), "synced 1 file");
        assert_eq!(
            join_and(&parts(&["synced 1 file", "restarted", "ran `x`"])),
            "synced 1 file, restarted and ran `x`"
        );
    }

    #[test]
    fn up_flags_for_watch_are_ups_defaults_with_the_services() {
        let flags = up_flags(&["web".into()]);
        assert_eq!(flags.services, vec!["web".to_string()]);
        assert!(!flags.build && !flags.swarm && !flags.force_recreate);
    }
}
