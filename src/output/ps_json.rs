//! `berth ps --format json` in the shape of `docker compose ps --format
//! json` (v2.40): one object per container per line, compose's keys in
//! compose's order (sorted, as Go prints a map), compose's types, so that a
//! script written against compose reads berth's output unchanged.
//!
//! Everything comes from the engine's container list, as compose takes it,
//! with two differences in where facts come from: health and a stopped
//! container's exit code are read from the list's status text ("Up 2
//! minutes (healthy)", "Exited (3) 5 seconds ago") where compose inspects
//! every container; only a container whose status text does not say its
//! exit code (`dead`) is inspected. `Labels`, `Networks` and `Project`
//! carry berth's own labels and names (compose's show `com.docker.compose.*`
//! labels, which berth does not set); labels and networks are sorted where
//! compose prints Go's random map order.
//!
//! Where this stops: filtering (`--status`, services, `--all`), sorting
//! and the inspect are the command's (`cli::ps`); this module maps one
//! listed container to one row.

use bollard::models::ContainerSummary;
use serde::Serialize;

use crate::output::go_format::{Zone, ellipsis, go_quote, go_time, human_duration, human_size};

/// One container, as compose's `ps --format json` prints it. The fields
/// are in the order compose prints them: Go sorts a map's keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComposeRow {
    /// The command, cut to 20 characters unless `--no-trunc`, in Go's
    /// double quotes: `"\"sh -c 'exit 3'\""`.
    pub command: String,
    /// When it was created, in the local time zone as Go prints a time:
    /// `2026-11-30 07:36:07 +0000 UTC`.
    pub created_at: String,
    /// The exit code of an `exited` or `dead` container; 0 otherwise.
    pub exit_code: i64,
    /// `starting`, `healthy` or `unhealthy` for a running container with a
    /// healthcheck; empty otherwise.
    pub health: String,
    /// The first 12 characters of the id unless `--no-trunc`.
    #[serde(rename = "ID")]
    pub id: String,
    pub image: String,
    /// `key=value` pairs, comma-joined.
    pub labels: String,
    /// How many mounts are volumes of the `local` driver, as a string.
    pub local_volumes: String,
    /// Volume names and bind sources, comma-joined, each cut to 15
    /// characters unless `--no-trunc`; sorted, where compose keeps the
    /// engine's order, which changes from one list to the next.
    pub mounts: String,
    pub name: String,
    pub names: String,
    /// Network names, comma-joined.
    pub networks: String,
    /// `127.0.0.1:8080->80/tcp, 9000/tcp`, as `docker ps` prints ports.
    pub ports: String,
    pub project: String,
    pub publishers: Vec<Publisher>,
    /// `7 seconds ago`.
    pub running_for: String,
    pub service: String,
    /// `0B`: the list is not asked for sizes, as compose does not ask.
    pub size: String,
    pub state: String,
    pub status: String,
}

/// One port of a container: `URL` is the host address it is published on
/// (empty, with `PublishedPort` 0, for a port only exposed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Publisher {
    #[serde(rename = "URL")]
    pub url: String,
    #[serde(rename = "TargetPort")]
    pub target_port: u16,
    #[serde(rename = "PublishedPort")]
    pub published_port: u16,
    #[serde(rename = "Protocol")]
    pub protocol: String,
}

/// What a row needs besides the listed container.
pub struct Context<'a> {
    /// Cut ids, commands and mount names as compose does without
    /// `--no-trunc`.
    pub trunc: bool,
    /// Unix seconds now, for `RunningFor`.
    pub now: i64,
    /// The local time zone at an instant (Unix seconds).
    pub zone: &'a dyn Fn(i64) -> Zone,
}

