//! Diagnostics: what went wrong, where, and what to do about it.
//!
//! Every stage of loading reports problems as [`Diagnostic`]s that carry a [`Span`]
//! into the [`Sources`] table. They are collected, never thrown one at a time, and
//! rendered once by miette at the edge (the CLI). This module owns the rendering so
//! that all errors look alike; it does not decide what is an error.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::source::{Sources, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the stack files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One sentence: what is wrong.
    pub message: String,
    /// Where, and a short label shown under the source text.
    pub labels: Vec<(Span, String)>,
    /// What to do next.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push((span, text.into()));
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|(s, _)| *s)
    }
}

/// Collects diagnostics from every stage of loading.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }
}

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

/// Renders one diagnostic with its source text, carets and help, miette style.
pub fn render(d: &Diagnostic, sources: &Sources, opts: RenderOptions) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .with_context_lines(1)
        .with_show_related_as_nested(true)
        // Break lines at spaces only: `./db-data` or `--remove-orphans` split
        // at a hyphen or a slash could not be copied whole.
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    // miette draws labels against one source: the labels in each other file
    // become a related report of their own, so that every location is shown.
    let first_file = d.primary_span().map(|s| s.file);
    let mut related: Vec<(crate::source::FileId, Report)> = Vec::new();
    let mut labels = Vec::new();
    for (span, text) in &d.labels {
        let label =
            LabeledSpan::new_with_span(Some(text.clone()), (span.start, span.end - span.start));
        if Some(span.file) == first_file {
            labels.push(label);
            continue;
        }
        match related.iter_mut().find(|(file, _)| *file == span.file) {
            Some((_, r)) => r.labels.push(label),
            None => related.push((
                span.file,
                Report {
                    severity: d.severity,
                    // The snippet's header names the file.
                    message: "continued in another file".to_string(),
                    help: None,
                    labels: vec![label],
                    source: Some(named_source(sources, *span)),
                    related: Vec::new(),
                },
            )),
        }
    }
    let related = related.into_iter().map(|(_, r)| r).collect();
    let report = Report {
        severity: d.severity,
        message: d.message.clone(),
        help: d.help.clone(),
        labels,
        source: d.primary_span().map(|s| named_source(sources, s)),
        related,
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", severity_word(d.severity), d.message);
    }
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn named_source(sources: &Sources, span: Span) -> NamedSource<String> {
    let file = sources.get(span.file);
    NamedSource::new(file.name.clone(), file.text.to_string()).with_language("yaml")
}

/// The miette view of a [`Diagnostic`], built only for rendering.
#[derive(Debug)]
struct Report {
    severity: Severity,
    message: String,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<NamedSource<String>>,
    related: Vec<Report>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}
