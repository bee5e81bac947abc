//! Located diagnostics on stderr, rendered for the terminal they go to:
//! colour only on a terminal without `NO_COLOR`, wrapped at `COLUMNS`.

use std::io::{IsTerminal, Write};

use crate::diag::{self, Diagnostic, RenderOptions};
use crate::source::Sources;

/// How diagnostics are rendered on this process's stderr.
fn render_options() -> RenderOptions {
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    RenderOptions { color, width }
}

/// Prints diagnostics to stderr, at most [`diag::MAX_PER_KIND`] of each kind.
pub fn print_diagnostics(diags: &[Diagnostic], sources: &Sources) {
    if diags.is_empty() {
        return;
    }
    let opts = render_options();
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", diag::render_all(diags, sources, opts));
}

/// Prints the warnings among `diags` and gives back the errors, for a
/// caller that stops on them.
pub fn print_warnings(diags: Vec<Diagnostic>, sources: &Sources) -> Vec<Diagnostic> {
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diags.into_iter().partition(Diagnostic::is_error);
    print_diagnostics(&warnings, sources);
    errors
}
