//! `extends`: a service built on another, from the same file or another one.
//!
//! Resolved on each file's tree before that file is merged with the others, as
//! compose does: an `extends` without `file:` sees only the services of its own
//! file, not those of other `-f` files or of included ones. The base service is
//! merged under the extending one with the merge rules of [`merge`], after its
//! own `extends`, recursively. A base from another file has its relative paths
//! made relative to that file's directory first. A loop is an error that names
//! every service on it. Only the services are taken from another file: its
//! networks, volumes and other resources are not.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::Reader;
use crate::load::merge::merge;
use crate::load::yaml::{Map, Node, Value};
use crate::source::Span;

/// Resolves the `extends` of every service of `tree`, the file `file`, whose
/// relative paths start at `work_dir`.
pub(crate) fn apply(
    reader: &mut Reader,
    tree: &mut Node,
    file: &Path,
    work_dir: &Path,
    env: &IndexMap<String, String>,
) {
    let Some(entry) = tree.as_map_mut().and_then(|m| m.get_mut("services")) else {
        return;
    };
    let Value::Map(services) = &mut entry.value.value else {
        return;
    };
    // Only services that extend another need work; cloning the rest would
    // cost a copy of the whole file.
    let names: Vec<String> = services
        .iter()
        .filter(|(_, e)| e.value.get("extends").is_some())
        .map(|(k, _)| k.clone())
        .collect();
    if names.is_empty() {
        return;
    }
    let mut cx = Ctx {
        reader,
        env,
        others: HashMap::new(),
        failed: HashSet::new(),
    };
    for name in names {
        resolve(
            &mut cx,
            services,
            file,
            work_dir,
            &name,
            &mut Vec::new(),
            None,
        );
    }
}

struct Ctx<'r, 'a, 'e> {
    reader: &'r mut Reader<'a>,
    env: &'e IndexMap<String, String>,
    /// The services of other files named by `file:`, paths already rebased.
    others: HashMap<PathBuf, Map>,
    /// Services whose `extends` failed, so that each problem is reported once.
    failed: HashSet<(PathBuf, String)>,
}

