//! Reading one stack file: its text (through [`input`], or standard input for
//! `-f -`), parsed into [`yaml`] trees checked to be mappings, and, unless the
//! variables are kept, interpolated. The [`Reader`] is what the stages that
//! read files share: the source table, the diagnostics, the budget each file is
//! charged to, and the files (and included stacks) already read, so that a file
//! named twice is read and parsed once.
//!
//! A file that has not shown it is a stack file (one a stack names can be any
//! file of the user's) is reported by its place, never quoted. What is done
//! with the trees (extends, include, merge) is for the stages that call it; the
//! rules of interpolating one string are [`interpolate`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::budget::{self, Budget, Size, tree_size};
use crate::load::input;
use crate::load::interpolate;
use crate::load::paths::{self, display_name};
use crate::load::sections::STACK_KEYS;
use crate::load::tags;
use crate::load::yaml::{self, Node, Value};
use crate::source::{Sources, Span};

/// What diagnostics call a stack file read from standard input (`-f -`).
pub const STDIN_NAME: &str = "<stdin>";

/// What the stages that read files share: where berth runs (for showing
/// paths), the source table, the diagnostics, and each file's parsed tree, so
/// that a file named twice (included or extended from twice, say) is read and
/// parsed once.
pub(crate) struct Reader<'a> {
    pub cwd: &'a Path,
    pub sources: &'a mut Sources,
    pub diags: &'a mut Diagnostics,
    /// What the load may still produce; each file read is charged to it.
    pub budget: &'a Budget,
    pub parsed: Parsed,
}

/// The files a [`Reader`] has read, by canonical path, so that two spellings
/// of one file (`./a.yaml`, `sub/../a.yaml`, a symlink) are read once.
#[derive(Default)]
pub(crate) struct Parsed {
    /// The `-f` files, parsed early for their `name:` keys and handed over,
    /// not copied, to the first that asks: copying every tree of a large
    /// stack would double its memory.
    pub(super) stashed: HashMap<PathBuf, Vec<Node>>,
    /// The documents of each other file read; None for a file that could
    /// not be read or parsed (already reported).
    pub(super) docs: HashMap<PathBuf, Option<Vec<Node>>>,
    /// Included stacks already loaded, for `include` to reuse.
    pub includes: Included,
    /// How many files were read from disk: what tests of the cache count.
    pub reads: usize,
    /// Read files without interpolating them
    /// ([`Options::no_interpolate`](super::Options::no_interpolate)).
    pub keep_variables: bool,
    /// The `include` entry whose files are being read, if any: where the
    /// budget's error points when a file read again spends it.
    pub included_at: Option<Span>,
    /// `-f -`: the path standing for standard input, and what was read
    /// from it, until the file is parsed.
    pub(super) stdin: Option<(PathBuf, Result<String, input::ReadError>)>,
}

/// An included stack's files and project directory, by canonical path.
type StackKey = (Vec<PathBuf>, PathBuf);

/// The variables a stack is loaded with.
type Env = IndexMap<String, String>;

/// Included stacks already loaded, as they are imported (for `include` to
/// reuse): by their files and project directory (canonical paths), then by
/// the variables they were loaded with.
#[derive(Default)]
pub(crate) struct Included {
    pub(super) models: HashMap<StackKey, Vec<(Env, Node)>>,
    /// How many included stacks were loaded rather than reused.
    pub loads: usize,
}

