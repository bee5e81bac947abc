//! What can be known to fail before `up` changes anything.
//!
//! [`check`] looks at the stack, the observed engine and the local filesystem
//! for problems the engine would otherwise report halfway through an `up`:
//! an image that is not there and may not be pulled, a host
//! port published twice, or already published by a running container of
//! another project, a blkio device that does not exist, a bind source
//! that is missing and may not be created. Each is an error pointing at the
//! stack file. It does not ask the engine anything and decides nothing about
//! what to change; problems only the engine can see (a port a process on the
//! host holds, memory below the minimum) stay the engine's to report, and
//! [`port_entry`] finds the `ports` entry a refused port came from.
//!
//! It also warns, once per key, about what the engine observed cannot
//! honour: a key that needs a newer API version than the engine speaks
//! (`spec::newer`), a blkio weight on an engine that keeps none.
//! Such a key is left out of the request; the rest of the stack runs.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::identity::image_ref;
use crate::model::stack::{MountType, Port, PullPolicy, Service, Stack};
use crate::observe::Observed;
use crate::plan::rules::PortTaken;
use crate::source::Span;
use crate::spec::{self, newer::NewerKey};

/// Every problem found, in file order of services.
pub fn check(stack: &Stack, observed: &Observed) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for svc in stack.services.values() {
        missing_image(stack, svc, observed, &mut out);
        devices(svc, &mut out);
        binds(svc, &mut out);
        newer_keys(
            svc.name.as_str(),
            spec::newer::container_keys(stack, svc),
            observed,
            &mut out,
        );
        blkio_weight(svc, observed, &mut out);
        mounted_objects(stack, svc, &mut out);
    }
    for (key, n) in &stack.networks {
        let what = format!("network `{key}`");
        newer_keys(&what, spec::newer::network_keys(n), observed, &mut out);
    }
    ports(stack, &mut out);
    published_elsewhere(stack, observed, &mut out);
    out
}

/// A warning per key of `owner` (a service's name, or `network \`x\``) that
/// needs a newer engine API than the one observed.
fn newer_keys(owner: &str, keys: Vec<NewerKey>, observed: &Observed, out: &mut Vec<Diagnostic>) {
    let api = observed.engine.api_or_base();
    let owner = if owner.starts_with("network ") {
        owner.to_string()
    } else {
        format!("service `{owner}`")
    };
    for k in keys.into_iter().filter(|k| k.needs > api) {
        out.push(
            Diagnostic::warning(format!(
                "`{}` of {owner} needs engine API {}; this engine speaks {api}: it is left out",
                k.key, k.needs
            ))
            .label(k.span, format!("`{}` needs API {}", k.key, k.needs))
            .help(format!(
                "upgrade the engine to Docker {} or later, or remove the key",
                spec::newer::docker_release(k.needs)
            )),
        );
    }
}

/// A warning per secret or config reference that sets `uid`, `gid` or
/// `mode` on an object read from a file: that file is bind-mounted as it is
/// (as compose does), so they are not applied.
fn mounted_objects(stack: &Stack, svc: &Service, out: &mut Vec<Diagnostic>) {
    let kinds = [
        ("secrets", &svc.extras().secrets, &stack.secrets),
        ("configs", &svc.extras().configs, &stack.configs),
    ];
    for (section, refs, objects) in kinds {
        for (i, r) in refs.iter().enumerate() {
            let from_file = objects.get(&r.source).is_some_and(|o| o.file.is_some());
            if from_file && (r.uid.is_some() || r.gid.is_some() || r.mode.is_some()) {
                out.push(
                    Diagnostic::warning(format!(
                        "`{section}[{i}]` of service `{}` sets uid, gid or mode on `{}`, which is read from a file and mounted as it is: they are not applied",
                        svc.name, r.source
                    ))
                    .label(svc.span, "bind-mounted as it is")
                    .help("set the file's own owner and mode, or give the content with `content:` or `environment:` (then it is copied in with them)"),
                );
            }
        }
    }
}

