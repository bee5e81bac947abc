//! Diagnostics: what went wrong, where, and what to do about it.
//!
//! Every stage of loading reports problems as [`Diagnostic`]s that carry a [`Span`]
//! into the [`Sources`] table. They are collected, never thrown one at a time, and
//! rendered once by miette at the edge (the CLI). This module owns the rendering so
//! that all errors look alike; it does not decide what is an error.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};

use crate::source::{FileId, Sources, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// How many more diagnostics of this kind (see [`Diagnostics::push`]) were
    /// found after this one and dropped rather than kept.
    pub similar: usize,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            similar: 0,
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
///
/// At most [`MAX_PER_KIND`] of one kind are kept; the rest are only counted, on
/// the last one kept ([`Diagnostic::similar`]). A file with a million `$a` would
/// otherwise hold a million warnings in memory to print twenty.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// Per kind: how many were kept, and where the last one kept is in `items`.
    kinds: std::collections::HashMap<(Severity, String), (usize, usize)>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        let key = (d.severity, kind(&d.message));
        let similar = 1 + d.similar;
        match self.kinds.get_mut(&key) {
            Some((kept, _)) if *kept < MAX_PER_KIND => *kept += 1,
            Some((_, last)) => {
                // `items` is public: if it was reordered since, find the last of
                // the kind again.
                let found = self
                    .items
                    .get(*last)
                    .is_some_and(|k| k.severity == key.0 && kind(&k.message) == key.1);
                if !found
                    && let Some(i) = self
                        .items
                        .iter()
                        .rposition(|k| k.severity == key.0 && kind(&k.message) == key.1)
                {
                    *last = i;
                }
                if let Some(k) = self.items.get_mut(*last) {
                    k.similar += similar;
                    return;
                }
            }
            None => {
                self.kinds.insert(key.clone(), (1, 0));
            }
        }
        if let Some((_, last)) = self.kinds.get_mut(&key) {
            *last = self.items.len();
        }
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        for d in other {
            self.push(d);
        }
    }
}

/// How many problems a list of diagnostics stands for, counting the similar
/// ones that were dropped: (errors, warnings).
pub fn count(diags: &[Diagnostic]) -> (usize, usize) {
    diags.iter().fold((0, 0), |(e, w), d| match d.severity {
        Severity::Error => (e + 1 + d.similar, w),
        Severity::Warning => (e, w + 1 + d.similar),
    })
}

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

/// At most this many diagnostics of one kind are printed; the rest are counted.
/// Thousands of copies of one mistake say nothing more than twenty do, and
/// printing them all is what made a hostile file take minutes.
pub const MAX_PER_KIND: usize = 20;

/// Characters of a long line shown around a label, and how many of them come
/// before the label's start. Wider lines are cut with an ellipsis on either side.
pub const WINDOW_CHARS: usize = 120;
const WINDOW_BEFORE: usize = 40;

/// A label over more lines than this is drawn over its first line only, so that a
/// span covering a whole file never prints the whole file.
const MAX_LABEL_LINES: usize = 4;

/// Lines shown before and after each label.
const CONTEXT_LINES: usize = 1;

/// Labels drawn per diagnostic (a cycle through 50,000 services has 50,000):
/// miette's layout costs labels × lines, and a hundred arrows help no one.
const MAX_LABELS: usize = 16;

/// Longest quoted value in a message or help (see [`clip_quoted`]).
const MAX_QUOTE: usize = 80;

/// Label texts are one line under the source; longer ones are cut.
const MAX_LABEL_TEXT: usize = 200;

