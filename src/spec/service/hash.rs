//! A service spec's hash, and what changed between two specs in words.

use bollard::models::ServiceSpec;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::identity;

/// Labels of a spec that describe berth, not the service: left out of the
/// hash and of [`service_changes`]. The version is one of them, so that a new
/// berth does not update every service it deployed.
const OWN_LABELS: &[&str] = &[
    identity::CONFIG_HASH,
    identity::VERSION,
    identity::HEALTHCHECK,
];

/// sha256 (hex) over the canonical JSON of `spec` (object keys sorted at
/// every level), without the labels `io.berth.config-hash` and
/// `io.berth.version`. The same spec gives the same hash in every process,
/// although its maps are `HashMap`s.
pub fn service_hash(spec: &ServiceSpec) -> String {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    drop_own_labels(&mut v);
    let text = serde_json::to_string(&canonical(v)).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn drop_own_labels(v: &mut Value) {
    if let Some(labels) = v.get_mut("Labels").and_then(Value::as_object_mut) {
        for k in OWN_LABELS {
            labels.remove(*k);
        }
    }
}

/// Object keys sorted at every level: request bodies hold hash maps, whose
/// order changes from run to run.
pub fn canonical(mut v: Value) -> Value {
    sort_keys(&mut v);
    v
}

/// Sorts in place: rebuilding every object took most of `config --swarm`'s
/// time on a service with 500,000 labels. Keys are unique, so an unstable
/// sort gives the one order.
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.sort_keys();
            o.values_mut().for_each(sort_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// What differs from `old` (say, a deployed service's spec, which the engine
/// may have filled with its defaults) to `new`, in the stack file's words:
/// `image a -> b`, `replicas 1 -> 3`, `cpus 0.5 -> 1`, `env changed`,
/// `ports changed`. An unset field and the engine's default for it
/// (`vip`, isolation `default`, an empty list) are the same; so are two
/// environments in another order. Empty when nothing that matters differs.
pub fn service_changes(old: &ServiceSpec, new: &ServiceSpec) -> Vec<String> {
    let (mut o, n) = (normalised(old), normalised(new));
    let mut out = Vec::new();
    let at = |v: &Value, path: &[&str]| -> Value {
        path.iter()
            .try_fold(v, |v, k| v.get(*k))
            .cloned()
            .unwrap_or(Value::Null)
    };

    // The image; a digest the engine pinned on one side only is no change.
    let image = |v: &Value| at(v, &["TaskTemplate", "ContainerSpec", "Image"]);
    let (oi, ni) = (image(&o), image(&n));
    if oi != ni {
        let (a, b) = (show(&oi, Kind::Plain), show(&ni, Kind::Plain));
        let strip = |s: &str| s.split('@').next().unwrap_or(s).to_string();
        if a.contains('@') == b.contains('@') || strip(&a) != strip(&b) {
            out.push(format!("image {a} -> {b}"));
        } else if let Some(i) = o.pointer_mut("/TaskTemplate/ContainerSpec/Image") {
            *i = ni.clone();
        }
    }

    // The image's local id (`io.berth.image-id`), when the reference is
    // the same: a rebuild under the same tag.
    out.extend(super::image::image_id_change(old, new));

    // Mode and replicas, from the specs as they are: pruning would take
    // `Global: {}` and `Replicas: 0` away.
    let raw = |s: &ServiceSpec| serde_json::to_value(&s.mode).unwrap_or(Value::Null);
    let (om, nm) = (mode(&raw(old)), mode(&raw(new)));
    if om.0 != nm.0 {
        out.push(format!("mode {} -> {}", om.0, nm.0));
    } else if om.1 != nm.1 {
        out.push(format!("replicas {} -> {}", count(om.1), count(nm.1)));
    }

    // The container: each field in the stack file's words. bollard names
    // the health check `HealthCheck` where the engine answers `Healthcheck`;
    // observe restores it from `io.berth.healthcheck`, but a service
    // deployed before berth sent that label has none: unknown, not removed.
    // (The spec hash, from the spec berth sent, still sees a change of
    // health check.)
    let no_check = at(&o, &["TaskTemplate", "ContainerSpec", "HealthCheck"]).is_null();
    for (field, word, name) in [
        ("Secrets", "secret", "SecretName"),
        ("Configs", "config", "ConfigName"),
    ] {
        let refs = |v: &Value| at(v, &["TaskTemplate", "ContainerSpec", field]);
        file_refs(&refs(&o), &refs(&n), word, name, &mut out);
    }
    let skip_image =
        |k: &str| matches!(k, "Image" | "Secrets" | "Configs") || (no_check && k == "HealthCheck");
    fields(
        &at(&o, &["TaskTemplate", "ContainerSpec"]),
        &at(&n, &["TaskTemplate", "ContainerSpec"]),
        CONTAINER_FIELDS,
        &skip_image,
        &mut out,
    );

    // Resources.
    let res = |v: &Value, which: &str| at(v, &["TaskTemplate", "Resources", which]);
    fields(
        &res(&o, "Limits"),
        &res(&n, "Limits"),
        LIMIT_FIELDS,
        &|_| false,
        &mut out,
    );
    fields(
        &res(&o, "Reservations"),
        &res(&n, "Reservations"),
        RESERVATION_FIELDS,
        &|_| false,
        &mut out,
    );

    // The rest of the task.
    fields(
        &at(&o, &["TaskTemplate"]),
        &at(&n, &["TaskTemplate"]),
        TASK_FIELDS,
        &|k| matches!(k, "ContainerSpec" | "Resources"),
        &mut out,
    );

    // The endpoint.
    let endpoint = |v: &Value| at(v, &["EndpointSpec"]);
    fields(
        &endpoint(&o),
        &endpoint(&n),
        ENDPOINT_FIELDS,
        &|_| false,
        &mut out,
    );

    // The service itself.
    fields(
        &o,
        &n,
        SERVICE_FIELDS,
        &|k| matches!(k, "TaskTemplate" | "Mode" | "EndpointSpec"),
        &mut out,
    );

    if out.is_empty() && o != n {
        out.push("spec changed".into());
    }
    out
}

/// The words for two lists of secret (or config) references, by the file
/// each puts in the container: `secret db_pw changed` when the same file
/// now comes from another object (berth names objects by their content),
/// `added`, `removed`, or `secret db_pw: mode changed` for the rest.
fn file_refs(old: &Value, new: &Value, word: &str, name: &str, out: &mut Vec<String>) {
    let by_file = |v: &Value| -> std::collections::BTreeMap<String, Value> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let file = r
                    .pointer("/File/Name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (file, r.clone())
            })
            .collect()
    };
    let (o, n) = (by_file(old), by_file(new));
    // A secret's file is under /run/secrets/ unless its target says
    // otherwise: its name there is what the stack file says.
    let shown = |f: &str| f.strip_prefix("/run/secrets/").unwrap_or(f).to_string();
    for (path, r) in &n {
        let file = shown(path);
        match o.get(path) {
            None => out.push(format!("{word} {file} added")),
            Some(was) if was.get(name) != r.get(name) => {
                out.push(format!("{word} {file} changed"));
            }
            Some(was) if was.get("File") != r.get("File") => {
                out.push(format!("{word} {file}: owner or mode changed"));
            }
            Some(_) => {}
        }
    }
    for file in o.keys().filter(|f| !n.contains_key(*f)) {
        out.push(format!("{word} {} removed", shown(file)));
    }
}

