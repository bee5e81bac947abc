//! The edge container of a start-first service (`crate::edge` is the
//! program it runs): its create body, and the archive that sets its target.
//!
//! A service replaced start-first (`deploy.update_config.order:
//! start-first`) that publishes ports gets one edge container,
//! `<project>-<service>-edge`. It publishes exactly what the service's
//! containers would have (host address, host port or range, container
//! port), listens on the same container ports, and forwards each connection
//! to the live container, which the state file names by its short id. So
//! the service's own containers publish nothing ([`needs_edge`] says which
//! services these are; leaving their ports out is the plan's business).
//!
//! Where the edge runs, two ways ([`EdgeNetwork`]):
//!
//! - **On the host's network** (when berth reaches the engine through a unix
//!   socket, so that the socket's path is the engine's too, and every port
//!   has one fixed host port and address, and the network is a bridge the
//!   host reaches): it listens on the host addresses and ports itself, in
//!   place of Docker's relay (`docker-proxy`), so a connection crosses one
//!   relay as it does without an edge. It finds the live container's
//!   address by asking the engine, whose socket it gets
//!   (`crate::edge::resolve` says what it asks, and why).
//! - **On one of the service's networks** otherwise (the first by the
//!   service's attach order that is not internal), with no alias: it
//!   publishes the ports as the service would have (random and ranged host
//!   ports too), Docker's relay in front of it, and Docker's DNS resolves
//!   every container's short id there. The service's name keeps resolving
//!   to the service's containers only.
//!
//! Its restart policy is `always`, so it comes back after dockerd restarts, with the state file it
//! had (the file is in its own filesystem). Not `unless-stopped`: a dockerd
//! that was killed (not stopped) and starts again, live-restore off, stops
//! the containers it finds running as if a user had, and then restarts
//! only the `always` ones (measured on Docker 20.10; the engine test
//! `the_edge_serves_again_after_its_dockerd_is_killed_and_restarted` kills
//! one). What `always` costs: an edge stopped by hand comes back with the
//! next dockerd start, and finds its upstream or refuses.
//!
//! Its labels are a project container's (project, service, berth's version)
//! plus [`identity::EDGE`], and no container number. Its config hash
//! ([`edge_config_hash`]) covers what it publishes, where it forwards, the
//! network it joins and where it runs, and not the image: a new build of berth need not
//! replace a running edge, which would close the service's ports for a
//! moment, the one gap the edge exists to avoid.

use std::collections::HashMap;

use std::net::IpAddr;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig,
    PortBinding, PortMap, RestartPolicy, RestartPolicyNameEnum,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::SpecError;
use super::container::ContainerSpec;
use super::network::endpoints;
use crate::edge::{self, EXECUTABLE, Forward, STATE_PATH, STATUS_PATH};
use crate::identity;
use crate::model::stack::{Service, Stack};

/// What the edge's command line and files mean; part of its config hash, so
/// that an edge that speaks another version is replaced.
const EDGE_PROTOCOL: u32 = 2;

/// Where the engine's socket is inside an edge on the host's network.
const ENGINE_SOCKET: &str = "/engine.sock";

/// Where an edge runs (see the module's doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeNetwork {
    /// In the host's network namespace, asking the engine at this unix
    /// socket (its path on the engine's machine) for addresses.
    Host { socket: String },
    /// On the service's network, publishing its ports through Docker.
    Bridge,
}

/// The edge container's name: `<project>-<service>-edge` (a replica is
/// `<project>-<service>-<n>`, so the two never meet).
pub fn edge_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-edge")
}

/// Whether `service` needs an edge: it publishes ports and is replaced
/// start-first.
pub fn needs_edge(service: &Service) -> bool {
    let start_first = service
        .extras()
        .deploy
        .as_ref()
        .and_then(|d| d.update_config.as_ref())
        .and_then(|u| u.order.as_deref())
        == Some("start-first");
    start_first && !service.ports.is_empty()
}