/// Renders diagnostics in order, at most [`MAX_PER_KIND`] of each kind, then one
/// line per kind that was cut: "and K more like this".
pub fn render_all(diags: &[Diagnostic], sources: &Sources, opts: RenderOptions) -> String {
    let mut out = String::new();
    // Per kind: how many so far, and whether it is already listed in `cut`.
    let mut seen: std::collections::HashMap<(Severity, String), (usize, bool)> = Default::default();
    let mut cut: Vec<((Severity, String), String)> = Vec::new();
    for d in diags {
        let key = (d.severity, kind(&d.message));
        let (count, listed) = seen.entry(key.clone()).or_insert((0, false));
        *count += 1;
        if *count <= MAX_PER_KIND {
            out.push_str(&render(d, sources, opts));
        }
        *count += d.similar;
        if *count > MAX_PER_KIND && !*listed {
            *listed = true;
            cut.push((key, d.message.clone()));
        }
    }
    for (key, example) in cut {
        let more = seen[&key].0 - MAX_PER_KIND;
        let plural = if more == 1 { "" } else { "s" };
        out.push_str(&format!(
            "{}: and {more} more {}{plural} like this: {}\n",
            severity_word(key.0),
            severity_word(key.0),
            clip(&example, MAX_LABEL_TEXT),
        ));
    }
    out
}

/// What makes two messages "the same kind": the text with its quoted names and
/// numbers blanked, so that "`A` is not set" and "`B` is not set" count together.
fn kind(message: &str) -> String {
    // Called once per diagnostic pushed, a million times for a hostile file: bytes,
    // not chars (the markers are ASCII, so what is kept stays valid UTF-8).
    let mut key = Vec::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            key.push(b'`');
        }
        if i % 2 == 1 {
            continue;
        }
        for &b in part.as_bytes() {
            if b.is_ascii_digit() {
                if key.last() != Some(&b'#') {
                    key.push(b'#');
                }
            } else {
                key.push(b);
            }
        }
    }
    String::from_utf8(key).unwrap_or_default()
}

