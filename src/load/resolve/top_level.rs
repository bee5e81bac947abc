//! The top-level definitions, raw to validated: networks, volumes, secrets
//! and configs, each with the name the engine knows it by (`<project>_<key>`
//! unless named or external), its labels and driver options, and the checks
//! that need no engine (a network named like a predefined one, a volume name
//! the local driver refuses, a subnet that is not a CIDR block, a variable a
//! secret reads that is not set). Which of them the services use, and so are
//! kept, is decided by the caller, once every service is resolved.

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::resolve::context::Context;
use crate::load::resolve::lists::empty_names;
use crate::model::raw;
use crate::model::stack::*;
use crate::source::Span;

fn external(e: &Option<crate::model::Spanned<raw::External>>) -> (bool, Option<String>) {
    match e.as_ref().map(|e| &e.value) {
        Some(raw::External::Flag(b)) => (*b, None),
        Some(raw::External::Named { name }) => (true, Some(name.clone())),
        None => (false, None),
    }
}

/// Whether a network or volume is external, and the name the engine knows
/// it by: its `name`, else the external name, else the key (external) or
/// `<project>_<key>`.
fn engine_name(
    cx: &Context,
    key: &str,
    name: Option<&crate::model::Spanned<String>>,
    ext: &Option<crate::model::Spanned<raw::External>>,
) -> (bool, String) {
    let (is_external, ext_name) = external(ext);
    let name = name
        .map(|n| n.value.clone())
        .or(ext_name)
        .unwrap_or_else(|| {
            if is_external {
                key.to_string()
            } else {
                format!("{}_{key}", cx.project)
            }
        });
    (is_external, name)
}

pub(super) fn network(cx: &mut Context, key: &str, span: Span, n: &raw::Network) -> Network {
    empty_names(cx, &n.labels, &format!("networks.{key}.labels"));
    let (is_external, name) = engine_name(cx, key, n.name.as_ref(), &n.external);
    // The engine creates a network of any other name (`a/b` too: measured
    // on 20.10), but never one of its own predefined ones. An external
    // network is not created, so `name: host` is how it is used.
    if !is_external && PREDEFINED_NETWORKS.contains(&name.as_str()) {
        let at = n.name.as_ref().map_or(span, |n| n.span);
        cx.diagnostics.push(
            Diagnostic::error(format!(
                "network `{key}` cannot be named `{name}`: that is one of the engine's predefined networks"
            ))
            .label(at, "predefined network")
            .help(format!(
                "the engine creates no network called {}; to use its `{name}` network, add `external: true`",
                PREDEFINED_NETWORKS.map(|n| format!("`{n}`")).join(", ")
            )),
        );
    }
    let ipam = n.ipam.as_ref().map_or_else(Ipam::default, |i| Ipam {
        driver: i.driver.clone(),
        config: i
            .config
            .iter()
            .flatten()
            .map(|p| IpamPool {
                subnet: p.subnet.clone(),
                gateway: p.gateway.clone(),
                ip_range: p.ip_range.clone(),
                aux_addresses: p.aux_addresses.clone().unwrap_or_default(),
            })
            .collect(),
        options: i
            .options
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
    });
    for pool in &ipam.config {
        for (what, v) in [("subnet", &pool.subnet), ("ip_range", &pool.ip_range)] {
            if let Some(v) = v
                && !is_cidr(v)
            {
                cx.diagnostics.push(
                    Diagnostic::error(format!("network `{key}`: {what} `{v}` is not a CIDR block"))
                        .label(span, "invalid ipam config")
                        .help("write a subnet like `172.28.0.0/16`"),
                );
            }
        }
    }
    Network {
        name,
        driver: n.driver.clone(),
        driver_opts: n
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        ipam,
        external: is_external,
        internal: n.internal.unwrap_or(false),
        attachable: n.attachable.unwrap_or(false),
        enable_ipv4: n.enable_ipv4,
        enable_ipv6: n.enable_ipv6,
        labels: label_map(&n.labels),
        span,
    }
}

/// Networks every engine has, which it refuses to create.
const PREDEFINED_NETWORKS: [&str; 4] = ["bridge", "host", "none", "default"];

/// The local volume driver's rule for names (moby's
/// `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`).
fn is_local_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn is_cidr(v: &str) -> bool {
    match v.split_once('/') {
        Some((ip, bits)) => {
            let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
                return false;
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            bits.parse::<u8>().is_ok_and(|b| b <= max)
        }
        None => false,
    }
}

fn label_map(l: &Option<raw::ListOrDict>) -> IndexMap<String, String> {
    match l {
        None => IndexMap::new(),
        Some(raw::ListOrDict::Dict(d)) => d
            .iter()
            .map(|(k, v)| {
                (
                    k.value.clone(),
                    v.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                )
            })
            .collect(),
        Some(raw::ListOrDict::List(items)) => items
            .iter()
            .map(|i| match i.value.0.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (i.value.0.clone(), String::new()),
            })
            .collect(),
    }
}

pub(super) fn volume(cx: &mut Context, key: &str, span: Span, v: &raw::Volume) -> Volume {
    empty_names(cx, &v.labels, &format!("volumes.{key}.labels"));
    let (is_external, name) = engine_name(cx, key, v.name.as_ref(), &v.external);
    // The engine's local driver creates only volumes named like this
    // (`docker volume create a/b` fails); other drivers have rules of their
    // own. An external volume is not created: a name the local driver
    // refuses can only be a volume of another driver, which is its business.
    let local = v.driver.as_deref().is_none_or(|d| d == "local");
    if local && !is_external && !is_local_volume_name(&name) {
        let at = v.name.as_ref().map_or(span, |n| n.span);
        cx.diagnostics.push(
            Diagnostic::error(format!("invalid volume name `{name}` for volume `{key}`"))
                .label(at, "not a volume name the engine accepts")
                .help("the engine's local driver takes names of at least two characters, of letters, digits, `_`, `.` and `-`, that start with a letter or digit; a path is for a bind mount in the service's `volumes:`"),
        );
    }
    Volume {
        name,
        driver: v.driver.clone(),
        driver_opts: v
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        external: is_external,
        labels: label_map(&v.labels),
        span,
    }
}

pub(super) fn file_object(
    cx: &mut Context,
    key: &str,
    span: Span,
    s: &raw::SecretOrConfig,
) -> FileObject {
    let (is_external, ext_name) = external(&s.external);
    let name = s.name.clone().or(ext_name).unwrap_or_else(|| {
        if is_external {
            key.to_string()
        } else {
            format!("{}_{key}", cx.project)
        }
    });
    if let Some(e) = &s.environment
        && !cx.env.contains_key(&e.value)
    {
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "`{key}` reads the variable `{}`, which is not set",
                e.value
            ))
            .label(e.span, "not set")
            .help("set it in the environment or in .env"),
        );
    }
    FileObject {
        name,
        file: s.file.as_ref().map(|f| cx.abs_path(&f.value)),
        environment: s.environment.as_ref().map(|e| e.value.clone()),
        content: s.content.clone(),
        external: is_external,
        labels: label_map(&s.labels),
        driver: s.driver.clone(),
        driver_opts: s
            .driver_opts
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        template_driver: s.template_driver.clone(),
        value: s
            .environment
            .as_ref()
            .and_then(|e| cx.env.get(&e.value).cloned()),
        span,
    }
}
