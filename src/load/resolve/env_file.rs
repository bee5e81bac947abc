//! A service's `env_file`: each file named is read once per load however
//! many services name it, parsed as dotenv (or `raw`) with the variables
//! the project and the service's own `environment` give, and put under what
//! `environment` sets. A missing file is an error unless it is optional.
//! Reading a file is `load::env_files`'s; the variables
//! left without a value are filled from the environment by the caller.

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::budget::Budget;
use crate::load::env_files::{env_file_unset, read_env_text};
use crate::load::envfile;
use crate::load::input;
use crate::load::paths;
use crate::load::resolve::context::Context;
use crate::model::raw;
use crate::model::stack::Service;
use crate::source::Span;

/// The env files services name, read once per load however many services
/// name them (by canonical path), with the error of one that cannot be read.
pub(super) type EnvTexts =
    std::collections::HashMap<PathBuf, Result<std::rc::Rc<str>, envfile::Error>>;

/// Puts the variables of the env files `raw` names under `s`'s own
/// `environment`, each file's text read once per load (`texts`).
pub(super) fn env_files(
    cx: &mut Context,
    s: &mut Service,
    raw: &raw::Service,
    texts: &mut EnvTexts,
    budget: &Budget,
) {
    let Some(ef) = &raw.env_file else {
        return;
    };
    let entries: Vec<(String, bool, Option<String>, Span)> = match &ef.value {
        raw::EnvFile::One(p) => vec![(p.clone(), true, None, ef.span)],
        raw::EnvFile::Many(list) => list
            .iter()
            .map(|e| match &e.value {
                raw::EnvFileEntry::Path(p) => (p.clone(), true, None, e.span),
                raw::EnvFileEntry::Long(l) => (
                    l.path.clone(),
                    l.required.unwrap_or(true),
                    l.format.clone(),
                    e.span,
                ),
            })
            .collect(),
    };
    let mut vars = IndexMap::new();
    // compose-go's WithServicesEnvironmentResolved: values are interpolated
    // from the project's environment, then the service's `environment`,
    // then the env files' lines read so far.
    let own: IndexMap<String, String> = s
        .environment
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    let project_env = cx.env;
    let outer = |k: &str| project_env.get(k).or_else(|| own.get(k)).cloned();
    for (path, required, format, span) in entries {
        // compose knows the dotenv format (the default) and `raw`.
        let raw = match format.as_deref() {
            None | Some(".env") => false,
            Some("raw") => true,
            Some(other) => {
                cx.diagnostics.push(
                    Diagnostic::error(format!("env file `{path}`: unknown format `{other}`"))
                        .label(span, "unknown format")
                        .help("leave `format` out for a .env file, or write `format: raw` for KEY=VALUE lines taken verbatim"),
                );
                continue;
            }
        };
        let abs = PathBuf::from(cx.abs_path(&path));
        // Only a missing file is skipped: anything else there is read, and
        // refused with its reason when it is not a regular file (a link
        // loop too, which `exists` takes for missing).
        if matches!(input::probe(&abs), Err(input::ReadError::NotFound)) {
            if required {
                // The path as written: relative paths are read from the
                // project directory, which the help names.
                cx.diagnostics.push(
                    Diagnostic::error(format!("env file `{path}` does not exist"))
                        .label(span, "no such file")
                        .help("create it (relative paths start at the project directory), fix the path, or make it optional: `- path: ...` with `required: false`"),
                );
            }
            continue;
        }
        let text = texts
            .entry(paths::canonical(&abs))
            .or_insert_with(|| read_env_text(&abs).map(std::rc::Rc::from))
            .clone();
        // Each service's variables are its own (their values may come from
        // its `environment`), so only the text is shared; the budget counts
        // what each service takes from it.
        let read = text.and_then(|text| {
            if raw {
                envfile::parse_raw(&text, &mut vars, &outer, budget).map(|()| Vec::new())
            } else {
                envfile::parse(&text, &mut vars, &outer, budget)
            }
        });
        match read {
            Ok(unset) => {
                for u in &unset {
                    cx.diagnostics
                        .push(env_file_unset(&path, u).label(span, "this env file"));
                }
            }
            Err(e) => cx.diagnostics.push(
                Diagnostic::error(format!("cannot read env file `{}`: {e}", e.located(&path)))
                    .label(span, "unreadable env file")
                    .help(e.help()),
            ),
        }
    }
    // Values written in `environment:` win over env files.
    let mut env: IndexMap<String, Option<String>> =
        vars.into_iter().map(|(k, v)| (k, Some(v))).collect();
    for (k, v) in std::mem::take(&mut s.environment) {
        env.insert(k, v);
    }
    s.environment = env;
}
