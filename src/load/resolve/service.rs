//! One service, raw to validated: [`service`] resolves its keys in order, the
//! simple ones here (names, flags, DNS, tmpfs, the restart policy, the
//! healthcheck, devices, the container name) and the others in the modules
//! beside this one (resources, deploy, build, ports, volumes, develop,
//! networks, dependencies, secrets and configs). Then the zeros compose treats
//! as "not set" are unset.
//!
//! It stops at the one service: whether two services clash (a
//! `container_name` used twice), profiles and `env_file` are resolved for the
//! whole stack, by the caller.

use crate::load::resolve::build;
use crate::load::resolve::command::split_command;
use crate::load::resolve::context::{Context, Defined};
use crate::load::resolve::dependencies::dependencies;
use crate::load::resolve::deploy::deploy;
use crate::load::resolve::develop;
use crate::load::resolve::extra_hosts::extra_hosts;
use crate::load::resolve::file_refs::file_refs;
use crate::load::resolve::lists::{
    empty_names, labels, list_or_dict, one_or_many, spanned_list, strings, text_map, texts,
};
use crate::load::resolve::networks::networks;
use crate::load::resolve::ports;
use crate::load::resolve::resources::{self, blkio, ulimits};
use crate::load::resolve::values::{duration, int_in};
use crate::load::resolve::volumes;
use crate::model::Spanned;
use crate::model::raw::{self, Text};
use crate::model::stack::*;
use crate::model::units::parse_bytes;
use crate::source::Span;