/// Resolves `name` in `services` (the services of `file`) in place and returns
/// the result; None when it cannot be resolved (the problem is reported).
/// `via` is the `extends` that named it, if another service's.
fn resolve(
    cx: &mut Ctx,
    services: &mut Map,
    file: &Path,
    work_dir: &Path,
    name: &str,
    chain: &mut Vec<(PathBuf, String)>,
    via: Option<Span>,
) -> Option<Node> {
    let node = services.get(name)?.value.clone();
    let Some(ext) = node.get("extends").cloned() else {
        return Some(node);
    };
    let key = (file.to_path_buf(), name.to_string());
    if cx.failed.contains(&key) {
        return None;
    }
    if let Some(start) = chain.iter().position(|k| *k == key) {
        let many_files = chain.iter().any(|(f, _)| f != file);
        let show = |(f, n): &(PathBuf, String)| {
            if many_files {
                format!(
                    "{n} ({})",
                    f.file_name().unwrap_or_default().to_string_lossy()
                )
            } else {
                n.clone()
            }
        };
        let path: Vec<String> = chain[start..].iter().chain([&key]).map(show).collect();
        cx.reader.diags.push(
            Diagnostic::error(format!("`extends` loops: {}", path.join(" -> ")))
                .label(
                    via.unwrap_or(ext.span),
                    format!("`{name}` again: the loop closes here"),
                )
                .help("break the loop: a service cannot extend itself through others"),
        );
        cx.failed.insert(key);
        return None;
    }
    let (base_name, base_file) = match &ext.value {
        Value::Scalar(s) => (s.text.clone(), None),
        Value::Map(_) => (
            ext.get("service")
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_string(),
            ext.get("file").and_then(Node::as_str).map(str::to_string),
        ),
        _ => {
            cx.reader.diags.push(
                Diagnostic::error("`extends` must be a service name or a mapping")
                    .label(ext.span, format!("found {}", ext.kind()))
                    .help("write `extends: base` or `extends: {file: common.yaml, service: base}`"),
            );
            cx.failed.insert(key);
            return None;
        }
    };
    if base_name.is_empty() {
        // `extends: {file: x}` without `service` is reported by typing, at
        // the key; an empty name written out (`extends: ""`) is reported here,
        // since compose refuses it and berth would otherwise drop `extends`.
        let written = match &ext.value {
            Value::Map(_) => ext.get("service").filter(|n| n.as_str().is_some()),
            _ => Some(&ext),
        };
        if let Some(at) = written {
            cx.reader.diags.push(
                Diagnostic::error(format!("`extends` of service `{name}` names no service"))
                    .label(at.span, "empty service name")
                    .help("name the service to extend: `extends: base` or `extends: {file: common.yaml, service: base}`"),
            );
        }
        cx.failed.insert(key);
        return None;
    }
    chain.push(key.clone());
    let base = match base_file {
        None => {
            if services.contains_key(&base_name) {
                resolve(
                    cx,
                    services,
                    file,
                    work_dir,
                    &base_name,
                    chain,
                    Some(ext.span),
                )
            } else {
                cx.reader.diags.push(
                    Diagnostic::error(format!(
                        "service `{base_name}` named in `extends` is not defined in {}",
                        file.file_name().unwrap_or_default().to_string_lossy()
                    ))
                    .label(ext.span, "unknown service")
                    .help(
                        "`extends` without `file:` sees only the services of its own file; name the file that defines it with `file:`",
                    ),
                );
                None
            }
        }
        Some(f) => {
            let path = PathBuf::from(crate::load::resolve::clean_path(&work_dir.join(&f)));
            from_other_file(cx, &path, &f, &ext, &base_name, chain)
        }
    };
    chain.pop();
    let Some(mut merged) = base else {
        cx.failed.insert(key);
        return None;
    };
    let mut own = node;
    if let Some(m) = own.as_map_mut() {
        m.shift_remove("extends");
    }
    merge(
        &mut merged,
        own,
        &mut vec!["services".into(), name.into()],
        cx.reader.diags,
    );
    if let Some(e) = services.get_mut(name) {
        e.value = merged.clone();
    }
    Some(merged)
}

