//! The merged tree to a validated [`Stack`]: typed ([`de`] into `model::raw`)
//! and resolved.
//!
//! Short syntax becomes long syntax, sizes and durations are parsed, relative
//! paths become absolute, names get their project prefix, and everything that can
//! be checked without an engine is checked: ports, sizes and their minimums, cpus,
//! cpuset, restart policies, references between services, networks, volumes,
//! secrets and configs. Every problem becomes a [`Diagnostic`] at the span it was
//! written; resolving goes on after a problem so that all of them are reported.
//! Dependency cycles are the graph's business (`crate::graph`).
//!
//! [`stack`] is the order: the top-level sections typed one entry at a time,
//! profiles applied, the services typed and resolved one at a time (each
//! tree and raw model freed before the next, and none given a
//! `container_name` another has), their `env_file`s read (`env_file`), then
//! the top-level definitions (`top_level`), and what no service uses
//! dropped. A service is resolved by `service`, key by key, in
//! the modules below: its resources, `deploy`, `build`, `extra_hosts`, ports,
//! volumes, `develop`, networks, dependencies, and secrets and configs
//! (`file_refs`). What they all use is in modules of its own, which import
//! only `context`: the context and the names defined at the top level
//! (`context`), scalar values (`values`), list and mapping forms (`lists`)
//! and command lines (`command`). None of these imports this module.

mod build;
mod command;
mod context;
mod dependencies;
mod deploy;
mod develop;
mod env_file;
mod extra_hosts;
mod file_refs;
mod lists;
mod networks;
pub mod ports;
mod resources;
mod service;
mod top_level;
mod values;
mod volumes;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::budget::Budget;
use crate::load::de;
use crate::load::sections::{TOP_LEVEL, section_map};
use crate::load::yaml::{self, Node, Value};
use crate::model::raw;
use crate::model::stack::*;
use crate::source::Span;
use context::{Context, Defined, Names};
use env_file::{EnvTexts, env_files};
use service::service;
use top_level::{file_object, network, volume};

