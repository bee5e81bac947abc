//! The layers the folders promise, checked: a module below the plan never
//! imports what sits above it.
//!
//! ```text
//! model  <-  load, spec  <-  engine, observe, releases  <-  plan, preflight  <-  apply, converge, watch, output, cli
//! ```
//!
//! And no two modules import each other, directly or round a circle: at
//! every level of the tree, the imports among sibling modules form no
//! cycle (a child may use its parent's items; that is no circle).
//!
//! `edge`, the forwarder a start-first service's edge container runs, stands
//! under all of them: it imports none of the lower modules either.
//!
//! `model` is the stack as data; `load` makes it from files and `spec` maps
//! it to what the engine is sent, and neither knows the other; `engine` (the
//! adapter over bollard) and `observe` read the engine, and `releases` keeps
//! its records there (through `engine`, knowing no snapshot); the plan and the
//! layers above it decide. Tests that read the sources (not a tool that
//! runs in CI separately) keep this true from now on: an import that
//! crosses a layer upwards, or closes a circle, fails them, naming the
//! files and the lines.
//!
//! Test-only code (a `#[cfg(test)] mod` and the files it names) may reach
//! up: the engine's live tests drive the whole pipeline.

use std::path::{Path, PathBuf};

/// The plan and everything above it: no lower module imports these.
const ABOVE_PLAN: &[&str] = &[
    "plan",
    "preflight",
    "apply",
    "converge",
    "watch",
    "output",
    "cli",
];

/// Each lower module, and the lower modules it must not import either.
const RULES: &[(&str, &[&str])] = &[
    ("model", &["load", "spec", "engine", "observe", "releases"]),
    ("spec", &["load", "engine", "observe", "releases"]),
    ("load", &["spec", "engine", "observe", "releases"]),
    ("engine", &["releases"]),
    ("observe", &["releases"]),
    ("releases", &["observe"]),
    // The forwarder runs alone in its container: it stands on nothing of
    // berth's.
    (
        "edge",
        &["model", "load", "spec", "engine", "observe", "releases"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The files of module `name`: `src/name.rs` and everything under `src/name/`.
fn files_of(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src().join(format!("{name}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut dirs = vec![src().join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The directory that holds the submodules a file declares.
fn module_dir(file: &Path) -> PathBuf {
    let stem = file.file_stem().unwrap_or_default();
    let parent = file.parent().unwrap_or(Path::new(""));
    if stem == "mod" || stem == "lib" {
        parent.to_path_buf()
    } else {
        parent.join(stem)
    }
}

/// Files that only tests compile: those a `#[cfg(test)] mod x;` names, and
/// everything below them.
fn test_only(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] != "#[cfg(test)]" {
                continue;
            }
            let decl = pair[1]
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ");
            if let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) {
                let dir = module_dir(f);
                out.push(dir.join(format!("{name}.rs")));
                out.push(dir.join(name));
            }
        }
    }
    out
}

/// The lines of `text` that compile outside tests, without comments: the
/// file up to its `#[cfg(test)] mod tests {` block, if any.
fn shipped_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut prev = "";
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if prev == "#[cfg(test)]" && t.starts_with("mod ") && t.ends_with('{') {
            break;
        }
        prev = t;
        if !t.starts_with("//") {
            out.push((i + 1, line));
        }
    }
    out
}