impl Reader<'_> {
    /// Reads and parses one file's documents, not yet interpolated.
    pub fn parse(&mut self, path: &Path) -> Option<Vec<Node>> {
        let key = paths::canonical(path);
        if let Some(docs) = self.parsed.stashed.remove(&key) {
            return Some(docs);
        }
        if let Some(docs) = self.parsed.docs.get(&key) {
            let docs = docs.as_ref()?;
            // A copy for each stage that reads the file again: `include`
            // under another project directory, `extends` from another file.
            if !self.charge_docs(docs, "is read again, and adds") {
                return None;
            }
            return Some(docs.clone());
        }
        let docs = self.parse_uncached(path);
        if let Some(d) = &docs
            && !self.charge_docs(d, "is kept for reading again, and adds")
        {
            return None;
        }
        self.parsed.docs.insert(key, docs.clone());
        docs
    }

    /// Charges the budget for a file's documents: false when it is spent.
    fn charge_docs(&self, docs: &[Node], verb: &str) -> bool {
        let size = docs.iter().map(tree_size).fold(Size::default(), |a, b| {
            Size::new(a.nodes + b.nodes, a.bytes + b.bytes)
        });
        let Some(first) = docs.first() else {
            return true;
        };
        let at = self
            .parsed
            .included_at
            .unwrap_or(Span::new(first.span.file, 0..0));
        let name = &self.sources.get(first.span.file).name;
        self.budget.charge(size, at, || {
            format!(
                "`{name}` {verb} {} nodes ({})",
                budget::thousands(size.nodes),
                budget::mib(size.bytes)
            )
        })
    }

    /// Keeps a parsed file for the next [`Reader::parse`] of it.
    pub(super) fn stash(&mut self, path: &Path, docs: Vec<Node>) {
        self.parsed.stashed.insert(paths::canonical(path), docs);
    }

    pub(super) fn parse_uncached(&mut self, path: &Path) -> Option<Vec<Node>> {
        // Past the budget the load fails: reading more is only work.
        if self.budget.is_spent() {
            return None;
        }
        self.parsed.reads += 1;
        let from_stdin = self.parsed.stdin.as_ref().is_some_and(|(p, _)| p == path);
        let read = match self.parsed.stdin.take() {
            Some((_, text)) if from_stdin => text,
            other => {
                self.parsed.stdin = other;
                input::read_text(path, input::Kind::Stack)
            }
        };
        let shown = |cwd: &Path| {
            if from_stdin {
                STDIN_NAME.to_string()
            } else {
                display_name(path, cwd)
            }
        };
        let text = match read {
            Ok(t) => t,
            Err(input::ReadError::Encoding {
                encoding,
                offset,
                text,
                ..
            }) => {
                // Its line is shown, with the place, if the text before the
                // bad byte opened as a stack file (as for a YAML error below).
                let id = self.sources.add(shown(self.cwd), path.to_path_buf(), text);
                let text = self.sources.get(id).text.clone();
                let before = &text[..offset.min(text.len())];
                let stack = match yaml::parse_all_noting(id, before, STACK_KEYS) {
                    Ok(docs) => is_stack(&docs),
                    Err((_, opened)) => opened,
                };
                if stack {
                    self.sources.recognise_stack(id);
                }
                let end = self.sources.get(id).text[offset..]
                    .chars()
                    .next()
                    .map_or(offset, |c| offset + c.len_utf8());
                self.diags.push(
                    Diagnostic::error(format!("stack file is not valid {encoding}"))
                        .label(Span::new(id, offset..end), format!("not {encoding}"))
                        .help("save the file as UTF-8 (or as UTF-16 or UTF-32 with a byte-order mark)"),
                );
                return None;
            }
            Err(e) => {
                let shown = shown(self.cwd);
                let (message, help) = if matches!(e, input::ReadError::NotFound) {
                    (
                        format!("stack file `{shown}` does not exist"),
                        "check the path given with -f".to_string(),
                    )
                } else {
                    (
                        format!("cannot read stack file `{shown}`: {e}"),
                        e.help(input::Kind::Stack),
                    )
                };
                self.diags.push(Diagnostic::error(message).help(help));
                return None;
            }
        };
        let id = self.sources.add(shown(self.cwd), path.to_path_buf(), text);
        let text = self.sources.get(id).text.clone();
        let docs = match yaml::parse_all_noting(id, &text, STACK_KEYS) {
            Ok(docs) => docs,
            Err((d, true)) => {
                // A file that does not parse has not shown it is a stack file,
                // but one whose top level opened with `services:` (or another
                // key only a stack has) before the error was written as one:
                // the files a stack can be pointed at to steal from (keys,
                // credentials, other tools' configuration) do not start so.
                // Without its lines, the commonest mistake in a stack file, a
                // line indented wrongly, would be hard to find.
                self.sources.recognise_stack(id);
                self.diags.push(d);
                return None;
            }
            Err((d, false)) => {
                self.diags.push(not_yaml(&d, &shown(self.cwd)));
                return None;
            }
        };
        if !self.charge_docs(&docs, "holds") {
            return None;
        }
        if docs.is_empty() {
            // Nothing but blanks and comments: compose refuses such a file
            // ("empty compose file"); loading it as no services would make
            // `up` of a mistyped or truncated file a silent no-op.
            self.diags.push(
                Diagnostic::error(format!("stack file `{}` is empty", shown(self.cwd)))
                    .label(Span::new(id, 0..0), "no YAML document here")
                    .help("a stack file needs at least `services:` with one service"),
            );
            return None;
        }
        let mut ok = true;
        for tree in docs.iter().filter(|t| !matches!(t.value, Value::Map(_))) {
            ok = false;
            // compose: "top-level object must be a mapping". Neither the
            // value nor its text: this may be a key or a token.
            let kind = match tree.value {
                Value::Null => "empty",
                _ => tree.kind(),
            };
            self.diags.push(
                Diagnostic::error(format!(
                    "`{}`: the top level must be a mapping (of `services`, `networks`, ...); it is {kind}",
                    shown(self.cwd)
                ))
                .label(Span::new(id, tree.span.start..tree.span.start), "the top level starts here")
                .help("a stack file starts with `services:`; an empty document between `---` lines counts too. If this file is not a stack file, remove it from `-f`, `COMPOSE_FILE`, `include` or `extends`"),
            );
        }
        if !ok {
            return None;
        }
        if is_stack(&docs) {
            self.sources.recognise_stack(id);
        }
        self.diags.extend(tags::check(id, &text));
        Some(docs)
    }

    /// Reads, parses and interpolates one file's documents (leaves their
    /// `${VAR}`s as written with [`Parsed::keep_variables`]).
    pub fn read(&mut self, path: &Path, env: &IndexMap<String, String>) -> Option<Vec<Node>> {
        let mut docs = self.parse(path)?;
        if self.parsed.keep_variables {
            return Some(docs);
        }
        for tree in &mut docs {
            let file = self.sources.get(tree.span.file);
            let (text, shown) = (file.text.clone(), file.opaque().is_none());
            interpolate_tree(tree, &text, shown, env, self.diags, self.budget);
        }
        Some(docs)
    }
}

