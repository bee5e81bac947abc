//! `extends`: a service built on another, from the same file or another one.
//!
//! Resolved on each file's tree before that file is merged with the others, as
//! compose does: an `extends` without `file:` sees only the services of its own
//! file, not those of other `-f` files or of included ones. The base service is
//! merged under the extending one with the merge rules of [`merge`], after its
//! own `extends`. A base from another file has its relative paths made relative
//! to that file's directory first. A loop is an error that names every service
//! on it. Only the services are taken from another file: its networks, volumes
//! and other resources are not.
//!
//! Chains are as long as the file makes them, so they are resolved with an
//! explicit stack, not by recursion, and each other file is read once per
//! file being resolved, keyed by its canonical path. A chain may nest at most
//! [`MAX_DEPTH`] levels: every level copies the whole base, so deeper chains
//! would cost memory quadratic in their length. Each copy of a base is
//! charged to the load's [`crate::load::budget`] before it is made.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::merge::merge;
use crate::load::paths::canonical;
use crate::load::reader::Reader;
use crate::load::yaml::{Map, Node, Value};
use crate::source::Span;

/// How many `extends` a service may build on, one on top of the other. Real
/// files use two or three.
pub(crate) const MAX_DEPTH: usize = 64;

/// A loop or a chain longer than this is shown by its ends.
const SHOWN: usize = 16;

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
        file: canonical(file),
        work_dir: work_dir.to_path_buf(),
        others: HashMap::new(),
        failed: HashSet::new(),
        depth: HashMap::new(),
    };
    for name in names {
        resolve(&mut cx, services, name);
    }
}

/// The file a service is in: the one being resolved, or another one named by
/// `file:` (by canonical path).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Loc {
    Own,
    Other(PathBuf),
}

/// A service and the file it is in, by canonical path: what a loop repeats.
type Key = (PathBuf, String);

struct Ctx<'r, 'a, 'e> {
    reader: &'r mut Reader<'a>,
    env: &'e IndexMap<String, String>,
    /// The canonical path of the file being resolved.
    file: PathBuf,
    work_dir: PathBuf,
    /// The services of other files named by `file:`, paths already rebased,
    /// with the directory they are relative to; None for a file that could
    /// not be read (already reported).
    others: HashMap<PathBuf, Option<(Map, PathBuf)>>,
    /// Services whose `extends` failed, so that each problem is reported once.
    failed: HashSet<Key>,
    /// How many levels of `extends` each resolved service was built from.
    depth: HashMap<Key, usize>,
}

impl Ctx<'_, '_, '_> {
    fn key(&self, loc: &Loc, name: &str) -> Key {
        match loc {
            Loc::Own => (self.file.clone(), name.to_string()),
            Loc::Other(p) => (p.clone(), name.to_string()),
        }
    }

    fn map<'m>(&'m mut self, own: &'m mut Map, loc: &Loc) -> Option<&'m mut Map> {
        match loc {
            Loc::Own => Some(own),
            Loc::Other(p) => self.others.get_mut(p)?.as_mut().map(|(m, _)| m),
        }
    }

    fn work_dir(&self, loc: &Loc) -> PathBuf {
        match loc {
            Loc::Own => self.work_dir.clone(),
            Loc::Other(p) => self
                .others
                .get(p)
                .and_then(|o| o.as_ref())
                .map_or_else(|| self.work_dir.clone(), |(_, d)| d.clone()),
        }
    }
}

/// One service on the way to being resolved.
struct Frame {
    loc: Loc,
    name: String,
}