/// The create request of `service`'s edge, running `image` (the reference
/// `Engine::ensure_edge_image` returned); `engine_socket` is the engine's
/// unix socket when berth reaches it through one (an edge on the host's
/// network needs it). Errors for what an edge cannot hold: a port that is
/// not TCP, a service that has no network of its own.
pub fn edge_container(
    stack: &Stack,
    service: &Service,
    image: &str,
    engine_socket: Option<&str>,
) -> Result<ContainerSpec, SpecError> {
    let mut errors = Vec::new();
    for p in &service.ports {
        if p.protocol != "tcp" {
            errors.push(SpecError::new(
                format!(
                    "service {} publishes {}/{}: its edge forwards TCP only",
                    service.name, p.target, p.protocol
                ),
                "publish the UDP port from a service that is replaced stop-first, or drop `order: start-first`",
                Some(p.span),
            ));
        }
    }
    if let Some(mode) = &service.extras().network_mode {
        errors.push(SpecError::new(
            format!(
                "service {} has network_mode {mode}: an edge must reach its containers on a network of their own",
                service.name
            ),
            "give the service `networks:` instead of `network_mode`, or drop `order: start-first`",
            Some(service.span),
        ));
    }
    let network = network_of(stack, service);
    if network.is_none() && errors.is_empty() {
        errors.push(SpecError::new(
            format!(
                "service {} joins no network, so its edge cannot find its containers",
                service.name
            ),
            "give the service a network (`networks:`)",
            Some(service.span),
        ));
    }
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    let network = network.unwrap_or_default();
    let mode = match engine_socket {
        Some(socket) if host_listens(stack, service, &network) => EdgeNetwork::Host {
            socket: socket.to_string(),
        },
        _ => EdgeNetwork::Bridge,
    };
    let mut cmd: Vec<String> = [
        EXECUTABLE,
        "edge",
        "--state",
        STATE_PATH,
        "--status",
        STATUS_PATH,
    ]
    .map(String::from)
    .to_vec();
    let mut labels = HashMap::from([
        (identity::PROJECT.to_string(), stack.name.clone()),
        (identity::SERVICE.to_string(), service.name.clone()),
        (identity::EDGE.to_string(), service.name.clone()),
        (
            identity::CONFIG_HASH.to_string(),
            edge_config_hash(service, &network, &mode),
        ),
        (
            identity::VERSION.to_string(),
            identity::BERTH_VERSION.to_string(),
        ),
    ]);
    let mut host_config = HostConfig {
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            maximum_retry_count: None,
        }),
        // It needs nothing but to listen, below 1024 too (and, on the
        // host's network, to reach the engine's socket, which is a file).
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(vec!["NET_BIND_SERVICE".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        ..Default::default()
    };
    let mut body = ContainerCreateBody {
        image: Some(image.to_string()),
        stop_signal: Some("SIGTERM".into()),
        // The edge's own grace, and a little for it to notice and exit.
        stop_timeout: Some(edge::GRACE.as_secs() as i64 + 5),
        ..Default::default()
    };
    match &mode {
        EdgeNetwork::Host { socket } => {
            cmd.extend(["--engine", ENGINE_SOCKET, "--network", &network].map(String::from));
            let forwards = host_forwards(service);
            for f in &forwards {
                cmd.push("--forward".into());
                cmd.push(f.to_string());
            }
            let shown: Vec<_> = forwards
                .iter()
                .map(|f| json!([f.ip.map(|ip| ip.to_string()), f.listen, f.target]))
                .collect();
            labels.insert(
                identity::EDGE_PORTS.to_string(),
                serde_json::Value::from(shown).to_string(),
            );
            host_config.network_mode = Some("host".into());
            // A bind mount, not a bind: a socket that is not there is an
            // error, not an empty directory made in its place.
            host_config.mounts = Some(vec![Mount {
                target: Some(ENGINE_SOCKET.into()),
                source: Some(socket.clone()),
                typ: Some(MountType::BIND),
                ..Default::default()
            }]);
        }
        EdgeNetwork::Bridge => {
            let forwards = forwarded_ports(service);
            for p in &forwards {
                cmd.push("--forward".into());
                cmd.push(format!("{p}:{p}"));
            }
            let mut bindings = PortMap::new();
            for p in &service.ports {
                bindings
                    .entry(format!("{}/tcp", p.target))
                    .or_insert_with(|| Some(Vec::new()))
                    .get_or_insert_with(Vec::new)
                    .push(PortBinding {
                        host_ip: p.host_ip.clone(),
                        host_port: Some(p.published.clone().unwrap_or_default()),
                    });
            }
            body.exposed_ports = Some(forwards.iter().map(|p| format!("{p}/tcp")).collect());
            host_config.port_bindings = Some(bindings);
            host_config.network_mode = Some(network.clone());
            body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(network, EndpointSettings::default())])),
            });
        }
    }
    body.cmd = Some(cmd);
    body.labels = Some(labels);
    body.host_config = Some(host_config);
    Ok(ContainerSpec {
        body,
        connect: Vec::new(),
        platform: None,
    })
}