/// A warning when the service sets a blkio weight and the engine says it
/// keeps none.
fn blkio_weight(svc: &Service, observed: &Observed, out: &mut Vec<Diagnostic>) {
    let weighted = svc
        .extras()
        .blkio_config
        .as_ref()
        .is_some_and(|b| b.weight.is_some_and(|w| w > 0) || !b.weight_device.is_empty());
    if weighted && observed.engine.blkio_weight == Some(false) {
        out.push(
            Diagnostic::warning(format!(
                "`blkio_config` of service `{}` sets a weight, which this engine does not keep: it has no effect",
                svc.name
            ))
            .label(svc.span, "weight not kept by this engine")
            .help(
                "proportional block I/O weights need cgroup v2 (io.weight) or a cgroup v1 kernel older than 5.0; the throttles (device_read_bps...) still apply",
            ),
        );
    }
}

fn missing_image(stack: &Stack, svc: &Service, observed: &Observed, out: &mut Vec<Diagnostic>) {
    // A service that builds its image builds it when it is missing; one
    // with a pull policy other than `never` pulls it (`up` does both before
    // it plans). Only `never` leaves a missing image missing.
    let extras = svc.extras();
    if extras.build.is_some() || extras.pull_policy != Some(PullPolicy::Never) {
        return;
    }
    let image = image_ref(stack, svc);
    // Only an image observe looked for and did not find is missing; one it
    // did not look for is unknown, not absent.
    if let Some(None) = observed.images.get(&image) {
        out.push(
            Diagnostic::error(format!(
                "image {image} for service `{}` is not on this host",
                svc.name
            ))
            .label(svc.span, format!("service `{}` runs {image}", svc.name))
            .help(format!(
                "its pull_policy is `never`: pull it (`berth pull {}`, or drop `pull_policy: never`), build it (`docker build -t {image} DIR`) or load it (`docker load -i FILE`)",
                svc.name
            )),
        );
    }
}

fn devices(svc: &Service, out: &mut Vec<Diagnostic>) {
    let Some(blkio) = &svc.extras().blkio_config else {
        return;
    };
    let throttles = [
        ("device_read_bps", &blkio.device_read_bps),
        ("device_write_bps", &blkio.device_write_bps),
        ("device_read_iops", &blkio.device_read_iops),
        ("device_write_iops", &blkio.device_write_iops),
    ];
    let mut named: Vec<(&str, &str, Span)> = blkio
        .weight_device
        .iter()
        .map(|w| ("weight_device", w.path.as_str(), svc.span))
        .collect();
    for (key, list) in throttles {
        named.extend(list.iter().map(|t| (key, t.path.as_str(), t.span)));
    }
    for (key, path, span) in named {
        if !Path::new(path).exists() {
            out.push(
                Diagnostic::error(format!(
                    "device {path} in `blkio_config.{key}` of service `{}` does not exist",
                    svc.name
                ))
                .label(span, "no such device on this host")
                .help("name a block device that exists here (`lsblk -p` lists them)"),
            );
        }
    }
}

fn binds(svc: &Service, out: &mut Vec<Diagnostic>) {
    for v in &svc.volumes {
        if v.kind != MountType::Bind {
            continue;
        }
        let Some(source) = &v.source else { continue };
        let path = Path::new(source);
        // Only a Windows path (`C:\data`) is left relative by the loader, as
        // compose leaves it; the engine here runs Linux and refuses it.
        if !path.is_absolute() {
            out.push(
                Diagnostic::error(format!(
                    "bind source `{source}` of service `{}` is a Windows path",
                    svc.name
                ))
                .label(v.span, "not a path on this engine's host")
                .help("the engine runs on Linux: write the host path as a Linux path (`/c/data`, `./data`); compose passes it on and the engine refuses it as an invalid volume specification"),
            );
            continue;
        }
        if path.exists() {
            continue;
        }
        let create = v.bind.as_ref().is_some_and(|b| b.create_host_path);
        if !create {
            out.push(
                Diagnostic::error(format!(
                    "bind source {source} of service `{}` does not exist",
                    svc.name
                ))
                .label(v.span, "mounted here, with `create_host_path: false`")
                .help("create it, or set `bind: {create_host_path: true}` to have it created"),
            );
            continue;
        }
        let ancestor = path.ancestors().skip(1).find(|a| a.exists());
        let Some(ancestor) = ancestor else { continue };
        if !ancestor.is_dir() || !writable(ancestor) {
            let what = if ancestor.is_dir() {
                "a directory berth may not write to"
            } else {
                "not a directory"
            };
            out.push(
                Diagnostic::error(format!(
                    "bind source {source} of service `{}` does not exist and cannot be created: {} is {what}",
                    svc.name,
                    ancestor.display()
                ))
                .label(v.span, "mounted here")
                .help("create it yourself, or fix the path"),
            );
        }
    }
}

