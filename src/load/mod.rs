//! Stack files to a validated [`Stack`]: the first stage of the pipeline.
//!
//! read -> parse ([`yaml`]) -> interpolate ([`interpolate`]) -> include, merge and
//! extend ([`merge`]) -> type ([`de`] into `model::raw`) -> resolve and validate
//! ([`resolve`], [`ports`], [`volumes`]). Every stage reports into one list of
//! diagnostics; loading goes as far as it can so that all errors are shown at
//! once. It stops at the validated model: dependency order is `crate::graph`'s.

pub mod de;
pub mod interpolate;
pub mod merge;
pub mod ports;
pub mod resolve;
pub mod units;
pub mod volumes;
pub mod yaml;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::raw;
use crate::model::stack::*;
use crate::source::{Sources, Span};
use yaml::{Node, Value};

/// Where to find the stack and how to read it (the global CLI options).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// The directory berth runs in; default files are looked for here.
    pub cwd: PathBuf,
    /// The process environment.
    pub environ: IndexMap<String, String>,
}

/// A loaded stack with its sources (for rendering warnings).
pub struct Loaded {
    pub stack: Stack,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    pub project_dir: PathBuf,
}

/// Loading failed: every diagnostic found, with the sources they point into.
pub struct Failed {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Finds the stack files: those given, else the first default name found in the
/// working directory or one of its parents, as compose does.
fn find_files(opts: &Options) -> Result<Vec<PathBuf>, Diagnostic> {
    if !opts.files.is_empty() {
        return Ok(opts.files.iter().map(|f| opts.cwd.join(f)).collect());
    }
    let start = opts
        .project_directory
        .as_ref()
        .map_or(opts.cwd.clone(), |p| opts.cwd.join(p));
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        for name in DEFAULT_FILES {
            let p = d.join(name);
            if p.is_file() {
                let mut files = vec![p];
                let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
                let ext = name.rsplit_once('.').map_or("yaml", |(_, e)| e);
                let over = d.join(format!("{stem}.override.{ext}"));
                if over.is_file() {
                    files.push(over);
                }
                return Ok(files);
            }
        }
        dir = d.parent();
    }
    Err(Diagnostic::error(format!(
        "no stack file found in {} or its parents",
        start.display()
    ))
    .help("name one with `-f FILE` (or as an argument), or create compose.yaml"))
}

/// compose's project name rule: lower case, only `a-z0-9_-`, starting with a
/// letter or digit.
pub fn normalize_project_name(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn display_name(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

/// Reads a dotenv file into `into`, keeping values already there.
fn read_env_file(
    path: &Path,
    into: &mut IndexMap<String, String>,
    overwrite: bool,
) -> Result<(), String> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| e.to_string())?;
    for item in iter {
        let (k, v) = item.map_err(|e| e.to_string())?;
        if overwrite || !into.contains_key(&k) {
            into.insert(k, v);
        }
    }
    Ok(())
}

pub fn load(opts: &Options) -> Result<Loaded, Failed> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let files = match find_files(opts) {
        Ok(f) => f,
        Err(d) => {
            return Err(Failed {
                sources,
                diagnostics: vec![d],
            });
        }
    };
    let project_dir = match &opts.project_directory {
        Some(p) => opts.cwd.join(p),
        None => files[0]
            .parent()
            .map_or(opts.cwd.clone(), Path::to_path_buf),
    };
    let project_dir = PathBuf::from(resolve::clean_path(&project_dir));

    // Interpolation sees the process environment first, then `.env` (or the
    // `--env-file`s, later ones winning), as compose does.
    let mut env = opts.environ.clone();
    let env_files: Vec<PathBuf> = if opts.env_files.is_empty() {
        let dot = project_dir.join(".env");
        if dot.is_file() { vec![dot] } else { vec![] }
    } else {
        opts.env_files.iter().map(|f| opts.cwd.join(f)).collect()
    };
    let mut from_files = IndexMap::new();
    for f in &env_files {
        if let Err(e) = read_env_file(f, &mut from_files, true) {
            diags.push(
                Diagnostic::error(format!("cannot read env file {}: {e}", f.display()))
                    .help("check that the file exists and holds KEY=VALUE lines"),
            );
        }
    }
    for (k, v) in from_files {
        env.entry(k).or_insert(v);
    }

    let mut merged: Option<Node> = None;
    for path in &files {
        let Some(tree) = read_tree(path, &opts.cwd, &env, &mut sources, &mut diags) else {
            continue;
        };
        match &mut merged {
            None => merged = Some(tree),
            Some(base) => merge::merge(base, tree, ""),
        }
    }
    let root = merged.unwrap_or_else(|| Node::new(Value::Map(Default::default()), Span::default()));
    if diags.has_errors() {
        return Err(Failed {
            sources,
            diagnostics: diags.items,
        });
    }
    let mut root = root;
    include::apply(
        &mut root,
        &project_dir,
        &opts.cwd,
        &env,
        &mut sources,
        &mut diags,
    );
    extends::apply(
        &mut root,
        &project_dir,
        &opts.cwd,
        &env,
        &mut sources,
        &mut diags,
    );

    let stack = build(&root, opts, &project_dir, &files, &env, &mut diags);
    // A cycle makes the stack impossible to start, so it is a load error.
    diags.extend(crate::graph::Graph::new(&stack).cycles());
    if diags.has_errors() {
        return Err(Failed {
            sources,
            diagnostics: diags.items,
        });
    }
    Ok(Loaded {
        stack,
        sources,
        diagnostics: diags.items,
        project_dir,
    })
}

