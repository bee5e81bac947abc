//! The layers the folders promise, checked: a module below the plan never
//! imports what sits above it.
//!
//! ```text
//! model  <-  load, spec  <-  engine, observe  <-  plan, preflight  <-  apply, watch, output, cli
//! ```
//!
//! `model` is the stack as data; `load` makes it from files and `spec` maps
//! it to what the engine is sent, and neither knows the other; `engine` (the
//! adapter over bollard) and `observe` read the engine; the plan and the
//! layers above it decide. A test that reads the sources (not a tool that
//! runs in CI separately) keeps this true from now on: an import that
//! crosses a layer upwards fails it, naming the file and the line.
//!
//! Test-only code (a `#[cfg(test)] mod` and the files it names) may reach
//! up: the engine's live tests drive the whole pipeline.

use std::path::{Path, PathBuf};

/// The plan and everything above it: no lower module imports these.
const ABOVE_PLAN: &[&str] = &["plan", "preflight", "apply", "watch", "output", "cli"];

/// Each lower module, and the lower modules it must not import either.
const RULES: &[(&str, &[&str])] = &[
    ("model", &["load", "spec", "engine", "observe"]),
    ("spec", &["load", "engine", "observe"]),
    ("load", &["spec", "engine", "observe"]),
    ("engine", &[]),
    ("observe", &[]),
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