/// Whether the current user may create entries in `dir`. Where the process's
/// ids cannot be read (not Linux), it says yes and leaves the answer to the
/// engine.
fn writable(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = dir.metadata() else {
        return false;
    };
    let Some(ids) = Ids::of_process() else {
        return true;
    };
    ids.may_write(meta.mode(), meta.uid(), meta.gid())
}

/// The effective user and groups of this process.
struct Ids {
    uid: u32,
    groups: Vec<u32>,
}

impl Ids {
    fn of_process() -> Option<Ids> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let field = |name: &str| -> Vec<u32> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        // `Uid:` and `Gid:` list real, effective, saved and fs ids.
        let uid = *field("Uid:").get(1)?;
        let mut groups = field("Groups:");
        groups.extend(field("Gid:").get(1));
        Some(Ids { uid, groups })
    }

    /// Write and search permission on a directory with this mode and owner.
    fn may_write(&self, mode: u32, owner: u32, group: u32) -> bool {
        if self.uid == 0 {
            return true;
        }
        let bits = if owner == self.uid {
            mode >> 6
        } else if self.groups.contains(&group) {
            mode >> 3
        } else {
            mode
        };
        bits & 0o3 == 0o3
    }
}

/// One host port binding: address, port range and protocol.
struct Binding<'a> {
    service: &'a str,
    ip: &'a str,
    ports: (u32, u32),
    protocol: &'a str,
    span: Span,
}

fn binding<'a>(service: &'a str, p: &'a Port) -> Option<Binding<'a>> {
    let published = p.published.as_deref().filter(|s| !s.is_empty())?;
    let (lo, hi) = match published.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = published.parse().ok()?;
            (n, n)
        }
    };
    Some(Binding {
        service,
        ip: p.host_ip.as_deref().unwrap_or(""),
        ports: (lo, hi),
        protocol: &p.protocol,
        span: p.span,
    })
}

fn wildcard(ip: &str) -> bool {
    matches!(ip, "" | "0.0.0.0" | "::" | "[::]")
}

fn clash(a: &Binding, b: &Binding) -> bool {
    a.protocol == b.protocol
        && a.ports.0 <= b.ports.1
        && b.ports.0 <= a.ports.1
        && (a.ip == b.ip || wildcard(a.ip) || wildcard(b.ip))
}

fn show(b: &Binding) -> String {
    let ports = if b.ports.0 == b.ports.1 {
        b.ports.0.to_string()
    } else {
        format!("{}-{}", b.ports.0, b.ports.1)
    };
    if b.ip.is_empty() {
        format!("{ports}/{}", b.protocol)
    } else {
        format!("{}:{ports}/{}", b.ip, b.protocol)
    }
}

/// The `ports` entry of `svc` that publishes the host port the engine
/// found taken, for the error to point at.
pub fn port_entry(svc: &Service, taken: &PortTaken) -> Option<Span> {
    let port = u32::from(taken.port);
    svc.ports.iter().find_map(|p| {
        let b = binding(&svc.name, p)?;
        let proto = taken.protocol.is_empty() || taken.protocol == b.protocol;
        let ip = b.ip == taken.ip || wildcard(b.ip) || wildcard(&taken.ip);
        (proto && ip && b.ports.0 <= port && port <= b.ports.1).then_some(b.span)
    })
}

