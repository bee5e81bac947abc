//! Merging trees: a later `-f` file over the earlier ones, an `extends`-ing
//! service over its base.
//!
//! This is compose-go's `override` package on berth's spanned tree, because the
//! same files have to mean the same stack under berth as under `docker compose`:
//!
//! - mappings merge key by key, and a later scalar replaces an earlier one; a
//!   later `null` leaves the earlier value alone;
//! - sequences are appended, then [`enforce_unique`] drops the earlier of two
//!   entries that are "the same" (a port, a mount target, an environment key),
//!   keeping its position;
//! - `command`, `entrypoint`, `healthcheck.test` and each `ulimits` entry are
//!   replaced whole; `environment`, `labels`, `sysctls`, `dns` and other
//!   list-or-mapping keys are both turned into `KEY=VALUE` lists and appended;
//!   `depends_on` and `networks` merge as mappings whatever their syntax; a
//!   `build` string is its `context`; `logging` merges only when the driver is
//!   the same;
//! - `!reset` removes the earlier value, `!override` replaces it whole.
//!
//! It stops at the tree: no file reading, no types, no paths.

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::budget::{self, Budget, PORT_NODES, Size};
use crate::load::yaml::{Entry, Map, Node, Scalar, Tag, Value, go_text};
use crate::source::Span;

/// Merges one file's tree into what earlier files gave, then drops the
/// duplicates that merging made, as compose does after each file. The
/// ports a range expands into are charged to `budget`.
pub fn merge_file(acc: &mut Node, file: Node, diags: &mut Diagnostics, budget: &Budget) {
    merge(acc, file, &mut Vec::new(), diags);
    enforce_unique(acc, budget);
}

/// Merges `over` into `base`; `path` is where `base` sits in the file, e.g.
/// `["services", "web"]` when a service is extended.
pub fn merge(base: &mut Node, over: Node, path: &mut Vec<String>, diags: &mut Diagnostics) {
    if over.tag == Some(Tag::Override) {
        *base = stripped(over);
        return;
    }
    if over.tag == Some(Tag::Reset) {
        base.value = Value::Null;
        return;
    }
    let special = special(path);
    match special {
        Some(Special::Replace) => {
            *base = stripped(over);
            return;
        }
        Some(Special::Sequence) => {
            drop_reset_keys(base, &over);
            let mut items = to_sequence(std::mem::replace(base, null()));
            items.extend(to_sequence(over.clone()));
            *base = seq_node(items, over.span);
            return;
        }
        Some(Special::ExtraHosts) => {
            drop_reset_keys(base, &over);
            let mut items = to_sequence(std::mem::replace(base, null()));
            let known: Vec<String> = items.iter().map(canonical_text).collect();
            items.extend(
                to_sequence(over.clone())
                    .into_iter()
                    .filter(|n| !known.contains(&canonical_text(n))),
            );
            *base = seq_node(items, over.span);
            return;
        }
        Some(Special::Logging) => {
            let driver = |n: &Node| n.get("driver").map(canonical_text);
            if let (Some(a), Some(b)) = (driver(base), driver(&over))
                && a != b
                && base.as_map().is_some()
                && over.as_map().is_some()
            {
                *base = stripped(over);
                return;
            }
        }
        Some(Special::Build) => {
            context_to_map(base);
            let mut over = over;
            context_to_map(&mut over);
            merge_plain(base, over, path, diags);
            return;
        }
        Some(Special::DependsOn) => {
            list_to_map(base, true);
            let mut over = over;
            list_to_map(&mut over, true);
            merge_plain(base, over, path, diags);
            return;
        }
        Some(Special::Networks) => {
            list_to_map(base, false);
            let mut over = over;
            list_to_map(&mut over, false);
            merge_plain(base, over, path, diags);
            return;
        }
        Some(Special::IpamConfig) => {
            merge_ipam_config(base, over, path, diags);
            return;
        }
        None => {}
    }
    merge_plain(base, over, path, diags);
}

