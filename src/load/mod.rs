//! Stack files to a validated [`Stack`]: the first stage of the pipeline.
//!
//! First the environment (process, then `--env-file`s or `.env`), the files
//! (`-f`, `COMPOSE_FILE`, or the default names with their override file) and
//! the project name. Then, file by file as compose does: read and parse
//! ([`yaml`]), interpolate ([`interpolate`]), resolve the file's `extends`
//! ([`extends`]) and `include`s ([`include`]), merge it over the files before
//! it ([`merge`]). Last, the one merged tree is typed ([`de`] into
//! `model::raw`), profiles applied, and everything resolved and validated
//! ([`resolve`], with its `ports` and `volumes`). Every stage reports into one list of
//! diagnostics; loading goes as far as it can so that all errors are shown at
//! once, except past the [`budget`] on what the files expand into, which every
//! stage charges and which ends the load. Paths (how a file is known, how a
//! relative path is made absolute) are [`paths`]'s, for every stage. It stops
//! at the validated model: dependency order is `crate::graph`'s.

pub mod budget;
pub mod de;
pub mod envfile;
pub mod input;
pub mod interpolate;
pub mod merge;
pub mod objects;
pub mod paths;
pub mod resolve;
pub mod tags;
pub mod yaml;

#[cfg(test)]
mod as_written;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod hostile;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::raw;
use crate::model::stack::*;
use crate::source::{Sources, Span};
use budget::{Budget, Size};
use yaml::{Node, Value};

/// Where to find the stack and how to read it (the global CLI options).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// The directory berth runs in; default files are looked for here.
    pub cwd: PathBuf,
    /// The process environment.
    pub environ: IndexMap<String, String>,
    /// Leave `${VAR}` as written (`config --no-interpolate`): loading stops
    /// once the files are merged, [`Loaded::uninterpolated`] holds the merged
    /// tree and `stack` is empty but for its name, since nothing can be typed
    /// or validated before its variables have values.
    pub no_interpolate: bool,
}

/// A loaded stack with its sources (for rendering warnings).
pub struct Loaded {
    pub stack: Stack,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    pub project_dir: PathBuf,
    /// The variables interpolation saw: the process environment, then the
    /// env files, then `COMPOSE_PROJECT_NAME` (`config --environment`).
    pub environment: IndexMap<String, String>,
    /// With [`Options::no_interpolate`]: the merged files, `${VAR}` kept,
    /// `name` first.
    pub uninterpolated: Option<serde_json::Value>,
    /// Every profile a service names, enabled or not, sorted.
    pub profiles: Vec<String>,
}

/// Loading failed: every diagnostic found, with the sources they point into.
pub struct Failed {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Finds the stack files as compose does: those given with `-f`, else those in
/// `COMPOSE_FILE`, else the first default name found in the working directory
/// or one of its parents, with the first override file next to it.
fn find_files(
    opts: &Options,
    work_dir: &Path,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
) -> Result<Vec<PathBuf>, Diagnostic> {
    if !opts.files.is_empty() {
        return Ok(opts
            .files
            .iter()
            .map(|f| clean(&opts.cwd.join(f)))
            .collect());
    }
    if let Some(list) = env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .map_or(":", String::as_str);
        return Ok(list
            .split(sep)
            .filter(|f| !f.is_empty())
            .map(|f| clean(&opts.cwd.join(f)))
            .collect());
    }
    let mut dir = Some(work_dir);
    while let Some(d) = dir {
        let found = |names: &[&str]| -> Vec<PathBuf> {
            names
                .iter()
                .map(|n| d.join(n))
                .filter(|p| input::found(p))
                .collect()
        };
        let mains = found(DEFAULT_FILES);
        if let Some(main) = mains.first() {
            let mut files = vec![main.clone()];
            let overrides = found(OVERRIDE_FILES);
            for (what, list) in [("stack", &mains), ("override", &overrides)] {
                if list.len() > 1 {
                    let names: Vec<String> =
                        list.iter().map(|p| display_name(p, &opts.cwd)).collect();
                    diags.push(
                        Diagnostic::warning(format!(
                            "found several {what} files: {}; using {}",
                            names.join(", "),
                            names[0]
                        ))
                        .help("remove the ones not in use, or name the files with -f"),
                    );
                }
            }
            files.extend(overrides.into_iter().take(1));
            return Ok(files);
        }
        dir = d.parent();
    }
    Err(Diagnostic::error(format!(
        "no stack file found in {} or its parents",
        work_dir.display()
    ))
    .help("name one with `-f FILE` (or as an argument), or create compose.yaml"))
}

fn clean(p: &Path) -> PathBuf {
    PathBuf::from(paths::clean_path(p))
}

