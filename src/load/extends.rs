//! `extends`: a service built on another, from the same file or another one.
//!
//! Resolved on the merged tree before typing, as compose does: the base service
//! is merged under the extending one with the usual merge rules, recursively,
//! and a loop of `extends` is an error naming each service on it.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::merge::merge;
use crate::load::yaml::{Node, Value};
use crate::source::Sources;

pub fn apply(
    root: &mut Node,
    project_dir: &Path,
    cwd: &Path,
    env: &IndexMap<String, String>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) {
    let Some(services) = root.get("services").and_then(Node::as_map) else {
        return;
    };
    let names: Vec<String> = services.keys().cloned().collect();
    let snapshot = root.clone();
    let mut resolved: IndexMap<String, Node> = IndexMap::new();
    for name in names {
        let mut chain = Vec::new();
        let mut ctx = Ctx {
            project_dir,
            cwd,
            env,
            sources,
            diags,
        };
        if let Some(node) = resolve(&mut ctx, &snapshot, None, &name, &mut chain) {
            resolved.insert(name, node);
        }
    }
    if let Some(services) = root
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(|e| e.value.as_map_mut())
    {
        for (name, node) in resolved {
            if let Some(e) = services.get_mut(&name) {
                e.value = node;
            }
        }
    }
}

struct Ctx<'a> {
    project_dir: &'a Path,
    cwd: &'a Path,
    env: &'a IndexMap<String, String>,
    sources: &'a mut Sources,
    diags: &'a mut Diagnostics,
}

/// The service `name` of `file_root` with its `extends` chain merged in.
fn resolve(
    ctx: &mut Ctx,
    file_root: &Node,
    file: Option<&PathBuf>,
    name: &str,
    chain: &mut Vec<(Option<PathBuf>, String)>,
) -> Option<Node> {
    let node = file_root.at(&["services", name])?.clone();
    let Some(ext) = node.get("extends").cloned() else {
        return Some(node);
    };
    let key = (file.cloned(), name.to_string());
    if chain.contains(&key) {
        let path: Vec<&str> = chain
            .iter()
            .map(|(_, n)| n.as_str())
            .chain([name])
            .collect();
        ctx.diags.push(
            Diagnostic::error(format!("`extends` loops: {}", path.join(" -> ")))
                .label(ext.span, "extends again here")
                .help("break the loop: a service cannot extend itself through others"),
        );
        return None;
    }
    chain.push(key);
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
            ctx.diags.push(
                Diagnostic::error("`extends` must be a service name or a mapping")
                    .label(ext.span, format!("found {}", ext.kind()))
                    .help("write `extends: base` or `extends: {file: common.yaml, service: base}`"),
            );
            return None;
        }
    };
    let base = match base_file {
        None => {
            if file_root.at(&["services", &base_name]).is_none() {
                ctx.diags.push(
                    Diagnostic::error(format!(
                        "service `{base_name}` named in `extends` is not defined"
                    ))
                    .label(ext.span, "unknown service")
                    .help("extend a service defined in this file, or name its file with `file:`"),
                );
                return None;
            }
            resolve(ctx, file_root, file, &base_name, chain)
        }
        Some(f) => {
            let dir = file.and_then(|f| f.parent()).unwrap_or(ctx.project_dir);
            let path = dir.join(&f);
            let other = crate::load::read_tree(&path, ctx.cwd, ctx.env, ctx.sources, ctx.diags)?;
            if other.at(&["services", &base_name]).is_none() {
                ctx.diags.push(
                    Diagnostic::error(format!("service `{base_name}` is not defined in {f}"))
                        .label(ext.span, "unknown service")
                        .help("check the service name and the file"),
                );
                return None;
            }
            resolve(ctx, &other, Some(&path), &base_name, chain)
        }
    }?;
    chain.pop();
    let mut merged = base;
    let mut own = node;
    if let Some(m) = own.as_map_mut() {
        m.shift_remove("extends");
    }
    merge(&mut merged, own, "services.*");
    Some(merged)
}
