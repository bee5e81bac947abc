//! `include`: other stack files loaded as parts of this one.
//!
//! Each entry (`- path.yaml`, or `- path: [a.yaml, b.yaml]` with
//! `project_directory` and `env_file`) is loaded as a stack of its own, as
//! compose does: its files are merged, its `extends` and nested `include`s
//! resolved, its variables interpolated from the environment plus its own env
//! files (`.env` in its project directory when it names none), and its relative
//! paths made relative to its project directory (the first file's directory by
//! default). Its services, networks, volumes, secrets and configs are then added
//! to the including file. A resource defined both there and in the included
//! stack is an error unless both definitions are the same; an include cycle is
//! an error.
//!
//! Includes nest at most [`MAX_DEPTH`] levels, and a stack included again
//! (the same files, project directory and variables, by whatever path) is
//! loaded once per run and reused: files that each include the next twice
//! would otherwise be loaded a number of times exponential in their count.
//! Each copy of an included stack (the one imported, the one kept for reuse)
//! is charged to the load's [`crate::load::budget`] before it is made.
//!
//! Its paths are made absolute by [`crate::load::paths::rebase`], which
//! `extends` uses too for a base service from another file. Its files are
//! loaded by the loader's stage for a list of files, which hands itself in
//! ([`LoadFiles`]): `include` is one step of that stage and does not import
//! it back.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::paths::{canonical, clean_path, rebase};
use crate::load::reader::Reader;
use crate::load::yaml::{Entry, Map, Node, Value};

const SECTIONS: &[&str] = &["services", "volumes", "networks", "secrets", "configs"];

/// How deep includes may nest, the top file being level 1. Real stacks use
/// two or three; a symlink loop would otherwise nest until memory runs out.
pub(crate) const MAX_DEPTH: usize = 64;

/// How an included stack's files are loaded into one tree: the loader's
/// stage for a list of files (`load::load_model`: reader, extends, include,
/// merge), handed in by that stage so that `include`, one of its steps, does
/// not import it back. Its arguments are those of [`apply`], with the
/// included files first.
pub(crate) type LoadFiles =
    fn(&mut Reader, &[PathBuf], &Path, &IndexMap<String, String>, &[PathBuf]) -> Node;