/// compose's project name rule: lower case, only `a-z0-9_-`, starting with a
/// letter or digit.
pub fn normalize_project_name(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn display_name(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

/// Reads an env file into `vars` (its values win over those already there),
/// interpolating its values from `outer` first, then from `vars` (see
/// [`envfile`]). Returns the unset variables its values used. An error names
/// the line and column ([`envfile::Error::located`]).
fn read_env_file(
    path: &Path,
    vars: &mut IndexMap<String, String>,
    outer: &dyn Fn(&str) -> Option<String>,
    budget: &Budget,
) -> Result<Vec<envfile::Unset>, envfile::Error> {
    let text = read_env_text(path)?;
    envfile::parse(&text, vars, outer, budget)
}

/// An env file's text, or why it cannot be read.
fn read_env_text(path: &Path) -> Result<String, envfile::Error> {
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
fn env_file_unset(shown: &str, u: &envfile::Unset) -> Diagnostic {
    let (line, col) = u.at;
    Diagnostic::warning(format!(
        "env file `{shown}:{line}:{col}` uses a variable that is not set; using an empty string"
    ))
    .help(
        "a `$` in a value starts a variable: set it in the environment or on an earlier line, give a default (`${NAME:-value}`), or write `$$` for a literal `$`",
    )
}

/// The `.env` of a directory, when there is one to read. Anything there but
/// a directory is read, and refused with what it is when it is not a
/// regular file (a FIFO, a socket, a link loop): skipping it would load the
/// stack without the variables it was meant to give. A directory is skipped,
/// as compose skips it: a Python virtual environment is often called `.env`.
pub(crate) fn dot_env(dir: &Path) -> Option<PathBuf> {
    let dot = dir.join(".env");
    input::found(&dot).then_some(dot)
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

/// Adds the variables of env files (later files winning) to `env`, where the
/// process environment (already in `env`) wins over all of them, also when
/// the files' values are interpolated (as compose-go's `GetEnvFromFile`).
/// `origin` says where the list came from (`--env-file`, ...), since these
/// errors have no place in a stack file to point at.
fn add_env_files(
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

/// The project name: `-p`, else `COMPOSE_PROJECT_NAME`, else the last `name:`
/// of the files (interpolated, then normalised), else the project
/// directory's name, normalised. A name given on the command line or in the
/// environment must already be normal, as compose insists.
fn project_name(
    opts: &Options,
    env: &IndexMap<String, String>,
    names: &[Node],
    project_dir: &Path,
    reader: &Reader,
) -> Result<String, Diagnostic> {
    let budget = reader.budget;
    let given = opts.project_name.as_ref().map(|n| (n, "-p")).or_else(|| {
        env.get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
            .map(|n| (n, "COMPOSE_PROJECT_NAME"))
    });
    if let Some((name, source)) = given {
        if normalize_project_name(name) != *name || name.is_empty() {
            return Err(Diagnostic::error(format!(
                "invalid project name `{name}` (from {source})"
            ))
            .help(
                "a project name has only lower-case letters, digits, `-` and `_`, and starts with a letter or digit",
            ));
        }
        return Ok(name.clone());
    }
    let from_file = names
        .iter()
        .filter_map(|node| {
            let mut node = node.clone();
            let text = reader.sources.get(node.span.file).text.clone();
            // Warnings about the name's variables come with the whole file.
            interpolate_tree(
                &mut node,
                &text,
                false,
                env,
                &mut Diagnostics::default(),
                budget,
            );
            node.as_str().map(str::to_string)
        })
        .rfind(|n| !n.is_empty())
        .map(|n| normalize_project_name(&n))
        .filter(|n| !n.is_empty());
    if let Some(name) = from_file {
        return Ok(name);
    }
    let dir = project_dir
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let name = normalize_project_name(&dir);
    if name.is_empty() {
        return Err(Diagnostic::error(format!(
            "no project name: the directory name `{dir}` has no letters or digits"
        ))
        .help("set `name:` in the stack file or pass `-p NAME`"));
    }
    Ok(name)
}

pub fn load(opts: &Options) -> Result<Loaded, Failed> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let budget = Budget::default();
    // compose reads `.env` from the directory it knows before it has found
    // the files: --project-directory, else the first -f file's, else cwd.
    let work_dir = match (&opts.project_directory, opts.files.first()) {
        (Some(p), _) => clean(&opts.cwd.join(p)),
        (None, Some(f)) => clean(&opts.cwd.join(f))
            .parent()
            .map_or(opts.cwd.clone(), Path::to_path_buf),
        (None, None) => opts.cwd.clone(),
    };

    // Interpolation sees the process environment first, then the env files:
    // `--env-file`s (or COMPOSE_ENV_FILES), else `.env`; later files win.
    let mut env = opts.environ.clone();
    let explicit_env_files =
        !opts.env_files.is_empty() || env.get("COMPOSE_ENV_FILES").is_some_and(|v| !v.is_empty());
    let (env_files, origin): (Vec<PathBuf>, &str) = if !opts.env_files.is_empty() {
        let files = opts.env_files.iter().map(|f| opts.cwd.join(f)).collect();
        (files, "--env-file")
    } else if let Some(list) = env.get("COMPOSE_ENV_FILES").filter(|v| !v.is_empty()) {
        let files = list.split(',').map(|f| opts.cwd.join(f.trim())).collect();
        (files, "COMPOSE_ENV_FILES")
    } else {
        (
            dot_env(&work_dir).into_iter().collect(),
            "the working directory",
        )
    };
    add_env_files(&mut env, &env_files, origin, &opts.cwd, &mut diags, &budget);

    let files = match find_files(opts, &work_dir, &env, &mut diags) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return Err(Failed {
                sources,
                diagnostics: diags.items,
            });
        }
    };
    let project_dir = match &opts.project_directory {
        Some(p) => clean(&opts.cwd.join(p)),
        None => files[0]
            .parent()
            .map_or(opts.cwd.clone(), Path::to_path_buf),
    };
    // Files found in a parent directory: compose reads that directory's
    // `.env` too, after (and below) the one in the working directory.
    if !explicit_env_files
        && project_dir != work_dir
        && let Some(dot) = dot_env(&project_dir)
    {
        add_env_files(
            &mut env,
            &[dot],
            "the project directory",
            &opts.cwd,
            &mut diags,
            &budget,
        );
    }

    // `-f -`: the stack comes from standard input, read once, bounded as a
    // file is; relative paths in it start at the working directory.
    let dashes = opts.files.iter().filter(|f| f.as_os_str() == "-").count();
    if dashes > 1 {
        diags.push(
            Diagnostic::error(
                "`-f -` is given more than once: standard input can be read only once",
            )
            .help("pass one stack on standard input, and name the other files with -f"),
        );
        return Err(Failed {
            sources,
            diagnostics: diags.items,
        });
    }
    let mut reader = Reader {
        cwd: &opts.cwd,
        sources: &mut sources,
        diags: &mut diags,
        budget: &budget,
        parsed: Parsed {
            keep_variables: opts.no_interpolate,
            ..Default::default()
        },
    };
    if dashes == 1 {
        let text = input::read_stdin(input::Kind::Stack);
        reader.parsed.stdin = Some((clean(&opts.cwd.join("-")), text));
    }
    // The project name comes before interpolation (files may use it), so
    // read the `name:` keys first; the parsed files wait for load_model.
    let mut names: Vec<Node> = Vec::new();
    for f in &files {
        // Not through the cache: it would keep a second copy of the whole
        // tree for the rest of the load; the stash hands this one over.
        match reader.parse_uncached(f) {
            Some(docs) => {
                names.extend(docs.iter().filter_map(|t| t.get("name").cloned()));
                reader.stash(f, docs);
            }
            // Reported once: the next parse finds the failure cached.
            None => {
                reader.parsed.docs.insert(paths::canonical(f), None);
            }
        }
    }
    let project = match project_name(opts, &env, &names, &project_dir, &reader) {
        Ok(p) => p,
        Err(d) => {
            reader.diags.push(d);
            String::new()
        }
    };
    // Files may use the project name compose settles on.
    env.insert("COMPOSE_PROJECT_NAME".into(), project.clone());
    let root = load_model(&mut reader, &files, &project_dir, &env, &[]);
    diags.extend(budget.take_error());
    // Past the budget, what was loaded is incomplete: typing it would
    // only add errors that are not the file's.
    if diags.has_errors() || budget.is_spent() {
        sort_by_position(&mut diags.items);
        return Err(Failed {
            sources,
            diagnostics: diags.items,
        });
    }
    if opts.no_interpolate {
        let mut model = serde_json::Map::new();
        model.insert("name".into(), project.clone().into());
        if let serde_json::Value::Object(tree) = yaml::to_json(&root) {
            model.extend(tree.into_iter().filter(|(k, _)| k != "name"));
        }
        sort_by_position(&mut diags.items);
        return Ok(Loaded {
            stack: Stack {
                name: project,
                ..Stack::default()
            },
            sources,
            diagnostics: diags.items,
            project_dir,
            environment: env,
            uninterpolated: Some(model.into()),
            profiles: all_profiles(&root),
        });
    }

    let profiles = all_profiles(&root);
    let stack = build(
        root,
        opts,
        &project,
        &project_dir,
        &env,
        &mut diags,
        &budget,
    );
    diags.extend(budget.take_error());
    // A cycle makes the stack impossible to start, so it is a load error.
    diags.extend(crate::graph::Graph::new(&stack).cycles());
    sort_by_position(&mut diags.items);
    if diags.has_errors() {
        return Err(Failed {
            sources,
            diagnostics: diags.items,
        });
    }
    Ok(Loaded {
        stack,
        sources,
        diagnostics: diags.items,
        project_dir,
        environment: env,
        uninterpolated: None,
        profiles,
    })
}

/// Every profile a service names, enabled or not, sorted
/// (`config --profiles`): the stack keeps only the enabled services.
fn all_profiles(root: &Node) -> Vec<String> {
    let services = root.get("services").and_then(Node::as_map);
    let mut out: Vec<String> = services
        .into_iter()
        .flat_map(|m| m.iter())
        .filter_map(|(_, e)| e.value.get("profiles").and_then(Node::as_seq))
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Stages report in their own order; users read top to bottom. Diagnostics
/// without a place (a missing env file) come first; the sort is stable, so
/// two at one place keep the order they were found in.
fn sort_by_position(items: &mut [Diagnostic]) {
    items.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
}

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
    stashed: std::collections::HashMap<PathBuf, Vec<Node>>,
    /// The documents of each other file read; None for a file that could
    /// not be read or parsed (already reported).
    docs: std::collections::HashMap<PathBuf, Option<Vec<Node>>>,
    /// Included stacks already loaded, for [`include`] to reuse.
    pub includes: include::Included,
    /// How many files were read from disk: what tests of the cache count.
    pub reads: usize,
    /// Read files without interpolating them ([`Options::no_interpolate`]).
    pub keep_variables: bool,
    /// The `include` entry whose files are being read, if any: where the
    /// budget's error points when a file read again spends it.
    pub included_at: Option<Span>,
    /// `-f -`: the path standing for standard input, and what was read
    /// from it, until the file is parsed.
    stdin: Option<(PathBuf, Result<String, input::ReadError>)>,
}

/// What diagnostics call a stack file read from standard input (`-f -`).
pub const STDIN_NAME: &str = "<stdin>";

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
    fn stash(&mut self, path: &Path, docs: Vec<Node>) {
        self.parsed.stashed.insert(paths::canonical(path), docs);
    }

    fn parse_uncached(&mut self, path: &Path) -> Option<Vec<Node>> {
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

/// The top-level keys only a stack file has. `name` and `version` are not
/// among them: configuration files of other tools have those too.
const STACK_KEYS: &[&str] = &[
    "services", "networks", "volumes", "secrets", "configs", "include",
];

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

/// compose's loading of a list of files into one tree, each file in turn:
/// interpolate it, resolve its `extends` (which see only that file and the
/// files they name), load its `include`s, merge it over the files before it.
/// `work_dir` is what relative paths in the files start from; `chain` the
/// files that include these, to find an include cycle.
pub(crate) fn load_model(
    reader: &mut Reader,
    files: &[PathBuf],
    work_dir: &Path,
    env: &IndexMap<String, String>,
    chain: &[PathBuf],
) -> Node {
    let mut acc: Option<Node> = None;
    for file in files {
        let Some(docs) = reader.read(file, env) else {
            continue;
        };
        // Each document of a file is a file of its own to compose.
        for mut tree in docs {
            if let Some(v) = tree.as_map().and_then(|m| m.get("version")) {
                reader.diags.push(
                    Diagnostic::warning("the `version` key is obsolete and ignored")
                        .label(v.key_span, "obsolete")
                        .help("remove it; the Compose Specification needs no version"),
                );
            }
            extends::apply(reader, &mut tree, file, work_dir, env);
            let mut inner = chain.to_vec();
            inner.push(file.clone());
            include::apply(reader, &mut tree, work_dir, env, &inner);
            match &mut acc {
                None => {
                    let mut first = Node::new(Value::Map(Default::default()), tree.span);
                    merge::merge_file(&mut first, tree, reader.diags, reader.budget);
                    acc = Some(first);
                }
                Some(acc) => merge::merge_file(acc, tree, reader.diags, reader.budget),
            }
        }
    }
    acc.unwrap_or_else(|| Node::new(Value::Map(Default::default()), Span::default()))
}

/// The size of a tree, in the budget's units.
fn tree_size(node: &Node) -> Size {
    let s = yaml::measure(node);
    Size::new(s.nodes as u64, s.bytes as u64)
}

/// Interpolates every scalar value (not keys) in place. `shown`: whether the
/// file's lines are shown (see `Sources::recognise_stack`); if not, a
/// warning does not name the variable either, since the name is part of a
/// value of a file that may be anything (a password `Xy7$Qz9` uses `Qz9`).
/// What values grow by is charged to `budget`; past it, values are left as
/// written.
fn interpolate_tree(
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

pub mod extends;
pub mod include;

const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
];

/// Types the merged tree, resolves it and checks references.
fn build(
    root: Node,
    opts: &Options,
    project: &str,
    project_dir: &Path,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
    budget: &Budget,
) -> Stack {
    let mut map = match root.value {
        Value::Map(m) => m,
        _ => yaml::Map::new(),
    };
    for (key, entry) in &map {
        if !TOP_LEVEL.contains(&key.as_str()) && !key.starts_with("x-") {
            diags.push(de::unknown_key(key, entry.key_span, TOP_LEVEL));
        }
    }
    let sink = de::Sink::default();
    let project = project.to_string();
    let extensions: IndexMap<String, serde_json::Value> = map
        .iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, e)| (k.clone(), yaml::to_json(&e.value)))
        .collect();

    let mut take = |key: &str| map.shift_remove(key).map(|e| e.value);
    let services_node = section_map(take("services"), "services", diags);
    let networks_raw = section::<raw::Network>(take("networks"), "networks", &sink, diags);
    let volumes_raw = section::<raw::Volume>(take("volumes"), "volumes", &sink, diags);
    let secrets_raw = section::<raw::SecretOrConfig>(take("secrets"), "secrets", &sink, diags);
    let configs_raw = section::<raw::SecretOrConfig>(take("configs"), "configs", &sink, diags);
    drop(map);

    // Profiles: a service with profiles is enabled only when one of them is
    // active (`--profile`, else COMPOSE_PROFILES; `*` is all of them).
    let active: Vec<String> = if opts.profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };
    let enabled = |p: &[String]| {
        p.is_empty()
            || p.iter()
                .any(|p| active.contains(p) || active.iter().any(|a| a == "*"))
    };
    // Services are typed and resolved one at a time, each tree and raw model
    // freed before the next, so a large stack never holds all three forms at
    // once. What must be known of every service beforehand (its name and
    // profiles) is read from the tree.
    let profiles: IndexMap<String, Vec<String>> = services_node
        .iter()
        .map(|(name, e)| {
            let p = e
                .value
                .get("profiles")
                .and_then(Node::as_seq)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (name.clone(), p)
        })
        .collect();

    let defined = resolve::Defined {
        subnets: networks_raw
            .iter()
            .map(|(name, (_, n))| {
                let subnets = n
                    .ipam
                    .iter()
                    .flat_map(|i| i.config.iter().flatten())
                    .filter_map(|pool| pool.subnet.clone())
                    .collect();
                (name.clone(), subnets)
            })
            .collect(),
        services: resolve::Names::new(profiles.keys().cloned().collect()),
        networks: resolve::Names::new(networks_raw.keys().cloned().collect()),
        volumes: resolve::Names::new(volumes_raw.keys().cloned().collect()),
        secrets: resolve::Names::new(secrets_raw.keys().cloned().collect()),
        configs: resolve::Names::new(configs_raw.keys().cloned().collect()),
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut cx = resolve::Context {
        project: &project,
        project_dir,
        home,
        env,
        diagnostics: Vec::new(),
    };

    let mut stack = Stack {
        name: project.clone(),
        extensions,
        ..Stack::default()
    };
    // Exactly as many as there are: a map that doubles as it grows would
    // hold up to twice the services' size while it copies (a 100,000-service
    // file is a few hundred MiB of models).
    stack.services.reserve_exact(services_node.len());
    // Where each `container_name` was first set: the engine names one
    // container per name, so a second service with it could never start.
    let mut container_names: std::collections::HashMap<String, (String, Span)> =
        std::collections::HashMap::new();
    let mut env_texts = EnvTexts::default();
    for (name, entry) in services_node {
        if budget.is_spent() {
            break;
        }
        if !valid_service_name(&name) {
            diags.push(
                Diagnostic::error(if name.is_empty() {
                    "a service has an empty (or null) name".to_string()
                } else {
                    format!("invalid service name `{name}`")
                })
                    .label(entry.key_span, "not a service name")
                    .help("a service name has only letters, digits, `.`, `_` and `-`, and at least one of them"),
            );
            continue;
        }
        let svc = match de::from_node::<Option<raw::Service>>(&entry.value, &sink) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                diags.push(e.within(&name).into_diagnostic(entry.value.span));
                continue;
            }
        };
        drop(entry.value);
        if !enabled(svc.profiles.as_deref().unwrap_or_default()) {
            continue;
        }
        for (target, span) in needs(&svc) {
            if let Some(p) = profiles.get(&target).filter(|p| !enabled(p)) {
                diags.push(disabled_dependency(&name, &target, span, p));
            }
        }
        let mut s = resolve::service(&mut cx, &name, entry.key_span, &svc, &defined);
        if let Some(c) = &svc.container_name {
            match container_names.get(&c.value) {
                Some((first, at)) => diags.push(
                    Diagnostic::error(format!(
                        "services `{first}` and `{name}` both set `container_name: {}`",
                        c.value
                    ))
                    .label(c.span, "set again here")
                    .label(*at, format!("first set by `{first}`"))
                    .help("container names are unique on an engine: give each service its own `container_name`, or leave it out to get `<project>-<service>-1`"),
                ),
                None => {
                    container_names.insert(c.value.clone(), (name.clone(), c.span));
                }
            }
        }
        env_files(&mut cx, &mut s, &svc, &mut env_texts, budget);
        drop(svc);
        for (k, v) in s.environment.iter_mut() {
            if v.is_none() {
                *v = env.get(k).cloned();
            }
        }
        s.shrink_to_fit();
        stack.services.insert(name, s);
    }
    diags.extend(sink.diagnostics.take());
    for (name, (key_span, n)) in &networks_raw {
        stack
            .networks
            .insert(name.clone(), network(&mut cx, name, *key_span, n));
    }
    for (name, (key_span, v)) in &volumes_raw {
        stack
            .volumes
            .insert(name.clone(), volume(&mut cx, name, *key_span, v));
    }
    for (name, (key_span, s)) in &secrets_raw {
        stack
            .secrets
            .insert(name.clone(), file_object(&mut cx, name, *key_span, s));
    }
    for (name, (key_span, s)) in &configs_raw {
        stack
            .configs
            .insert(name.clone(), file_object(&mut cx, name, *key_span, s));
    }
    // compose adds a `default` network when a service joins it implicitly.
    let uses_default = stack
        .services
        .values()
        .any(|s| s.networks.contains_key("default"));
    if uses_default && !stack.networks.contains_key("default") {
        stack.networks.insert(
            "default".into(),
            Network {
                name: format!("{project}_default"),
                ..Network::default()
            },
        );
    }
    // compose prints only the networks and volumes that services use.
    let used_networks: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.networks.keys().cloned())
        .collect();
    stack.networks.retain(|k, _| used_networks.contains(k));
    let used_volumes: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.volumes.iter().filter_map(|v| v.source.clone()))
        .collect();
    stack.volumes.retain(|k, _| used_volumes.contains(k));
    let used_secrets: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| {
            let build = s.build.iter().flat_map(|b| b.secrets.iter());
            s.secrets.iter().chain(build).map(|r| r.source.clone())
        })
        .collect();
    stack.secrets.retain(|k, _| used_secrets.contains(k));
    let used_configs: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.configs.iter().map(|r| r.source.clone()))
        .collect();
    stack.configs.retain(|k, _| used_configs.contains(k));
    copied_digests(&mut stack);

    diags.extend(cx.diagnostics);
    stack
}

