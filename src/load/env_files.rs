//! The env files the loader reads: the project's (`--env-file`s,
//! `COMPOSE_ENV_FILES` or `.env`), added to the environment interpolation sees;
//! an included stack's; and the text of a service's `env_file`, which `resolve`
//! parses for each service with its own variables. A file is read through
//! [`input`] and parsed by [`envfile`]; an error names the file and the line,
//! and a warning never names a variable its values use (a value may be a
//! password).
//!
//! Which env files a load reads, and in what order, is decided by the loader
//! (`load`) and `include`; this reads the ones it is given.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::budget::Budget;
use crate::load::envfile;
use crate::load::input;
use crate::load::paths::display_name;

/// The `.env` of a directory, when there is one to read. Anything there but
/// a directory is read, and refused with what it is when it is not a
/// regular file (a FIFO, a socket, a link loop): skipping it would load the
/// stack without the variables it was meant to give. A directory is skipped,
/// as compose skips it: a Python virtual environment is often called `.env`.
pub(crate) fn dot_env(dir: &Path) -> Option<PathBuf> {
    let dot = dir.join(".env");
    input::found(&dot).then_some(dot)
}

/// Adds the variables of env files (later files winning) to `env`, where the
/// process environment (already in `env`) wins over all of them, also when
/// the files' values are interpolated (as compose-go's `GetEnvFromFile`).
/// `origin` says where the list came from (`--env-file`, ...), since these
/// errors have no place in a stack file to point at.
pub(super) fn add_env_files(
    env: &mut IndexMap<String, String>,
    files: &[PathBuf],
    origin: &str,
    cwd: &Path,
    diags: &mut Diagnostics,
    budget: &Budget,
) {
    let mut from_files = IndexMap::new();
    let outer = |k: &str| env.get(k).cloned();
    for f in files {
        let shown = display_name(f, cwd);
        match read_env_file(f, &mut from_files, &outer, budget) {
            Ok(unset) => diags.extend(unset.iter().map(|u| env_file_unset(&shown, u))),
            Err(e) => diags.push(
                Diagnostic::error(format!(
                    "cannot read env file `{}` (from {origin}): {e}",
                    e.located(&shown)
                ))
                .help(e.help()),
            ),
        }
    }
    for (k, v) in from_files {
        env.entry(k).or_insert(v);
    }
}

/// Reads an env file into `vars` (its values win over those already there),
/// interpolating its values from `outer` first, then from `vars` (see
/// [`envfile`]). Returns the unset variables its values used. An error names
/// the line and column ([`envfile::Error::located`]).
pub(super) fn read_env_file(
    path: &Path,
    vars: &mut IndexMap<String, String>,
    outer: &dyn Fn(&str) -> Option<String>,
    budget: &Budget,
) -> Result<Vec<envfile::Unset>, envfile::Error> {
    let text = read_env_text(path)?;
    envfile::parse(&text, vars, outer, budget)
}

/// An env file's text, or why it cannot be read.
pub(super) fn read_env_text(path: &Path) -> Result<String, envfile::Error> {
    input::read_text(path, input::Kind::Env).map_err(|e| match e {
        input::ReadError::Encoding {
            encoding,
            line,
            column,
            ..
        } => envfile::Error {
            at: Some((line, column)),
            reason: format!("it is not valid {encoding}"),
            advice: Some(e.help(input::Kind::Env)),
        },
        e => envfile::Error {
            at: None,
            reason: e.to_string(),
            advice: Some(e.help(input::Kind::Env)),
        },
    })
}

/// The warning for a variable an env file's value used that is not set. Its
/// name is part of the value, which may be a password with a `$` in it
/// (`Xy7$Qz9`): the place is given instead, as for every env-file problem.
pub(super) fn env_file_unset(shown: &str, u: &envfile::Unset) -> Diagnostic {
    let (line, col) = u.at;
    Diagnostic::warning(format!(
        "env file `{shown}:{line}:{col}` uses a variable that is not set; using an empty string"
    ))
    .help(
        "a `$` in a value starts a variable: set it in the environment or on an earlier line, give a default (`${NAME:-value}`), or write `$$` for a literal `$`",
    )
}

#[cfg(test)]
mod tests {
    use crate::load::tests::opts;
    use crate::load::{Options, load};
    use crate::testutil::dir;

    #[test]
    fn process_environment_wins_over_env_files() {
        let d = dir(&[
            (
                "compose.yaml",
                "services:\n  web: {image: \"${IMG}:${TAG}\"}\n",
            ),
            (".env", "IMG=dotenv\nTAG=dotenv\n"),
            ("a.env", "IMG=a\nTAG=a\n"),
            ("b.env", "TAG=b\n"),
        ]);
        let mut o = opts(&d);
        o.environ.insert("IMG".into(), "process".into());
        let image = |o: &Options| load(o).ok().unwrap().stack.services["web"].image.clone();
        assert_eq!(image(&o).as_deref(), Some("process:dotenv"));
        o.env_files = vec!["a.env".into(), "b.env".into()];
        assert_eq!(image(&o).as_deref(), Some("process:b"));
    }
}