/// Whether a parsed file looks like a stack file, so that its lines may be
/// shown in diagnostics: every document a mapping, and one of them with a
/// key only a stack has. A file a stack names can be any file of the user's;
/// one that is a mapping but not a stack's (`~/.config/gh/hosts.yml`, a
/// one-line `~/.docker/config.json`) is reported at its keys, not quoted.
fn is_stack(docs: &[Node]) -> bool {
    docs.iter().all(|d| d.as_map().is_some())
        && docs
            .iter()
            .filter_map(Node::as_map)
            .any(|m| STACK_KEYS.iter().any(|k| m.contains_key(*k)))
}

/// The parse error of a file that has not shown it is a stack file: its
/// place, and nothing the parser said about its text (an unknown anchor's
/// name, a duplicate key, an unexpected character are the file's own).
fn not_yaml(d: &Diagnostic, shown: &str) -> Diagnostic {
    let error = Diagnostic::error(format!("`{shown}` is not valid YAML")).help(
        "if it is a stack file, fix the YAML at this line and column; if it is not, remove it from `-f`, `COMPOSE_FILE`, `include` or `extends`",
    );
    match d.primary_span() {
        Some(at) => error.label(at, "the YAML parser stopped here"),
        None => error,
    }
}

/// The error for a stack file that `include` or `extends` names (`subject`,
/// e.g. "included file `a.yaml`") and that is missing or not a regular file:
/// what it is ("is a directory, not a regular file"), labelled at `at`.
pub(crate) fn named_file_error(
    subject: &str,
    e: &input::ReadError,
    at: Span,
    not_found_help: &str,
) -> Diagnostic {
    let help = match e {
        input::ReadError::NotFound => not_found_help.to_string(),
        _ => e.help(input::Kind::Stack),
    };
    Diagnostic::error(format!("{subject} {}", e.predicate()))
        .label(at, e.label())
        .help(help)
}