/// Resolves the service `name` (its key at `key_span`), checking its
/// references against what is `defined`.
pub fn service(
    cx: &mut Context,
    name: &str,
    key_span: Span,
    s: &raw::Service,
    defined: &Defined,
) -> Service {
    let mut out = Service {
        name: name.to_string(),
        span: key_span,
        image: s.image.as_ref().map(|i| i.value.clone()),
        privileged: s.privileged.unwrap_or(false),
        read_only: s.read_only.unwrap_or(false),
        tty: s.tty.unwrap_or(false),
        stdin_open: s.stdin_open.unwrap_or(false),
        labels: labels(&s.labels),
        extras: Some(Box::new(ServiceExtras {
            hostname: s.hostname.clone(),
            domainname: s.domainname.clone(),
            user: s.user.as_ref().map(|u| u.0.clone()),
            working_dir: s.working_dir.clone(),
            init: s.init,
            stop_signal: s.stop_signal.clone(),
            cap_add: strings(&s.cap_add),
            cap_drop: strings(&s.cap_drop),
            security_opt: strings(&s.security_opt),
            dns: one_or_many(s.dns.as_ref().map(|d| &d.value)),
            dns_search: one_or_many(s.dns_search.as_ref()),
            dns_opt: strings(&s.dns_opt),
            external_links: strings(&s.external_links),
            ipc: s.ipc.as_ref().map(|v| v.value.clone()),
            pid: s.pid.as_ref().map(|v| v.value.clone()),
            uts: s.uts.clone(),
            userns_mode: s.userns_mode.clone(),
            cgroup_parent: s.cgroup_parent.clone(),
            isolation: s.isolation.clone(),
            mac_address: s.mac_address.clone(),
            profiles: strings(&s.profiles),
            platform: s.platform.as_ref().map(|p| p.value.clone()),
            runtime: s.runtime.clone(),
            oom_kill_disable: s.oom_kill_disable,
            group_add: texts(&s.group_add),
            storage_opt: text_map(&s.storage_opt),
            tmpfs: one_or_many(s.tmpfs.as_ref().map(|t| &t.value)),
            sysctls: labels(&s.sysctls),
            annotations: s.annotations.as_ref().map(|a| labels(&Some(a.clone()))),
            ..ServiceExtras::default()
        })),
        ..Service::default()
    };
    if s.image.is_none() && s.build.is_none() {
        cx.error(
            key_span,
            format!("service `{name}` has neither an image nor a build context"),
            "no `image` or `build`",
            "add `image: <name>` or a `build:` section",
        );
    }
    empty_names(cx, &s.labels, "labels");
    empty_names(cx, &s.sysctls, "sysctls");
    if let Some(d) = &s.dns {
        for (addr, span) in spanned_list(Some(&d.value), d.span) {
            if addr.parse::<std::net::IpAddr>().is_err() {
                cx.error(
                    span,
                    format!("`dns` entry `{addr}` is not an IP address"),
                    "not an address",
                    "list the DNS servers by address: `1.1.1.1` or `2606:4700::1111`",
                );
            }
        }
    }
    if let Some(t) = &s.tmpfs {
        for (entry, span) in spanned_list(Some(&t.value), t.span) {
            check_tmpfs(cx, &entry, span);
        }
    }
    for e in s.expose.iter().flatten() {
        ports::check_expose(cx, &e.value.0, e.span);
    }
    out.command = split_command(cx, &s.command, "command");
    out.entrypoint = split_command(cx, &s.entrypoint, "entrypoint");
    out.environment = list_or_dict(&s.environment, '=');
    out.container_name = s.container_name.as_ref().map(|c| c.value.clone());
    let x = out.extras_mut();
    x.expose = s
        .expose
        .iter()
        .flatten()
        .map(|e| e.value.0.clone())
        .collect();
    x.extra_hosts = extra_hosts(cx, &s.extra_hosts);
    x.links = s.links.iter().flatten().map(|l| l.value.clone()).collect();
    x.volumes_from = s
        .volumes_from
        .iter()
        .flatten()
        .map(|v| v.value.clone())
        .collect();
    x.network_mode = s.network_mode.as_ref().map(|n| n.value.clone());
    if let Some(p) = &s.pull_policy {
        x.pull_policy = PullPolicy::parse(&p.value);
        if x.pull_policy.is_none() {
            cx.error(
                p.span,
                format!("invalid pull_policy `{}`", p.value),
                "unknown policy",
                "use one of `missing`, `always`, `never`, `build`",
            );
        }
    }
    if let Some(c) = &s.cgroup {
        x.cgroup = Cgroup::parse(&c.value);
        if x.cgroup.is_none() {
            cx.error(
                c.span,
                format!("invalid cgroup `{}`", c.value),
                "not a cgroup namespace mode",
                "use `host` or `private`",
            );
        }
    }

    resources::limits(cx, x, s, key_span);
    if let Some(v) = &s.stop_grace_period {
        x.stop_grace_period = duration(cx, v, "stop_grace_period");
    }
    if let Some(v) = &s.scale {
        x.scale = int_in(cx, v, "scale", 0..=i64::MAX);
    }
    if let Some(r) = &s.restart {
        x.restart = restart_policy(cx, r);
    }
    x.ulimits = ulimits(cx, &s.ulimits);
    x.blkio_config = s.blkio_config.as_ref().map(|b| Box::new(blkio(cx, b)));
    x.logging = s.logging.as_ref().map(|l| {
        Box::new(Logging {
            driver: l.driver.clone(),
            options: l
                .options
                .iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                    )
                })
                .collect(),
        })
    });
    x.healthcheck = s.healthcheck.as_ref().map(|h| Box::new(healthcheck(cx, h)));
    x.build = s
        .build
        .as_ref()
        .map(|b| Box::new(build::build(cx, b, defined)));
    build::build_platform(cx, s);
    x.devices = s
        .devices
        .iter()
        .flatten()
        .filter_map(|d| device(cx, d))
        .collect();
    x.deploy = s.deploy.as_ref().map(|d| Box::new(deploy(cx, d)));
    x.develop = s
        .develop
        .as_ref()
        .map(|d| Box::new(develop::resolve(cx, name, s.build.is_some(), d)));
    out.ports = s
        .ports
        .iter()
        .flatten()
        .flat_map(|p| ports::resolve(cx, p))
        .collect();
    out.volumes = s
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| volumes::resolve(cx, v, defined))
        .collect();
    let x = out.extras_mut();
    x.secrets = file_refs(cx, &s.secrets, &defined.secrets, "secret", "secrets");
    x.configs = file_refs(cx, &s.configs, &defined.configs, "config", "configs");
    networks(cx, &mut out, s, defined);
    dependencies(cx, &mut out, s, defined);
    check_container_name(cx, &out, s);
    unset_zeros(&mut out);
    out
}

