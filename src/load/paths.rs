//! Paths in stack files: how a file is known (its canonical path), how a
//! path is cleaned as Go's `filepath.Clean` cleans it, how a path is shown
//! in a diagnostic, and how the relative paths of a tree read from another
//! directory (an included stack, an `extends` base from another file) are
//! made absolute. Shared by every stage of the loader (`include`, `extends`
//! and `resolve` among them), so that none of them imports another for it.

use std::path::{Path, PathBuf};

use crate::load::yaml::{Entry, Node, Value};

/// [`clean_path`], as a path: how the loader spells every file it is
/// given, so that one file is known by one name.
pub(super) fn clean(p: &Path) -> PathBuf {
    PathBuf::from(clean_path(p))
}

/// A path as diagnostics show it: relative to where berth runs when it is
/// below it, else as it is.
pub(super) fn display_name(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

/// Lexically normalises a path (`a/./b/../c` -> `a/c`) as Go's filepath.Clean does.
pub fn clean_path(p: &Path) -> String {
    use std::path::Component;
    let mut out: Vec<String> = Vec::new();
    let absolute = p.is_absolute();
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else if !absolute {
                    out.push("..".into());
                }
            }
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
        }
    }
    let joined = out.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The path a file is known by: its canonical path where it has one, so that
/// two spellings of one file (`./a.yaml`, a symlink) are one file.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Makes the relative paths of a tree absolute against `dir`, for a tree
/// whose paths are relative to another directory than the project's: build
/// contexts, env files, bind mounts, `extends` files, watch paths, secret and
/// config files, and bind-mounted local volumes. `default_context` gives a
/// `build` without `context` the directory itself, as compose's defaults do
/// for an included stack (not for an `extends` base, which gets it later).
pub fn rebase(tree: &mut Node, dir: &Path, default_context: bool) {
    let Some(root) = tree.as_map_mut() else {
        return;
    };
    let join = |p: &str| -> String {
        if p.starts_with('/') || p.starts_with('~') || p.is_empty() {
            p.to_string()
        } else {
            clean_path(&dir.join(p))
        }
    };
    let set = |n: &mut Node, f: &dyn Fn(&str) -> Option<String>| {
        if let Value::Scalar(s) = &mut n.value
            && let Some(new) = f(&s.text)
        {
            s.text = new;
            s.plain = false;
        }
    };
    let path = |p: &str| Some(join(p));
    let context = |p: &str| (!is_remote_context(p)).then(|| join(p));

    if let Some(services) = root.get_mut("services").and_then(|e| e.value.as_map_mut()) {
        for svc in services.values_mut() {
            let Some(svc) = svc.value.as_map_mut() else {
                continue;
            };
            if let Some(b) = svc.get_mut("build") {
                match &mut b.value.value {
                    Value::Scalar(_) => set(&mut b.value, &context),
                    Value::Map(m) => {
                        match m.get_mut("context") {
                            Some(c) => set(&mut c.value, &context),
                            None if default_context => {
                                m.insert(
                                    "context".into(),
                                    Entry {
                                        key_span: b.key_span,
                                        value: Node::str(clean_path(dir), b.key_span),
                                    },
                                );
                            }
                            None => {}
                        }
                        if let Some(ac) = m.get_mut("additional_contexts") {
                            match &mut ac.value.value {
                                Value::Map(m) => {
                                    for e in m.values_mut() {
                                        set(&mut e.value, &context);
                                    }
                                }
                                Value::Seq(items) => {
                                    for i in items {
                                        set(i, &|t: &str| {
                                            let (k, v) = t.split_once('=')?;
                                            context(v).map(|v| format!("{k}={v}"))
                                        });
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(ef) = svc.get_mut("env_file") {
                match &mut ef.value.value {
                    Value::Scalar(_) => set(&mut ef.value, &path),
                    Value::Seq(items) => {
                        for i in items {
                            match &mut i.value {
                                Value::Scalar(_) => set(i, &path),
                                Value::Map(m) => {
                                    if let Some(p) = m.get_mut("path") {
                                        set(&mut p.value, &path);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(ext) = svc.get_mut("extends").and_then(|e| e.value.as_map_mut())
                && let Some(f) = ext.get_mut("file")
            {
                set(&mut f.value, &path);
            }
            if let Some(watch) = svc
                .get_mut("develop")
                .and_then(|d| d.value.as_map_mut())
                .and_then(|d| d.get_mut("watch"))
                && let Value::Seq(items) = &mut watch.value.value
            {
                for w in items {
                    if let Some(p) = w.as_map_mut().and_then(|m| m.get_mut("path")) {
                        set(&mut p.value, &path);
                    }
                }
            }
            if let Some(vols) = svc.get_mut("volumes")
                && let Value::Seq(items) = &mut vols.value.value
            {
                for v in items {
                    match &mut v.value {
                        // Short syntax: a source starting with `.` is a
                        // path; anything else is a volume name or absolute.
                        Value::Scalar(_) => set(v, &|t: &str| {
                            if !t.starts_with('.') {
                                return None;
                            }
                            let (src, rest) = t.split_once(':').unwrap_or((t, ""));
                            let src = join(src);
                            Some(if rest.is_empty() {
                                src
                            } else {
                                format!("{src}:{rest}")
                            })
                        }),
                        Value::Map(m) => {
                            let bind = m
                                .get("type")
                                .and_then(|t| t.value.as_str())
                                .is_some_and(|t| t == "bind");
                            if bind && let Some(s) = m.get_mut("source") {
                                set(&mut s.value, &path);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(objs) = root.get_mut(section).and_then(|e| e.value.as_map_mut()) {
            for o in objs.values_mut() {
                if let Some(f) = o.value.as_map_mut().and_then(|m| m.get_mut("file")) {
                    set(&mut f.value, &path);
                }
            }
        }
    }
    if let Some(vols) = root.get_mut("volumes").and_then(|e| e.value.as_map_mut()) {
        for v in vols.values_mut() {
            let Some(v) = v.value.as_map_mut() else {
                continue;
            };
            if v.get("driver").and_then(|d| d.value.as_str()) != Some("local") {
                continue;
            }
            let Some(opts) = v.get_mut("driver_opts").and_then(|o| o.value.as_map_mut()) else {
                continue;
            };
            if opts.get("o").and_then(|o| o.value.as_str()) == Some("bind")
                && let Some(dev) = opts.get_mut("device")
            {
                set(&mut dev.value, &path);
            }
        }
    }
}

/// Build contexts that are not directories: git and HTTP URLs, other images
/// (`docker-image://`), other services' and stages' results.
fn is_remote_context(p: &str) -> bool {
    p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("github.com/")
        || p.starts_with("service:")
        || p.starts_with("target:")
}