/// Types the merged tree, resolves it and checks references. `cli_profiles`:
/// the `--profile`s given, if any.
pub(super) fn stack(
    root: Node,
    cli_profiles: &[String],
    project: &str,
    project_dir: &Path,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
    budget: &Budget,
) -> Stack {
    let mut map = match root.value {
        Value::Map(m) => m,
        _ => yaml::Map::new(),
    };
    for (key, entry) in &map {
        if !TOP_LEVEL.contains(&key.as_str()) && !key.starts_with("x-") {
            diags.push(de::unknown_key(key, entry.key_span, TOP_LEVEL));
        }
    }
    let sink = de::Sink::default();
    let project = project.to_string();
    let extensions: IndexMap<String, serde_json::Value> = map
        .iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, e)| (k.clone(), yaml::to_json(&e.value)))
        .collect();

    let mut take = |key: &str| map.shift_remove(key).map(|e| e.value);
    let services_node = section_map(take("services"), "services", diags);
    let networks_raw = section::<raw::Network>(take("networks"), "networks", &sink, diags);
    let volumes_raw = section::<raw::Volume>(take("volumes"), "volumes", &sink, diags);
    let secrets_raw = section::<raw::SecretOrConfig>(take("secrets"), "secrets", &sink, diags);
    let configs_raw = section::<raw::SecretOrConfig>(take("configs"), "configs", &sink, diags);
    drop(map);

    // Profiles: a service with profiles is enabled only when one of them is
    // active (`--profile`, else COMPOSE_PROFILES; `*` is all of them).
    let active: Vec<String> = if cli_profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        cli_profiles.to_vec()
    };
    let enabled = |p: &[String]| {
        p.is_empty()
            || p.iter()
                .any(|p| active.contains(p) || active.iter().any(|a| a == "*"))
    };
    // Services are typed and resolved one at a time, each tree and raw model
    // freed before the next, so a large stack never holds all three forms at
    // once. What must be known of every service beforehand (its name and
    // profiles) is read from the tree.
    let profiles: IndexMap<String, Vec<String>> = services_node
        .iter()
        .map(|(name, e)| {
            let p = e
                .value
                .get("profiles")
                .and_then(Node::as_seq)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (name.clone(), p)
        })
        .collect();

    let defined = Defined {
        subnets: networks_raw
            .iter()
            .map(|(name, (_, n))| {
                let subnets = n
                    .ipam
                    .iter()
                    .flat_map(|i| i.config.iter().flatten())
                    .filter_map(|pool| pool.subnet.clone())
                    .collect();
                (name.clone(), subnets)
            })
            .collect(),
        services: Names::new(profiles.keys().cloned().collect()),
        networks: Names::new(networks_raw.keys().cloned().collect()),
        volumes: Names::new(volumes_raw.keys().cloned().collect()),
        secrets: Names::new(secrets_raw.keys().cloned().collect()),
        configs: Names::new(configs_raw.keys().cloned().collect()),
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut cx = Context {
        project: &project,
        project_dir,
        home,
        env,
        diagnostics: Vec::new(),
    };

    let mut stack = Stack {
        name: project.clone(),
        extensions,
        ..Stack::default()
    };
    // Exactly as many as there are: a map that doubles as it grows would
    // hold up to twice the services' size while it copies (a 100,000-service
    // file is a few hundred MiB of models).
    stack.services.reserve_exact(services_node.len());
    // Where each `container_name` was first set: the engine names one
    // container per name, so a second service with it could never start.
    let mut container_names: std::collections::HashMap<String, (String, Span)> =
        std::collections::HashMap::new();
    let mut env_texts = EnvTexts::default();
    for (name, entry) in services_node {
        if budget.is_spent() {
            break;
        }
        if !valid_service_name(&name) {
            diags.push(
                Diagnostic::error(if name.is_empty() {
                    "a service has an empty (or null) name".to_string()
                } else {
                    format!("invalid service name `{name}`")
                })
                    .label(entry.key_span, "not a service name")
                    .help("a service name has only letters, digits, `.`, `_` and `-`, and at least one of them"),
            );
            continue;
        }
        let svc = match de::from_node::<Option<raw::Service>>(&entry.value, &sink) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                diags.push(e.within(&name).into_diagnostic(entry.value.span));
                continue;
            }
        };
        drop(entry.value);
        if !enabled(svc.profiles.as_deref().unwrap_or_default()) {
            continue;
        }
        for (target, span) in needs(&svc) {
            if let Some(p) = profiles.get(&target).filter(|p| !enabled(p)) {
                diags.push(disabled_dependency(&name, &target, span, p));
            }
        }
        let mut s = service(&mut cx, &name, entry.key_span, &svc, &defined);
        if let Some(c) = &svc.container_name {
            match container_names.get(&c.value) {
                Some((first, at)) => diags.push(
                    Diagnostic::error(format!(
                        "services `{first}` and `{name}` both set `container_name: {}`",
                        c.value
                    ))
                    .label(c.span, "set again here")
                    .label(*at, format!("first set by `{first}`"))
                    .help("container names are unique on an engine: give each service its own `container_name`, or leave it out to get `<project>-<service>-1`"),
                ),
                None => {
                    container_names.insert(c.value.clone(), (name.clone(), c.span));
                }
            }
        }
        env_files(&mut cx, &mut s, &svc, &mut env_texts, budget);
        drop(svc);
        for (k, v) in s.environment.iter_mut() {
            if v.is_none() {
                *v = env.get(k).cloned();
            }
        }
        s.shrink_to_fit();
        stack.services.insert(name, s);
    }
    diags.extend(sink.diagnostics.take());
    for (name, (key_span, n)) in &networks_raw {
        stack
            .networks
            .insert(name.clone(), network(&mut cx, name, *key_span, n));
    }
    for (name, (key_span, v)) in &volumes_raw {
        stack
            .volumes
            .insert(name.clone(), volume(&mut cx, name, *key_span, v));
    }
    for (name, (key_span, s)) in &secrets_raw {
        stack
            .secrets
            .insert(name.clone(), file_object(&mut cx, name, *key_span, s));
    }
    for (name, (key_span, s)) in &configs_raw {
        stack
            .configs
            .insert(name.clone(), file_object(&mut cx, name, *key_span, s));
    }
    // compose adds a `default` network when a service joins it implicitly.
    let uses_default = stack
        .services
        .values()
        .any(|s| s.networks.contains_key("default"));
    if uses_default && !stack.networks.contains_key("default") {
        stack.networks.insert(
            "default".into(),
            Network {
                name: format!("{project}_default"),
                ..Network::default()
            },
        );
    }
    // compose prints only the networks and volumes that services use.
    let used_networks: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.networks.keys().cloned())
        .collect();
    stack.networks.retain(|k, _| used_networks.contains(k));
    let used_volumes: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.volumes.iter().filter_map(|v| v.source.clone()))
        .collect();
    stack.volumes.retain(|k, _| used_volumes.contains(k));
    let used_secrets: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| {
            let x = s.extras();
            let build = x.build.iter().flat_map(|b| b.secrets.iter());
            x.secrets.iter().chain(build).map(|r| r.source.clone())
        })
        .collect();
    stack.secrets.retain(|k, _| used_secrets.contains(k));
    let used_configs: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.extras().configs.iter().map(|r| r.source.clone()))
        .collect();
    stack.configs.retain(|k, _| used_configs.contains(k));
    copied_digests(&mut stack);

    diags.extend(cx.diagnostics);
    stack
}