/// Resolves `name` in `services` (the services of the file being resolved)
/// in place, with every base it builds on, depth-first with an explicit
/// stack: a service is merged once its base is resolved. A problem is
/// reported and its service, with every service built on it, left as it is.
fn resolve(cx: &mut Ctx, services: &mut Map, name: String) {
    let mut stack = vec![Frame {
        loc: Loc::Own,
        name,
    }];
    let mut on_stack: HashSet<Key> = HashSet::new();
    while let Some(top) = stack.last() {
        let (loc, name) = (top.loc.clone(), top.name.clone());
        let key = cx.key(&loc, &name);
        on_stack.insert(key.clone());
        let ext = cx
            .map(services, &loc)
            .and_then(|m| m.get(&name))
            .and_then(|e| e.value.get("extends"))
            .cloned();
        let ext = match ext {
            Some(ext) if !cx.failed.contains(&key) => ext,
            // Resolved, or never extending, or failed: done either way.
            _ => {
                on_stack.remove(&key);
                stack.pop();
                continue;
            }
        };
        let Some((base_loc, base_name)) = find_base(cx, services, &loc, &name, &ext) else {
            cx.failed.insert(key);
            continue;
        };
        let base_key = cx.key(&base_loc, &base_name);
        if cx.failed.contains(&base_key) {
            cx.failed.insert(key);
            continue;
        }
        let base = cx
            .map(services, &base_loc)
            .and_then(|m| m.get(&base_name))
            .map(|e| &e.value)
            .filter(|b| b.get("extends").is_none());
        // Every service that extends a base holds a copy of it: charged
        // before it is made, so that many services extending a large base
        // stop at the budget.
        let size = base.map(crate::load::budget::tree_size);
        let base = match size {
            Some(size)
                if !cx.reader.budget.charge(size, ext.span, || {
                    format!(
                        "`services.{name}.extends` copies the {} nodes ({}) of `{base_name}`",
                        crate::load::budget::thousands(size.nodes),
                        crate::load::budget::mib(size.bytes)
                    )
                }) =>
            {
                cx.failed.insert(key);
                continue;
            }
            Some(_) => cx
                .map(services, &base_loc)
                .and_then(|m| m.get(&base_name))
                .map(|e| e.value.clone()),
            None => None,
        };
        let Some(mut merged) = base else {
            if on_stack.contains(&base_key) {
                report_loop(cx, &stack, &base_key, ext.span);
                cx.failed.insert(key);
            } else {
                stack.push(Frame {
                    loc: base_loc,
                    name: base_name,
                });
            }
            continue;
        };
        let depth = cx.depth.get(&base_key).copied().unwrap_or(0) + 1;
        if depth > MAX_DEPTH {
            cx.reader.diags.push(
                Diagnostic::error(format!(
                    "`extends` nests more than {MAX_DEPTH} levels deep: `{name}` extends `{base_name}`, which is built on {} levels already",
                    depth - 1
                ))
                .label(ext.span, format!("level {depth}"))
                .help(format!(
                    "at most {MAX_DEPTH} services may build on each other; extend a common base instead of a chain"
                )),
            );
            cx.failed.insert(key);
            continue;
        }
        let own = cx
            .map(services, &loc)
            .and_then(|m| m.get_mut(&name))
            .map(|e| std::mem::replace(&mut e.value, Node::new(Value::Null, ext.span)));
        if let Some(mut own) = own {
            if let Some(m) = own.as_map_mut() {
                m.shift_remove("extends");
            }
            merge(
                &mut merged,
                own,
                &mut vec!["services".into(), name.clone()],
                cx.reader.diags,
            );
            if let Some(e) = cx.map(services, &loc).and_then(|m| m.get_mut(&name)) {
                e.value = merged;
            }
        }
        cx.depth.insert(key.clone(), depth);
        on_stack.remove(&key);
        stack.pop();
    }
}