/// Reads, parses and interpolates one file.
pub(crate) fn read_tree(
    path: &Path,
    cwd: &Path,
    env: &IndexMap<String, String>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<Node> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read stack file {}: {e}", path.display()))
                    .help("check the path given with -f"),
            );
            return None;
        }
    };
    let id = sources.add(display_name(path, cwd), path.to_path_buf(), text);
    let text = sources.get(id).text.clone();
    let mut tree = match yaml::parse(id, &text) {
        Ok(Some(t)) => t,
        Ok(None) => Node::new(Value::Map(Default::default()), Span::new(id, 0..0)),
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    if !matches!(tree.value, Value::Map(_)) {
        diags.push(
            Diagnostic::error("a stack file must be a mapping at the top level")
                .label(tree.span, format!("found {}", tree.kind()))
                .help("start the file with `services:`"),
        );
        return None;
    }
    interpolate_tree(&mut tree, &text, env, diags);
    Some(tree)
}

/// Interpolates every scalar value (not keys) in place.
fn interpolate_tree(
    node: &mut Node,
    text: &str,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
) {
    match &mut node.value {
        Value::Scalar(s) => {
            if interpolate::is_plain(&s.text) {
                return;
            }
            // Offsets inside the scalar map to the file only where the file
            // holds the text verbatim (plain scalars) or just inside quotes.
            let raw = text.get(node.span.range()).unwrap_or_default();
            let shift = if raw == s.text {
                Some(0)
            } else if raw.len() >= 2 && raw[1..raw.len() - 1] == s.text {
                Some(1)
            } else {
                None
            };
            let at = |r: std::ops::Range<usize>| match shift {
                Some(k) => node.span.sub(r.start + k..r.end + k),
                None => node.span,
            };
            let lookup = |name: &str| env.get(name).cloned();
            match interpolate::interpolate(&s.text, &lookup) {
                Ok(done) => {
                    for u in &done.unset {
                        diags.push(
                            Diagnostic::warning(format!(
                                "the variable `{}` is not set; using an empty string",
                                u.name
                            ))
                            .label(at(u.range.clone()), "not set")
                            .help(format!(
                                "set `{}` in the environment or in .env, or give a default: `${{{}:-value}}`",
                                u.name, u.name
                            )),
                        );
                    }
                    s.text = done.value;
                }
                Err(e) => {
                    let (range, label, help) = match &e {
                        interpolate::InterpolationError::Required { name, range, .. } => (
                            range.clone(),
                            "required variable".to_string(),
                            format!("set `{name}` in the environment or in .env"),
                        ),
                        interpolate::InterpolationError::Syntax { range, .. } => (
                            range.clone(),
                            "invalid interpolation".to_string(),
                            "write `${VAR}`, `${VAR:-default}`, or `$$` for a literal `$`"
                                .to_string(),
                        ),
                    };
                    diags.push(
                        Diagnostic::error(e.to_string())
                            .label(at(range), label)
                            .help(help),
                    );
                }
            }
        }
        Value::Seq(items) => {
            for i in items {
                interpolate_tree(i, text, env, diags);
            }
        }
        Value::Map(m) => {
            for (_, e) in m.iter_mut() {
                interpolate_tree(&mut e.value, text, env, diags);
            }
        }
        Value::Null => {}
    }
}

pub mod extends;
pub mod include;

const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
];