/// compose holds these in Go fields where zero means "not set" and leaves them
/// out of its output; berth does the same, so that `0` and nothing plan alike.
fn unset_zeros(s: &mut Service) {
    for n in s.networks.values_mut().flatten() {
        nonzero(&mut n.priority);
        nonzero(&mut n.gw_priority);
    }
    for v in &mut s.volumes {
        if let Some(t) = &mut v.tmpfs {
            nonzero(&mut t.size);
            nonzero(&mut t.mode);
        }
    }
    let x = s.extras_mut();
    nonzero(&mut x.mem_limit);
    nonzero(&mut x.mem_reservation);
    nonzero(&mut x.memswap_limit);
    nonzero(&mut x.shm_size);
    nonzero(&mut x.mem_swappiness);
    nonzero(&mut x.pids_limit);
    nonzero(&mut x.cpu_shares);
    nonzero(&mut x.cpus);
    nonzero(&mut x.cpu_quota);
    nonzero(&mut x.cpu_period);
    nonzero(&mut x.cpu_count);
    nonzero(&mut x.cpu_percent);
    nonzero(&mut x.oom_score_adj);
    if let Some(b) = &mut x.blkio_config {
        nonzero(&mut b.weight);
    }
    if let Some(d) = &mut x.deploy {
        let r = &mut d.resources;
        for spec in [&mut r.limits, &mut r.reservations].into_iter().flatten() {
            nonzero(&mut spec.cpus);
            nonzero(&mut spec.memory);
            nonzero(&mut spec.pids);
        }
        for u in [&mut d.update_config, &mut d.rollback_config]
            .into_iter()
            .flatten()
        {
            nonzero(&mut u.delay);
            nonzero(&mut u.monitor);
            nonzero(&mut u.max_failure_ratio);
        }
        nonzero(&mut d.placement.max_replicas_per_node);
    }
}

fn nonzero<T: Default + PartialEq>(v: &mut Option<T>) {
    if v.as_ref().is_some_and(|x| *x == T::default()) {
        *v = None;
    }
}

/// One short `tmpfs` entry, `PATH[:OPTIONS]`: an absolute path, and a
/// `size=` option that is a size (or a percentage of memory) when given.
fn check_tmpfs(cx: &mut Context, entry: &str, span: Span) {
    let (path, options) = entry.split_once(':').unwrap_or((entry, ""));
    if !path.starts_with('/') {
        cx.error(
            span,
            format!("`tmpfs` path `{path}` is not absolute"),
            "not an absolute path",
            "write the path inside the container from `/`: `/run:size=64m`",
        );
    }
    for size in options.split(',').filter_map(|o| o.strip_prefix("size=")) {
        let problem = match size.strip_suffix('%') {
            Some(pct) if pct.parse::<u8>().is_ok_and(|p| p <= 100) => None,
            Some(_) => Some(format!("`{size}` is not a percentage from 0 to 100")),
            None => match parse_bytes(size) {
                Ok(b) if b >= 0 => None,
                Ok(_) => Some(format!("`{size}` is not a size")),
                Err(e) => Some(e),
            },
        };
        if let Some(problem) = problem {
            cx.error(
                span,
                format!("invalid `tmpfs` size: {problem}"),
                "not a size",
                "write a size such as `64m`, or a percentage of memory such as `50%`",
            );
        }
    }
}

fn restart_policy(cx: &mut Context, r: &Spanned<String>) -> Option<Restart> {
    let policy = Restart::parse(&r.value);
    if policy.is_none() {
        cx.error(
            r.span,
            format!("invalid restart policy `{}`", r.value),
            "not a restart policy",
            "use `no`, `always`, `on-failure`, `on-failure:<retries>` or `unless-stopped`",
        );
    }
    policy
}