/// Messages quote the user's text between backticks (`invalid port `…``); a
/// quote longer than [`MAX_QUOTE`] characters is cut, so that a 70,000-character
/// value is not printed back whole.
fn clip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_QUOTE));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&clip(part, MAX_QUOTE));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Renders one diagnostic with its source text, carets and help, miette style.
///
/// The snippet is built from the labels' lines only (see [`Excerpt`]): its cost is
/// that of the output, whatever the size of the file, and a file whose contents
/// must not be shown ([`crate::source::Opaque`]) gives its location and no text.
pub fn render(d: &Diagnostic, sources: &Sources, opts: RenderOptions) -> String {
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .with_context_lines(CONTEXT_LINES)
        .with_show_related_as_nested(true)
        // Break lines at spaces only: `./db-data` or `--remove-orphans` split
        // at a hyphen or a slash could not be copied whole.
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    // miette draws labels against one source: the labels in each other file
    // become a related report of their own, so that every location is shown.
    let mut files: Vec<(FileId, Vec<(Span, String)>)> = Vec::new();
    for (span, text) in d.labels.iter().take(MAX_LABELS) {
        let text = clip(text, MAX_LABEL_TEXT);
        match files.iter_mut().find(|(file, _)| *file == span.file) {
            Some((_, labels)) => labels.push((*span, text)),
            None => files.push((span.file, vec![(*span, text)])),
        }
    }
    let mut message = clip_quoted(&d.message);
    if d.labels.len() > MAX_LABELS {
        message.push_str(&format!(
            "\n  (the first {MAX_LABELS} of {} places are shown)",
            d.labels.len()
        ));
    }
    let mut reports = Vec::new();
    for (i, (file, labels)) in files.into_iter().enumerate() {
        let source = sources.get(file);
        if let Some(why) = source.opaque() {
            // No excerpt: the location alone, in the message.
            for (span, text) in &labels {
                let (line, col) = source.line_col(span.start);
                message.push_str(&format!(
                    "\n  at {}:{line}:{col}: {text} (its contents are not shown: {})",
                    source.name,
                    why.reason()
                ));
            }
            continue;
        }
        let (excerpt, labels) = Excerpt::new(source, &labels);
        reports.push(Report {
            severity: d.severity,
            // The snippet's header names the file.
            message: if i == 0 {
                String::new()
            } else {
                "continued in another file".to_string()
            },
            help: None,
            labels,
            source: Some(excerpt),
            related: Vec::new(),
        });
    }
    // The first file's labels belong to the report itself, unless that file is
    // opaque: then every snippet is a related report.
    let first_is_main = reports.first().is_some_and(|r| r.message.is_empty());
    let (labels, source) = if first_is_main {
        let main = reports.remove(0);
        (main.labels, main.source)
    } else {
        (Vec::new(), None)
    };
    let report = Report {
        severity: d.severity,
        message,
        help: d.help.as_deref().map(clip_quoted),
        labels,
        source,
        related: reports,
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

/// The lines of one file that a diagnostic's labels need, and nothing else: each
/// label's lines with [`CONTEXT_LINES`] around them, long lines cut to a window of
/// [`WINDOW_CHARS`] around the label. miette reads this instead of the file, with
/// the labels moved to their place in it; line numbers and the `file:line:col`
/// header stay those of the real file.
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    /// Runs of consecutive real lines, in file order, never adjacent.
    segments: Vec<Segment>,
}

#[derive(Debug)]
struct Segment {
    /// Byte range in `Excerpt::text`, its last line break included.
    range: std::ops::Range<usize>,
    /// 0-based real line number of the first line.
    first_line: usize,
    lines: Vec<ExcerptLine>,
}

/// One real line as shown: the window `real` of it, at `shown` in the excerpt.
#[derive(Debug)]
struct ExcerptLine {
    real: std::ops::Range<usize>,
    /// Where the window's first byte is in the excerpt (after any leading ellipsis).
    shown: usize,
    /// The real line's start and end (before its line break).
    line: std::ops::Range<usize>,
    cut_after: bool,
    /// 0-based character column of the window's first byte.
    first_col: usize,
}

const ELLIPSIS: &str = "…";

impl Excerpt {
    fn new(
        file: &crate::source::SourceFile,
        labels: &[(Span, String)],
    ) -> (Excerpt, Vec<LabeledSpan>) {
        let text = &*file.text;
        // The empty "line" after a final line break is shown only when a label is on
        // it, as miette does.
        let last_line = if text.ends_with('\n') {
            file.line_count().saturating_sub(2)
        } else {
            file.line_count() - 1
        };
        // Each label as real byte offsets on real lines, long spans cut.
        let spans: Vec<(usize, usize, usize, usize)> = labels
            .iter()
            .map(|(span, _)| {
                let start = floor_char_boundary(text, span.start.min(text.len()));
                let end = floor_char_boundary(text, span.end.min(text.len())).max(start);
                let first = file.line_index(start);
                let mut last = file.line_index(end.saturating_sub(1).max(start));
                let mut end = end;
                if last - first >= MAX_LABEL_LINES {
                    last = first;
                    end = end.min(file.line_range(first).end).max(start);
                }
                (start, end, first, last)
            })
            .collect();
        // Line runs to show, merged (as miette merges them) when at most one line
        // lies between them, so that miette never has to join two runs itself.
        let mut runs: Vec<(usize, usize)> = spans
            .iter()
            .map(|&(_, _, a, b)| {
                (
                    a.saturating_sub(CONTEXT_LINES),
                    (b + CONTEXT_LINES).min(last_line).max(b),
                )
            })
            .collect();
        runs.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in runs {
            match merged.last_mut() {
                Some(last) if a <= last.1 + 2 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut out = String::new();
        let mut segments = Vec::new();
        for (a, b) in merged {
            let seg_start = out.len();
            // Where the window of a line without labels starts: the same byte
            // column as the run's first label, so that context lines line up.
            let anchor_col = spans
                .iter()
                .filter(|s| s.2 >= a && s.2 <= b)
                .map(|s| s.0 - file.line_range(s.2).start)
                .min()
                .unwrap_or(0);
            let mut lines = Vec::with_capacity(b - a + 1);
            for n in a..=b {
                let line = file.line_range(n);
                let anchor = spans
                    .iter()
                    .filter(|s| s.2 == n)
                    .map(|s| s.0)
                    .min()
                    .unwrap_or_else(|| {
                        floor_char_boundary(text, (line.start + anchor_col).min(line.end))
                    });
                let (real, first_col) = window(text, line.clone(), anchor);
                let cut_before = real.start > line.start;
                let cut_after = real.end < line.end;
                if cut_before {
                    out.push_str(ELLIPSIS);
                }
                let shown = out.len();
                out.push_str(&text[real.clone()]);
                if cut_after {
                    out.push_str(ELLIPSIS);
                }
                out.push('\n');
                lines.push(ExcerptLine {
                    real,
                    shown,
                    line,
                    cut_after,
                    first_col,
                });
            }
            segments.push(Segment {
                range: seg_start..out.len(),
                first_line: a,
                lines,
            });
        }
        let excerpt = Excerpt {
            name: file.name.clone(),
            text: out,
            segments,
        };
        let labels = spans
            .iter()
            .zip(labels)
            .map(|(&(start, end, first, last), (_, text))| {
                let s = excerpt.map(first, start);
                let e = excerpt.map(last, end).max(s);
                LabeledSpan::new_with_span(Some(text.clone()), (s, e - s))
            })
            .collect();
        (excerpt, labels)
    }

    fn line(&self, real_line: usize) -> &ExcerptLine {
        let seg = &self.segments[self.segments.partition_point(|s| s.first_line <= real_line) - 1];
        &seg.lines[real_line - seg.first_line]
    }

    /// Where a real offset on a real line lands in the excerpt: inside the window
    /// where it is shown, at the window's edge (over the ellipsis) where it is not.
    fn map(&self, real_line: usize, offset: usize) -> usize {
        let l = self.line(real_line);
        let shown_end = l.shown + l.real.len();
        if offset < l.real.start {
            l.shown
                - if l.real.start > l.line.start {
                    ELLIPSIS.len()
                } else {
                    0
                }
        } else if offset <= l.real.end {
            l.shown + (offset - l.real.start)
        } else if l.cut_after && offset <= l.line.end {
            shown_end + ELLIPSIS.len()
        } else {
            // Past the line's end: its line break.
            shown_end + if l.cut_after { ELLIPSIS.len() } else { 0 } + 1
        }
    }

    fn segment_at(&self, offset: usize) -> &Segment {
        let i = self
            .segments
            .partition_point(|s| s.range.start <= offset)
            .max(1);
        &self.segments[i - 1]
    }
}

/// The part of a line to show around `anchor`: the whole line when it fits,
/// else [`WINDOW_CHARS`] characters starting [`WINDOW_BEFORE`] before the anchor.
/// Also returns the window's character column. Costs the window's length, plus a
/// count of the characters before it only when the line is cut.
fn window(
    text: &str,
    line: std::ops::Range<usize>,
    anchor: usize,
) -> (std::ops::Range<usize>, usize) {
    if line.len() <= WINDOW_CHARS {
        return (line, 0);
    }
    let before = &text[line.start..anchor];
    let start = before
        .char_indices()
        .rev()
        .nth(WINDOW_BEFORE - 1)
        .map_or(line.start, |(i, _)| line.start + i);
    let rest = &text[start..line.end];
    let end = rest
        .char_indices()
        .nth(WINDOW_CHARS)
        .map_or(line.end, |(i, _)| start + i);
    let first_col = crate::source::char_count(&text[line.start..start]);
    (start..end, first_col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        if self.segments.is_empty() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let seg = self.segment_at(span.offset());
        if context_lines_before == 0 && context_lines_after == 0 {
            // The label's own position: what the `file:line:col` header shows.
            let i = seg
                .lines
                .partition_point(|l| l.shown <= span.offset())
                .max(1)
                - 1;
            let l = &seg.lines[i];
            let offset = span.offset().clamp(l.shown, l.shown + l.real.len());
            let col = l.first_col + self.text[l.shown..offset].chars().count();
            return Ok(Box::new(miette::MietteSpanContents::new_named(
                self.name.clone(),
                &self.text.as_bytes()[span.offset()..span.offset()],
                *span,
                seg.first_line + i,
                col,
                1,
            )));
        }
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[seg.range.clone()],
            (seg.range.start, seg.range.len()).into(),
            seg.first_line,
            0,
            seg.lines.len(),
        )))
    }
}