/// Types the merged tree, resolves it and checks references.
fn build(
    root: &Node,
    opts: &Options,
    project_dir: &Path,
    files: &[PathBuf],
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
) -> Stack {
    let map = root.as_map().cloned().unwrap_or_default();
    for (key, entry) in &map {
        if !TOP_LEVEL.contains(&key.as_str()) && !key.starts_with("x-") {
            diags.push(de::unknown_key(key, entry.key_span, TOP_LEVEL));
        }
    }
    if let Some(v) = map.get("version") {
        diags.push(
            Diagnostic::warning("the `version` key is obsolete and ignored")
                .label(v.key_span, "obsolete")
                .help("remove it; the Compose Specification needs no version"),
        );
    }

    let sink = de::Sink::default();
    let name_from_file = root.get("name").and_then(Node::as_str).map(str::to_string);
    let project = opts
        .project_name
        .clone()
        .or_else(|| {
            env.get("COMPOSE_PROJECT_NAME")
                .filter(|s| !s.is_empty())
                .cloned()
        })
        .or(name_from_file)
        .unwrap_or_else(|| {
            project_dir
                .file_name()
                .map_or("default".into(), |n| n.to_string_lossy().into_owned())
        });
    let project = normalize_project_name(&project);
    if project.is_empty() {
        diags.push(
            Diagnostic::error("the project name is empty once normalised")
                .help("set `name:` in the stack file or pass `-p NAME` with letters or digits"),
        );
    }
    let _ = files;

    let services_raw = section::<raw::Service>(root, "services", &sink, diags);
    let networks_raw = section::<raw::Network>(root, "networks", &sink, diags);
    let volumes_raw = section::<raw::Volume>(root, "volumes", &sink, diags);
    let secrets_raw = section::<raw::SecretOrConfig>(root, "secrets", &sink, diags);
    let configs_raw = section::<raw::SecretOrConfig>(root, "configs", &sink, diags);
    diags.extend(sink.diagnostics.take());

    // Profiles: a service with profiles runs only when one of them is active,
    // or when an active service depends on it (compose's rule).
    let active: Vec<String> = if opts.profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };
    let enabled = |s: &raw::Service| {
        let p = s.profiles.as_deref().unwrap_or_default();
        p.is_empty()
            || p.iter()
                .any(|p| active.contains(p) || active.iter().any(|a| a == "*"))
    };

    let defined = resolve::Defined {
        services: services_raw.keys().map(String::as_str).collect(),
        networks: networks_raw.keys().map(String::as_str).collect(),
        volumes: volumes_raw.keys().map(String::as_str).collect(),
        secrets: secrets_raw.keys().map(String::as_str).collect(),
        configs: configs_raw.keys().map(String::as_str).collect(),
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut cx = resolve::Context {
        project: &project,
        project_dir,
        home,
        env,
        diagnostics: Vec::new(),
    };

    let mut stack = Stack {
        name: project.clone(),
        ..Stack::default()
    };
    for (name, (key_span, svc)) in &services_raw {
        if !enabled(svc) {
            continue;
        }
        let mut s = resolve::service(&mut cx, name, *key_span, svc, &defined);
        env_files(&mut cx, &mut s, svc);
        for (k, v) in s.environment.iter_mut() {
            if v.is_none() {
                *v = env.get(k).cloned();
            }
        }
        stack.services.insert(name.clone(), s);
    }
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
    for (name, (_, s)) in &secrets_raw {
        stack
            .secrets
            .insert(name.clone(), file_object(&mut cx, name, s));
    }
    for (name, (_, s)) in &configs_raw {
        stack
            .configs
            .insert(name.clone(), file_object(&mut cx, name, s));
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
        .flat_map(|s| s.secrets.iter().map(|r| r.source.clone()))
        .collect();
    stack.secrets.retain(|k, _| used_secrets.contains(k));
    let used_configs: Vec<String> = stack
        .services
        .values()
        .flat_map(|s| s.configs.iter().map(|r| r.source.clone()))
        .collect();
    stack.configs.retain(|k, _| used_configs.contains(k));

    diags.extend(cx.diagnostics);
    stack
}

/// Deserializes each entry of a top-level section on its own, so that a type
/// error in one service does not hide the errors of the others.
fn section<T: serde::de::DeserializeOwned + Default>(
    root: &Node,
    key: &str,
    sink: &de::Sink,
    diags: &mut Diagnostics,
) -> IndexMap<String, (Span, T)> {
    let mut out = IndexMap::new();
    let Some(node) = root.get(key) else {
        return out;
    };
    let map = match &node.value {
        Value::Map(m) => m,
        Value::Null => return out,
        _ => {
            diags.push(
                Diagnostic::error(format!("`{key}` must be a mapping"))
                    .label(node.span, format!("found {}", node.kind()))
                    .help(format!("write `{key}:` followed by indented names")),
            );
            return out;
        }
    };
    for (name, entry) in map {
        if name.starts_with("x-") {
            continue;
        }
        match de::from_node::<Option<T>>(&entry.value, sink) {
            Ok(v) => {
                out.insert(name.clone(), (entry.key_span, v.unwrap_or_default()));
            }
            Err(e) => diags.push(e.into_diagnostic(entry.value.span)),
        }
    }
    out
}

fn env_files(cx: &mut resolve::Context, s: &mut Service, raw: &raw::Service) {
    let Some(ef) = &raw.env_file else {
        return;
    };
    let entries: Vec<(String, bool, Span)> = match &ef.value {
        raw::EnvFile::One(p) => vec![(p.clone(), true, ef.span)],
        raw::EnvFile::Many(list) => list
            .iter()
            .map(|e| match &e.value {
                raw::EnvFileEntry::Path(p) => (p.clone(), true, e.span),
                raw::EnvFileEntry::Long(l) => (l.path.clone(), l.required.unwrap_or(true), e.span),
            })
            .collect(),
    };
    let mut vars = IndexMap::new();
    for (path, required, span) in entries {
        let abs = PathBuf::from(cx.abs_path(&path));
        if !abs.is_file() {
            if required {
                cx.diagnostics.push(
                    Diagnostic::error(format!("env file {} not found", abs.display()))
                        .label(span, "missing file")
                        .help("create the file, fix the path, or mark it optional with `required: false`"),
                );
            }
            continue;
        }
        if let Err(e) = read_env_file(&abs, &mut vars, true) {
            cx.diagnostics.push(
                Diagnostic::error(format!("cannot read env file {}: {e}", abs.display()))
                    .label(span, "unreadable env file")
                    .help("env files hold KEY=VALUE lines"),
            );
        }
    }
    // Values written in `environment:` win over env files.
    let mut env: IndexMap<String, Option<String>> =
        vars.into_iter().map(|(k, v)| (k, Some(v))).collect();
    for (k, v) in std::mem::take(&mut s.environment) {
        env.insert(k, v);
    }
    s.environment = env;
}

fn external(e: &Option<crate::model::Spanned<raw::External>>) -> (bool, Option<String>) {
    match e.as_ref().map(|e| &e.value) {
        Some(raw::External::Flag(b)) => (*b, None),
        Some(raw::External::Named { name }) => (true, Some(name.clone())),
        None => (false, None),
    }
}

fn network(cx: &mut resolve::Context, key: &str, span: Span, n: &raw::Network) -> Network {
    let (is_external, ext_name) = external(&n.external);
    let name = n.name.clone().or(ext_name).unwrap_or_else(|| {
        if is_external {
            key.to_string()
        } else {
            format!("{}_{key}", cx.project)
        }
    });
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
            if let Some(v) = v {
                if !is_cidr(v) {
                    cx.diagnostics.push(
                        Diagnostic::error(format!(
                            "network `{key}`: {what} `{v}` is not a CIDR block"
                        ))
                        .label(span, "invalid ipam config")
                        .help("write a subnet like `172.28.0.0/16`"),
                    );
                }
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
                    k.clone(),
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

fn volume(cx: &mut resolve::Context, key: &str, span: Span, v: &raw::Volume) -> Volume {
    let (is_external, ext_name) = external(&v.external);
    let name = v.name.clone().or(ext_name).unwrap_or_else(|| {
        if is_external {
            key.to_string()
        } else {
            format!("{}_{key}", cx.project)
        }
    });
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

fn file_object(cx: &mut resolve::Context, key: &str, s: &raw::SecretOrConfig) -> FileObject {
    let (is_external, ext_name) = external(&s.external);
    let name = s.name.clone().or(ext_name).unwrap_or_else(|| {
        if is_external {
            key.to_string()
        } else {
            format!("{}_{key}", cx.project)
        }
    });
    if let Some(e) = &s.environment {
        if !cx.env.contains_key(&e.value) {
            cx.diagnostics.push(
                Diagnostic::warning(format!(
                    "`{key}` reads the variable `{}`, which is not set",
                    e.value
                ))
                .label(e.span, "not set")
                .help("set it in the environment or in .env"),
            );
        }
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
    }
}
