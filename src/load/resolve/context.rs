//! What every part of resolving shares: the [`Context`] (the project, its
//! directory and environment, and the diagnostics found so far), the names
//! [`Defined`] at the top level that references are checked against, and the
//! error for a reference to a name that is not defined.
//!
//! It holds no resolving of its own, and imports none of the modules beside
//! it: they import this one, and none of them imports their parent.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::paths::clean_path;
use crate::source::Span;

/// What resolving needs to know beyond the file itself.
pub struct Context<'a> {
    pub project: &'a str,
    pub project_dir: &'a Path,
    pub home: Option<PathBuf>,
    /// Variables for `environment:` entries given without a value, and for
    /// secrets and configs from the environment.
    pub env: &'a IndexMap<String, String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Context<'_> {
    pub(super) fn error(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::error(message).label(span, label).help(help));
    }

    /// An absolute path for a file reference, resolved against the project
    /// directory, with `~` expanded.
    pub fn abs_path(&self, p: &str) -> String {
        let expanded = if p == "~" || p.starts_with("~/") {
            match &self.home {
                Some(h) => h.join(p.trim_start_matches('~').trim_start_matches('/')),
                None => PathBuf::from(p),
            }
        } else {
            PathBuf::from(p)
        };
        let joined = if expanded.is_absolute() {
            expanded
        } else {
            self.project_dir.join(expanded)
        };
        clean_path(&joined)
    }
}

/// Names of everything defined at the top level, for reference checks.
pub struct Defined {
    /// Each network's `ipam.config` subnets, as written.
    pub subnets: IndexMap<String, Vec<String>>,
    pub services: Names,
    pub networks: Names,
    pub volumes: Names,
    pub secrets: Names,
    pub configs: Names,
}

/// Names in file order (for "use one of: ..." hints) with a set beside them,
/// so that checking thousands of references stays linear.
pub struct Names {
    list: Vec<String>,
    set: std::collections::HashSet<String>,
}

impl Names {
    pub fn new(list: Vec<String>) -> Names {
        let set = list.iter().cloned().collect();
        Names { list, set }
    }

    pub fn contains<Q: AsRef<str> + ?Sized>(&self, name: &Q) -> bool {
        self.set.contains(name.as_ref())
    }
}

impl std::ops::Deref for Names {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.list
    }
}

pub(super) fn undefined(
    cx: &mut Context,
    what: &str,
    name: &str,
    span: Span,
    defined: &[String],
    hint: &str,
) {
    let suggestion = defined
        .iter()
        .map(|d| (strsim::jaro_winkler(name, d), d.as_str()))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, d)| d);
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None if defined.is_empty() => format!("define it under `{hint}:`"),
        None => format!(
            "define it under `{hint}:`, or use one of: {}",
            defined.join(", ")
        ),
    };
    cx.error(
        span,
        format!("{what} `{name}` is not defined"),
        format!("unknown {what}"),
        help,
    );
}