/// Loads the `include` entries of `tree` (relative paths starting at
/// `work_dir`) into it, each stack with `load_files`. `chain` holds the files
/// including this one, itself last.
pub(crate) fn apply(
    reader: &mut Reader,
    tree: &mut Node,
    work_dir: &Path,
    env: &IndexMap<String, String>,
    chain: &[PathBuf],
    load_files: LoadFiles,
) {
    let Some(include) = tree
        .as_map_mut()
        .and_then(|m| m.shift_remove("include"))
        .map(|e| e.value)
    else {
        return;
    };
    if include.is_null() {
        return;
    }
    let Some(items) = include.as_seq() else {
        reader.diags.push(
            Diagnostic::error("`include` must be a list")
                .label(include.span, format!("found {}", include.kind()))
                .help("write `include:` followed by `- path/to/file.yaml` lines"),
        );
        return;
    };
    for item in items {
        let Some(entry) = parse_entry(reader, item) else {
            continue;
        };
        let abs = |p: &str| PathBuf::from(clean_path(&work_dir.join(p)));
        let mut files = Vec::new();
        for p in &entry.paths {
            let path = abs(p);
            match crate::load::input::probe(&path) {
                Ok(()) => files.push(path),
                Err(e) => reader.diags.push(crate::load::reader::named_file_error(
                    &format!("included file `{p}`"),
                    &e,
                    item.span,
                    "fix the path; it is relative to the project directory",
                )),
            }
        }
        if files.len() != entry.paths.len() {
            continue;
        }
        if let Some(start) = chain.iter().position(|f| *f == files[0]) {
            let names: Vec<String> = chain[start..]
                .iter()
                .chain([&files[0]])
                .map(|f| shown(f, reader.cwd))
                .collect();
            reader.diags.push(
                Diagnostic::error(format!("include cycle: {}", names.join(" -> ")))
                    .label(item.span, "included again here")
                    .help("a file cannot include itself, directly or through other files"),
            );
            continue;
        }
        if chain.len() >= MAX_DEPTH {
            reader.diags.push(
                Diagnostic::error(format!(
                    "`include` nests more than {MAX_DEPTH} levels deep: {} is included at level {}",
                    shown(&files[0], reader.cwd),
                    chain.len() + 1
                ))
                .label(item.span, format!("level {}", chain.len() + 1))
                .help(format!(
                    "at most {MAX_DEPTH} files may include each other in a chain; include the files from fewer levels"
                )),
            );
            continue;
        }
        let project_dir = match &entry.project_directory {
            Some(d) => abs(d),
            None => files[0].parent().unwrap_or(Path::new("/")).to_path_buf(),
        };

        // The included stack's variables: the environment it is loaded in,
        // then its env files, which never override what is already set.
        let env_files: Vec<PathBuf> = if entry.env_files.is_empty() {
            crate::load::env_files::dot_env(&project_dir)
                .into_iter()
                .collect()
        } else {
            entry.env_files.iter().map(|f| abs(f)).collect()
        };
        let mut inc_env = env.clone();
        let mut vars = IndexMap::new();
        let outer = |k: &str| env.get(k).cloned();
        for f in &env_files {
            let read = crate::load::env_files::read_env_file(f, &mut vars, &outer, reader.budget);
            if let Ok(unset) = &read {
                let shown = shown(f, reader.cwd);
                for u in unset {
                    let d = crate::load::env_files::env_file_unset(&shown, u)
                        .label(item.span, "included here");
                    reader.diags.push(d);
                }
            }
            if let Err(e) = read {
                reader.diags.push(
                    Diagnostic::error(format!(
                        "cannot read env file `{}` of an included stack: {e}",
                        e.located(&shown(f, reader.cwd))
                    ))
                    .label(item.span, "included here")
                    .help("check that the file exists and holds KEY=VALUE lines"),
                );
            }
        }
        for (k, v) in vars {
            inc_env.entry(k).or_insert(v);
        }

        let key = (
            files.iter().map(|f| canonical(f)).collect::<Vec<_>>(),
            canonical(&project_dir),
        );
        let cached = reader
            .parsed
            .includes
            .models
            .get(&key)
            .and_then(|v| v.iter().find(|(e, _)| *e == inc_env))
            .map(|(_, m)| m);
        // Each include imports a copy of the stack it loads (one more is
        // kept for reuse): charged before it is made.
        let charge = |reader: &Reader, model: &Node| {
            let size = crate::load::budget::tree_size(model);
            reader.budget.charge(size, item.span, || {
                format!(
                    "this `include` copies {} nodes ({}) of the stack it loads",
                    crate::load::budget::thousands(size.nodes),
                    crate::load::budget::mib(size.bytes)
                )
            })
        };
        let model = match cached {
            Some(model) if !charge(reader, model) => return,
            Some(model) => model.clone(),
            None => {
                reader.parsed.includes.loads += 1;
                let outer = reader.parsed.included_at.replace(item.span);
                let mut model = load_files(reader, &files, &project_dir, &inc_env, chain);
                reader.parsed.included_at = outer;
                if reader.budget.is_spent() || !charge(reader, &model) {
                    return;
                }
                rebase(&mut model, &project_dir, true);
                resolve_environment(&mut model, &inc_env);
                let seen = reader.parsed.includes.models.entry(key).or_default();
                seen.push((inc_env, model.clone()));
                model
            }
        };
        import(reader, tree, model, item);
    }
}

struct IncludeEntry {
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Vec<String>,
}

fn parse_entry(reader: &mut Reader, item: &Node) -> Option<IncludeEntry> {
    let strings = |n: Option<&Node>| -> Vec<String> {
        match n.map(|n| &n.value) {
            Some(Value::Scalar(s)) => vec![s.text.clone()],
            Some(Value::Seq(v)) => v
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        }
    };
    let entry = match &item.value {
        Value::Scalar(s) => IncludeEntry {
            paths: vec![s.text.clone()],
            project_directory: None,
            env_files: vec![],
        },
        Value::Map(_) => IncludeEntry {
            paths: strings(item.get("path")),
            project_directory: item
                .get("project_directory")
                .and_then(Node::as_str)
                .map(str::to_string),
            env_files: strings(item.get("env_file")),
        },
        _ => IncludeEntry {
            paths: vec![],
            project_directory: None,
            env_files: vec![],
        },
    };
    if entry.paths.is_empty() {
        reader.diags.push(
            Diagnostic::error("an `include` entry needs a path")
                .label(item.span, "no path")
                .help("write `- path/to/file.yaml` or `- path: path/to/file.yaml`"),
        );
        return None;
    }
    Some(entry)
}

fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