/// Whether `line` names module `m` of the crate: `crate::m::`, `crate::m;`,
/// `crate::m}` or `crate::{..., m, ...}`-style uses of `crate::m`.
fn names_module(line: &str, m: &str) -> bool {
    let needle = format!("crate::{m}");
    line.match_indices(&needle).any(|(i, _)| {
        let after = line[i + needle.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn no_module_below_the_plan_imports_a_layer_above_it() {
    let all: Vec<PathBuf> = RULES.iter().flat_map(|(m, _)| files_of(m)).collect();
    assert!(
        all.len() > 40,
        "the sources were not found under {:?}",
        src()
    );
    let skipped = test_only(&all);
    let mut found = Vec::new();
    for (module, forbidden) in RULES {
        for file in files_of(module) {
            if skipped.iter().any(|s| file.starts_with(s)) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in shipped_lines(&text) {
                for m in forbidden.iter().chain(ABOVE_PLAN) {
                    if names_module(line, m) {
                        found.push(format!(
                            "{}:{n}: `{module}` reaches up to `{m}`: {}",
                            file.strip_prefix(src()).unwrap_or(&file).display(),
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_sees_an_import_and_passes_over_comments_and_tests() {
    assert!(names_module("use crate::plan::PlanError;", "plan"));
    assert!(names_module("x: crate::plan::Plan", "plan"));
    assert!(!names_module("use crate::planner;", "plan"));
    let text =
        "use a;\n// crate::plan\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::plan;\n}\n";
    let shipped: Vec<&str> = shipped_lines(text).into_iter().map(|(_, l)| l).collect();
    assert_eq!(shipped, ["use a;", "fn f() {}", "#[cfg(test)]"]);
}

/// A module's path in the crate: `src/a/b.rs` and `src/a/b/mod.rs` are
/// `["a", "b"]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The module paths `line` refers to (`crate::a::b`, `super::c`,
/// `crate::{a, b::c}`), as written, from a file of module `me`.
fn references(line: &str, me: &[String]) -> Vec<Vec<String>> {
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|seg| {
                seg.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|seg| !seg.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        if i > 0 && line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            out.extend(inner.split(',').map(|item| ident(item.trim())));
        } else {
            out.push(ident(rest));
        }
    }
    // `super::` is relative to the module that holds this one.
    let mut at = line;
    while let Some(i) = at.find("super::") {
        let before = &line[..line.len() - at.len() + i];
        at = &at[i..];
        if before.ends_with("super::")
            || before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            at = &at["super::".len()..];
            continue;
        }
        let mut base: Vec<String> = me.to_vec();
        while let Some(rest) = at.strip_prefix("super::") {
            base.pop();
            at = rest;
        }
        base.extend(ident(at));
        out.push(base);
    }
    out.retain(|p| !p.is_empty());
    out
}

#[test]
fn no_modules_import_each_other_round_a_circle() {
    use std::collections::BTreeSet;
    let mut files = Vec::new();
    let mut dirs = vec![src()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let skipped = test_only(&files);
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| !skipped.iter().any(|s| f.starts_with(s)))
        .filter(|f| !matches!(module_path(f).as_slice(), [m] if m == "lib" || m == "main"))
        .collect();
    assert!(
        files.len() > 80,
        "the sources were not found under {:?}",
        src()
    );
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(f)).collect();
    // The module a path names: its longest prefix that is a module.
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains(p))
    };
    // Edges between siblings: (parent, from child, to child) -> where.
    let mut edges = Edges::new();
    for file in &files {
        let me = module_path(file);
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in shipped_lines(&text) {
            for path in references(line, &me) {
                let Some(to) = resolve(&path) else { continue };
                let common = me.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == me.len() || common == to.len() {
                    continue; // a module and its ancestor or descendant
                }
                let parent = me[..common].to_vec();
                let at = format!(
                    "{}:{n}: {}",
                    file.strip_prefix(src()).unwrap_or(file).display(),
                    line.trim()
                );
                edges
                    .entry((parent, me[common].clone(), to[common].clone()))
                    .or_insert(at);
            }
        }
    }
    let found = circles(&edges);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Imports between sibling modules: (parent, from child, to child) -> the
/// line that imports.
type Edges = std::collections::BTreeMap<(Vec<String>, String, String), String>;

/// Every circle among the children of one parent, each once, with one
/// import per edge: a depth-first search from each child.
fn circles(edges: &Edges) -> Vec<String> {
    use std::collections::BTreeSet;
    let mut found = Vec::new();
    let parents: BTreeSet<&Vec<String>> = edges.keys().map(|(p, _, _)| p).collect();
    for parent in parents {
        let next = |from: &str| -> Vec<&str> {
            edges
                .keys()
                .filter(|(p, a, _)| p == parent && a == from)
                .map(|(_, _, b)| b.as_str())
                .collect()
        };
        let kids: BTreeSet<&str> = edges
            .keys()
            .filter(|(p, _, _)| p == parent)
            .map(|(_, a, _)| a.as_str())
            .collect();
        let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
        for start in kids {
            // Paths from `start`, kept short: a circle is found from any of
            // its members.
            let mut stack: Vec<Vec<&str>> = vec![vec![start]];
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = *path.last().unwrap();
                for n in next(last) {
                    if n == start {
                        let members: BTreeSet<String> =
                            path.iter().map(|s| s.to_string()).collect();
                        if reported.insert(members) {
                            let mut text = format!("a circle under `{}`:", parent.join("::"));
                            let mut ring = path.clone();
                            ring.push(start);
                            for pair in ring.windows(2) {
                                let key =
                                    (parent.clone(), pair[0].to_string(), pair[1].to_string());
                                text.push_str(&format!(
                                    "\n  {} -> {}  ({})",
                                    pair[0], pair[1], edges[&key]
                                ));
                            }
                            found.push(text);
                        }
                    } else if seen.insert(n) {
                        let mut longer = path.clone();
                        longer.push(n);
                        stack.push(longer);
                    }
                }
            }
        }
    }
    found
}

#[test]
fn a_circle_round_three_siblings_is_found_once_and_a_chain_is_not() {
    let edge = |a: &str, b: &str| {
        (
            (vec!["m".to_string()], a.to_string(), b.to_string()),
            format!("{a}.rs: use super::{b};"),
        )
    };
    let chain: Edges = [edge("a", "b"), edge("b", "c")].into_iter().collect();
    assert!(circles(&chain).is_empty());
    let ring: Edges = [
        edge("a", "b"),
        edge("b", "c"),
        edge("c", "a"),
        edge("c", "d"),
    ]
    .into_iter()
    .collect();
    let found = circles(&ring);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a circle under `m`:"), "{}", found[0]);
    assert!(
        found[0].contains("c -> a  (c.rs: use super::a;)"),
        "{}",
        found[0]
    );
}

#[test]
fn the_circle_check_reads_crate_super_and_grouped_paths() {
    let me: Vec<String> = vec!["cli".into(), "up".into()];
    let refs = |l: &str| references(l, &me);
    assert_eq!(refs("use crate::plan::Plan;"), vec![vec!["plan", "Plan"]]);
    assert_eq!(
        refs("use crate::{diag, plan::rules};"),
        vec![vec!["diag"], vec!["plan", "rules"]]
    );
    assert_eq!(refs("use super::watch;"), vec![vec!["cli", "watch"]]);
    assert_eq!(refs("use super::super::plan;"), vec![vec!["plan"]]);
    assert!(refs("let x = my_crate::plan;").is_empty());
}