/// Whether the edge of `service` can listen on the host's network: every
/// port has one fixed host port on an address (or none: every address),
/// which the edge binds itself, and `network` is a bridge of the stack's
/// that is not internal, so the host reaches its containers.
fn host_listens(stack: &Stack, service: &Service, network: &str) -> bool {
    let fixed = service.ports.iter().all(|p| {
        let port = p.published.as_deref().and_then(|n| n.parse::<u16>().ok());
        let ip = p.host_ip.as_deref().map(parse_ip);
        port.is_some_and(|n| n > 0) && ip.is_none_or(|ip| ip.is_some())
    });
    let bridge = stack.networks.values().any(|n| {
        n.name == network
            && !n.external
            && !n.internal
            && n.driver.as_deref().is_none_or(|d| d == "bridge")
    });
    fixed && bridge
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(text)
        .parse()
        .ok()
}

/// What an edge on the host's network listens on: each `ports` entry's
/// address (none: every address, IPv6 too, as Docker publishes) and host
/// port, forwarded to
/// its container port; each once, in file order. Only for the ports
/// [`host_listens`] takes.
fn host_forwards(service: &Service) -> Vec<Forward> {
    let mut out: Vec<Forward> = Vec::new();
    for p in &service.ports {
        let Some(listen) = p.published.as_deref().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let f = Forward {
            ip: p.host_ip.as_deref().and_then(parse_ip),
            listen,
            target: p.target,
        };
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The container ports the service publishes, each once, in file order:
/// the edge listens on the same ones.
fn forwarded_ports(service: &Service) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    for p in &service.ports {
        if !out.contains(&p.target) {
            out.push(p.target);
        }
    }
    out
}

/// The engine name of the network the edge joins: the service's first (by
/// its attach order) that is not internal, else its first.
fn network_of(stack: &Stack, service: &Service) -> Option<String> {
    if service.extras().network_mode.is_some() {
        return None;
    }
    let names: Vec<String> = endpoints(stack, service)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let internal = |name: &String| {
        stack
            .networks
            .values()
            .any(|n| &n.name == name && n.internal)
    };
    names
        .iter()
        .find(|n| !internal(n))
        .or(names.first())
        .cloned()
}

/// sha256 over what the edge of `service` publishes, forwards and joins,
/// where it runs, and [`EDGE_PROTOCOL`]; not its image (see the module's
/// doc).
pub fn edge_config_hash(service: &Service, network: &str, mode: &EdgeNetwork) -> String {
    let ports: Vec<_> = service
        .ports
        .iter()
        .map(|p| json!([p.host_ip, p.published, p.target, p.protocol]))
        .collect();
    let text = json!({
        "protocol": EDGE_PROTOCOL,
        "ports": ports,
        "network": network,
        "host": match mode {
            EdgeNetwork::Host { socket } => Some(socket.as_str()),
            EdgeNetwork::Bridge => None,
        },
    })
    .to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The archive that makes the edge send new connections to `target` (the
/// live container's short id, or an address): the state file, for the
/// engine's archive API to extract at `/` (`Engine::upload_to_container`).
/// Errors for a target the edge would not take.
pub fn edge_target_tar(target: &str) -> std::io::Result<Vec<u8>> {
    edge::Target::parse(target).map_err(|why| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{target:?} cannot be an edge's target: {why}"),
        )
    })?;
    let data = edge::target::line(target);
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(
        &mut header,
        STATE_PATH.trim_start_matches('/'),
        data.as_bytes(),
    )?;
    b.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::stack;

    const START_FIRST: &str = "    deploy: {update_config: {order: start-first}}\n";

    fn web(more: &str) -> Stack {
        stack(&format!(
            "name: shop\nservices:\n  web:\n    image: app\n{START_FIRST}{more}"
        ))
    }

    fn spec_of(s: &Stack) -> Result<ContainerSpec, SpecError> {
        edge_container(s, &s.services["web"], "berth/edge:0123456789ab", None)
    }

    #[test]
    fn the_edge_publishes_what_the_service_would_and_forwards_to_the_same_ports() {
        let s = web("    ports: ['127.0.0.1:18080:80', '18443:443', '8080-8081:80']\n");
        let spec = spec_of(&s).unwrap();
        let b = &spec.body;
        assert_eq!(b.image.as_deref(), Some("berth/edge:0123456789ab"));
        assert_eq!(
            b.cmd.as_ref().unwrap().join(" "),
            "/berth edge --state /run/berth-edge/target --status /run/berth-edge/status \
             --forward 80:80 --forward 443:443"
        );
        assert_eq!(
            b.exposed_ports.as_ref().unwrap(),
            &vec!["80/tcp".to_string(), "443/tcp".to_string()]
        );
        let h = b.host_config.as_ref().unwrap();
        let bindings = h.port_bindings.as_ref().unwrap();
        let of = |k: &str| -> Vec<(Option<String>, Option<String>)> {
            bindings[k]
                .as_ref()
                .unwrap()
                .iter()
                .map(|p| (p.host_ip.clone(), p.host_port.clone()))
                .collect()
        };
        assert_eq!(
            of("80/tcp"),
            [
                (Some("127.0.0.1".into()), Some("18080".into())),
                (None, Some("8080-8081".into())),
            ]
        );
        assert_eq!(of("443/tcp"), [(None, Some("18443".into()))]);
        assert_eq!(
            h.restart_policy.as_ref().unwrap().name,
            Some(RestartPolicyNameEnum::ALWAYS)
        );
        assert_eq!(b.stop_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(b.stop_timeout, Some(15));
        assert_eq!(edge_name(&s.name, "web"), "shop-web-edge");
    }

    #[test]
    fn the_edge_joins_one_network_of_the_service_without_its_alias() {
        let s = stack(&format!(
            "name: shop\nservices:\n  web:\n    image: app\n{START_FIRST}    ports: ['80']\n    \
             networks: [back, front]\nnetworks:\n  back: {{internal: true}}\n  front: {{}}\n"
        ));
        let spec = edge_container(&s, &s.services["web"], "e", None).unwrap();
        let h = spec.body.host_config.as_ref().unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("shop_front"));
        let endpoints = spec
            .body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap();
        assert_eq!(endpoints.len(), 1);
        assert_eq!(endpoints["shop_front"].aliases, None);
        assert!(spec.connect.is_empty());

        let plain = web("    ports: ['80']\n");
        let h = spec_of(&plain).unwrap().body.host_config.unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("shop_default"));
    }

    #[test]
    fn the_edge_is_labelled_as_the_services_edge_and_not_as_a_replica() {
        let s = web("    ports: ['80']\n    labels: {team: a}\n");
        let labels = spec_of(&s).unwrap().body.labels.unwrap();
        assert_eq!(labels[identity::PROJECT], "shop");
        assert_eq!(labels[identity::SERVICE], "web");
        assert_eq!(labels[identity::EDGE], "web");
        assert_eq!(labels[identity::VERSION], identity::BERTH_VERSION);
        assert!(!labels.contains_key(identity::NUMBER));
        assert!(
            !labels.contains_key("team"),
            "the service's labels are its containers'"
        );
    }

    #[test]
    fn the_config_hash_changes_with_the_ports_and_not_with_the_image() {
        let a = web("    ports: ['80']\n");
        let b = web("    ports: ['81:80']\n");
        let hash = |s: &Stack, image: &str| {
            edge_container(s, &s.services["web"], image, None)
                .unwrap()
                .body
                .labels
                .unwrap()[identity::CONFIG_HASH]
                .clone()
        };
        assert_eq!(hash(&a, "berth/edge:1"), hash(&a, "berth/edge:2"));
        assert_ne!(hash(&a, "berth/edge:1"), hash(&b, "berth/edge:1"));
    }

    #[test]
    fn what_an_edge_cannot_hold_is_an_error_at_its_place() {
        let udp = web("    ports: ['53:53/udp']\n");
        let e = spec_of(&udp).unwrap_err();
        assert_eq!(
            e.message,
            "service web publishes 53/udp: its edge forwards TCP only"
        );
        assert!(e.span.is_some());
        let host = web("    ports: ['80']\n    network_mode: host\n");
        let e = spec_of(&host).unwrap_err();
        assert!(e.message.contains("network_mode host"), "{}", e.message);
    }

    #[test]
    fn only_start_first_services_with_ports_need_an_edge() {
        let s = stack(&format!(
            "services:\n  a:\n    image: x\n{START_FIRST}    ports: ['80']\n  \
             b:\n    image: x\n{START_FIRST}  c:\n    image: x\n    ports: ['80']\n  \
             d:\n    image: x\n    ports: ['81:80']\n    deploy: {{update_config: {{order: stop-first}}}}\n"
        ));
        let needs: Vec<bool> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| needs_edge(&s.services[*n]))
            .collect();
        assert_eq!(needs, [true, false, false, false]);
    }

    const SOCKET: &str = "/var/run/docker.sock";

    #[test]
    fn with_the_engines_socket_the_edge_listens_on_the_hosts_network_in_dockers_place() {
        let s =
            web("    ports: ['127.0.0.1:18080:80', '18443:443', '18080:80', '[::1]:9000:90']\n");
        let spec = edge_container(&s, &s.services["web"], "e", Some(SOCKET)).unwrap();
        let b = &spec.body;
        assert_eq!(
            b.cmd.as_ref().unwrap().join(" "),
            "/berth edge --state /run/berth-edge/target --status /run/berth-edge/status \
             --engine /engine.sock --network shop_default \
             --forward 127.0.0.1:18080:80 --forward 18443:443 \
             --forward 18080:80 --forward [::1]:9000:90"
        );
        let h = b.host_config.as_ref().unwrap();
        assert_eq!(h.network_mode.as_deref(), Some("host"));
        assert_eq!(h.port_bindings, None, "it binds the ports itself");
        assert_eq!(b.exposed_ports, None);
        assert_eq!(b.networking_config, None);
        let m = &h.mounts.as_ref().unwrap()[0];
        assert_eq!(
            (m.source.as_deref(), m.target.as_deref(), m.typ),
            (Some(SOCKET), Some("/engine.sock"), Some(MountType::BIND))
        );
        let labels = b.labels.as_ref().unwrap();
        assert_eq!(
            labels[identity::EDGE_PORTS],
            r#"[["127.0.0.1",18080,80],[null,18443,443],[null,18080,80],["::1",9000,90]]"#
        );
        assert_eq!(h.cap_drop.as_deref(), Some(&["ALL".to_string()][..]));
    }

    #[test]
    fn what_the_host_cannot_bind_or_reach_keeps_the_edge_on_the_services_network() {
        let bridge = |s: &Stack| {
            let spec = edge_container(s, &s.services["web"], "e", Some(SOCKET)).unwrap();
            spec.body.host_config.unwrap().network_mode != Some("host".into())
        };
        assert!(!bridge(&web("    ports: ['8080:80']\n")));
        assert!(bridge(&web("    ports: ['80']\n")), "a random host port");
        assert!(bridge(&web("    ports: ['8080-8081:80']\n")), "a range");
        let on = |net: &str| {
            stack(&format!(
                "name: shop\nservices:\n  web:\n    image: app\n{START_FIRST}    ports: ['8080:80']\n    \
                 networks: [n]\nnetworks:\n  n: {net}\n"
            ))
        };
        assert!(!bridge(&on("{driver: bridge}")));
        assert!(bridge(&on("{internal: true}")), "the host cannot reach it");
        assert!(bridge(&on("{driver: macvlan}")));
        assert!(
            bridge(&on("{external: true, name: theirs}")),
            "its driver is unknown"
        );
    }

    #[test]
    fn moving_the_edge_to_the_hosts_network_or_its_socket_replaces_it() {
        let s = web("    ports: ['8080:80']\n");
        let hash = |socket: Option<&str>| {
            edge_container(&s, &s.services["web"], "e", socket)
                .unwrap()
                .body
                .labels
                .unwrap()[identity::CONFIG_HASH]
                .clone()
        };
        assert_ne!(hash(None), hash(Some(SOCKET)));
        assert_ne!(hash(Some(SOCKET)), hash(Some("/run/other.sock")));
    }

    #[test]
    fn the_target_archive_is_the_state_file_with_one_line() {
        let tar = edge_target_tar("0123456789ab").unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("run/berth-edge/target"));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
        assert_eq!(text, "0123456789ab\n");
        assert!(entries.next().is_none());
        assert!(edge_target_tar("a b").is_err());
        assert!(edge_target_tar("").is_err());
    }
}