/// A host port the stack publishes that a running container of another
/// project (or of none) already publishes: its start would fail.
fn published_elsewhere(stack: &Stack, observed: &Observed, out: &mut Vec<Diagnostic>) {
    for svc in stack.services.values() {
        for p in &svc.ports {
            let Some(b) = binding(&svc.name, p) else {
                continue;
            };
            let holder = observed.publishers.iter().find_map(|c| {
                let port = c.ports.iter().find(|held| {
                    let Some(public) = held.public else {
                        return false;
                    };
                    let theirs = Binding {
                        service: "",
                        ip: held.ip.as_deref().unwrap_or(""),
                        ports: (u32::from(public), u32::from(public)),
                        protocol: &held.protocol,
                        span: Span::default(),
                    };
                    clash(&theirs, &b)
                })?;
                Some((c, port))
            });
            let Some((c, held)) = holder else { continue };
            let owner = match &c.project {
                Some(project) => format!(" (berth project {project})"),
                None => String::new(),
            };
            let theirs = match &held.ip {
                Some(ip) => format!("{ip}:{}", held.public.unwrap_or_default()),
                None => held.public.unwrap_or_default().to_string(),
            };
            out.push(
                Diagnostic::error(format!(
                    "host port {} of service `{}` is already published by container {}{owner}",
                    show(&b),
                    svc.name,
                    c.name
                ))
                .label(b.span, format!("{} publishes {theirs}/{}", c.name, held.protocol))
                .help(format!(
                    "stop it (`docker stop {}`), or publish another host port (or none: the engine then picks a free one)",
                    c.name
                )),
            );
        }
    }
}

