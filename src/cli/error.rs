//! How a command fails: what to print and which exit code, decided by the
//! command and carried out once, in `main` ([`Error::print`]), which knows
//! the command's progress mode (an `error:` line, or a JSON event).

use std::io::Write;
use std::sync::Arc;

use crate::diag::Diagnostic;
use crate::engine::EngineError;
use crate::load::{Failed, Loaded};
use crate::output::{Progress, ProgressMode};
use crate::source::Sources;

/// A failed command: the parts to print, in order, and the exit code.
pub struct Error {
    parts: Vec<Part>,
    code: i32,
}

enum Part {
    /// Rendered with the stack files' text around each label.
    Diagnostics(Vec<Diagnostic>, Option<Arc<Sources>>),
    /// `error: ...` (or `{"event":"error",...}` in json mode).
    Error(String),
    /// A line as it is (`2 errors in the stack files`).
    Line(String),
}

impl Error {
    /// One `error:` line; exit 1.
    pub fn message(message: impl Into<String>) -> Error {
        Error {
            parts: vec![Part::Error(message.into())],
            code: 1,
        }
    }

    /// Stopped by Ctrl-C; exit 130.
    pub fn interrupted(message: impl Into<String>) -> Error {
        Error {
            code: 130,
            ..Error::message(message)
        }
    }

    /// stdout was closed (`berth config | head`): an ordinary end, exit 0,
    /// nothing printed.
    pub fn broken_pipe() -> Error {
        Error {
            parts: Vec::new(),
            code: 0,
        }
    }

    /// Diagnostics pointing into the loaded stack files (or bare ones).
    pub fn diagnostics(diagnostics: Vec<Diagnostic>, loaded: Option<&Loaded>) -> Error {
        let sources = loaded.map(|l| Arc::new(l.sources.clone()));
        Error {
            parts: vec![Part::Diagnostics(diagnostics, sources)],
            code: 1,
        }
    }

    /// The stack files did not load: every diagnostic, then how many.
    pub fn load_failed(failed: Failed) -> Error {
        let (n, _) = crate::diag::count(&failed.diagnostics);
        Error {
            parts: vec![
                Part::Diagnostics(failed.diagnostics, Some(Arc::new(failed.sources))),
                Part::Line(format!(
                    "{n} error{} in the stack files",
                    if n == 1 { "" } else { "s" }
                )),
            ],
            code: 1,
        }
    }

    /// The engine refused or could not be reached: where berth looked and
    /// what to do.
    pub fn engine(e: &EngineError) -> Error {
        let message = match e {
            EngineError::Unreachable { host, .. } => {
                use crate::engine::endpoint;
                let chosen = endpoint::choose(
                    endpoint::context_flag(),
                    |k| std::env::var(k).ok(),
                    crate::engine::DEFAULT_HOST,
                );
                let how = match (
                    chosen.ok().and_then(|c| c.context),
                    std::env::var("DOCKER_HOST"),
                ) {
                    (Some(name), _) => format!(
                        "berth used the Docker context {name}; is it the one meant \
                         (`--context`, `DOCKER_CONTEXT`, `docker context use`)?"
                    ),
                    (None, Ok(h)) if !h.is_empty() => {
                        format!("DOCKER_HOST is set to {h}; is that right?")
                    }
                    _ => format!(
                        "DOCKER_HOST is not set, so berth used {host}; set it if the engine is elsewhere"
                    ),
                };
                let check = if host.starts_with("ssh://") {
                    // ssh did not say why (it is not there, or stopped answering).
                    "does `ssh HOST docker version` work from here?"
                } else {
                    "is dockerd running (`systemctl start docker`, or `dockerd &`)?"
                };
                format!("{e}\n  help: {check} {how}")
            }
            EngineError::Endpoint(why) => why.clone(),
            EngineError::Ssh(failure) => format!("{e}\n  help: {}", failure.help()),
            other => format!("the Docker engine refused a request: {other}"),
        };
        Error::message(message)
    }

    /// Adds an `error:` line after what is already there.
    pub fn then(mut self, message: impl Into<String>) -> Error {
        self.parts.push(Part::Error(message.into()));
        self
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    /// Prints every part to stderr, once, as the command's progress `mode`
    /// shows an error.
    pub fn print(&self, mode: ProgressMode) {
        let progress = Progress::stderr(mode);
        for part in &self.parts {
            match part {
                Part::Diagnostics(diags, sources) => {
                    let empty = Sources::default();
                    let sources = sources.as_deref().unwrap_or(&empty);
                    super::print_diagnostics(diags, sources);
                }
                Part::Error(message) => progress.error(message),
                Part::Line(line) => {
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }
}