/// Adds the resources of an included stack to `tree`.
fn import(reader: &mut Reader, tree: &mut Node, model: Node, item: &Node) {
    let Value::Map(mut model) = model.value else {
        return;
    };
    let Some(root) = tree.as_map_mut() else {
        return;
    };
    // compose checks an included file's top level like any other file's;
    // the keys not merged below would otherwise vanish without a word.
    for (key, entry) in &model {
        let known =
            crate::load::sections::TOP_LEVEL.contains(&key.as_str()) || key.starts_with("x-");
        if !known {
            reader.diags.push(crate::load::de::unknown_key(
                key,
                entry.key_span,
                crate::load::sections::TOP_LEVEL,
            ));
        }
    }
    for section in SECTIONS {
        let Some(theirs) = model.shift_remove(*section) else {
            continue;
        };
        // Shared with the including file's own sections: a section that is
        // not a mapping (`services: [web]`) is an error, not nothing.
        let theirs = crate::load::sections::section_map(Some(theirs.value), section, reader.diags);
        if theirs.is_empty() {
            continue;
        }
        let ours = root.entry(section.to_string()).or_insert_with(|| Entry {
            key_span: item.span,
            value: Node::new(Value::Map(Map::new()), item.span),
        });
        if ours.value.is_null() {
            ours.value = Node::new(Value::Map(Map::new()), item.span);
        }
        let Some(ours) = ours.value.as_map_mut() else {
            continue;
        };
        for (name, entry) in theirs {
            match ours.get(&name) {
                Some(existing) if same(&existing.value, &entry.value) => {}
                Some(existing) => {
                    reader.diags.push(
                        Diagnostic::error(format!(
                            "{} `{name}` is defined both here and in an included file",
                            &section[..section.len() - 1]
                        ))
                        .label(existing.key_span, format!("`{name}` defined here"))
                        .label(
                            entry.key_span,
                            format!("`{name}` also defined in the included file"),
                        )
                        .help("rename one of them, or drop the include; an included stack cannot be changed by the file that includes it"),
                    );
                }
                None => {
                    ours.insert(name, entry);
                }
            }
        }
    }
}

/// Whether two trees hold the same values, wherever they were written.
/// Iterative: nesting is as deep as the file makes it.
fn same(a: &Node, b: &Node) -> bool {
    let mut todo = vec![(a, b)];
    while let Some((a, b)) = todo.pop() {
        match (&a.value, &b.value) {
            (Value::Null, Value::Null) => {}
            (Value::Scalar(x), Value::Scalar(y)) if x.text == y.text => {}
            (Value::Seq(x), Value::Seq(y)) if x.len() == y.len() => todo.extend(x.iter().zip(y)),
            (Value::Map(x), Value::Map(y)) if x.len() == y.len() => {
                for (k, e) in x {
                    match y.get(k) {
                        Some(f) => todo.push((&e.value, &f.value)),
                        None => return false,
                    }
                }
            }
            _ => return false,
        }
    }
    true
}