/// Each service's references to secrets and configs that a plain engine
/// copies into its containers (from `environment` or `content`) get the
/// sha256 of that content, so that the config hash follows it.
fn copied_digests(stack: &mut Stack) {
    use sha2::{Digest, Sha256};
    let Stack {
        services,
        secrets,
        configs,
        ..
    } = stack;
    let digest = |objects: &crate::model::stack::Map<FileObject>, key: &str| {
        let o = objects.get(key)?;
        let data = match (&o.environment, &o.content) {
            (Some(_), _) => o.value.as_deref()?,
            (None, Some(c)) => c.as_str(),
            (None, None) => return None,
        };
        let d = Sha256::digest(data.as_bytes());
        Some(d.iter().map(|b| format!("{b:02x}")).collect::<String>())
    };
    for svc in services.values_mut() {
        // Only a service that has references: writing allocates its extras.
        if svc.secrets.is_empty() && svc.configs.is_empty() {
            continue;
        }
        for r in &mut svc.secrets {
            r.digest = digest(secrets, &r.source);
        }
        for r in &mut svc.configs {
            r.digest = digest(configs, &r.source);
        }
    }
}

/// compose's rule for service names (its schema's `^[a-zA-Z0-9._-]+$`): they
/// become parts of container and host names.
fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The services a service cannot start without, where it names them: required
/// `depends_on`, `links`, `volumes_from` and `network_mode: service:`.
fn needs(svc: &raw::Service) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    match &svc.depends_on {
        Some(raw::DependsOn::List(l)) => {
            out.extend(l.iter().map(|d| (d.value.clone(), d.span)));
        }
        Some(raw::DependsOn::Map(m)) => out.extend(
            m.iter()
                .filter(|(_, d)| d.required != Some(false))
                .map(|(k, _)| (k.value.clone(), k.span)),
        ),
        None => {}
    }
    let before_colon = |s: &str| s.split(':').next().unwrap_or_default().to_string();
    for l in svc.links.iter().flatten() {
        out.push((before_colon(&l.value), l.span));
    }
    for v in svc.volumes_from.iter().flatten() {
        if !v.value.starts_with("container:") {
            out.push((before_colon(&v.value), v.span));
        }
    }
    for n in [&svc.network_mode, &svc.ipc, &svc.pid]
        .into_iter()
        .flatten()
    {
        if let Some(target) = n.value.strip_prefix("service:") {
            out.push((target.to_string(), n.span));
        }
    }
    out
}