/// The default rule, without the per-key specials of [`merge`].
fn merge_plain(base: &mut Node, over: Node, path: &mut Vec<String>, diags: &mut Diagnostics) {
    if over.is_null() && over.tag.is_none() {
        return;
    }
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => merge_mappings(b, o, path, diags),
        (Value::Seq(b), Value::Seq(o)) => b.extend(o.into_iter().filter_map(strip_item)),
        (Value::Map(_) | Value::Seq(_), value) => {
            let found = Node::new(value, over.span);
            diags.push(
                Diagnostic::error(format!(
                    "cannot merge `{}`: {} here, but {} in an earlier file",
                    path.join("."),
                    found.kind(),
                    base.kind()
                ))
                .label(found.span, format!("{} here", found.kind()))
                .label(
                    base.span,
                    format!("the earlier file has {} here", base.kind()),
                )
                .help(
                    "write the same kind of value in both files, or tag the later one `!override`",
                ),
            );
        }
        (b, value) => {
            *b = value;
            base.span = over.span;
            base.tag = None;
            strip_tags(base);
        }
    }
}

fn merge_mappings(base: &mut Map, over: Map, path: &mut Vec<String>, diags: &mut Diagnostics) {
    for (key, entry) in over {
        if entry.value.tag == Some(Tag::Reset) {
            base.shift_remove(&key);
            continue;
        }
        match base.get_mut(&key) {
            Some(existing) => {
                path.push(key);
                merge(&mut existing.value, entry.value, path, diags);
                path.pop();
            }
            None => {
                base.insert(
                    key,
                    Entry {
                        key_span: entry.key_span,
                        value: stripped(entry.value),
                    },
                );
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Replace,
    Sequence,
    ExtraHosts,
    Logging,
    Build,
    DependsOn,
    Networks,
    IpamConfig,
}

/// compose-go's `mergeSpecials`: keys whose merge is not the default one.
fn special(path: &[String]) -> Option<Special> {
    const RULES: &[(&str, Special)] = &[
        ("services.*.command", Special::Replace),
        ("services.*.entrypoint", Special::Replace),
        ("services.*.healthcheck.test", Special::Replace),
        ("services.*.ulimits.*", Special::Replace),
        ("services.*.annotations", Special::Sequence),
        ("services.*.build.args", Special::Sequence),
        ("services.*.build.additional_contexts", Special::Sequence),
        ("services.*.build.labels", Special::Sequence),
        ("services.*.deploy.labels", Special::Sequence),
        ("services.*.dns", Special::Sequence),
        ("services.*.dns_opt", Special::Sequence),
        ("services.*.dns_search", Special::Sequence),
        ("services.*.env_file", Special::Sequence),
        ("services.*.label_file", Special::Sequence),
        ("services.*.environment", Special::Sequence),
        ("services.*.labels", Special::Sequence),
        ("services.*.sysctls", Special::Sequence),
        ("services.*.tmpfs", Special::Sequence),
        ("networks.*.labels", Special::Sequence),
        ("volumes.*.labels", Special::Sequence),
        ("services.*.extra_hosts", Special::ExtraHosts),
        ("services.*.build.extra_hosts", Special::ExtraHosts),
        ("services.*.logging", Special::Logging),
        ("services.*.build", Special::Build),
        ("services.*.depends_on", Special::DependsOn),
        ("services.*.networks", Special::Networks),
        ("networks.*.ipam.config", Special::IpamConfig),
    ];
    RULES
        .iter()
        .find(|(pattern, _)| matches(path, pattern))
        .map(|(_, s)| *s)
}

/// Whether a key path matches a dotted pattern where `*` is any one key.
fn matches(path: &[String], pattern: &str) -> bool {
    let mut parts = pattern.split('.');
    for key in path {
        match parts.next() {
            Some("*") => {}
            Some(p) if p == key => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

fn null() -> Node {
    Node::new(Value::Null, Span::default())
}

fn seq_node(items: Vec<Node>, span: Span) -> Node {
    Node::new(Value::Seq(items), span)
}

/// A node as it goes into the merged tree: `!reset` entries gone (a reset with
/// nothing before it is simply absent), `!override` tags spent.
fn stripped(mut node: Node) -> Node {
    node.tag = None;
    strip_tags(&mut node);
    node
}

fn strip_item(node: Node) -> Option<Node> {
    (node.tag != Some(Tag::Reset)).then(|| stripped(node))
}

fn strip_tags(node: &mut Node) {
    match &mut node.value {
        Value::Map(m) => {
            m.retain(|_, e| e.value.tag != Some(Tag::Reset));
            for e in m.values_mut() {
                e.value.tag = None;
                strip_tags(&mut e.value);
            }
        }
        Value::Seq(items) => {
            items.retain(|n| n.tag != Some(Tag::Reset));
            for n in items {
                n.tag = None;
                strip_tags(n);
            }
        }
        _ => {}
    }
}

/// `KEY: !reset` removes the key from an earlier mapping (not from an
/// earlier list: compose removes only by path).
fn drop_reset_keys(base: &mut Node, over: &Node) {
    if let (Value::Map(b), Value::Map(o)) = (&mut base.value, &over.value) {
        b.retain(|k, _| o.get(k).is_none_or(|e| e.value.tag != Some(Tag::Reset)));
    }
}

/// A list-or-mapping value as a list of `KEY=VALUE` (or bare `KEY`) entries;
/// a mapping's entries are sorted, as compose sorts them.
fn to_sequence(node: Node) -> Vec<Node> {
    let span = node.span;
    match node.value {
        Value::Seq(items) => items.into_iter().filter_map(strip_item).collect(),
        Value::Map(m) => {
            let mut out: Vec<(String, Span)> = Vec::new();
            for (key, entry) in m {
                if entry.value.tag == Some(Tag::Reset) {
                    continue;
                }
                let at = if entry.value.is_null() {
                    entry.key_span
                } else {
                    entry.value.span
                };
                match &entry.value.value {
                    Value::Null => out.push((key, at)),
                    Value::Seq(items) => {
                        for i in items {
                            out.push((format!("{key}={}", canonical_text(i)), i.span));
                        }
                    }
                    _ => out.push((format!("{key}={}", canonical_text(&entry.value)), at)),
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.into_iter().map(|(t, sp)| Node::str(t, sp)).collect()
        }
        Value::Scalar(_) => vec![stripped(Node { span, ..node })],
        Value::Null => Vec::new(),
    }
}

/// The text compose sees for a value: a scalar as Go prints what yaml.v3
/// decodes it to, anything else spelled out (only for comparing).
fn canonical_text(n: &Node) -> String {
    match &n.value {
        Value::Null => String::new(),
        Value::Scalar(s) => go_text(s),
        Value::Seq(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_text)
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, e)| format!("{k}:{}", canonical_text(&e.value)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// `build: ./dir` is `build: {context: ./dir}`.
fn context_to_map(node: &mut Node) {
    match &node.value {
        Value::Scalar(_) => {
            let span = node.span;
            let context = std::mem::replace(node, null());
            let mut m = Map::new();
            m.insert(
                "context".into(),
                Entry {
                    key_span: span,
                    value: context,
                },
            );
            *node = Node::new(Value::Map(m), span);
        }
        Value::Null => node.value = Value::Map(Map::new()),
        _ => {}
    }
}

/// `[a, b]` is `{a: null, b: null}` for networks, and for `depends_on`
/// `{a: {condition: service_started, required: true}, ...}`.
fn list_to_map(node: &mut Node, depends_on: bool) {
    let Value::Seq(items) = &node.value else {
        if node.is_null() {
            node.value = Value::Map(Map::new());
        }
        return;
    };
    let mut m = Map::new();
    for item in items {
        if item.tag == Some(Tag::Reset) {
            continue;
        }
        let Some(name) = item.as_str() else {
            continue;
        };
        let value = if depends_on {
            let plain = |t: &str| {
                Node::new(
                    Value::Scalar(Scalar {
                        text: t.into(),
                        plain: true,
                    }),
                    item.span,
                )
            };
            let mut d = Map::new();
            for (k, v) in [("condition", "service_started"), ("required", "true")] {
                d.insert(
                    k.into(),
                    Entry {
                        key_span: item.span,
                        value: plain(v),
                    },
                );
            }
            Node::new(Value::Map(d), item.span)
        } else {
            Node::new(Value::Null, item.span)
        };
        m.insert(
            name.to_string(),
            Entry {
                key_span: item.span,
                value,
            },
        );
    }
    node.value = Value::Map(m);
}

/// compose-go's `mergeIPAMConfig`: pools are matched by `subnet`; a pool of
/// the later file with a new subnet is added, one with a known subnet is merged
/// into the earlier pool.
fn merge_ipam_config(base: &mut Node, over: Node, path: &mut Vec<String>, diags: &mut Diagnostics) {
    let (Value::Seq(originals), Value::Seq(overrides)) = (&base.value, &over.value) else {
        merge_plain(base, over, path, diags);
        return;
    };
    let subnet = |n: &Node| n.get("subnet").map(canonical_text);
    let mut out: Vec<Node> = Vec::new();
    for original in originals {
        let mut right = original.clone();
        for o in overrides {
            let left = stripped(o.clone());
            if subnet(&left) != subnet(&right) && !out.iter().any(|a| subnet(a) == subnet(&left)) {
                out.push(left);
                continue;
            }
            merge_plain(&mut right, left, path, diags);
            match out.iter().position(|a| subnet(a) == subnet(&right)) {
                Some(i) => out[i] = right.clone(),
                None => out.push(right.clone()),
            }
        }
    }
    *base = seq_node(out, over.span);
}

/// compose-go's `EnforceUnicity`: in the lists where entries have an
/// identity, a later entry replaces an earlier one with the same identity, in
/// the earlier one's place.
///
/// Only the paths of `IDENTITY_RULES` are visited: a subtree no rule can
/// reach (a service's `image`, the entries of its `environment` mapping) is
/// passed over, so the walk costs what those few lists hold rather than a
/// path comparison per node of the stack (it was 40% of loading a
/// 100,000-service file), and it never goes deeper than the longest rule.
pub fn enforce_unique(node: &mut Node, budget: &Budget) {
    let rules: Vec<Rule> = IDENTITY_RULES
        .iter()
        .map(|(pattern, kind)| (pattern.split('.').collect(), *kind))
        .collect();
    let all: Vec<&Rule> = rules.iter().collect();
    unique_in(node, 0, &all, budget);
}

/// A rule's path, split at its dots, and the identity of its list's entries.
type Rule = (Vec<&'static str>, Identity);

/// [`enforce_unique`] at `node`, `depth` keys below the top, where `rules`
/// are the rules whose first `depth` parts match the path to it.
fn unique_in(node: &mut Node, depth: usize, rules: &[&Rule], budget: &Budget) {
    match &mut node.value {
        Value::Map(m) => {
            for (k, e) in m.iter_mut() {
                let next: Vec<&Rule> = rules
                    .iter()
                    .copied()
                    .filter(|(parts, _)| parts.get(depth).is_some_and(|p| *p == "*" || p == k))
                    .collect();
                if !next.is_empty() {
                    unique_in(&mut e.value, depth + 1, &next, budget);
                }
            }
        }
        Value::Seq(items) => {
            let Some(kind) = rules
                .iter()
                .find(|(parts, _)| parts.len() == depth)
                .map(|(_, kind)| *kind)
            else {
                return;
            };
            if kind == Identity::Port {
                *items = std::mem::take(items)
                    .into_iter()
                    .flat_map(|n| expand_port_range(n, budget))
                    .collect();
            }
            // A map from identity to position keeps this linear: a port range
            // such as `1-65535` expands to 65535 entries.
            let mut keys: std::collections::HashMap<String, usize> =
                std::collections::HashMap::new();
            let mut out: Vec<Node> = Vec::new();
            for item in std::mem::take(items) {
                let key = identity(kind, &item);
                match keys.get(&key) {
                    Some(&j) => out[j] = item,
                    None => {
                        keys.insert(key, out.len());
                        out.push(item);
                    }
                }
            }
            *items = out;
        }
        _ => {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    KeyValue,
    Volume,
    Device,
    Secret,
    Config,
    EnvFile,
    Expose,
    Port,
}

/// The lists whose entries have an identity, by path (`*`: any key).
const IDENTITY_RULES: &[(&str, Identity)] = &[
    ("networks.*.labels", Identity::KeyValue),
    ("networks.*.ipam.options", Identity::KeyValue),
    ("services.*.annotations", Identity::KeyValue),
    ("services.*.build.args", Identity::KeyValue),
    ("services.*.build.additional_contexts", Identity::KeyValue),
    ("services.*.build.platforms", Identity::KeyValue),
    ("services.*.build.tags", Identity::KeyValue),
    ("services.*.build.labels", Identity::KeyValue),
    ("services.*.cap_add", Identity::KeyValue),
    ("services.*.cap_drop", Identity::KeyValue),
    ("services.*.deploy.labels", Identity::KeyValue),
    ("services.*.dns", Identity::KeyValue),
    ("services.*.dns_opt", Identity::KeyValue),
    ("services.*.dns_search", Identity::KeyValue),
    ("services.*.environment", Identity::KeyValue),
    ("services.*.labels", Identity::KeyValue),
    ("services.*.links", Identity::KeyValue),
    ("services.*.networks.*.aliases", Identity::KeyValue),
    ("services.*.networks.*.link_local_ips", Identity::KeyValue),
    ("services.*.profiles", Identity::KeyValue),
    ("services.*.sysctls", Identity::KeyValue),
    ("services.*.tmpfs", Identity::KeyValue),
    ("services.*.volumes", Identity::Volume),
    ("services.*.devices", Identity::Device),
    ("services.*.secrets", Identity::Secret),
    ("services.*.configs", Identity::Config),
    ("services.*.env_file", Identity::EnvFile),
    ("services.*.expose", Identity::Expose),
    ("services.*.ports", Identity::Port),
];

fn identity(kind: Identity, n: &Node) -> String {
    let field = |name: &str| n.get(name).map(canonical_text);
    let text = n.as_str();
    match kind {
        Identity::KeyValue => match text {
            Some(t) => t.split_once('=').map_or(t, |(k, _)| k).to_string(),
            None => canonical_text(n),
        },
        Identity::Volume | Identity::Device => match text {
            Some(t) => {
                let parts: Vec<&str> = t.split(':').collect();
                parts.get(1).unwrap_or(&parts[0]).to_string()
            }
            None => field("target").unwrap_or_default(),
        },
        Identity::Secret | Identity::Config => {
            let dir = if kind == Identity::Secret {
                "/run/secrets"
            } else {
                ""
            };
            match text {
                Some(t) => format!("{dir}/{t}"),
                None => field("target")
                    .unwrap_or_else(|| format!("{dir}/{}", field("source").unwrap_or_default())),
            }
        }
        Identity::EnvFile => text
            .map(str::to_string)
            .or_else(|| field("path"))
            .unwrap_or_default(),
        Identity::Expose => canonical_text(n),
        Identity::Port => port_identity(n),
    }
}

/// A port's identity as compose computes it on the long syntax:
/// `host_ip:published:target/protocol`. compose formats `published` with
/// `%s`, so a number written unquoted in the long syntax never equals the
/// same port written as text; that is kept, so that both tools list the same
/// ports.
fn port_identity(n: &Node) -> String {
    const NONE: &str = "%!s(<nil>)";
    match &n.value {
        Value::Scalar(s) => {
            let short = if s.plain { go_text(s) } else { s.text.clone() };
            // A range has no identity of its own: not expanded to find that.
            let single = crate::load::resolve::ports::short_count(&short) == Ok(1);
            let ports = single
                .then(|| crate::load::resolve::ports::parse_short(&short).ok())
                .flatten();
            match ports {
                Some(ports) if ports.len() == 1 => {
                    let p = &ports[0];
                    format!(
                        "{}:{}:{}/{}",
                        p.host_ip.as_deref().unwrap_or("0.0.0.0"),
                        p.published.as_deref().unwrap_or(NONE),
                        p.target,
                        p.protocol
                    )
                }
                _ => short,
            }
        }
        Value::Map(_) => {
            let text = |k: &str| n.get(k).and_then(|v| v.as_str().map(|_| canonical_text(v)));
            let published = match n.get("published").map(|p| &p.value) {
                Some(Value::Scalar(s)) if s.plain && s.text.parse::<i64>().is_ok() => {
                    format!("%!s(int={})", go_text(s))
                }
                Some(Value::Scalar(s)) => s.text.clone(),
                _ => NONE.to_string(),
            };
            format!(
                "{}:{}:{}/{}",
                text("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
                published,
                text("target").unwrap_or_default(),
                text("protocol").unwrap_or_else(|| "tcp".into())
            )
        }
        _ => canonical_text(n),
    }
}

/// compose writes every port on its own once a file is read, so that
/// `8000-8001:80-81` and a later `8001:81` are the same port: split a range
/// into one entry per port, each charged to `budget` as a long-form port.
/// Past the budget a range is left as written.
fn expand_port_range(n: Node, budget: &Budget) -> Vec<Node> {
    let Some(text) = n.as_str() else {
        return vec![n];
    };
    let count = match crate::load::resolve::ports::short_count(text) {
        Ok(count) if count >= 2 => count as u64,
        _ => return vec![n],
    };
    // Each port's text is about as long as the range's, with `/tcp`.
    let size = Size::new(count * PORT_NODES, count * (text.len() as u64 + 4));
    if !budget.charge(size, n.span, || {
        format!(
            "the port range `{text}` expands to {} ports",
            budget::thousands(count)
        )
    }) {
        return vec![n];
    }
    let Ok(ports) = crate::load::resolve::ports::parse_short(text) else {
        return vec![n];
    };
    ports
        .iter()
        .map(|p| {
            let published = p.published.as_deref().unwrap_or_default();
            let mut s = String::new();
            if let Some(ip) = &p.host_ip {
                if ip.contains(':') {
                    s.push_str(&format!("[{ip}]:"));
                } else {
                    s.push_str(&format!("{ip}:"));
                }
                s.push_str(published);
                s.push(':');
            } else if !published.is_empty() {
                s.push_str(published);
                s.push(':');
            }
            s.push_str(&format!("{}/{}", p.target, p.protocol));
            Node::str(s, n.span)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::yaml::parse;
    use crate::source::FileId;

    fn tree(text: &str) -> Node {
        parse(FileId(0), text).unwrap().unwrap()
    }

    fn m(a: &str, b: &str) -> Node {
        let mut acc = Node::new(Value::Map(Map::new()), Span::default());
        let mut diags = Diagnostics::default();
        merge_file(&mut acc, tree(a), &mut diags, &Budget::default());
        merge_file(&mut acc, tree(b), &mut diags, &Budget::default());
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        acc
    }

    fn texts(n: &Node, path: &[&str]) -> Vec<String> {
        n.at(path)
            .and_then(Node::as_seq)
            .unwrap_or_else(|| panic!("{path:?} is not a list"))
            .iter()
            .map(canonical_text)
            .collect()
    }

    fn keys(n: &Node, path: &[&str]) -> Vec<String> {
        n.at(path)
            .unwrap()
            .as_map()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn mappings_merge_and_scalars_override() {
        let n = m(
            "services: {web: {image: a, init: true}}",
            "services: {web: {image: b, user: x}}",
        );
        let web = n.at(&["services", "web"]).unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("b"));
        assert_eq!(web.get("init").unwrap().as_str(), Some("true"));
        assert_eq!(web.get("user").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn a_later_null_keeps_the_earlier_value() {
        let n = m("services: {web: {image: a}}", "services: {web: {image: }}");
        assert_eq!(
            n.at(&["services", "web", "image"]).unwrap().as_str(),
            Some("a")
        );
    }

    #[test]
    fn command_entrypoint_and_healthcheck_test_are_replaced() {
        let n = m(
            "services: {web: {command: [a, b], entrypoint: [x, y], healthcheck: {test: [CMD, a], retries: 3}}}",
            "services: {web: {command: [c], entrypoint: z, healthcheck: {test: [CMD, b]}}}",
        );
        assert_eq!(texts(&n, &["services", "web", "command"]), ["c"]);
        assert_eq!(
            n.at(&["services", "web", "entrypoint"]).unwrap().as_str(),
            Some("z")
        );
        assert_eq!(
            texts(&n, &["services", "web", "healthcheck", "test"]),
            ["CMD", "b"]
        );
        assert_eq!(
            n.at(&["services", "web", "healthcheck", "retries"])
                .unwrap()
                .as_str(),
            Some("3")
        );
    }

    #[test]
    fn ports_append_and_the_same_port_is_listed_once() {
        let n = m(
            "services: {web: {ports: ['8080:80', '9000-9001:90-91']}}",
            "services: {web: {ports: ['81', {target: 80, published: '8080'}, '9001:91']}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "ports"]),
            [
                "map[target:80 published:8080]",
                "9000:90/tcp",
                "9001:91",
                "81"
            ]
        );
    }

    #[test]
    fn an_unquoted_published_port_never_matches_like_in_compose() {
        let n = m(
            "services: {web: {ports: ['9000:90']}}",
            "services: {web: {ports: [{target: 90, published: 9000}]}}",
        );
        assert_eq!(texts(&n, &["services", "web", "ports"]).len(), 2);
    }

    #[test]
    fn volumes_are_unique_by_target_in_the_first_place() {
        let n = m(
            "services: {web: {volumes: ['./a:/data:ro', 'logs:/logs']}}",
            "services: {web: {volumes: [{type: bind, source: ./b, target: /data}, 'x:/x']}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "volumes"]),
            [
                "map[type:bind source:./b target:/data]",
                "logs:/logs",
                "x:/x"
            ]
        );
    }

    #[test]
    fn secrets_and_configs_are_unique_by_target() {
        let n = m(
            "services: {web: {secrets: [a, {source: b, target: /run/secrets/x}], configs: [c]}}",
            "services: {web: {secrets: [{source: z, target: a}, {source: y, target: /run/secrets/a}], configs: [{source: d, target: /c}]}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "secrets"]),
            [
                "map[source:y target:/run/secrets/a]",
                "map[source:b target:/run/secrets/x]",
                "map[source:z target:a]"
            ]
        );
        assert_eq!(
            texts(&n, &["services", "web", "configs"]),
            ["map[source:d target:/c]"]
        );
    }

    #[test]
    fn key_value_lists_and_mappings_merge_by_key() {
        let n = m(
            "services: {web: {environment: [A=1, B=2], labels: {x: '1', y: '2'}, sysctls: {a: 1}}}",
            "services: {web: {environment: {B: 3, C: , D: 1.0}, labels: [y=3], sysctls: [b=2]}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "environment"]),
            ["A=1", "B=3", "C", "D=1"]
        );
        assert_eq!(texts(&n, &["services", "web", "labels"]), ["x=1", "y=3"]);
        assert_eq!(texts(&n, &["services", "web", "sysctls"]), ["a=1", "b=2"]);
    }

    #[test]
    fn string_or_list_keys_append_and_stay_unique() {
        let n = m(
            "services: {web: {dns: 8.8.8.8, cap_add: [A], tmpfs: [/run], dns_search: a}}",
            "services: {web: {dns: [1.1.1.1, 8.8.8.8], cap_add: [A, B], tmpfs: /tmp, dns_search: a}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "dns"]),
            ["8.8.8.8", "1.1.1.1"]
        );
        assert_eq!(texts(&n, &["services", "web", "cap_add"]), ["A", "B"]);
        assert_eq!(texts(&n, &["services", "web", "tmpfs"]), ["/run", "/tmp"]);
        assert_eq!(texts(&n, &["services", "web", "dns_search"]), ["a"]);
    }

    #[test]
    fn extra_hosts_drop_exact_repeats() {
        let n = m(
            "services: {web: {extra_hosts: ['a:1.1.1.1']}}",
            "services: {web: {extra_hosts: ['a:1.1.1.1', 'b:2.2.2.2']}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "extra_hosts"]),
            ["a:1.1.1.1", "b:2.2.2.2"]
        );
    }

    #[test]
    fn depends_on_and_networks_merge_as_mappings() {
        let n = m(
            "services: {web: {depends_on: [db], networks: [front]}}",
            "services: {web: {depends_on: {db: {condition: service_healthy}, q: {condition: service_started}}, networks: {back: {}}}}",
        );
        let db = n.at(&["services", "web", "depends_on", "db"]).unwrap();
        assert_eq!(
            db.get("condition").unwrap().as_str(),
            Some("service_healthy")
        );
        assert_eq!(db.get("required").unwrap().as_str(), Some("true"));
        assert_eq!(keys(&n, &["services", "web", "depends_on"]), ["db", "q"]);
        assert_eq!(
            keys(&n, &["services", "web", "networks"]),
            ["front", "back"]
        );
    }

    #[test]
    fn build_string_is_its_context() {
        let n = m(
            "services: {web: {build: ./a}}",
            "services: {web: {build: {args: [X=1], target: dev}}}",
        );
        let b = n.at(&["services", "web", "build"]).unwrap();
        assert_eq!(b.get("context").unwrap().as_str(), Some("./a"));
        assert_eq!(b.get("target").unwrap().as_str(), Some("dev"));
    }

    #[test]
    fn logging_merges_only_for_the_same_driver() {
        let same = m(
            "services: {web: {logging: {driver: syslog, options: {a: '1'}}}}",
            "services: {web: {logging: {options: {b: '2'}}}}",
        );
        assert_eq!(
            keys(&same, &["services", "web", "logging", "options"]),
            ["a", "b"]
        );
        let other = m(
            "services: {web: {logging: {driver: syslog, options: {a: '1'}}}}",
            "services: {web: {logging: {driver: json-file}}}",
        );
        assert_eq!(keys(&other, &["services", "web", "logging"]), ["driver"]);
    }

    #[test]
    fn each_ulimit_is_replaced_whole() {
        let n = m(
            "services: {web: {ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}}}",
            "services: {web: {ulimits: {nofile: {soft: 3, hard: 4}}}}",
        );
        assert_eq!(
            keys(&n, &["services", "web", "ulimits"]),
            ["nofile", "nproc"]
        );
        assert_eq!(
            n.at(&["services", "web", "ulimits", "nofile", "soft"])
                .unwrap()
                .as_str(),
            Some("3")
        );
    }

    #[test]
    fn reset_removes_and_override_replaces() {
        let n = m(
            "services: {web: {image: a, ports: ['80'], environment: {A: 1, B: 2}}}",
            "services: {web: {ports: !reset [], environment: !override {C: 3}}}",
        );
        assert!(n.at(&["services", "web", "ports"]).is_none());
        assert_eq!(keys(&n, &["services", "web", "environment"]), ["C"]);
        assert_eq!(
            n.at(&["services", "web", "image"]).unwrap().as_str(),
            Some("a")
        );
    }

    #[test]
    fn tags_in_a_first_file_or_a_new_service_leave_no_trace() {
        let n = m(
            "services: {web: {image: a, ports: !reset ['80']}}",
            "services: {api: {image: b, dns: !reset [x], environment: !override {A: 1}}}",
        );
        assert!(n.at(&["services", "web", "ports"]).is_none());
        assert!(n.at(&["services", "api", "dns"]).is_none());
        assert_eq!(n.at(&["services", "api", "environment"]).unwrap().tag, None);
    }

    #[test]
    fn reset_keys_of_a_mapping_merged_as_a_list() {
        let n = m(
            "services: {web: {environment: {A: '1', B: '2'}, labels: [x=1]}}",
            "services: {web: {environment: {A: !reset , C: '3'}, labels: {x: !reset , y: '2'}}}",
        );
        assert_eq!(
            texts(&n, &["services", "web", "environment"]),
            ["B=2", "C=3"]
        );
        assert_eq!(texts(&n, &["services", "web", "labels"]), ["x=1", "y=2"]);
    }

    #[test]
    fn duplicates_within_one_file_are_dropped_too() {
        let n = m(
            "services: {web: {environment: [A=1, A=2], ports: ['80:80', '80:80']}}",
            "services: {}",
        );
        assert_eq!(texts(&n, &["services", "web", "environment"]), ["A=2"]);
        assert_eq!(texts(&n, &["services", "web", "ports"]), ["80:80"]);
    }

    #[test]
    fn ipam_pools_merge_by_subnet() {
        let n = m(
            "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}}}",
            "networks: {n: {ipam: {config: [{subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}, {subnet: 10.1.0.0/24}]}}}",
        );
        assert_eq!(
            texts(&n, &["networks", "n", "ipam", "config"]),
            [
                "map[subnet:10.0.0.0/24 gateway:10.0.0.1 ip_range:10.0.0.0/25]",
                "map[subnet:10.1.0.0/24]"
            ]
        );
    }

    #[test]
    fn mismatched_kinds_are_an_error_at_the_later_value() {
        let mut acc = tree("services: {web: {ports: ['80']}}");
        let mut diags = Diagnostics::default();
        merge_file(
            &mut acc,
            tree("services: {web: {ports: '81'}}"),
            &mut diags,
            &Budget::default(),
        );
        assert_eq!(diags.items.len(), 1);
        assert!(
            diags.items[0]
                .message
                .starts_with("cannot merge `services.web.ports`"),
            "{}",
            diags.items[0].message
        );
    }
}