/// compose resolves `environment` entries given without a value (`- KEY`)
/// from the variables the included stack was loaded with.
fn resolve_environment(model: &mut Node, env: &IndexMap<String, String>) {
    let Some(services) = model
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(|e| e.value.as_map_mut())
    else {
        return;
    };
    for svc in services.values_mut() {
        let Some(e) = svc
            .value
            .as_map_mut()
            .and_then(|m| m.get_mut("environment"))
        else {
            continue;
        };
        match &mut e.value.value {
            Value::Seq(items) => {
                for item in items {
                    if let Value::Scalar(s) = &mut item.value
                        && !s.text.contains('=')
                        && let Some(v) = env.get(&s.text)
                    {
                        s.text = format!("{}={v}", s.text);
                        s.plain = false;
                    }
                }
            }
            Value::Map(m) => {
                for (k, entry) in m.iter_mut() {
                    if entry.value.is_null()
                        && let Some(v) = env.get(k)
                    {
                        entry.value = Node::str(v.clone(), entry.value.span);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::load::yaml::parse;
    use crate::source::{FileId, Sources};

    use crate::testutil::{Dir, dir};

    fn load(d: &Dir) -> (Node, Vec<Diagnostic>) {
        let (tree, diags, _) = load_counting(d);
        (tree, diags)
    }

    /// Loads `compose.yaml`, with how many files were read from disk and how
    /// many included stacks were loaded.
    fn load_counting(d: &Dir) -> (Node, Vec<Diagnostic>, (usize, usize)) {
        let mut sources = Sources::default();
        let mut diags = Diagnostics::default();
        let mut reader = Reader {
            cwd: &d.0,
            sources: &mut sources,
            diags: &mut diags,
            budget: &crate::load::budget::Budget::default(),
            parsed: Default::default(),
        };
        let tree = crate::load::load_model(
            &mut reader,
            &[d.0.join("compose.yaml")],
            &d.0,
            &IndexMap::new(),
            &[],
        );
        let counts = (reader.parsed.reads, reader.parsed.includes.loads);
        (tree, diags.items, counts)
    }

    #[test]
    fn a_file_included_twice_in_each_of_25_levels_is_read_and_loaded_once() {
        // Each file includes the next by two spellings: without reuse that
        // is 2^25 loads.
        let mut files: Vec<(String, String)> = (1..25)
            .map(|i| {
                let mut text = format!("services:\n  s{i}: {{image: a}}\n");
                if i < 24 {
                    let next = i + 1;
                    text = format!("include:\n  - f{next}.yaml\n  - sub/../f{next}.yaml\n{text}");
                }
                (format!("f{i}.yaml"), text)
            })
            .collect();
        files.push((
            "compose.yaml".into(),
            "include: [f1.yaml, ./f1.yaml]\nservices:\n  s0: {image: a}\n".into(),
        ));
        files.push(("sub/keep".into(), String::new()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let d = dir(&refs);
        let (tree, diags, (reads, loads)) = load_counting(&d);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(tree.get("services").unwrap().as_map().unwrap().len(), 25);
        assert_eq!((reads, loads), (25, 24));
    }

    #[test]
    fn includes_nest_at_most_64_levels() {
        let files: Vec<(String, String)> = (0..100)
            .map(|i| {
                let name = if i == 0 {
                    "compose.yaml".to_string()
                } else {
                    format!("f{i}.yaml")
                };
                (name, format!("include: [f{}.yaml]\n", i + 1))
            })
            .chain([("f100.yaml".to_string(), "services: {}\n".to_string())])
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let d = dir(&refs);
        let (_, diags, (reads, _)) = load_counting(&d);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "`include` nests more than 64 levels deep: f64.yaml is included at level 65"
        );
        assert_eq!(reads, 64);
    }

    #[test]
    fn a_resource_defined_twice_is_an_error() {
        let d = dir(&[
            (
                "compose.yaml",
                "include: [sub/compose.yaml]\nservices:\n  web: {image: a}\n",
            ),
            ("sub/compose.yaml", "services:\n  web: {image: b}\n"),
        ]);
        let (_, diags) = load(&d);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "service `web` is defined both here and in an included file"
        );
    }

    #[test]
    fn the_same_definition_twice_is_not_a_conflict() {
        let d = dir(&[
            (
                "compose.yaml",
                "include: [sub/compose.yaml]\nservices:\n  web: {image: a, volumes: [data:/d]}\nvolumes:\n  data: {}\n",
            ),
            (
                "sub/compose.yaml",
                "services:\n  api: {image: b, volumes: [data:/d]}\nvolumes:\n  data: {}\n",
            ),
        ]);
        let (tree, diags) = load(&d);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(tree.at(&["services", "api"]).is_some());
    }

    #[test]
    fn an_include_cycle_is_an_error() {
        let d = dir(&[
            ("compose.yaml", "include: [a.yaml]\nservices: {}\n"),
            ("a.yaml", "include: [compose.yaml]\nservices: {}\n"),
        ]);
        let (_, diags) = load(&d);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "include cycle: compose.yaml -> a.yaml -> compose.yaml"
        );
    }

    #[test]
    fn relative_paths_start_at_the_included_project_directory() {
        let d = dir(&[
            (
                "compose.yaml",
                "include:\n  - path: sub/c.yaml\n    project_directory: other\n",
            ),
            (
                "sub/c.yaml",
                "services:\n  web:\n    build: {}\n    volumes: ['./data:/data:ro']\n",
            ),
        ]);
        let (tree, diags) = load(&d);
        assert!(diags.is_empty(), "{diags:?}");
        let other = clean_path(&d.0.join("other"));
        let web = tree.at(&["services", "web"]).unwrap();
        assert_eq!(
            web.at(&["build", "context"]).unwrap().as_str(),
            Some(other.as_str())
        );
        assert_eq!(
            web.at(&["volumes", "0"]).unwrap().as_str().unwrap(),
            format!("{other}/data:/data:ro")
        );
    }

    #[test]
    fn rebase_leaves_names_urls_and_absolute_paths() {
        let mut t = parse(
            FileId(0),
            "services:\n  a:\n    build: https://x/y.git\n    volumes: [data:/d, /abs:/abs, '~/h:/h']\nsecrets:\n  s: {file: s.txt}\n",
        )
        .unwrap()
        .unwrap();
        rebase(&mut t, Path::new("/p"), false);
        let a = t.at(&["services", "a"]).unwrap();
        assert_eq!(a.get("build").unwrap().as_str(), Some("https://x/y.git"));
        let vols: Vec<&str> = a
            .get("volumes")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(vols, ["data:/d", "/abs:/abs", "~/h:/h"]);
        assert_eq!(
            t.at(&["secrets", "s", "file"]).unwrap().as_str(),
            Some("/p/s.txt")
        );
    }
}