/// compose refuses a stack where an enabled service needs one that its
/// profiles leave out; it never enables the other one by itself.
fn disabled_dependency(name: &str, target: &str, at: Span, profiles: &[String]) -> Diagnostic {
    let list = profiles
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let flag = profiles
        .first()
        .map_or(String::new(), |p| format!("--profile {p}"));
    Diagnostic::error(format!(
        "service `{name}` needs `{target}`, which is not enabled"
    ))
    .label(at, format!("`{target}` runs only with profile {list}"))
    .help(format!(
        "enable it with `{flag}` (or COMPOSE_PROFILES), give `{name}` the same profiles, or make the dependency optional with `required: false`"
    ))
}

/// A top-level section's mapping; anything else is reported.
fn section_map(node: Option<Node>, key: &str, diags: &mut Diagnostics) -> yaml::Map {
    let Some(node) = node else {
        return yaml::Map::new();
    };
    match node.value {
        Value::Map(m) => m,
        // compose's schema refuses `services:` with nothing after it; an
        // empty mapping is written `services: {}`.
        _ => {
            diags.push(
                Diagnostic::error(format!("`{key}` must be a mapping"))
                    .label(node.span, format!("found {}", node.kind()))
                    .help(format!(
                        "write `{key}:` followed by indented names, or `{key}: {{}}` for none"
                    )),
            );
            yaml::Map::new()
        }
    }
}

