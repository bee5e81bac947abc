//! A service's `develop` section: raw to validated ([`Develop`]).
//!
//! Checks what compose checks when it loads the file (a known `action`, a
//! non-blank `path`, a `target` for the actions that sync) as errors at the
//! place they were written. What compose only refuses once `watch` starts
//! (a `rebuild` rule on a service without `build:`, `sync+exec` without an
//! `exec` command) and what it silently ignores (`exec` on an action that
//! runs nothing) are warnings here: the file still loads as compose loads
//! it, and the user hears about it before `berth watch` does. `berth watch`
//! refuses the first two again for the services it follows.

use crate::diag::Diagnostic;
use crate::load::resolve::command::split_command;
use crate::load::resolve::context::Context;
use crate::load::resolve::lists::{list_or_dict, one_or_many};
use crate::model::develop::{Develop, ServiceHook, WatchAction, WatchRule};
use crate::model::raw;

pub fn resolve(cx: &mut Context, service: &str, has_build: bool, d: &raw::Develop) -> Develop {
    let mut out = Develop::default();
    for rule in d.watch.iter().flatten() {
        if let Some(r) = watch_rule(cx, service, has_build, rule) {
            out.watch.push(r);
        }
    }
    out
}

fn watch_rule(
    cx: &mut Context,
    service: &str,
    has_build: bool,
    rule: &crate::model::Spanned<raw::WatchRule>,
) -> Option<WatchRule> {
    let r = &rule.value;
    let action = WatchAction::parse(r.action.value.trim());
    if action.is_none() {
        let written = r.action.value.as_str();
        let names = WatchAction::ALL.map(WatchAction::as_str);
        let help = match names
            .iter()
            .map(|n| (strsim::jaro_winkler(written, n), n))
            .filter(|(s, _)| *s > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
        {
            Some((_, n)) => format!("did you mean `{n}`? (one of: {})", names.join(", ")),
            None => format!("use one of: {}", names.join(", ")),
        };
        cx.diagnostics.push(
            Diagnostic::error(format!("unknown watch action `{written}`"))
                .label(r.action.span, "not a watch action")
                .help(help),
        );
    }
    if r.path.value.trim().is_empty() {
        cx.diagnostics.push(
            Diagnostic::error("a watch rule's `path` is blank")
                .label(r.path.span, "no path")
                .help("name the file or directory on the host to watch, relative to the project directory"),
        );
    }
    let target = r.target.as_ref().filter(|t| !t.value.is_empty());
    if let Some(a) = action
        && a.syncs()
        && target.is_none()
    {
        let span = r.target.as_ref().map_or(r.action.span, |t| t.span);
        cx.diagnostics.push(
            Diagnostic::error(format!(
                "watch action `{}` needs a `target`",
                a.as_str()
            ))
            .label(span, "copies files into the container, but to where?")
            .help("add `target: /path/in/the/container` (what `path` becomes there), or use `rebuild` or `restart`"),
        );
    }
    if action == Some(WatchAction::Rebuild) && !has_build {
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "service `{service}` has a `rebuild` watch rule but no `build:`"
            ))
            .label(r.action.span, "nothing to rebuild")
            .help("add a `build:` section, or use `restart`; `berth watch` refuses this service as it is"),
        );
    }
    // `exec: {command: null}` is how compose prints "no hook".
    let exec = r.exec.as_ref().filter(|e| e.value.command.is_some());
    if action == Some(WatchAction::SyncExec) && exec.is_none() {
        cx.diagnostics.push(
            Diagnostic::warning("watch action `sync+exec` has no `exec` command")
                .label(r.action.span, "nothing to run after the sync")
                .help("add `exec: {command: ...}`, or use `sync`; `berth watch` refuses this service as it is"),
        );
    }
    if let (Some(a), Some(e)) = (action, exec)
        && a != WatchAction::SyncExec
    {
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "`exec` is run only by `sync+exec`, not by `{}`",
                a.as_str()
            ))
            .label(e.span, "never run")
            .help("use `action: sync+exec`, or remove `exec`"),
        );
    }
    let exec = match exec {
        None => ServiceHook::default(),
        Some(e) => hook(cx, &e.value),
    };
    Some(WatchRule {
        path: cx.abs_path(&r.path.value),
        action: action?,
        target: target.map(|t| t.value.clone()),
        exec,
        include: one_or_many(r.include.as_ref()),
        ignore: one_or_many(r.ignore.as_ref()),
        initial_sync: r.initial_sync.unwrap_or(false),
        span: rule.span,
    })
}

fn hook(cx: &mut Context, h: &raw::ServiceHook) -> ServiceHook {
    let command = split_command(cx, &h.command, "exec.command");
    let privileged = match &h.privileged {
        None => false,
        // What Go's strconv.ParseBool takes, as compose reads it.
        Some(p) => match p.value.0.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            other => {
                cx.diagnostics.push(
                    Diagnostic::error(format!("`privileged` must be true or false, not `{other}`"))
                        .label(p.span, "not a boolean")
                        .help("write `privileged: true` or `privileged: false`"),
                );
                false
            }
        },
    };
    ServiceHook {
        command,
        user: h.user.as_ref().map(|u| u.0.clone()),
        privileged,
        working_dir: h.working_dir.clone(),
        environment: list_or_dict(&h.environment, '='),
    }
}
