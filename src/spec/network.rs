//! Networking: the create request of a stack's network, and how a service's
//! containers join networks (endpoints in attach order, the network mode),
//! publish ports, reach other containers (links) and resolve names (extra
//! hosts).

use std::collections::HashMap;

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding, PortMap,
};

use super::{first_container, list, map, namespace_mode, resource_labels};
use crate::identity;
use crate::model::stack::{Service, Stack};

/// `stack.networks[key]` as a create request; None if the stack has no such
/// network.
pub fn network(stack: &Stack, key: &str) -> Option<NetworkCreateRequest> {
    let n = stack.networks.get(key)?;
    let ipam = &n.ipam;
    let has_ipam = ipam.driver.is_some() || !ipam.config.is_empty() || !ipam.options.is_empty();
    Some(NetworkCreateRequest {
        name: n.name.clone(),
        driver: Some(n.driver.clone().unwrap_or_else(|| "bridge".into())),
        internal: n.internal.then_some(true),
        attachable: n.attachable.then_some(true),
        // `enable_ipv4` needs API 1.47: left out (see `unsupported_network`).
        enable_ipv6: n.enable_ipv6,
        options: map(&n.driver_opts),
        ipam: has_ipam.then(|| Ipam {
            driver: ipam.driver.clone(),
            config: Some(
                ipam.config
                    .iter()
                    .map(|p| IpamConfig {
                        subnet: p.subnet.clone(),
                        ip_range: p.ip_range.clone(),
                        gateway: p.gateway.clone(),
                        auxiliary_addresses: map(&p.aux_addresses),
                    })
                    .collect(),
            ),
            options: map(&ipam.options),
        }),
        labels: Some(resource_labels(
            &n.labels,
            &stack.name,
            identity::NETWORK,
            key,
        )),
        ..Default::default()
    })
}

/// The engine name of a network key; the key itself if the stack does not
/// define it (validation has already reported that).
fn network_name(stack: &Stack, key: &str) -> String {
    stack
        .networks
        .get(key)
        .map_or_else(|| key.to_string(), |n| n.name.clone())
}

/// A service's endpoints in the order the engine should attach them: highest
/// `priority` first, then by engine network name. Each gets the service name
/// as an alias (so `mongodb:27017` resolves on every network), then the
/// aliases configured for that network.
pub fn endpoints(stack: &Stack, service: &Service) -> Vec<(String, EndpointSettings)> {
    if service.extras().network_mode.is_some() {
        return Vec::new();
    }
    let mut out: Vec<(i64, String, EndpointSettings)> = service
        .networks
        .iter()
        .map(|(key, cfg)| {
            let mut aliases = vec![service.name.clone()];
            let mut settings = EndpointSettings::default();
            let mut priority = 0;
            if let Some(c) = cfg {
                for a in &c.aliases {
                    if !aliases.contains(a) {
                        aliases.push(a.clone());
                    }
                }
                if c.ipv4_address.is_some()
                    || c.ipv6_address.is_some()
                    || !c.link_local_ips.is_empty()
                {
                    settings.ipam_config = Some(EndpointIpamConfig {
                        ipv4_address: c.ipv4_address.clone(),
                        ipv6_address: c.ipv6_address.clone(),
                        link_local_ips: list(&c.link_local_ips),
                    });
                }
                settings.driver_opts = map(&c.driver_opts);
                priority = c.priority.unwrap_or(0);
            }
            settings.aliases = Some(aliases);
            (priority, network_name(stack, key), settings)
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out.into_iter().map(|(_, name, s)| (name, s)).collect()
}

/// How a container joins its networks: its network mode, the one endpoint
/// API 1.41 takes at create, and the rest, to connect right after.
pub(super) struct Attachment {
    pub network_mode: Option<String>,
    pub networking_config: Option<NetworkingConfig>,
    pub connect: Vec<(String, EndpointSettings)>,
}

/// `network_mode` when the service sets one (no endpoints then), else the
/// first of its [`endpoints`] as the mode and the create's endpoint.
pub(super) fn attachment(stack: &Stack, service: &Service) -> Attachment {
    if let Some(mode) = &service.extras().network_mode {
        return Attachment {
            network_mode: Some(namespace_mode(stack, mode)),
            networking_config: None,
            connect: Vec::new(),
        };
    }
    let mut endpoints = endpoints(stack, service).into_iter();
    let Some((name, settings)) = endpoints.next() else {
        return Attachment {
            network_mode: None,
            networking_config: None,
            connect: Vec::new(),
        };
    };
    Attachment {
        network_mode: Some(name.clone()),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(name, settings)])),
        }),
        connect: endpoints.collect(),
    }
}

/// The published ports as the engine's bindings, and every port the
/// container exposes (published or `expose`d), as `port/proto` keys.
pub fn ports(service: &Service) -> (Option<Vec<String>>, Option<PortMap>) {
    // Several bindings of one container port are one key's list.
    let mut bindings = PortMap::new();
    let mut exposed: Vec<String> = Vec::new();
    for p in &service.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: Some(p.published.clone().unwrap_or_default()),
            });
    }
    for e in &service.extras().expose {
        for key in expose_keys(e) {
            if !exposed.contains(&key) {
                exposed.push(key);
            }
        }
    }
    (
        (!exposed.is_empty()).then_some(exposed),
        (!bindings.is_empty()).then_some(bindings),
    )
}

/// `3000`, `3000/udp`, `3000-3002/tcp` as `port/proto` keys.
fn expose_keys(e: &str) -> Vec<String> {
    let (ports, proto) = e.split_once('/').unwrap_or((e, "tcp"));
    let range = ports
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match range {
        Some((a, b)) if a <= b => (a..=b).map(|p| format!("{p}/{proto}")).collect(),
        _ => vec![format!("{ports}/{proto}")],
    }
}

/// `links` (`service[:alias]`, to the service's first container) and
/// `external_links` (`container[:alias]`) as the engine's `name:alias`.
pub fn links(stack: &Stack, service: &Service) -> Option<Vec<String>> {
    let extras = service.extras();
    let mut links: Vec<String> = extras
        .links
        .iter()
        .map(|l| {
            let (svc, alias) = l.split_once(':').unwrap_or((l, l));
            format!("{}:{alias}", first_container(stack, svc))
        })
        .collect();
    links.extend(
        extras
            .external_links
            .iter()
            .map(|l| match l.split_once(':') {
                Some(_) => l.clone(),
                None => format!("{l}:{l}"),
            }),
    );
    (!links.is_empty()).then_some(links)
}

/// `extra_hosts` in the engine's form.
pub fn extra_hosts(service: &Service) -> Option<Vec<String>> {
    // The model keeps compose's printed form `host=ip`; the engine reads
    // `host:ip` (an IPv6 address after the first colon is fine).
    let extras = service.extras();
    (!extras.extra_hosts.is_empty()).then(|| {
        extras
            .extra_hosts
            .iter()
            .map(|e| match e.split_once('=') {
                Some((host, ip)) => format!("{host}:{ip}"),
                None => e.clone(),
            })
            .collect()
    })
}