/// Deserializes each entry of a top-level section on its own, so that a type
/// error in one entry does not hide the errors of the others.
fn section<T: serde::de::DeserializeOwned + Default>(
    node: Option<Node>,
    key: &str,
    sink: &de::Sink,
    diags: &mut Diagnostics,
) -> IndexMap<String, (Span, T)> {
    let mut out = IndexMap::new();
    for (name, entry) in section_map(node, key, diags) {
        // `x-` marks an extension only in a definition, not as a name:
        // compose reads `networks: {x-net: ...}` as a network named x-net.
        match de::from_node::<Option<T>>(&entry.value, sink) {
            Ok(v) => {
                out.insert(name, (entry.key_span, v.unwrap_or_default()));
            }
            Err(e) => diags.push(e.within(&name).into_diagnostic(entry.value.span)),
        }
    }
    out
}

/// The env files services name, read once per load however many services
/// name them (by canonical path), with the error of one that cannot be read.
type EnvTexts = std::collections::HashMap<PathBuf, Result<std::rc::Rc<str>, envfile::Error>>;

fn env_files(
    cx: &mut resolve::Context,
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

fn external(e: &Option<crate::model::Spanned<raw::External>>) -> (bool, Option<String>) {
    match e.as_ref().map(|e| &e.value) {
        Some(raw::External::Flag(b)) => (*b, None),
        Some(raw::External::Named { name }) => (true, Some(name.clone())),
        None => (false, None),
    }
}

/// Whether a network or volume is external, and the name the engine knows
/// it by: its `name`, else the external name, else the key (external) or
/// `<project>_<key>`.
fn engine_name(
    cx: &resolve::Context,
    key: &str,
    name: Option<&crate::model::Spanned<String>>,
    ext: &Option<crate::model::Spanned<raw::External>>,
) -> (bool, String) {
    let (is_external, ext_name) = external(ext);
    let name = name
        .map(|n| n.value.clone())
        .or(ext_name)
        .unwrap_or_else(|| {
            if is_external {
                key.to_string()
            } else {
                format!("{}_{key}", cx.project)
            }
        });
    (is_external, name)
}

fn network(cx: &mut resolve::Context, key: &str, span: Span, n: &raw::Network) -> Network {
    resolve::empty_names(cx, &n.labels, &format!("networks.{key}.labels"));
    let (is_external, name) = engine_name(cx, key, n.name.as_ref(), &n.external);
    // The engine creates a network of any other name (`a/b` too: measured
    // on 20.10), but never one of its own predefined ones. An external
    // network is not created, so `name: host` is how it is used.
    if !is_external && PREDEFINED_NETWORKS.contains(&name.as_str()) {
        let at = n.name.as_ref().map_or(span, |n| n.span);
        cx.diagnostics.push(
            Diagnostic::error(format!(
                "network `{key}` cannot be named `{name}`: that is one of the engine's predefined networks"
            ))
            .label(at, "predefined network")
            .help(format!(
                "the engine creates no network called {}; to use its `{name}` network, add `external: true`",
                PREDEFINED_NETWORKS.map(|n| format!("`{n}`")).join(", ")
            )),
        );
    }
    let ipam = n.ipam.as_ref().map_or_else(Ipam::default, |i| Ipam {
        driver: i.driver.clone(),
        config: i
            .config
            .iter()
            .flatten()
            .map(|p| IpamPool {
                subnet: p.subnet.clone(),
                gateway: p.gateway.clone(),
                ip_range: p.ip_range.clone(),
                aux_addresses: p.aux_addresses.clone().unwrap_or_default(),
            })
            .collect(),
        options: i
            .options
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
    });
    for pool in &ipam.config {
        for (what, v) in [("subnet", &pool.subnet), ("ip_range", &pool.ip_range)] {
            if let Some(v) = v
                && !is_cidr(v)
            {
                cx.diagnostics.push(
                    Diagnostic::error(format!("network `{key}`: {what} `{v}` is not a CIDR block"))
                        .label(span, "invalid ipam config")
                        .help("write a subnet like `172.28.0.0/16`"),
                );
            }
        }
    }
    Network {
        name,
        driver: n.driver.clone(),
        driver_opts: n
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        ipam,
        external: is_external,
        internal: n.internal.unwrap_or(false),
        attachable: n.attachable.unwrap_or(false),
        enable_ipv4: n.enable_ipv4,
        enable_ipv6: n.enable_ipv6,
        labels: label_map(&n.labels),
        span,
    }
}

/// Networks every engine has, which it refuses to create.
const PREDEFINED_NETWORKS: [&str; 4] = ["bridge", "host", "none", "default"];

/// The local volume driver's rule for names (moby's
/// `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`).
fn is_local_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn is_cidr(v: &str) -> bool {
    match v.split_once('/') {
        Some((ip, bits)) => {
            let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
                return false;
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            bits.parse::<u8>().is_ok_and(|b| b <= max)
        }
        None => false,
    }
}

fn label_map(l: &Option<raw::ListOrDict>) -> IndexMap<String, String> {
    match l {
        None => IndexMap::new(),
        Some(raw::ListOrDict::Dict(d)) => d
            .iter()
            .map(|(k, v)| {
                (
                    k.value.clone(),
                    v.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                )
            })
            .collect(),
        Some(raw::ListOrDict::List(items)) => items
            .iter()
            .map(|i| match i.value.0.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (i.value.0.clone(), String::new()),
            })
            .collect(),
    }
}