/// The row of one listed container. `exit_code` is the inspected exit
/// code, for a stopped container whose status text does not give it.
pub fn row(c: &ContainerSummary, exit_code: Option<i64>, cx: &Context) -> ComposeRow {
    let labels = c.labels.clone().unwrap_or_default();
    let state = c.state.map(|s| s.to_string()).unwrap_or_default();
    let status = c.status.clone().unwrap_or_default();
    let created = c.created.unwrap_or_default();
    let names: Vec<String> = c
        .names
        .iter()
        .flatten()
        .map(|n| n.strip_prefix('/').unwrap_or(n).to_string())
        .collect();
    let id = c.id.clone().unwrap_or_default();
    let listed_health = c
        .health
        .as_ref()
        .and_then(|h| h.status)
        .map(|h| h.to_string())
        .filter(|h| !h.is_empty() && h != "none");
    let health = match state.as_str() {
        "running" => listed_health
            .unwrap_or_else(|| health_from_status(&status).unwrap_or_default().to_string()),
        _ => String::new(),
    };
    let exit_code = match state.as_str() {
        "exited" | "dead" => exit_code.or_else(|| exit_code_from_status(&status)),
        _ => None,
    };
    let mounts = c.mounts.as_deref().unwrap_or_default();
    let mut mount_names: Vec<&str> = mounts
        .iter()
        .map(|m| {
            m.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .or(m.source.as_deref())
                .unwrap_or_default()
        })
        .collect();
    mount_names.sort_unstable();
    let mut networks: Vec<&str> = c
        .network_settings
        .iter()
        .flat_map(|s| s.networks.iter().flatten())
        .map(|(name, _)| name.as_str())
        .collect();
    networks.sort_unstable();
    let mut label_pairs: Vec<(&String, &String)> = labels.iter().collect();
    label_pairs.sort();
    let publishers = publishers(c);
    let command = c.command.clone().unwrap_or_default();
    ComposeRow {
        command: go_quote(&if cx.trunc {
            ellipsis(&command, 20)
        } else {
            command
        }),
        created_at: go_time(created, &(cx.zone)(created)),
        exit_code: exit_code.unwrap_or(0),
        health,
        id: if cx.trunc {
            id.chars().take(12).collect()
        } else {
            id.clone()
        },
        image: c.image.clone().unwrap_or_default(),
        labels: label_pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        local_volumes: mounts
            .iter()
            .filter(|m| m.driver.as_deref() == Some("local"))
            .count()
            .to_string(),
        mounts: mount_names
            .iter()
            .map(|name| {
                if cx.trunc {
                    ellipsis(name, 15)
                } else {
                    name.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        name: canonical_name(&names, &id),
        names: shown_names(names, cx.trunc).join(","),
        networks: networks.join(","),
        ports: displayable_ports(&publishers),
        project: labels
            .get(crate::identity::PROJECT)
            .cloned()
            .unwrap_or_default(),
        publishers,
        running_for: format!("{} ago", human_duration(cx.now - created)),
        service: labels
            .get(crate::identity::SERVICE)
            .cloned()
            .unwrap_or_default(),
        size: size(c.size_rw.unwrap_or(0), c.size_root_fs.unwrap_or(0)),
        state,
        status,
    }
}

/// The row as compose prints it: Go's encoder writes `<`, `>` and `&` in
/// strings as `\u003c`, `\u003e`, `\u0026` (outside strings JSON has none
/// of them, so replacing them everywhere is exact).
pub fn to_json_line(row: &ComposeRow) -> String {
    let text = serde_json::to_string(row).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// Whether a stopped container's exit code has to be inspected: its status
/// text does not say it.
pub fn needs_inspect(c: &ContainerSummary) -> bool {
    let state = c.state.map(|s| s.to_string()).unwrap_or_default();
    matches!(state.as_str(), "exited" | "dead")
        && exit_code_from_status(c.status.as_deref().unwrap_or_default()).is_none()
}

/// `healthy` from "Up 2 minutes (healthy)", `starting` from "(health:
/// starting)"; the list of API 1.41 has no health field of its own.
fn health_from_status(status: &str) -> Option<&'static str> {
    if status.contains("(healthy)") {
        Some("healthy")
    } else if status.contains("(unhealthy)") {
        Some("unhealthy")
    } else if status.contains("(health: starting)") {
        Some("starting")
    } else {
        None
    }
}

/// 3 from "Exited (3) 5 seconds ago".
fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split_once(')')?.0.parse().ok()
}

/// The container's own name: the one without a link alias's second `/`.
fn canonical_name(names: &[String], id: &str) -> String {
    names
        .iter()
        .find(|n| !n.contains('/'))
        .or(names.first())
        .cloned()
        .unwrap_or_else(|| id.chars().take(12).collect())
}

/// Its names; with truncation only its own name, not the aliases that
/// legacy links add (`other/alias`).
fn shown_names(names: Vec<String>, trunc: bool) -> Vec<String> {
    if trunc && let Some(own) = names.iter().find(|n| !n.contains('/')) {
        return vec![own.clone()];
    }
    names
}

/// The ports of the list, by container port (a stable sort: two bindings
/// of one port keep the engine's order, as compose's sort does).
fn publishers(c: &ContainerSummary) -> Vec<Publisher> {
    let mut out: Vec<Publisher> = c
        .ports
        .iter()
        .flatten()
        .map(|p| Publisher {
            url: p.ip.clone().unwrap_or_default(),
            target_port: p.private_port,
            published_port: p.public_port.unwrap_or(0),
            protocol: p.typ.map(|t| t.to_string()).unwrap_or_default(),
        })
        .collect();
    out.sort_by_key(|p| p.target_port);
    out
}

/// docker/cli's `DisplayablePorts`: ports published on the same port
/// number grouped into ranges by address and protocol
/// (`0.0.0.0:8000-8002->8000-8002/tcp`), exposed ones by protocol
/// (`9000-9001/tcp`), then the other bindings one by one
/// (`127.0.0.1:8080->80/tcp`).
pub fn displayable_ports(publishers: &[Publisher]) -> String {
    let mut ports: Vec<&Publisher> = publishers.iter().collect();
    ports.sort_by(|a, b| {
        (a.target_port, &a.url, a.published_port, &a.protocol).cmp(&(
            b.target_port,
            &b.url,
            b.published_port,
            &b.protocol,
        ))
    });
    // Groups in the order their keys first appear: (ip, protocol) -> range.
    type Key<'a> = (&'a str, &'a str);
    let mut groups: Vec<(Key, (u16, u16))> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in ports {
        let current = p.target_port;
        if !p.url.is_empty() && p.published_port != current {
            mappings.push(format!(
                "{}->{}/{}",
                join_host_port(&p.url, &p.published_port.to_string()),
                p.target_port,
                p.protocol
            ));
            continue;
        }
        let key = (p.url.as_str(), p.protocol.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            None => groups.push((key, (current, current))),
            Some((_, range)) if range.1.checked_add(1) == Some(current) => range.1 = current,
            Some((_, range)) => {
                result.push(group(key, *range));
                *range = (current, current);
            }
        }
    }
    result.extend(groups.iter().map(|(k, r)| group(*k, *r)));
    result.extend(mappings);
    result.join(", ")
}

fn group((ip, protocol): (&str, &str), (first, last): (u16, u16)) -> String {
    let mut range = first.to_string();
    if first != last {
        range = format!("{range}-{last}");
    }
    if ip.is_empty() {
        format!("{range}/{protocol}")
    } else {
        format!("{}->{range}/{protocol}", join_host_port(ip, &range))
    }
}

/// Go's `net.JoinHostPort`: an IPv6 address in brackets.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// go-units' `HumanSizeWithPrecision(size, 3)` of the writable layer, with
/// the image's size when the engine gave it: `0B`, `2B (virtual 21.5MB)`.
fn size(rw: i64, root: i64) -> String {
    let rw = human_size(rw);
    if root > 0 {
        format!("{rw} (virtual {})", human_size(root))
    } else {
        rw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerSummaryNetworkSettings, ContainerSummaryStateEnum, EndpointSettings, MountPoint,
        PortSummary, PortSummaryTypeEnum,
    };
    use std::collections::HashMap;

    fn utc(_: i64) -> Zone {
        Zone {
            offset_secs: 0,
            name: "UTC".into(),
        }
    }

    fn port(ip: Option<&str>, private: u16, public: Option<u16>) -> PortSummary {
        PortSummary {
            ip: ip.map(String::from),
            private_port: private,
            public_port: public,
            typ: Some(PortSummaryTypeEnum::TCP),
        }
    }

    /// A container as the engine lists the one compose printed in the
    /// comparison this module was written from.
    fn web() -> ContainerSummary {
        ContainerSummary {
            id: Some("ee44d65ba184c25a8f84231d3458895e5ba91977b81848a5afd00f5479d1f023".into()),
            names: Some(vec!["/p-web-1".into()]),
            image: Some("berth-test/busybox:latest".into()),
            command: Some("httpd -f -p 8080".into()),
            created: Some(1_796_024_167),
            ports: Some(vec![
                port(Some("0.0.0.0"), 9000, Some(32768)),
                port(Some("127.0.0.1"), 8080, Some(18081)),
                port(Some("::"), 9000, Some(32768)),
            ]),
            labels: Some(HashMap::from([
                ("tier".to_string(), "front".to_string()),
                ("io.berth.project".to_string(), "p".to_string()),
                ("io.berth.service".to_string(), "web".to_string()),
            ])),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            status: Some("Up 4 seconds (healthy)".into()),
            network_settings: Some(ContainerSummaryNetworkSettings {
                networks: Some(HashMap::from([
                    ("p_default".to_string(), EndpointSettings::default()),
                    ("p_back".to_string(), EndpointSettings::default()),
                ])),
            }),
            mounts: Some(vec![
                MountPoint {
                    name: Some("p_data".into()),
                    source: Some("/var/lib/docker/volumes/p_data/_data".into()),
                    driver: Some("local".into()),
                    ..Default::default()
                },
                MountPoint {
                    source: Some("/tmp/psc/a-long-site-dir".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }
    }

    fn cx(trunc: bool) -> Context<'static> {
        Context {
            trunc,
            now: 1_796_024_174,
            zone: &utc,
        }
    }

    #[test]
    fn a_running_container_maps_to_composes_fields_and_types() {
        let line = to_json_line(&row(&web(), None, &cx(true)));
        assert_eq!(
            line,
            r#"{"Command":"\"httpd -f -p 8080\"","CreatedAt":"2026-11-30 07:36:07 +0000 UTC","ExitCode":0,"Health":"healthy","ID":"ee44d65ba184","Image":"berth-test/busybox:latest","Labels":"io.berth.project=p,io.berth.service=web,tier=front","LocalVolumes":"1","Mounts":"/tmp/psc/a-lon…,p_data","Name":"p-web-1","Names":"p-web-1","Networks":"p_back,p_default","Ports":"127.0.0.1:18081-\u003e8080/tcp, 0.0.0.0:32768-\u003e9000/tcp, [::]:32768-\u003e9000/tcp","Project":"p","Publishers":[{"URL":"127.0.0.1","TargetPort":8080,"PublishedPort":18081,"Protocol":"tcp"},{"URL":"0.0.0.0","TargetPort":9000,"PublishedPort":32768,"Protocol":"tcp"},{"URL":"::","TargetPort":9000,"PublishedPort":32768,"Protocol":"tcp"}],"RunningFor":"7 seconds ago","Service":"web","Size":"0B","State":"running","Status":"Up 4 seconds (healthy)"}
"#
        );
    }

    #[test]
    fn no_trunc_keeps_the_whole_id_command_and_mount_names() {
        let mut c = web();
        c.command = Some("sh -c 'echo a long command line here'".into());
        let short = row(&c, None, &cx(true));
        assert_eq!(short.command, "\"sh -c 'echo a long …\"");
        let long = row(&c, None, &cx(false));
        assert_eq!(long.id.len(), 64);
        assert_eq!(long.command, "\"sh -c 'echo a long command line here'\"");
        assert_eq!(long.mounts, "/tmp/psc/a-long-site-dir,p_data");
    }

    #[test]
    fn a_stopped_container_has_its_exit_code_and_no_health() {
        let mut c = web();
        c.state = Some(ContainerSummaryStateEnum::EXITED);
        c.status = Some("Exited (3) 5 seconds ago".into());
        c.ports = Some(vec![]);
        let r = row(&c, None, &cx(true));
        assert_eq!((r.exit_code, &*r.health), (3, ""));
        assert!(r.publishers.is_empty());
        assert!(!needs_inspect(&c));
        c.state = Some(ContainerSummaryStateEnum::DEAD);
        c.status = Some("Dead".into());
        assert!(needs_inspect(&c));
        assert_eq!(row(&c, Some(137), &cx(true)).exit_code, 137);
        // A running container's exit code is 0 whatever an inspect said.
        assert_eq!(row(&web(), Some(1), &cx(true)).exit_code, 0);
    }

    #[test]
    fn ports_group_ranges_as_docker_ps_does() {
        let p = |url: &str, target, published| Publisher {
            url: url.into(),
            target_port: target,
            published_port: published,
            protocol: "tcp".into(),
        };
        assert_eq!(
            displayable_ports(&[
                p("0.0.0.0", 8000, 8000),
                p("0.0.0.0", 8001, 8001),
                p("0.0.0.0", 8002, 8002),
                p("", 9000, 0),
                p("", 9001, 0),
                p("", 9003, 0),
                p("127.0.0.1", 80, 8080),
            ]),
            "9000-9001/tcp, 0.0.0.0:8000-8002->8000-8002/tcp, 9003/tcp, 127.0.0.1:8080->80/tcp"
        );
        assert_eq!(displayable_ports(&[]), "");
    }

    #[test]
    fn a_size_is_the_writable_layer_with_the_image_s_beside_it() {
        assert_eq!(size(0, 0), "0B");
        assert_eq!(size(2, 21_500_000), "2B (virtual 21.5MB)");
    }

    #[test]
    fn link_aliases_are_not_the_name() {
        let names = vec!["other/alias".to_string(), "p-web-1".to_string()];
        assert_eq!(canonical_name(&names, "abc"), "p-web-1");
        assert_eq!(shown_names(names.clone(), true), vec!["p-web-1"]);
        assert_eq!(shown_names(names.clone(), false), names);
        assert_eq!(canonical_name(&[], "0123456789abcdef"), "0123456789ab");
    }
}
