//! Stack files to a validated [`Stack`]: the first stage of the pipeline.
//!
//! [`load`] runs the stages in compose's order; this module holds that order
//! and little else. First the environment: the process's, then the project's
//! env files (`env_files`). Then which stack (`project`): its files (`-f`,
//! `COMPOSE_FILE`, or the default names with their override file) and its
//! project name. Then, file by file as compose does (`load_model`): read, parse
//! ([`yaml`]) and interpolate ([`interpolate`]) it (`reader`), resolve its
//! `extends` ([`extends`]) and `include`s ([`include`](mod@include)), merge it
//! over the files before it ([`merge`]). Last, the one merged tree is typed
//! ([`de`] into `model::raw`), profiles applied, and everything resolved and
//! validated ([`resolve`]).
//!
//! Every stage reports into one list of diagnostics; loading goes as far as
//! it can so that all errors are shown at once, except past the [`budget`]
//! on what the files expand into, which every stage charges and which ends
//! the load. Files are read only through [`input`]; paths (how a file is
//! known and shown, how a relative path is made absolute) are [`paths`]'s
//! and the top-level keys are `sections`', for every stage. It stops at the
//! validated model: dependency order is `crate::graph`'s, and the content of
//! a secret or config is read only when a target needs it ([`objects`]).

pub mod budget;
pub mod de;
mod env_files;
pub mod envfile;
pub mod extends;
pub mod include;
pub mod input;
pub mod interpolate;
pub mod merge;
pub mod objects;
pub mod paths;
mod project;
mod reader;
pub mod resolve;
mod sections;
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
use crate::model::stack::Stack;
use crate::source::{Sources, Span};
use budget::Budget;
use env_files::{add_env_files, dot_env};
use paths::clean;
pub use project::normalize_project_name;
use reader::{Parsed, Reader};
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

/// Loads the stack `opts` names, running the stages in order (see the module
/// documentation); every diagnostic found is in the result either way.
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

    let files = match project::find_files(&opts.files, &opts.cwd, &work_dir, &env, &mut diags) {
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
    let project = match project::project_name(
        opts.project_name.as_ref(),
        &env,
        &names,
        &project_dir,
        &reader,
    ) {
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
    let stack = resolve::stack(
        root,
        &opts.profiles,
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

/// compose's loading of a list of files into one tree, each file in turn:
/// interpolate it, resolve its `extends` (which see only that file and the
/// files they name), load its `include`s, merge it over the files before it.
/// An included stack is loaded by this function too: `include` is handed it
/// ([`include::LoadFiles`]) rather than importing the stage that calls it.
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
            include::apply(reader, &mut tree, work_dir, env, &inner, load_model);
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::{Dir, dir};

    /// Options for loading the stack in `d`, with an empty environment. The
    /// tests of the stages below, which load whole stacks, use it too.
    pub(super) fn opts(d: &Dir) -> Options {
        Options {
            cwd: d.0.clone(),
            ..Options::default()
        }
    }

    /// The messages of the errors a load found; none when it loaded.
    pub(super) fn errors(r: Result<Loaded, Failed>) -> Vec<String> {
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