fn volume(cx: &mut resolve::Context, key: &str, span: Span, v: &raw::Volume) -> Volume {
    resolve::empty_names(cx, &v.labels, &format!("volumes.{key}.labels"));
    let (is_external, name) = engine_name(cx, key, v.name.as_ref(), &v.external);
    // The engine's local driver creates only volumes named like this
    // (`docker volume create a/b` fails); other drivers have rules of their
    // own. An external volume is not created: a name the local driver
    // refuses can only be a volume of another driver, which is its business.
    let local = v.driver.as_deref().is_none_or(|d| d == "local");
    if local && !is_external && !is_local_volume_name(&name) {
        let at = v.name.as_ref().map_or(span, |n| n.span);
        cx.diagnostics.push(
            Diagnostic::error(format!("invalid volume name `{name}` for volume `{key}`"))
                .label(at, "not a volume name the engine accepts")
                .help("the engine's local driver takes names of at least two characters, of letters, digits, `_`, `.` and `-`, that start with a letter or digit; a path is for a bind mount in the service's `volumes:`"),
        );
    }
    Volume {
        name,
        driver: v.driver.clone(),
        driver_opts: v
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        external: is_external,
        labels: label_map(&v.labels),
        span,
    }
}

fn file_object(
    cx: &mut resolve::Context,
    key: &str,
    span: Span,
    s: &raw::SecretOrConfig,
) -> FileObject {
    let (is_external, ext_name) = external(&s.external);
    let name = s.name.clone().or(ext_name).unwrap_or_else(|| {
        if is_external {
            key.to_string()
        } else {
            format!("{}_{key}", cx.project)
        }
    });
    if let Some(e) = &s.environment
        && !cx.env.contains_key(&e.value)
    {
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "`{key}` reads the variable `{}`, which is not set",
                e.value
            ))
            .label(e.span, "not set")
            .help("set it in the environment or in .env"),
        );
    }
    FileObject {
        name,
        file: s.file.as_ref().map(|f| cx.abs_path(&f.value)),
        environment: s.environment.as_ref().map(|e| e.value.clone()),
        content: s.content.clone(),
        external: is_external,
        labels: label_map(&s.labels),
        driver: s.driver.clone(),
        driver_opts: s
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        template_driver: s.template_driver.clone(),
        value: s
            .environment
            .as_ref()
            .and_then(|e| cx.env.get(&e.value).cloned()),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::{Dir, dir};

    fn opts(d: &Dir) -> Options {
        Options {
            cwd: d.0.clone(),
            ..Options::default()
        }
    }

    fn errors(r: Result<Loaded, Failed>) -> Vec<String> {
        match r {
            Ok(_) => vec![],
            Err(f) => f
                .diagnostics
                .into_iter()
                .filter(Diagnostic::is_error)
                .map(|d| d.message)
                .collect(),
        }
    }

    #[test]
    fn the_override_file_is_found_whatever_its_spelling() {
        let d = dir(&[
            ("compose.yaml", "services:\n  web: {image: a}\n"),
            (
                "docker-compose.override.yml",
                "services:\n  web: {image: b}\n",
            ),
        ]);
        let loaded = load(&opts(&d)).ok().unwrap();
        assert_eq!(loaded.stack.services["web"].image.as_deref(), Some("b"));
    }

    #[test]
    fn project_name_precedence() {
        let d = dir(&[
            (
                "compose.yaml",
                "name: From_File\nservices:\n  web: {image: a}\n",
            ),
            (".env", "COMPOSE_PROJECT_NAME=from-dotenv\n"),
        ]);
        let mut o = opts(&d);
        assert_eq!(load(&o).ok().unwrap().stack.name, "from-dotenv");
        o.project_name = Some("cli".into());
        assert_eq!(load(&o).ok().unwrap().stack.name, "cli");
        std::fs::remove_file(d.0.join(".env")).unwrap();
        o.project_name = None;
        assert_eq!(load(&o).ok().unwrap().stack.name, "from_file");
    }

    #[test]
    fn a_project_name_given_must_already_be_normal() {
        let d = dir(&[("compose.yaml", "services:\n  web: {image: a}\n")]);
        let mut o = opts(&d);
        o.project_name = Some("My_App".into());
        assert_eq!(
            errors(load(&o)),
            ["invalid project name `My_App` (from -p)"]
        );
        o.project_name = None;
        o.environ
            .insert("COMPOSE_PROJECT_NAME".into(), "a.b".into());
        assert_eq!(
            errors(load(&o)),
            ["invalid project name `a.b` (from COMPOSE_PROJECT_NAME)"]
        );
    }

    #[test]
    fn needing_a_service_left_out_by_its_profiles_is_an_error() {
        let d = dir(&[(
            "compose.yaml",
            "services:\n  web: {image: a, depends_on: [db], links: [cache]}\n  db: {image: d, profiles: [backend]}\n  cache: {image: c, profiles: [backend]}\n  opt: {image: o, depends_on: {db: {condition: service_started, required: false}}}\n",
        )]);
        assert_eq!(
            errors(load(&opts(&d))),
            [
                "service `web` needs `db`, which is not enabled",
                "service `web` needs `cache`, which is not enabled"
            ]
        );
        let mut o = opts(&d);
        o.profiles = vec!["backend".into()];
        assert!(errors(load(&o)).is_empty());
    }

    #[test]
    fn input_files_that_are_not_regular_text_are_refused_by_name() {
        let d = dir(&[
            (
                "compose.yaml",
                "include: [/proc/self/environ]\nservices:\n  web: {image: a}\n",
            ),
            ("bad.env", "A=1\nB C\n"),
        ]);
        let mut o = opts(&d);
        o.env_files = vec![d.0.join("bad.env")];
        let e = errors(load(&o));
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("bad.env:2:2"), "{}", e[0]);
        assert!(
            e[1].contains("/proc/self/environ`: it is a kernel pseudo-file"),
            "{}",
            e[1]
        );
        // Service env files are read once the files load.
        let d = dir(&[(
            "compose.yaml",
            "services:\n  web: {image: a, env_file: /dev/zero}\n",
        )]);
        assert_eq!(
            errors(load(&opts(&d))),
            ["cannot read env file `/dev/zero`: it is not a regular file but a character device"]
        );
    }

    /// A directory, a FIFO, a socket and a symbolic-link loop, in `d`.
    fn special_files(d: &Path) -> std::os::unix::net::UnixListener {
        std::fs::create_dir(d.join("dir")).unwrap();
        let fifo = std::ffi::CString::new(d.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink("loop2", d.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", d.join("loop2")).unwrap();
        std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap()
    }

    #[test]
    fn a_named_file_that_is_not_regular_is_refused_saying_what_it_is() {
        let d = dir(&[]);
        let _socket = special_files(&d.0);
        let what = [
            ("dir", "a directory"),
            ("fifo", "a FIFO (named pipe)"),
            ("sock", "a socket"),
            ("loop1", "a symbolic-link loop"),
        ];
        for (name, is) in what {
            let stack = format!(
                "include:\n  - {name}\n  - path: [{name}]\nservices:\n  a: {{image: x, env_file: {name}}}\n  b: {{image: x, env_file: [{{path: {name}, required: false}}]}}\n  c: {{extends: {{file: {name}, service: a}}}}\n"
            );
            std::fs::write(d.0.join("compose.yaml"), stack).unwrap();
            let env = format!("cannot read env file `{name}`: it is not a regular file but {is}");
            assert_eq!(
                errors(load(&opts(&d))),
                [
                    format!("included file `{name}` is {is}, not a regular file"),
                    format!("included file `{name}` is {is}, not a regular file"),
                    format!("file `{name}` named in `extends` is {is}, not a regular file"),
                ],
                "{name}"
            );
            // Service env files are read once the includes and extends load.
            let stack = format!(
                "services:\n  a: {{image: x, env_file: {name}}}\n  b: {{image: x, env_file: [{{path: {name}, required: false}}]}}\n"
            );
            std::fs::write(d.0.join("compose.yaml"), stack).unwrap();
            assert_eq!(errors(load(&opts(&d))), [env.clone(), env], "{name}");
            let mut o = opts(&d);
            o.files = vec![d.0.join(name)];
            assert_eq!(
                errors(load(&o)),
                [format!(
                    "cannot read stack file `{name}`: it is not a regular file but {is}"
                )],
                "{name}"
            );
        }
    }

    #[test]
    fn a_dot_env_that_is_not_regular_is_refused_as_an_env_file_option_is() {
        let d = dir(&[("compose.yaml", "services:\n  a: {image: x}\n")]);
        let _socket = special_files(&d.0);
        for (name, is) in [
            ("fifo", "a FIFO (named pipe)"),
            ("sock", "a socket"),
            ("loop1", "a symbolic-link loop"),
        ] {
            let _ = std::fs::remove_file(d.0.join(".env"));
            std::os::unix::fs::symlink(name, d.0.join(".env")).unwrap();
            assert_eq!(
                errors(load(&opts(&d))),
                [format!(
                    "cannot read env file `.env` (from the working directory): it is not a regular file but {is}"
                )],
                "{name}"
            );
            let mut o = opts(&d);
            o.env_files = vec![d.0.join(name)];
            assert_eq!(
                errors(load(&o)),
                [format!(
                    "cannot read env file `{name}` (from --env-file): it is not a regular file but {is}"
                )],
                "{name}"
            );
        }
        // A stack file found by its name is refused in the same words.
        std::os::unix::fs::symlink("fifo", d.0.join("compose.yml")).unwrap();
        std::fs::remove_file(d.0.join("compose.yaml")).unwrap();
        let _ = std::fs::remove_file(d.0.join(".env"));
        assert_eq!(
            errors(load(&opts(&d))),
            [
                "cannot read stack file `compose.yml`: it is not a regular file but a FIFO (named pipe)"
            ]
        );
        std::fs::remove_file(d.0.join("compose.yml")).unwrap();
        std::fs::write(d.0.join("compose.yaml"), "services:\n  a: {image: x}\n").unwrap();
        // A directory called `.env` is skipped, as compose skips it: it is
        // often a Python virtual environment.
        std::fs::create_dir(d.0.join(".env")).unwrap();
        assert!(load(&opts(&d)).is_ok());
    }

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

    #[test]
    fn files_are_found_in_a_parent_and_both_env_files_read() {
        let d = dir(&[
            (
                "compose.yaml",
                "services:\n  web: {image: \"${T}-${U}\", volumes: ['./d:/d']}\n",
            ),
            (".env", "T=parent\nU=parent\n"),
            ("sub/.env", "T=sub\n"),
        ]);
        let o = Options {
            cwd: d.0.join("sub"),
            ..Options::default()
        };
        let loaded = load(&o).ok().unwrap();
        assert_eq!(loaded.project_dir, d.0);
        let web = &loaded.stack.services["web"];
        assert_eq!(web.image.as_deref(), Some("sub-parent"));
    }

    #[test]
    fn extends_sees_only_its_own_file() {
        let d = dir(&[
            ("compose.yaml", "services:\n  base: {image: a}\n"),
            ("over.yaml", "services:\n  web: {extends: base}\n"),
        ]);
        let mut o = opts(&d);
        o.files = vec!["compose.yaml".into(), "over.yaml".into()];
        assert_eq!(
            errors(load(&o)),
            ["service `base` named in `extends` is not defined in over.yaml"]
        );
    }
}