/// How to print a field's value.
#[derive(Clone, Copy)]
enum Kind {
    Plain,
    /// Nanoseconds, printed as Go prints a duration (`1m30s`).
    Duration,
    /// Billionths of a CPU, printed as a number of CPUs.
    Cpus,
    /// Bytes, in Docker's binary units (`256m`).
    Bytes,
}

/// Engine field, stack file word, how to print it.
type Fields = &'static [(&'static str, &'static str, Kind)];

const CONTAINER_FIELDS: Fields = &[
    ("Command", "entrypoint", Kind::Plain),
    ("Args", "command", Kind::Plain),
    ("Env", "env", Kind::Plain),
    ("Labels", "labels", Kind::Plain),
    ("Hostname", "hostname", Kind::Plain),
    ("Dir", "working_dir", Kind::Plain),
    ("User", "user", Kind::Plain),
    ("Groups", "group_add", Kind::Plain),
    ("TTY", "tty", Kind::Plain),
    ("OpenStdin", "stdin_open", Kind::Plain),
    ("ReadOnly", "read_only", Kind::Plain),
    ("Mounts", "volumes", Kind::Plain),
    ("StopSignal", "stop_signal", Kind::Plain),
    ("StopGracePeriod", "stop_grace_period", Kind::Duration),
    ("HealthCheck", "healthcheck", Kind::Plain),
    ("Hosts", "extra_hosts", Kind::Plain),
    ("DNSConfig", "dns", Kind::Plain),
    ("Secrets", "secrets", Kind::Plain),
    ("Configs", "configs", Kind::Plain),
    ("Isolation", "isolation", Kind::Plain),
    ("Init", "init", Kind::Plain),
    ("Sysctls", "sysctls", Kind::Plain),
    ("CapabilityAdd", "cap_add", Kind::Plain),
    ("CapabilityDrop", "cap_drop", Kind::Plain),
    ("Ulimits", "ulimits", Kind::Plain),
];

