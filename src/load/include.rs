//! `include`: other stack files loaded as parts of this one.
//!
//! Each included file is read with its own directory as project directory and
//! its resources are added to this stack; a resource defined both here and in an
//! included file is an error, as in compose.

use std::path::Path;

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
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
    let Some(include) = root.get("include").cloned() else {
        return;
    };
    let Some(items) = include.as_seq() else {
        diags.push(
            Diagnostic::error("`include` must be a list")
                .label(include.span, format!("found {}", include.kind()))
                .help("write `include:` followed by `- path/to/file.yaml` lines"),
        );
        return;
    };
    for item in items {
        let paths: Vec<String> = match &item.value {
            Value::Scalar(s) => vec![s.text.clone()],
            Value::Map(_) => match item.get("path") {
                Some(p) => match &p.value {
                    Value::Scalar(s) => vec![s.text.clone()],
                    Value::Seq(v) => v
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                },
                None => vec![],
            },
            _ => vec![],
        };
        if paths.is_empty() {
            diags.push(
                Diagnostic::error("an `include` entry needs a path")
                    .label(item.span, "no path")
                    .help("write `- path/to/file.yaml` or `- path: path/to/file.yaml`"),
            );
            continue;
        }
        let mut included: Option<Node> = None;
        for p in &paths {
            let path = project_dir.join(p);
            if let Some(tree) = crate::load::read_tree(&path, cwd, env, sources, diags) {
                let mut tree = tree;
                // An included file's relative paths are relative to its own
                // directory: rewrite bind sources and build contexts now.
                if let Some(dir) = path.parent() {
                    rebase(&mut tree, dir, project_dir);
                }
                match &mut included {
                    None => included = Some(tree),
                    Some(base) => crate::load::merge::merge(base, tree, ""),
                }
            }
        }
        let Some(included) = included else {
            continue;
        };
        for section in ["services", "networks", "volumes", "secrets", "configs"] {
            let Some(theirs) = included.get(section).and_then(Node::as_map).cloned() else {
                continue;
            };
            let root_map = root.as_map_mut().expect("root is a mapping");
            let ours =
                root_map
                    .entry(section.to_string())
                    .or_insert_with(|| crate::load::yaml::Entry {
                        key_span: item.span,
                        value: Node::new(Value::Map(Default::default()), item.span),
                    });
            if ours.value.is_null() {
                ours.value = Node::new(Value::Map(Default::default()), item.span);
            }
            let Some(ours) = ours.value.as_map_mut() else {
                continue;
            };
            for (name, entry) in theirs {
                if let Some(existing) = ours.get(&name) {
                    diags.push(
                        Diagnostic::error(format!(
                            "{} `{name}` is defined both here and in an included file",
                            &section[..section.len() - 1]
                        ))
                        .label(existing.key_span, "defined here")
                        .label(entry.key_span, "and in the included file")
                        .help("rename one of them, or drop the include"),
                    );
                } else {
                    ours.insert(name, entry);
                }
            }
        }
    }
    if let Some(m) = root.as_map_mut() {
        m.shift_remove("include");
    }
}

/// Makes relative paths in an included file absolute against its directory.
fn rebase(tree: &mut Node, dir: &Path, project_dir: &Path) {
    if dir == project_dir {
        return;
    }
    let Some(services) = tree
        .as_map_mut()
        .and_then(|m| m.get_mut("services"))
        .and_then(|e| e.value.as_map_mut())
    else {
        return;
    };
    for (_, svc) in services.iter_mut() {
        let Some(svc) = svc.value.as_map_mut() else {
            continue;
        };
        if let Some(vols) = svc
            .get_mut("volumes")
            .and_then(|e| match &mut e.value.value {
                Value::Seq(v) => Some(v),
                _ => None,
            })
        {
            for v in vols.iter_mut() {
                if let Value::Scalar(s) = &mut v.value {
                    if s.text.starts_with('.') {
                        s.text = format!("{}/{}", dir.display(), s.text);
                    }
                }
            }
        }
        if let Some(b) = svc.get_mut("build") {
            if let Value::Scalar(s) = &mut b.value.value {
                if !s.text.starts_with('/') {
                    s.text = format!("{}/{}", dir.display(), s.text);
                }
            }
        }
    }
}