/// The miette view of a [`Diagnostic`], built only for rendering.
#[derive(Debug)]
struct Report {
    severity: Severity,
    message: String,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<Excerpt>,
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const OPTS: RenderOptions = RenderOptions {
        color: false,
        width: 100,
    };

    fn one_file(text: String) -> (Sources, FileId) {
        let mut sources = Sources::default();
        // A made-up path: judged by its contents alone.
        let id = sources.add(
            "stack.yaml".into(),
            PathBuf::from("/nonexistent/stack.yaml"),
            text,
        );
        sources.recognise_stack(id);
        (sources, id)
    }

    fn longest_line(out: &str) -> usize {
        out.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn a_label_past_column_65535_is_shown_in_a_window_with_its_real_column() {
        let text = format!("services:\n  a: [{}BAD]\n", "x, ".repeat(30_000));
        let at = text.find("BAD").unwrap();
        let (sources, file) = one_file(text);
        let d = Diagnostic::error("bad value").label(Span::new(file, at..at + 3), "here");
        let out = render(&d, &sources, OPTS);
        assert!(out.contains("[stack.yaml:2:90007]"), "{out}");
        assert!(out.contains(" 2 │ … x, x, "), "{out}");
        assert!(out.contains("BAD]"), "{out}");
        assert!(out.contains("╰── here"), "{out}");
        assert!(longest_line(&out) <= WINDOW_CHARS + 20, "{out}");
    }

    #[test]
    fn a_label_70000_characters_long_is_cut_to_the_window() {
        let value = "y".repeat(70_000);
        let text = format!("services:\n  a:\n    image: \"{value}${{UNSET}}\"\n");
        let start = text.find('y').unwrap();
        let end = text.find('}').unwrap() + 1;
        let (sources, file) = one_file(text);
        let d = Diagnostic::warning("the variable `UNSET` is not set")
            .label(Span::new(file, start..end), "y".repeat(70_000));
        let out = render(&d, &sources, OPTS);
        assert!(out.contains("[stack.yaml:3:13]"), "{out}");
        assert!(out.contains("yyy…"), "{out}");
        assert!(out.len() < 4_000, "{} bytes:\n{out}", out.len());
    }

    #[test]
    fn only_the_lines_around_a_label_are_shown_whatever_the_file_size() {
        let text: String = (1..=10_000).map(|n| format!("line{n}: v\n")).collect();
        let at = text.find("line5000:").unwrap();
        let (sources, file) = one_file(text);
        let d = Diagnostic::error("bad").label(Span::new(file, at..at + 8), "this");
        let out = render(&d, &sources, OPTS);
        assert_eq!(
            out,
            "  × bad\n      ╭─[stack.yaml:5000:1]\n 4999 │ line4999: v\n 5000 │ line5000: v\n      · \
             ────┬───\n      ·     ╰── this\n 5001 │ line5001: v\n      ╰────\n"
        );
    }

    #[test]
    fn a_label_over_a_whole_file_shows_its_first_line_only() {
        let text: String = (1..=30)
            .map(|n| format!("user{n}:x:{n}:{n}::/:/bin/sh\n"))
            .collect();
        let len = text.len();
        let (sources, file) = one_file(text);
        let d = Diagnostic::error("not a mapping").label(Span::new(file, 0..len), "a string");
        let out = render(&d, &sources, OPTS);
        assert!(out.contains("user1:"), "{out}");
        assert!(out.contains("user2:"), "{out}");
        assert!(!out.contains("user3:"), "{out}");
        assert!(!out.contains("user30:"), "{out}");
    }

    #[test]
    fn labels_far_apart_show_separate_snippets_with_real_line_numbers() {
        let text: String = (1..=100).map(|n| format!("k{n}: v\n")).collect();
        let a = text.find("k10:").unwrap();
        let b = text.find("k90:").unwrap();
        let (sources, file) = one_file(text);
        let d = Diagnostic::error("twice")
            .label(Span::new(file, a..a + 3), "first")
            .label(Span::new(file, b..b + 3), "second");
        let out = render(&d, &sources, OPTS);
        for line in [
            "  9 │ k9: v",
            " 10 │ k10: v",
            " 11 │ k11: v",
            " 90 │ k90: v",
        ] {
            assert!(out.contains(line), "{line}:\n{out}");
        }
        assert!(!out.contains("k50:"), "{out}");
        assert!(out.contains("[stack.yaml:90:1]"), "{out}");
    }

    #[test]
    fn binary_text_is_located_but_never_shown() {
        let (sources, file) = one_file("SECRET=hunter2\0HOME=/root\0".into());
        let d = Diagnostic::error("invalid YAML").label(Span::new(file, 14..15), "stopped here");
        let out = render(&d, &sources, OPTS);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("HOME"), "{out}");
        assert!(out.contains("stack.yaml:1:15: stopped here"), "{out}");
        assert!(out.contains("binary content"), "{out}");
    }