/// Interpolates every scalar value (not keys) in place. `shown`: whether the
/// file's lines are shown (see `Sources::recognise_stack`); if not, a
/// warning does not name the variable either, since the name is part of a
/// value of a file that may be anything (a password `Xy7$Qz9` uses `Qz9`).
/// What values grow by is charged to `budget`; past it, values are left as
/// written.
pub(super) fn interpolate_tree(
    node: &mut Node,
    text: &str,
    shown: bool,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
    budget: &Budget,
) {
    match &mut node.value {
        Value::Scalar(s) => {
            if interpolate::is_plain(&s.text) {
                return;
            }
            // Offsets inside the scalar map to the file only where the file
            // holds the text verbatim (plain scalars) or just inside quotes.
            let raw = text.get(node.span.range()).unwrap_or_default();
            let shift = if raw == s.text {
                Some(0)
            } else if raw.len() >= 2 && raw[1..raw.len() - 1] == s.text {
                Some(1)
            } else {
                None
            };
            let at = |r: std::ops::Range<usize>| match shift {
                Some(k) => node.span.sub(r.start + k..r.end + k),
                None => node.span,
            };
            let lookup = |name: &str| env.get(name).cloned();
            match interpolate::interpolate_within(&s.text, &lookup, budget.bytes_left()) {
                Ok(done) => {
                    let grown = done.value.len().saturating_sub(s.text.len()) as u64;
                    if !budget.charge(Size::new(0, grown), node.span, || {
                        format!(
                            "this value grows by {} with its variables",
                            budget::mib(grown)
                        )
                    }) {
                        return;
                    }
                    for u in &done.unset {
                        let warning = if shown {
                            Diagnostic::warning(format!(
                                "the variable `{}` is not set; using an empty string",
                                u.name
                            ))
                            .help(format!(
                                "set `{}` in the environment or in .env, or give a default: `${{{}:-value}}`",
                                u.name, u.name
                            ))
                        } else {
                            Diagnostic::warning("a variable that is not set is used; using an empty string")
                                .help("a `$` in a value starts a variable: set it in the environment or in .env, give a default (`${NAME:-value}`), or write `$$` for a literal `$`")
                        };
                        diags.push(warning.label(at(u.range.clone()), "not set"));
                    }
                    // A scalar that held `${...}` was a string in the file,
                    // and stays one: compose interpolates after YAML has typed
                    // the document, so `ZIP: ${ZIP}` with `ZIP=0012` is the
                    // text `0012`, never the octal number 10. Fields that want
                    // a number or a boolean still read it from this text
                    // (`load::de`), as compose's casts do.
                    s.text = done.value;
                    s.plain = false;
                }
                Err(e) => {
                    let (range, label, help) = match &e {
                        interpolate::InterpolationError::Required { name, range, .. } => (
                            range.clone(),
                            "required variable".to_string(),
                            format!("set `{name}` in the environment or in .env"),
                        ),
                        interpolate::InterpolationError::Syntax { range, .. } => (
                            range.clone(),
                            "invalid interpolation".to_string(),
                            "write `${VAR}`, `${VAR:-default}`, or `$$` for a literal `$`"
                                .to_string(),
                        ),
                        interpolate::InterpolationError::TooLong { limit, range } => {
                            // What is left of the budget is the limit: one
                            // byte more spends it, and names it.
                            let grown = *limit as u64 + 1;
                            budget.charge(Size::new(0, grown), at(range.clone()), || {
                                format!(
                                    "this value would take in more than the {} left with its variables",
                                    budget::mib(grown - 1)
                                )
                            });
                            return;
                        }
                    };
                    diags.push(
                        Diagnostic::error(e.unquoted())
                            .label(at(range), label)
                            .help(help),
                    );
                }
            }
        }
        Value::Seq(items) => {
            for i in items {
                interpolate_tree(i, text, shown, env, diags, budget);
            }
        }
        Value::Map(m) => {
            for (_, e) in m.iter_mut() {
                interpolate_tree(&mut e.value, text, shown, env, diags, budget);
            }
        }
        Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::load::load;
    use crate::load::tests::opts;
    use crate::testutil::dir;

    #[test]
    fn stack_files_in_utf16_load_and_invalid_utf8_is_located() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "services:\n  web: {image: a}\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let d = dir(&[("compose.yaml", "")]);
        std::fs::write(d.0.join("compose.yaml"), utf16).unwrap();
        let loaded = load(&opts(&d)).ok().unwrap();
        assert_eq!(loaded.stack.services.len(), 1);
        std::fs::write(
            d.0.join("compose.yaml"),
            b"services:\n  web: {image: \xC3(}\n",
        )
        .unwrap();
        let Err(failed) = load(&opts(&d)) else {
            panic!("invalid UTF-8 loaded");
        };
        let d = &failed.diagnostics[0];
        assert_eq!(d.message, "stack file is not valid UTF-8");
        let span = d.primary_span().unwrap();
        let text = &failed.sources.get(span.file).text;
        assert_eq!(&text[..span.start], "services:\n  web: {image: ");
    }
}