fn healthcheck(cx: &mut Context, h: &raw::Healthcheck) -> Healthcheck {
    let test = match &h.test {
        None => None,
        Some(raw::Command::Shell(s)) => Some(vec!["CMD-SHELL".to_string(), s.clone()]),
        // compose drops an empty list, as if no test were given.
        Some(raw::Command::Exec(v)) if v.is_empty() => None,
        Some(raw::Command::Exec(v)) => Some(v.iter().map(|t| t.0.clone()).collect()),
    };
    let d = |cx: &mut Context, v: &Option<Spanned<Text>>, k: &str| {
        v.as_ref().and_then(|v| duration(cx, v, k))
    };
    Healthcheck {
        test,
        interval: d(cx, &h.interval, "healthcheck.interval"),
        timeout: d(cx, &h.timeout, "healthcheck.timeout"),
        start_period: d(cx, &h.start_period, "healthcheck.start_period"),
        start_interval: d(cx, &h.start_interval, "healthcheck.start_interval"),
        retries: h
            .retries
            .as_ref()
            .and_then(|r| int_in(cx, r, "healthcheck.retries", 0..=i64::MAX))
            .map(|n| n as u64),
        disable: h.disable.unwrap_or(false),
    }
}

fn device(cx: &mut Context, d: &Spanned<raw::Device>) -> Option<Device> {
    match &d.value {
        raw::Device::Long(l) => Some(Device {
            source: l.source.clone(),
            target: l.target.clone().unwrap_or_else(|| l.source.clone()),
            permissions: l.permissions.clone(),
        }),
        raw::Device::Short(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            // As compose reads it: a second part is always the target, never
            // permissions (`/dev/sda:r` targets `r`, which the check below
            // refuses rather than letting the engine fail on it).
            let (source, target, perms) = match parts.as_slice() {
                [a] => (*a, *a, "rwm"),
                [a, b] => (*a, *b, "rwm"),
                [a, b, c] => (*a, *b, *c),
                _ => {
                    cx.error(
                        d.span,
                        format!("invalid device `{s}`"),
                        "not a device mapping",
                        "write `/dev/host[:/dev/container[:rwm]]`",
                    );
                    return None;
                }
            };
            if !target.starts_with('/') {
                cx.error(
                    d.span,
                    format!("device target `{target}` is not an absolute path"),
                    "not a path in the container",
                    if !target.is_empty() && target.chars().all(|c| "rwm".contains(c)) {
                        format!("write `{source}:{source}:{target}` to give permissions")
                    } else {
                        "write the path inside the container, e.g. `/dev/xvda`".to_string()
                    },
                );
                return None;
            }
            Some(Device {
                source: source.into(),
                target: target.into(),
                permissions: Some(perms.into()),
            })
        }
    }
}

fn check_container_name(cx: &mut Context, out: &Service, s: &raw::Service) {
    let Some(name) = &s.container_name else {
        return;
    };
    let x = out.extras();
    let replicas = x
        .scale
        .or(x.deploy.as_ref().and_then(|d| d.replicas))
        .unwrap_or(1);
    if replicas > 1 {
        cx.error(
            name.span,
            format!(
                "`container_name: {}` cannot be used with {replicas} replicas",
                name.value
            ),
            "container names are unique",
            "remove `container_name`, or set scale/replicas to 1",
        );
    }
    let valid = name
        .value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        cx.error(
            name.span,
            format!("invalid container name `{}`", name.value),
            "not a container name",
            "container names start with a letter or digit and contain only letters, digits, `_`, `.` and `-`",
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unknown_cgroup_mode_is_an_error_at_its_value() {
        let d = crate::testutil::dir(&[(
            "compose.yaml",
            "services:\n  web: {image: a, cgroup: shared}\n  ok: {image: a, cgroup: host}\n",
        )]);
        let opts = crate::load::Options {
            cwd: d.0.clone(),
            ..Default::default()
        };
        let Err(failed) = crate::load::load(&opts) else {
            panic!("`cgroup: shared` should not load");
        };
        let messages: Vec<&str> = failed
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages, vec!["invalid cgroup `shared`"]);
    }
}