const LIMIT_FIELDS: Fields = &[
    ("NanoCPUs", "cpus", Kind::Cpus),
    ("MemoryBytes", "memory", Kind::Bytes),
    ("Pids", "pids", Kind::Plain),
];

const RESERVATION_FIELDS: Fields = &[
    ("NanoCPUs", "reserved cpus", Kind::Cpus),
    ("MemoryBytes", "reserved memory", Kind::Bytes),
    ("GenericResources", "reserved resources", Kind::Plain),
];

const TASK_FIELDS: Fields = &[
    ("RestartPolicy", "restart_policy", Kind::Plain),
    ("Placement", "placement", Kind::Plain),
    ("Networks", "networks", Kind::Plain),
    ("LogDriver", "logging", Kind::Plain),
    ("ForceUpdate", "force_update", Kind::Plain),
    ("Runtime", "runtime", Kind::Plain),
];

const ENDPOINT_FIELDS: Fields = &[
    ("Mode", "endpoint_mode", Kind::Plain),
    ("Ports", "ports", Kind::Plain),
];

const SERVICE_FIELDS: Fields = &[
    ("Name", "name", Kind::Plain),
    ("Labels", "deploy.labels", Kind::Plain),
    ("UpdateConfig", "update_config", Kind::Plain),
    ("RollbackConfig", "rollback_config", Kind::Plain),
    ("Networks", "networks", Kind::Plain),
];

/// One word per differing key of two objects: the table's keys in its
/// order, then any other key (lowercased) in name order. Scalars print as
/// `word a -> b`, others as `word changed`.
fn fields(
    old: &Value,
    new: &Value,
    table: Fields,
    skip: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) {
    let empty = Map::new();
    let a = old.as_object().unwrap_or(&empty);
    let b = new.as_object().unwrap_or(&empty);
    let mut others: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !table.iter().any(|(f, _, _)| f == k))
        .collect();
    others.sort();
    others.dedup();
    let lowered: Vec<String> = others.iter().map(|k| k.to_ascii_lowercase()).collect();
    let rest = others
        .iter()
        .zip(&lowered)
        .map(|(k, w)| (k.as_str(), w.as_str(), Kind::Plain));
    let all = table.iter().map(|(k, w, kind)| (*k, *w, *kind)).chain(rest);
    for (key, word, kind) in all {
        if skip(key) {
            continue;
        }
        let (x, y) = (
            a.get(key).cloned().unwrap_or(Value::Null),
            b.get(key).cloned().unwrap_or(Value::Null),
        );
        if x == y {
            continue;
        }
        let scalar = |v: &Value| !v.is_object() && !v.is_array();
        if scalar(&x) && scalar(&y) {
            out.push(format!("{word} {} -> {}", show(&x, kind), show(&y, kind)));
        } else {
            out.push(format!("{word} changed"));
        }
    }
}

fn show(v: &Value, kind: Kind) -> String {
    match (v, kind) {
        (Value::Null, _) => "unset".into(),
        (Value::Number(n), Kind::Duration) => n
            .as_i64()
            .map_or_else(|| n.to_string(), crate::model::units::format_go_duration),
        (Value::Number(n), Kind::Cpus) => n.as_i64().map_or_else(
            || n.to_string(),
            |c| {
                let s = format!("{:.3}", c as f64 / 1e9);
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            },
        ),
        (Value::Number(n), Kind::Bytes) => n.as_i64().map_or_else(|| n.to_string(), size),
        (Value::String(s), _) => s.clone(),
        (v, _) => v.to_string(),
    }
}