    #[test]
    fn procfs_and_device_files_are_never_shown() {
        let mut sources = Sources::default();
        // procfs: a plain-text file that reports a size of 0.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let proc = sources.add("status".into(), "/proc/self/status".into(), status);
        let dev = sources.add("null".into(), "/dev/null".into(), "key: value\n".into());
        // Parsing as a stack does not make such a file showable.
        sources.recognise_stack(proc);
        sources.recognise_stack(dev);
        for (file, secret) in [(proc, "Name:"), (dev, "key: value")] {
            let d = Diagnostic::error("not a mapping").label(Span::new(file, 0..4), "here");
            let out = render(&d, &sources, OPTS);
            assert!(!out.contains(secret), "{out}");
            assert!(out.contains(":1:1: here"), "{out}");
        }
        // A regular file on disk is shown.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, "key: value\n").unwrap();
        let file = sources.add("compose.yaml".into(), path, "key: value\n".into());
        sources.recognise_stack(file);
        let d = Diagnostic::error("bad").label(Span::new(file, 0..3), "here");
        assert!(render(&d, &sources, OPTS).contains("1 │ key: value"));
    }

    #[test]
    fn a_file_not_recognised_as_a_stack_is_located_but_never_shown() {
        let mut sources = Sources::default();
        let file = sources.add(
            "credentials".into(),
            "/nonexistent/credentials".into(),
            "[default]\nkey = AKIASECRET\n".into(),
        );
        let d = Diagnostic::error("not valid YAML").label(Span::new(file, 10..13), "stopped here");
        let out = render(&d, &sources, OPTS);
        assert_eq!(
            out,
            "  × not valid YAML\n  │   at credentials:2:1: stopped here (its contents are not shown: it \
             does not read as a stack\n  │ file)\n"
        );
        sources.recognise_stack(file);
        let out = render(&d, &sources, OPTS);
        assert!(out.contains("2 │ key = AKIASECRET"), "{out}");
    }

