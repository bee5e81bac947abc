//! Merging stack files: `-f a.yaml -f b.yaml`, `extends` and `include`.
//!
//! Works on the untyped tree, as compose does, following the Compose
//! Specification's merge rules: mappings merge key by key, most sequences are
//! appended (without duplicates where the spec says they are unique), a few
//! (`command`, `entrypoint`, `healthcheck.test`) are replaced, and the tags
//! `!reset` (drop the earlier value) and `!override` (replace it whole) win over
//! all of that.

use crate::load::yaml::{Node, Tag, Value};

/// Merges `over` into `base`; `path` is the key path of `base` in the file, with
/// `*` for a service/network/volume name, e.g. `services.*.ports`.
pub fn merge(base: &mut Node, over: Node, path: &str) {
    match over.tag {
        Some(Tag::Reset) => {
            base.value = Value::Null;
            base.tag = Some(Tag::Reset);
            return;
        }
        Some(Tag::Override) => {
            *base = over;
            base.tag = None;
            return;
        }
        None => {}
    }
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            for (key, entry) in o {
                let child_path = child(path, &key);
                match b.get_mut(&key) {
                    Some(existing) => merge(&mut existing.value, entry.value, &child_path),
                    None => {
                        let mut entry = entry;
                        strip_tags(&mut entry.value);
                        if entry.value.tag != Some(Tag::Reset) {
                            b.insert(key, entry);
                        }
                    }
                }
            }
            base.span = over.span;
        }
        (Value::Seq(b), Value::Seq(o)) if !replaces(path) => {
            let unique = is_unique(path);
            for item in o {
                if unique {
                    let k = identity(path, &item);
                    if let Some(pos) = b.iter().position(|x| identity(path, x) == k) {
                        b[pos] = item;
                        continue;
                    }
                }
                b.push(item);
            }
        }
        // Lists and mappings of KEY=VALUE merge as mappings.
        (b @ Value::Seq(_), Value::Map(o)) | (b @ Value::Map(_), Value::Map(o))
            if is_key_value(path) =>
        {
            let mut merged = to_map(std::mem::replace(b, Value::Null));
            for (k, e) in o {
                merged.insert(k, e);
            }
            *b = Value::Map(merged);
        }
        (b @ Value::Map(_), Value::Seq(o)) if is_key_value(path) => {
            let mut merged = to_map(std::mem::replace(b, Value::Null));
            for (k, e) in to_map(Value::Seq(o)) {
                merged.insert(k, e);
            }
            *b = Value::Map(merged);
        }
        (b, v) => {
            *b = v;
            base.span = over.span;
        }
    }
}

fn child(path: &str, key: &str) -> String {
    let depth_wild = matches!(
        path,
        "services" | "networks" | "volumes" | "secrets" | "configs"
    ) || path.ends_with(".networks")
        || path.ends_with(".ulimits");
    let key = if depth_wild { "*" } else { key };
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn strip_tags(n: &mut Node) {
    if n.tag == Some(Tag::Override) {
        n.tag = None;
    }
}

fn replaces(path: &str) -> bool {
    matches!(
        path,
        "services.*.command" | "services.*.entrypoint" | "services.*.healthcheck.test"
    )
}

fn is_key_value(path: &str) -> bool {
    matches!(
        path,
        "services.*.environment"
            | "services.*.labels"
            | "services.*.build.args"
            | "services.*.build.labels"
            | "services.*.sysctls"
            | "services.*.extra_hosts"
            | "services.*.deploy.labels"
            | "services.*.annotations"
            | "services.*.depends_on"
            | "services.*.networks"
    )
}

fn is_unique(path: &str) -> bool {
    path.starts_with("services.*.")
}

/// What makes two entries of a list "the same" entry, so that a later file
/// replaces it instead of adding a duplicate.
fn identity(path: &str, n: &Node) -> String {
    match (path, &n.value) {
        ("services.*.volumes", Value::Scalar(s)) => {
            let parts: Vec<&str> = s.text.split(':').collect();
            match parts.as_slice() {
                [t] => (*t).to_string(),
                [_, t, ..] => (*t).to_string(),
                _ => s.text.clone(),
            }
        }
        ("services.*.volumes", Value::Map(_)) => n
            .get("target")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string(),
        ("services.*.secrets" | "services.*.configs", Value::Map(_)) => n
            .get("target")
            .or_else(|| n.get("source"))
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string(),
        (_, Value::Scalar(s)) => s.text.split('=').next().unwrap_or_default().to_string(),
        _ => format!("{:?}", strip_spans(n)),
    }
}

fn strip_spans(n: &Node) -> String {
    match &n.value {
        Value::Null => "~".into(),
        Value::Scalar(s) => s.text.clone(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(strip_spans).collect::<Vec<_>>().join(",")
        ),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, e)| format!("{k}:{}", strip_spans(&e.value)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn to_map(v: Value) -> crate::load::yaml::Map {
    match v {
        Value::Map(m) => m,
        Value::Seq(items) => {
            let mut m = crate::load::yaml::Map::new();
            for item in items {
                let span = item.span;
                match &item.value {
                    Value::Scalar(s) => {
                        let (k, v) = match s.text.split_once('=') {
                            Some((k, v)) => (k.to_string(), Node::str(v, span)),
                            None => (s.text.clone(), Node::new(Value::Null, span)),
                        };
                        m.insert(
                            k,
                            crate::load::yaml::Entry {
                                key_span: span,
                                value: v,
                            },
                        );
                    }
                    _ => {
                        m.insert(
                            strip_spans(&item),
                            crate::load::yaml::Entry {
                                key_span: span,
                                value: item,
                            },
                        );
                    }
                }
            }
            m
        }
        _ => crate::load::yaml::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse;
    use crate::source::FileId;

    fn m(a: &str, b: &str) -> Node {
        let mut base = parse(FileId(0), a).unwrap().unwrap();
        let over = parse(FileId(1), b).unwrap().unwrap();
        merge(&mut base, over, "");
        base
    }

    #[test]
    fn mappings_merge_and_scalars_override() {
        let n = m(
            "services: {web: {image: a, init: true}}",
            "services: {web: {image: b}}",
        );
        assert_eq!(
            n.at(&["services", "web", "image"]).unwrap().as_str(),
            Some("b")
        );
        assert_eq!(
            n.at(&["services", "web", "init"]).unwrap().as_str(),
            Some("true")
        );
    }

    #[test]
    fn command_is_replaced_ports_appended() {
        let n = m(
            "services: {web: {command: [a, b], ports: ['80']}}",
            "services: {web: {command: [c], ports: ['81']}}",
        );
        assert_eq!(
            n.at(&["services", "web", "command"])
                .unwrap()
                .as_seq()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            n.at(&["services", "web", "ports"])
                .unwrap()
                .as_seq()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn reset_and_override() {
        let n = m(
            "services: {web: {ports: ['80'], environment: {A: 1, B: 2}}}",
            "services: {web: {ports: !reset [], environment: !override {C: 3}}}",
        );
        assert!(n.at(&["services", "web", "ports"]).unwrap().is_null());
        let env = n
            .at(&["services", "web", "environment"])
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!(env.keys().collect::<Vec<_>>(), vec!["C"]);
    }

    #[test]
    fn environment_lists_merge_by_key() {
        let n = m(
            "services: {web: {environment: [A=1, B=2]}}",
            "services: {web: {environment: {B: 3}}}",
        );
        let env = n
            .at(&["services", "web", "environment"])
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!(env.get("B").unwrap().value.as_str(), Some("3"));
        assert_eq!(env.len(), 2);
    }
}