/// Bytes in Docker's binary units, as users write them (`200m`).
fn size(n: i64) -> String {
    const K: i64 = 1024;
    match n {
        n if n != 0 && n % (K * K * K) == 0 => format!("{}g", n / (K * K * K)),
        n if n != 0 && n % (K * K) == 0 => format!("{}m", n / (K * K)),
        n if n != 0 && n % K == 0 => format!("{}k", n / K),
        n => n.to_string(),
    }
}

/// A service mode's name and its task count (None: Swarm's default).
fn mode(v: &Value) -> (&'static str, Option<i64>) {
    let n = |path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(*k))
            .and_then(Value::as_i64)
    };
    if v.get("Global").is_some() {
        ("global", None)
    } else if v.get("GlobalJob").is_some() {
        ("global-job", None)
    } else if v.get("ReplicatedJob").is_some() {
        ("replicated-job", n(&["ReplicatedJob", "TotalCompletions"]))
    } else {
        // A replicated service without a count runs one task.
        (
            "replicated",
            Some(n(&["Replicated", "Replicas"]).unwrap_or(1)),
        )
    }
}

fn count(n: Option<i64>) -> String {
    n.map_or_else(|| "unset".into(), |n| n.to_string())
}

/// `spec` as JSON with berth's own labels gone, the engine's defaults and
/// empty values removed, and lists whose order means nothing sorted.
fn normalised(spec: &ServiceSpec) -> Value {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    drop_own_labels(&mut v);
    // The image label repeats the image, which has words of its own.
    if let Some(labels) = v.get_mut("Labels").and_then(Value::as_object_mut) {
        labels.remove(super::STACK_IMAGE);
    }
    // The container's image id label has words of its own too
    // (`image_id_change`).
    if let Some(labels) = v
        .pointer_mut("/TaskTemplate/ContainerSpec/Labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(identity::IMAGE_ID);
    }
    // What the engine answers for a field berth left unset.
    let defaults: [(&[&str], &str); 7] = [
        (&["TaskTemplate", "ContainerSpec", "Isolation"], "default"),
        (&["TaskTemplate", "Runtime"], "container"),
        (&["EndpointSpec", "Mode"], "vip"),
        (&["UpdateConfig", "FailureAction"], "pause"),
        (&["UpdateConfig", "Order"], "stop-first"),
        (&["RollbackConfig", "FailureAction"], "pause"),
        (&["RollbackConfig", "Order"], "stop-first"),
    ];
    for (path, default) in defaults {
        let (last, parents) = path.split_last().expect("a path");
        if let Some(parent) = parents
            .iter()
            .try_fold(&mut v, |v, k| v.get_mut(*k))
            .and_then(Value::as_object_mut)
            && parent.get(*last).and_then(Value::as_str) == Some(default)
        {
            parent.remove(*last);
        }
    }
    if let Some(env) = v
        .pointer_mut("/TaskTemplate/ContainerSpec/Env")
        .and_then(Value::as_array_mut)
    {
        env.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    // Object ids are the engine's: a spec names its objects by name.
    for (field, id) in [("Secrets", "SecretID"), ("Configs", "ConfigID")] {
        if let Some(refs) = v
            .pointer_mut(&format!("/TaskTemplate/ContainerSpec/{field}"))
            .and_then(Value::as_array_mut)
        {
            for r in refs.iter_mut().filter_map(Value::as_object_mut) {
                r.remove(id);
            }
        }
    }
    if let Some(nets) = v
        .pointer_mut("/TaskTemplate/Networks")
        .and_then(Value::as_array_mut)
    {
        nets.sort_by_key(|n| n.get("Target").and_then(Value::as_str).map(str::to_string));
    }
    prune(canonical(v))
}

/// Empty values (null, false, 0, "", [], {}) removed from objects, at every
/// level; an object or list left empty is null.
fn prune(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            let kept: Map<String, Value> = o
                .into_iter()
                .map(|(k, v)| (k, prune(v)))
                .filter(|(_, v)| !blank(v))
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Array(a) => Value::Array(a.into_iter().map(prune).collect()),
        v => v,
    }
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}
