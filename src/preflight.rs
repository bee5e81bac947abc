//! What can be known to fail before `up` changes anything.
//!
//! [`check`] looks at the stack, the observed engine and the local filesystem
//! for problems the engine would otherwise report halfway through an `up`:
//! an image that is not there and may not be pulled, a host
//! port published twice, a blkio device that does not exist, a bind source
//! that is missing and may not be created. Each is an error pointing at the
//! stack file. It does not ask the engine anything and decides nothing about
//! what to change; problems only the engine can see (a port another process
//! holds, memory below the minimum) stay the engine's to report.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::identity::image_ref;
use crate::model::stack::{MountType, Port, PullPolicy, Service, Stack};
use crate::observe::Observed;
use crate::source::Span;

/// Every problem found, in file order of services.
pub fn check(stack: &Stack, observed: &Observed) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for svc in stack.services.values() {
        missing_image(stack, svc, observed, &mut out);
        devices(svc, &mut out);
        binds(svc, &mut out);
    }
    ports(stack, &mut out);
    out
}

fn missing_image(stack: &Stack, svc: &Service, observed: &Observed, out: &mut Vec<Diagnostic>) {
    // A service that builds its image builds it when it is missing; one
    // with a pull policy other than `never` pulls it (`up` does both before
    // it plans). Only `never` leaves a missing image missing.
    if svc.build.is_some() || svc.pull_policy != Some(PullPolicy::Never) {
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
    let Some(blkio) = &svc.blkio_config else {
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
}