    #[test]
    fn an_opaque_file_keeps_the_snippets_of_other_files() {
        let mut sources = Sources::default();
        let bin = sources.add("env".into(), "/nonexistent/env".into(), "A=1\0".into());
        let yaml = sources.add(
            "stack.yaml".into(),
            "/nonexistent/s".into(),
            "a: b\n".into(),
        );
        sources.recognise_stack(yaml);
        let d = Diagnostic::error("bad include")
            .label(Span::new(bin, 0..1), "in here")
            .label(Span::new(yaml, 0..1), "included here");
        let out = render(&d, &sources, OPTS);
        assert!(!out.contains("A=1"), "{out}");
        assert!(out.contains("env:1:1: in here"), "{out}");
        assert!(out.contains("1 │ a: b"), "{out}");
    }

    #[test]
    fn at_most_max_per_kind_are_printed_then_one_line_says_how_many_more() {
        let text: String = (0..50).map(|n| format!("k{n}: ${{V{n}}}\n")).collect();
        let (sources, file) = one_file(text.clone());
        let mut diags: Vec<Diagnostic> = (0..50)
            .map(|n| {
                let at = text.find(&format!("${{V{n}}}")).unwrap();
                Diagnostic::warning(format!("the variable `V{n}` is not set"))
                    .label(Span::new(file, at..at + 4), "not set")
            })
            .collect();
        diags.push(Diagnostic::error("another kind, line 7"));
        let out = render_all(&diags, &sources, OPTS);
        assert_eq!(out.matches("⚠ the variable").count(), MAX_PER_KIND, "{out}");
        assert_eq!(out.matches("another kind").count(), 1, "{out}");
        assert!(
            out.ends_with(
                "warning: and 30 more warnings like this: the variable `V20` is not set\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn diagnostics_keep_max_per_kind_and_count_the_rest() {
        let mut diags = Diagnostics::default();
        for n in 0..100_000 {
            diags.push(Diagnostic::warning(format!(
                "the variable `a{n}` is not set"
            )));
        }
        diags.push(Diagnostic::error("port `1` is invalid"));
        diags.push(Diagnostic::error("port `2` is invalid"));
        assert_eq!(diags.items.len(), MAX_PER_KIND + 2);
        assert_eq!(
            diags.items[MAX_PER_KIND - 1].similar,
            100_000 - MAX_PER_KIND
        );
        assert_eq!(count(&diags.items), (2, 100_000));
        let (sources, _) = one_file(String::new());
        let out = render_all(&diags.items, &sources, OPTS);
        assert!(
            out.contains("warning: and 99980 more warnings like this:"),
            "{out}"
        );
    }

    #[test]
    fn a_diagnostic_with_thousands_of_labels_draws_the_first_few() {
        let text: String = (0..50_000).map(|n| format!("s{n}: x\n")).collect();
        let (sources, file) = one_file(text.clone());
        let mut d = Diagnostic::error("dependency cycle");
        let mut at = 0;
        for n in 0..50_000 {
            d = d.label(
                Span::new(file, at..at + 2),
                format!("s{n} depends on the next"),
            );
            at += text[at..].find('\n').unwrap() + 1;
        }
        let out = render(&d, &sources, OPTS);
        assert!(
            out.contains("(the first 16 of 50000 places are shown)"),
            "{out}"
        );
        assert!(out.contains("s15 depends on the next"), "{out}");
        assert!(!out.contains("s16 depends"), "{out}");
    }

    #[test]
    fn a_long_quoted_value_in_a_message_is_cut() {
        let (sources, _) = one_file(String::new());
        let value = "9".repeat(70_000);
        let d = Diagnostic::error(format!("invalid port `{value}`: too large"))
            .help(format!("not `{value}`"));
        let out = render(&d, &sources, OPTS);
        let cut = format!("`{}…`", "9".repeat(MAX_QUOTE));
        assert_eq!(out.matches(&cut).count(), 2, "{out}");
        assert!(out.contains(": too large"), "{out}");
        assert!(out.len() < 1_000, "{out}");
    }

    #[test]
    fn the_kind_of_a_message_ignores_quoted_names_and_numbers() {
        assert_eq!(kind("port `80` at 12"), kind("port `99999` at 3"));
        assert_ne!(kind("port `80` is bad"), kind("image `80` is bad"));
    }
}