fn ports(stack: &Stack, out: &mut Vec<Diagnostic>) {
    let mut seen: Vec<Binding> = Vec::new();
    for svc in stack.services.values() {
        for p in &svc.ports {
            let Some(b) = binding(&svc.name, p) else {
                continue;
            };
            if let Some(first) = seen.iter().find(|s| clash(s, &b)) {
                out.push(
                    Diagnostic::error(format!("host port {} is published twice", show(&b)))
                        .label(first.span, format!("published by service `{}`", first.service))
                        .label(b.span, format!("and again by service `{}`", b.service))
                        .help("give one of them another host port, or leave the host port out to get a free one"),
                );
            } else if crate::identity::replicas(svc) > 1 {
                out.push(
                    Diagnostic::error(format!(
                        "host port {} is published by each of the {} replicas of service `{}`",
                        show(&b),
                        crate::identity::replicas(svc),
                        svc.name
                    ))
                    .label(b.span, "one host port, several containers")
                    .help("publish a range (`8080-8082:80`) or leave the host port out"),
                );
                seen.push(b);
            } else {
                seen.push(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Loaded;
    use crate::testutil::{dir, loaded};

    /// Each diagnostic as its message and the source text under each label.
    fn render(l: &Loaded, diags: &[Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .map(|d| {
                let mut s = d.message.clone();
                for (span, text) in &d.labels {
                    let src = &l.sources.get(span.file).text[span.range()];
                    s.push_str(&format!(" [{text}: {}]", src.lines().next().unwrap_or("")));
                }
                s
            })
            .collect()
    }

    fn images(l: &Loaded, present: &[&str]) -> Observed {
        let mut o = Observed::default();
        for svc in l.stack.services.values() {
            let image = image_ref(&l.stack, svc);
            let id = present
                .contains(&image.as_str())
                .then(|| format!("sha256:{image}"));
            o.images.insert(image, id);
        }
        o
    }

    #[test]
    fn a_missing_image_is_an_error_only_when_it_may_not_be_pulled_or_built() {
        let l = loaded(
            "services:\n  web:\n    image: gb/web\n    pull_policy: never\n  api:\n    image: gb/api\n  pulled:\n    image: gb/pulled\n  made:\n    build: .\n    pull_policy: never\n",
        );
        let d = check(&l.stack, &images(&l, &["gb/api"]));
        assert_eq!(
            render(&l, &d),
            ["image gb/web for service `web` is not on this host [service `web` runs gb/web: web]"]
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some(
                "its pull_policy is `never`: pull it (`berth pull web`, or drop `pull_policy: never`), build it (`docker build -t gb/web DIR`) or load it (`docker load -i FILE`)"
            )
        );
        assert!(check(&l.stack, &images(&l, &["gb/web"])).is_empty());
    }

    #[test]
    fn a_port_published_twice_points_at_both() {
        let l = loaded(
            r#"services:
  web:
    image: a
    ports: ["8080:80", "127.0.0.1:9000:90", "53:53/udp"]
  api:
    image: b
    ports: ["127.0.0.1:8080:81", "127.0.0.2:9000:90", "53:53"]
  many:
    image: c
    scale: 2
    ports: ["7000:70"]
"#,
        );
        let d = check(&l.stack, &Observed::default());
        assert_eq!(
            render(&l, &d),
            [
                "host port 127.0.0.1:8080/tcp is published twice [published by service `web`: \"8080:80\"] [and again by service `api`: \"127.0.0.1:8080:81\"]",
                "host port 7000/tcp is published by each of the 2 replicas of service `many` [one host port, several containers: \"7000:70\"]",
            ]
        );
    }

    #[test]
    fn a_port_another_projects_container_publishes_is_an_error_at_the_entry() {
        use bollard::models::{ContainerSummary, PortSummary, PortSummaryTypeEnum};
        let l = loaded(
            r#"name: gb
services:
  web:
    image: a
    ports: ["127.0.0.1:8080:80", "9000:90", "7000-7002:70"]
"#,
        );
        let publisher = |name: &str, project: Option<&str>, ip: &str, port: u16| {
            crate::observe::container_from_summary(&ContainerSummary {
                names: Some(vec![format!("/{name}")]),
                labels: project.map(|p| {
                    std::collections::HashMap::from([(
                        crate::identity::PROJECT.to_string(),
                        p.to_string(),
                    )])
                }),
                ports: Some(vec![PortSummary {
                    ip: Some(ip.into()),
                    private_port: 80,
                    public_port: Some(port),
                    typ: Some(PortSummaryTypeEnum::TCP),
                }]),
                ..Default::default()
            })
        };
        let o = Observed {
            publishers: vec![
                publisher("other-web-1", Some("other"), "0.0.0.0", 8080),
                publisher("loner", None, "127.0.0.2", 9000),
                publisher("elsewhere", None, "127.0.0.3", 5000),
            ],
            ..Observed::default()
        };
        let d = check(&l.stack, &o);
        assert_eq!(
            render(&l, &d),
            [
                "host port 127.0.0.1:8080/tcp of service `web` is already published by container other-web-1 (berth project other) [other-web-1 publishes 0.0.0.0:8080/tcp: \"127.0.0.1:8080:80\"]",
                "host port 9000/tcp of service `web` is already published by container loner [loner publishes 127.0.0.2:9000/tcp: \"9000:90\"]",
            ]
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some(
                "stop it (`docker stop other-web-1`), or publish another host port (or none: the engine then picks a free one)"
            )
        );
    }

    #[test]
    fn a_taken_port_is_found_at_its_entry() {
        let l = loaded(
            "services:\n  web:\n    image: a\n    ports: [\"127.0.0.1:8080:80\", \"9000-9002:90/udp\", \"7000:70\"]\n",
        );
        let svc = &l.stack.services["web"];
        let taken = |ip: &str, port, protocol: &str| PortTaken {
            ip: ip.into(),
            port,
            protocol: protocol.into(),
            by_container: false,
        };
        let text = |t: PortTaken| {
            port_entry(svc, &t).map(|span| l.sources.get(span.file).text[span.range()].to_string())
        };
        assert_eq!(
            text(taken("127.0.0.1", 8080, "")).as_deref(),
            Some("\"127.0.0.1:8080:80\"")
        );
        assert_eq!(
            text(taken("0.0.0.0", 9001, "udp")).as_deref(),
            Some("\"9000-9002:90/udp\"")
        );
        assert_eq!(text(taken("0.0.0.0", 9001, "tcp")), None);
        assert_eq!(text(taken("127.0.0.2", 8080, "tcp")), None);
        assert_eq!(
            text(taken("::", 7000, "tcp")).as_deref(),
            Some("\"7000:70\"")
        );
    }

    #[test]
    fn a_blkio_device_that_does_not_exist_is_an_error() {
        let l = loaded(
            r#"services:
  io:
    image: a
    blkio_config:
      device_read_bps:
        - path: /dev/null
          rate: 1mb
      device_write_iops:
        - path: /dev/berth-no-such-disk
          rate: 100
"#,
        );
        let d = check(&l.stack, &Observed::default());
        assert_eq!(
            render(&l, &d),
            [
                "device /dev/berth-no-such-disk in `blkio_config.device_write_iops` of service `io` does not exist [no such device on this host: /dev/berth-no-such-disk]"
            ]
        );
    }

    #[test]
    fn a_bind_source_that_is_missing_and_may_not_be_created_is_an_error() {
        let stack_dir = dir(&[
            ("file", ""),
            (
                "compose.yaml",
                r#"services:
  web:
    image: a
    volumes:
      - ./new/deeper:/created
      - ./file/sub:/under-a-file
      - type: bind
        source: ./absent
        target: /strict
      - type: bind
        source: ./file
        target: /exists
"#,
            ),
        ]);
        let l = stack_dir.loaded();
        let d = check(&l.stack, &Observed::default());
        let root = stack_dir.0.display();
        assert_eq!(
            render(&l, &d),
            [
                format!(
                    "bind source {root}/file/sub of service `web` does not exist and cannot be created: {root}/file is not a directory [mounted here: ./file/sub:/under-a-file]"
                ),
                format!(
                    "bind source {root}/absent of service `web` does not exist [mounted here, with `create_host_path: false`: type: bind]"
                ),
            ]
        );
    }

    #[test]
    fn write_permission_follows_owner_group_and_others() {
        let user = Ids {
            uid: 1000,
            groups: vec![100],
        };
        assert!(user.may_write(0o755, 1000, 0));
        assert!(!user.may_write(0o755, 0, 100));
        assert!(user.may_write(0o775, 0, 100));
        assert!(!user.may_write(0o775, 0, 0));
        assert!(user.may_write(0o1777, 0, 0));
        assert!(!user.may_write(0o555, 1000, 100));
        let root = Ids {
            uid: 0,
            groups: vec![0],
        };
        assert!(root.may_write(0o555, 1000, 100));
    }

    const NEWER: &str = "services:\n  app:\n    image: app\n    annotations: {a: b}\n    healthcheck:\n      test: [CMD, \"true\"]\n      start_interval: 2s\n    volumes:\n      - {type: volume, source: v, target: /v, volume: {subpath: sub}}\n    networks:\n      back: {gw_priority: 1}\n    blkio_config: {weight: 300}\nnetworks:\n  back: {enable_ipv4: false}\nvolumes:\n  v: {}\n";

    fn on(l: &Loaded, api: crate::spec::newer::ApiVersion, blkio: bool) -> Vec<String> {
        let mut o = images(l, &["app"]);
        o.engine = crate::engine::facts::EngineFacts {
            api: Some(api),
            blkio_weight: Some(blkio),
            remote: None,
        };
        render(l, &check(&l.stack, &o))
    }

    #[test]
    fn keys_an_old_engine_cannot_honour_warn_once_each_with_the_version_they_need() {
        use crate::spec::newer::ApiVersion;
        let l = loaded(NEWER);
        let got = on(&l, ApiVersion(1, 41), false);
        assert_eq!(
            got,
            [
                "`annotations` of service `app` needs engine API 1.43; this engine speaks 1.41: it is left out [`annotations` needs API 1.43: app]",
                "`healthcheck.start_interval` of service `app` needs engine API 1.44; this engine speaks 1.41: it is left out [`healthcheck.start_interval` needs API 1.44: app]",
                "`volumes[0].volume.subpath` of service `app` needs engine API 1.45; this engine speaks 1.41: it is left out [`volumes[0].volume.subpath` needs API 1.45: {type: volume, source: v, target: /v, volume: {subpath: sub}}]",
                "`networks.back.gw_priority` of service `app` needs engine API 1.48; this engine speaks 1.41: it is left out [`networks.back.gw_priority` needs API 1.48: app]",
                "`blkio_config` of service `app` sets a weight, which this engine does not keep: it has no effect [weight not kept by this engine: app]",
                "`enable_ipv4` of network `back` needs engine API 1.48; this engine speaks 1.41: it is left out [`enable_ipv4` needs API 1.48: back]",
            ]
        );
        assert_eq!(
            on(&l, ApiVersion(1, 45), true),
            [
                "`networks.back.gw_priority` of service `app` needs engine API 1.48; this engine speaks 1.45: it is left out [`networks.back.gw_priority` needs API 1.48: app]",
                "`enable_ipv4` of network `back` needs engine API 1.48; this engine speaks 1.45: it is left out [`enable_ipv4` needs API 1.48: back]",
            ]
        );
        assert!(on(&l, ApiVersion(1, 48), true).is_empty());
    }
}