/// The service that `name` (at `at`, with `ext`) extends, and the file it is in (read now if it is
/// another file not read yet); None when that cannot be found (reported).
fn find_base(
    cx: &mut Ctx,
    services: &mut Map,
    at: &Loc,
    name: &str,
    ext: &Node,
) -> Option<(Loc, String)> {
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
            return None;
        }
    };
    if base_name.is_empty() {
        // `extends: {file: x}` without `service` is reported by typing, at
        // the key; an empty name written out (`extends: ""`) is reported here,
        // since compose refuses it and berth would otherwise drop `extends`.
        let written = match &ext.value {
            Value::Map(_) => ext.get("service").filter(|n| n.as_str().is_some()),
            _ => Some(ext),
        };
        if let Some(at) = written {
            cx.reader.diags.push(
                Diagnostic::error(format!("`extends` of service `{name}` names no service"))
                    .label(at.span, "empty service name")
                    .help("name the service to extend: `extends: base` or `extends: {file: common.yaml, service: base}`"),
            );
        }
        return None;
    }
    let loc = match base_file {
        None => at.clone(),
        Some(f) => {
            let path = PathBuf::from(crate::load::paths::clean_path(&cx.work_dir(at).join(&f)));
            let at = ext.get("file").map_or(ext.span, |n| n.span);
            read_other(cx, &path, &f, at)?
        }
    };
    let found = cx
        .map(services, &loc)
        .is_some_and(|m| m.contains_key(&base_name));
    if !found {
        let d = match (&loc, *at == loc) {
            (_, true) => {
                let file = match &loc {
                    Loc::Own => cx.file.clone(),
                    Loc::Other(p) => p.clone(),
                };
                Diagnostic::error(format!(
                    "service `{base_name}` named in `extends` is not defined in {}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                ))
                .label(ext.span, "unknown service")
                .help(
                    "`extends` without `file:` sees only the services of its own file; name the file that defines it with `file:`",
                )
            }
            _ => {
                let shown = ext.get("file").and_then(Node::as_str).unwrap_or_default();
                Diagnostic::error(format!("service `{base_name}` is not defined in {shown}"))
                    .label(ext.span, "unknown service")
                    .help("check the service name and the file")
            }
        };
        cx.reader.diags.push(d);
        return None;
    }
    Some((loc, base_name))
}

/// Reads the services of another file, once per canonical path.
fn read_other(cx: &mut Ctx, path: &Path, shown: &str, at: Span) -> Option<Loc> {
    if let Err(e) = crate::load::input::probe(path) {
        cx.reader.diags.push(crate::load::reader::named_file_error(
            &format!("file `{shown}` named in `extends`"),
            &e,
            at,
            "fix the path; it is relative to the project directory (for a file named by another `extends` file, to that file's directory)",
        ));
        return None;
    }
    let key = canonical(path);
    if !cx.others.contains_key(&key) {
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let read = cx.reader.read(path, cx.env).map(|docs| {
            let mut tree = Node::new(Value::Map(Map::new()), at);
            for doc in docs {
                crate::load::merge::merge_file(&mut tree, doc, cx.reader.diags, cx.reader.budget);
            }
            crate::load::paths::rebase(&mut tree, &dir, false);
            let services = match tree.as_map_mut().and_then(|m| m.shift_remove("services")) {
                Some(e) => match e.value.value {
                    Value::Map(m) => m,
                    _ => Map::new(),
                },
                None => Map::new(),
            };
            (services, dir)
        });
        cx.others.insert(key.clone(), read);
    }
    cx.others[&key].as_ref()?;
    Some(Loc::Other(key))
}

fn report_loop(cx: &mut Ctx, stack: &[Frame], again: &Key, at: Span) {
    let keys: Vec<Key> = stack.iter().map(|f| cx.key(&f.loc, &f.name)).collect();
    let start = keys.iter().position(|k| k == again).unwrap_or(0);
    let many_files = keys[start..].iter().any(|(f, _)| *f != again.0);
    let show = |(f, n): &Key| {
        if many_files {
            format!(
                "{n} ({})",
                f.file_name().unwrap_or_default().to_string_lossy()
            )
        } else {
            n.clone()
        }
    };
    let path: Vec<String> = keys[start..].iter().chain([again]).map(show).collect();
    cx.reader.diags.push(
        Diagnostic::error(format!("`extends` loops: {}", shorten(&path)))
            .label(at, format!("`{}` again: the loop closes here", again.1))
            .help("break the loop: a service cannot extend itself through others"),
    );
}

/// `a -> b -> c`, or for a long path its ends with how many are left out.
fn shorten(names: &[String]) -> String {
    if names.len() <= SHOWN {
        return names.join(" -> ");
    }
    let head = &names[..SHOWN - 2];
    let tail = &names[names.len() - 2..];
    format!(
        "{} -> ... {} more ... -> {}",
        head.join(" -> "),
        names.len() - SHOWN,
        tail.join(" -> ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::source::Sources;
    use crate::testutil::dir;

    fn run(files: &[(&str, &str)]) -> (Node, Vec<Diagnostic>) {
        let (tree, diags, _) = run_counting(files);
        (tree, diags)
    }

    /// Like [`run`], with how many files were read from disk.
    fn run_counting(files: &[(&str, &str)]) -> (Node, Vec<Diagnostic>, usize) {
        let d = dir(files);
        let dir = &d.0;
        let mut sources = Sources::default();
        let mut diags = Diagnostics::default();
        let mut reader = Reader {
            cwd: dir,
            sources: &mut sources,
            diags: &mut diags,
            budget: &crate::load::budget::Budget::default(),
            parsed: Default::default(),
        };
        let main = dir.join(files[0].0);
        let mut tree = reader.read(&main, &IndexMap::new()).unwrap().remove(0);
        apply(&mut reader, &mut tree, &main, dir, &IndexMap::new());
        let reads = reader.parsed.reads;
        (tree, diags.items, reads)
    }

    /// `n` services, each extending the next, written base-last, each adding
    /// one variable.
    fn chain(n: usize) -> String {
        let mut text = String::from("services:\n");
        for i in 0..n - 1 {
            text += &format!("  s{i}: {{extends: s{}, environment: [V{i}=1]}}\n", i + 1);
        }
        text += &format!("  s{}: {{image: base}}\n", n - 1);
        text
    }

    #[test]
    fn a_chain_of_64_levels_resolves_from_its_base() {
        let text = chain(MAX_DEPTH + 1);
        let (tree, diags) = run(&[("compose.yaml", &text)]);
        assert!(diags.is_empty(), "{diags:?}");
        let top = tree.at(&["services", "s0"]).unwrap();
        assert_eq!(top.get("image").unwrap().as_str(), Some("base"));
        assert_eq!(top.get("environment").unwrap().as_seq().unwrap().len(), 64);
    }

    /// `run` of one compose.yaml on a thread with a 2 MiB stack, where
    /// recursion on the chain's length would overflow.
    fn on_small_stack(text: String) -> (Node, Vec<Diagnostic>) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || run(&[("compose.yaml", &text)]))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_chain_of_10000_is_refused_once_where_it_passes_64_levels() {
        // Resolved recursively, this chain overflowed the stack.
        let text = chain(10_000);
        let (_, diags) = on_small_stack(text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "`extends` nests more than 64 levels deep: `s9934` extends `s9935`, which is built on 64 levels already"
        );
    }

    #[test]
    fn a_loop_of_10000_is_named_by_its_ends() {
        let mut text = chain(10_000);
        text = text.replace("s9999: {image: base}", "s9999: {extends: s0}");
        let (_, diags) = on_small_stack(text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0]
                .message
                .starts_with("`extends` loops: s0 -> s1 -> s2 -> "),
            "{}",
            diags[0].message
        );
        assert!(
            diags[0]
                .message
                .ends_with(" -> ... 9985 more ... -> s9999 -> s0"),
            "{}",
            diags[0].message
        );
    }

    #[test]
    fn extends_hopping_between_two_files_reads_each_once() {
        // a0 (compose) -> b0 (other) -> a1 (compose) -> b1 (other) -> ... :
        // the other file was read again on every hop.
        let mut compose = String::from("services:\n");
        let mut other = String::from("services:\n");
        for i in 0..30 {
            compose += &format!("  a{i}: {{extends: {{file: other.yaml, service: b{i}}}}}\n");
            other += &format!(
                "  b{i}: {{extends: {{file: compose.yaml, service: a{}}}}}\n",
                i + 1
            );
        }
        compose += "  a30: {image: base}\n";
        let (tree, diags, reads) =
            run_counting(&[("compose.yaml", &compose), ("other.yaml", &other)]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            tree.at(&["services", "a0", "image"]).unwrap().as_str(),
            Some("base")
        );
        assert_eq!(reads, 2);
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