/// Each service's references to secrets and configs that a plain engine
/// copies into its containers (from `environment` or `content`) get the
/// sha256 of that content, so that the config hash follows it.
fn copied_digests(stack: &mut Stack) {
    use sha2::{Digest, Sha256};
    let Stack {
        services,
        secrets,
        configs,
        ..
    } = stack;
    let digest = |objects: &crate::model::Map<FileObject>, key: &str| {
        let o = objects.get(key)?;
        let data = match (&o.environment, &o.content) {
            (Some(_), _) => o.value.as_deref()?,
            (None, Some(c)) => c.as_str(),
            (None, None) => return None,
        };
        let d = Sha256::digest(data.as_bytes());
        Some(d.iter().map(|b| format!("{b:02x}")).collect::<String>())
    };
    for svc in services.values_mut() {
        // A service without extras has no references, and is left without.
        let Some(x) = svc.extras.as_deref_mut() else {
            continue;
        };
        for r in &mut x.secrets {
            r.digest = digest(secrets, &r.source);
        }
        for r in &mut x.configs {
            r.digest = digest(configs, &r.source);
        }
    }
}

/// compose's rule for service names (its schema's `^[a-zA-Z0-9._-]+$`): they
/// become parts of container and host names.
fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The services a service cannot start without, where it names them: required
/// `depends_on`, `links`, `volumes_from` and `network_mode: service:`.
fn needs(svc: &raw::Service) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    match &svc.depends_on {
        Some(raw::DependsOn::List(l)) => {
            out.extend(l.iter().map(|d| (d.value.clone(), d.span)));
        }
        Some(raw::DependsOn::Map(m)) => out.extend(
            m.iter()
                .filter(|(_, d)| d.required != Some(false))
                .map(|(k, _)| (k.value.clone(), k.span)),
        ),
        None => {}
    }
    let before_colon = |s: &str| s.split(':').next().unwrap_or_default().to_string();
    for l in svc.links.iter().flatten() {
        out.push((before_colon(&l.value), l.span));
    }
    for v in svc.volumes_from.iter().flatten() {
        if !v.value.starts_with("container:") {
            out.push((before_colon(&v.value), v.span));
        }
    }
    for n in [&svc.network_mode, &svc.ipc, &svc.pid]
        .into_iter()
        .flatten()
    {
        if let Some(target) = n.value.strip_prefix("service:") {
            out.push((target.to_string(), n.span));
        }
    }
    out
}

/// compose refuses a stack where an enabled service needs one that its
/// profiles leave out; it never enables the other one by itself.
fn disabled_dependency(name: &str, target: &str, at: Span, profiles: &[String]) -> Diagnostic {
    let list = profiles
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let flag = profiles
        .first()
        .map_or(String::new(), |p| format!("--profile {p}"));
    Diagnostic::error(format!(
        "service `{name}` needs `{target}`, which is not enabled"
    ))
    .label(at, format!("`{target}` runs only with profile {list}"))
    .help(format!(
        "enable it with `{flag}` (or COMPOSE_PROFILES), give `{name}` the same profiles, or make the dependency optional with `required: false`"
    ))
}

/// Deserializes each entry of a top-level section on its own, so that a type
/// error in one entry does not hide the errors of the others.
fn section<T: serde::de::DeserializeOwned + Default>(
    node: Option<Node>,
    key: &str,
    sink: &de::Sink,
    diags: &mut Diagnostics,
) -> IndexMap<String, (Span, T)> {
    let mut out = IndexMap::new();
    for (name, entry) in section_map(node, key, diags) {
        // `x-` marks an extension only in a definition, not as a name:
        // compose reads `networks: {x-net: ...}` as a network named x-net.
        match de::from_node::<Option<T>>(&entry.value, sink) {
            Ok(v) => {
                out.insert(name, (entry.key_span, v.unwrap_or_default()));
            }
            Err(e) => diags.push(e.within(&name).into_diagnostic(entry.value.span)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::load::load;
    use crate::load::tests::{errors, opts};
    use crate::testutil::dir;

    #[test]
    fn needing_a_service_left_out_by_its_profiles_is_an_error() {
        let d = dir(&[(
            "compose.yaml",
            "services:\n  web: {image: a, depends_on: [db], links: [cache]}\n  db: {image: d, profiles: [backend]}\n  cache: {image: c, profiles: [backend]}\n  opt: {image: o, depends_on: {db: {condition: service_started, required: false}}}\n",
        )]);
        assert_eq!(
            errors(load(&opts(&d))),
            [
                "service `web` needs `db`, which is not enabled",
                "service `web` needs `cache`, which is not enabled"
            ]
        );
        let mut o = opts(&d);
        o.profiles = vec!["backend".into()];
        assert!(errors(load(&o)).is_empty());
    }
}