/// The service `name` of the file at `path` (written `shown` in `ext`).
fn from_other_file(
    cx: &mut Ctx,
    path: &Path,
    shown: &str,
    ext: &Node,
    name: &str,
    chain: &mut Vec<(PathBuf, String)>,
) -> Option<Node> {
    let at = ext.get("file").map_or(ext.span, |n| n.span);
    if !path.is_file() {
        cx.reader.diags.push(
            Diagnostic::error(format!("file `{shown}` named in `extends` does not exist"))
                .label(at, "no such file")
                .help("fix the path; it is relative to the project directory (for a file named by another `extends` file, to that file's directory)"),
        );
        return None;
    }
    let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut services = match cx.others.remove(path) {
        Some(s) => s,
        None => {
            let mut tree = Node::new(Value::Map(Map::new()), ext.span);
            for doc in cx.reader.read(path, cx.env)? {
                crate::load::merge::merge_file(&mut tree, doc, cx.reader.diags);
            }
            crate::load::include::rebase(&mut tree, &dir, false);
            match tree.as_map_mut().and_then(|m| m.shift_remove("services")) {
                Some(e) => match e.value.value {
                    Value::Map(m) => m,
                    _ => Map::new(),
                },
                None => Map::new(),
            }
        }
    };
    let result = if services.contains_key(name) {
        resolve(cx, &mut services, path, &dir, name, chain, Some(ext.span))
    } else {
        cx.reader.diags.push(
            Diagnostic::error(format!("service `{name}` is not defined in {shown}"))
                .label(ext.span, "unknown service")
                .help("check the service name and the file"),
        );
        None
    };
    cx.others.insert(path.to_path_buf(), services);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::source::Sources;
    use crate::testutil::dir;

    fn run(files: &[(&str, &str)]) -> (Node, Vec<Diagnostic>) {
        let d = dir(files);
        let dir = &d.0;
        let mut sources = Sources::default();
        let mut diags = Diagnostics::default();
        let mut reader = Reader {
            cwd: dir,
            sources: &mut sources,
            diags: &mut diags,
            parsed: Default::default(),
        };
        let main = dir.join(files[0].0);
        let mut tree = reader.read(&main, &IndexMap::new()).unwrap().remove(0);
        apply(&mut reader, &mut tree, &main, dir, &IndexMap::new());
        (tree, diags.items)
    }

    #[test]
    fn a_chain_in_one_file_merges_from_the_root() {
        let (tree, diags) = run(&[(
            "compose.yaml",
            "services:\n  a: {image: a, environment: [X=1]}\n  b: {extends: a, environment: [Y=2]}\n  c: {extends: b, image: c}\n",
        )]);
        assert!(diags.is_empty(), "{diags:?}");
        let c = tree.at(&["services", "c"]).unwrap();
        assert_eq!(c.get("image").unwrap().as_str(), Some("c"));
        assert!(c.get("extends").is_none());
        let env: Vec<&str> = c
            .get("environment")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(env, ["X=1", "Y=2"]);
    }

    #[test]
    fn a_loop_is_reported_once_with_its_path() {
        let (_, diags) = run(&[(
            "compose.yaml",
            "services:\n  a: {extends: b}\n  b: {extends: c}\n  c: {extends: a}\n",
        )]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].message, "`extends` loops: a -> b -> c -> a");
    }

    #[test]
    fn a_service_extending_itself_is_a_loop() {
        let (_, diags) = run(&[("compose.yaml", "services:\n  a: {extends: a}\n")]);
        assert_eq!(diags[0].message, "`extends` loops: a -> a");
    }

    #[test]
    fn a_loop_across_files_names_the_files() {
        let (_, diags) = run(&[
            (
                "compose.yaml",
                "services:\n  a: {extends: {file: other.yaml, service: b}}\n",
            ),
            (
                "other.yaml",
                "services:\n  b: {extends: {file: compose.yaml, service: a}}\n",
            ),
        ]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "`extends` loops: a (compose.yaml) -> b (other.yaml) -> a (compose.yaml)"
        );
    }

    #[test]
    fn relative_paths_of_another_file_start_at_its_directory() {
        let (tree, diags) = run(&[
            (
                "compose.yaml",
                "services:\n  web: {extends: {file: sub/base.yaml, service: base}}\n",
            ),
            (
                "sub/base.yaml",
                "services:\n  base:\n    build: ./app\n    volumes: ['./data:/data', 'named:/n']\n    env_file: [a.env]\n",
            ),
        ]);
        assert!(diags.is_empty(), "{diags:?}");
        let web = tree.at(&["services", "web"]).unwrap();
        let build = web.get("build").unwrap().as_str().unwrap();
        assert!(build.ends_with("/sub/app"), "{build}");
        let vols: Vec<&str> = web
            .get("volumes")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert!(vols[0].ends_with("/sub/data:/data"), "{vols:?}");
        assert_eq!(vols[1], "named:/n");
        let env_file = web.at(&["env_file", "0"]).unwrap().as_str().unwrap();
        assert!(env_file.ends_with("/sub/a.env"), "{env_file}");
    }

    #[test]
    fn extends_without_file_does_not_see_other_files() {
        let (_, diags) = run(&[("compose.yaml", "services:\n  web: {extends: base}\n")]);
        assert_eq!(
            diags[0].message,
            "service `base` named in `extends` is not defined in compose.yaml"
        );
    }
}
