//! The networks a service joins: `network_mode` (a `service:` mode is an
//! edge to that service), or `networks:` as a list or a mapping, each
//! network checked to be defined and each static address to be of the right
//! family inside the network's subnets. The top-level `networks:`
//! definitions are resolved with the top level, not here.

use crate::load::resolve::context::{Context, Defined, undefined};
use crate::load::resolve::lists::{strings, text_map};
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::*;
use crate::source::Span;

pub(super) fn networks(cx: &mut Context, out: &mut Service, s: &raw::Service, defined: &Defined) {
    if let Some(mode) = &s.network_mode {
        if let Some(target) = mode.value.strip_prefix("service:") {
            if !defined.services.contains(&target) {
                undefined(
                    cx,
                    "service",
                    target,
                    mode.span,
                    &defined.services,
                    "services",
                );
            }
            out.edges.push(Edge {
                to: target.to_string(),
                kind: EdgeKind::NetworkMode,
                span: mode.span,
            });
        }
        if s.networks.is_some() {
            cx.error(
                mode.span,
                "`network_mode` and `networks` cannot both be set",
                "network_mode set here",
                "remove one of them: a container in another network mode cannot join networks",
            );
        }
        return;
    }
    let check = |cx: &mut Context, name: &str, span: Span| {
        if !defined.networks.contains(&name) && name != "default" {
            undefined(cx, "network", name, span, &defined.networks, "networks");
        }
    };
    match &s.networks {
        None => {
            out.networks.insert("default".into(), None);
        }
        Some(raw::ServiceNetworks::List(l)) => {
            for n in l {
                check(cx, &n.value, n.span);
                out.networks.insert(n.value.clone(), None);
            }
        }
        Some(raw::ServiceNetworks::Map(m)) => {
            for (name, cfg) in m {
                check(cx, &name.value, name.span);
                let net = cfg.value.as_ref().map(|c| {
                    Box::new(ServiceNetwork {
                        aliases: strings(&c.aliases),
                        ipv4_address: c
                            .ipv4_address
                            .as_ref()
                            .filter(|a| address_in(cx, a, &name.value, defined, true))
                            .map(|a| a.value.clone()),
                        ipv6_address: c
                            .ipv6_address
                            .as_ref()
                            .filter(|a| address_in(cx, a, &name.value, defined, false))
                            .map(|a| a.value.clone()),
                        link_local_ips: strings(&c.link_local_ips),
                        mac_address: c.mac_address.clone(),
                        driver_opts: text_map(&c.driver_opts),
                        priority: c.priority,
                        gw_priority: c.gw_priority,
                    })
                });
                out.networks.insert(name.value.clone(), net);
            }
        }
    }
}

/// Whether a static address for a service on network `net` is an address of
/// the right family inside one of the network's configured subnets (when the
/// network names any); reports it where it is not.
fn address_in(
    cx: &mut Context,
    a: &Spanned<String>,
    net: &str,
    defined: &Defined,
    v4: bool,
) -> bool {
    let key = if v4 { "ipv4_address" } else { "ipv6_address" };
    let ip = match a.value.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_ipv4() == v4 => ip,
        _ => {
            let family = if v4 { "an IPv4" } else { "an IPv6" };
            cx.error(
                a.span,
                format!("`{key}` `{}` is not {family} address", a.value),
                "not an address",
                if v4 {
                    "write an address such as `172.20.0.5`"
                } else {
                    "write an address such as `fd00::5`"
                },
            );
            return false;
        }
    };
    let subnets: Vec<&str> = defined
        .subnets
        .get(net)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| subnet_contains(s, ip).is_some())
        .collect();
    if subnets.is_empty() || subnets.iter().any(|s| subnet_contains(s, ip) == Some(true)) {
        return true;
    }
    cx.error(
        a.span,
        format!("`{key}` `{}` is outside network `{net}`'s subnets", a.value),
        "outside the subnet",
        format!("use an address in {}", subnets.join(" or ")),
    );
    false
}

/// Whether `cidr` (`172.20.0.0/16`) holds `ip`; None when `cidr` is not a
/// subnet of `ip`'s family (a malformed subnet is reported with the network).
fn subnet_contains(cidr: &str, ip: std::net::IpAddr) -> Option<bool> {
    use std::net::IpAddr;
    let (base, bits) = cidr.split_once('/')?;
    let bits: u32 = bits.parse().ok()?;
    let (base, ip, width) = match (base.parse::<IpAddr>().ok()?, ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) => (u32::from(b) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(b), IpAddr::V6(i)) => (u128::from(b), u128::from(i), 128),
        _ => return None,
    };
    if bits > width {
        return None;
    }
    // The bits of the network part, counted from the top of `width` bits.
    let mask = if bits == 0 {
        0
    } else {
        (u128::MAX << (128 - bits)) >> (128 - width)
    };
    Some(base & mask == ip & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_addresses_are_checked_against_subnets_of_their_family() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            subnet_contains("172.28.0.0/16", ip("172.28.5.1")),
            Some(true)
        );
        assert_eq!(
            subnet_contains("172.28.0.0/16", ip("172.29.0.1")),
            Some(false)
        );
        assert_eq!(
            subnet_contains("10.0.0.0/8", ip("10.255.255.255")),
            Some(true)
        );
        assert_eq!(subnet_contains("0.0.0.0/0", ip("8.8.8.8")), Some(true));
        assert_eq!(subnet_contains("10.0.0.1/32", ip("10.0.0.2")), Some(false));
        assert_eq!(subnet_contains("fd00::/64", ip("fd00::5")), Some(true));
        assert_eq!(
            subnet_contains("fd00::/64", ip("fd00:0:0:1::5")),
            Some(false)
        );
        // Another family, or a malformed subnet, says nothing.
        assert_eq!(subnet_contains("fd00::/64", ip("10.0.0.1")), None);
        assert_eq!(subnet_contains("10.0.0.0/33", ip("10.0.0.1")), None);
        assert_eq!(subnet_contains("10.0.0.0", ip("10.0.0.1")), None);
    }
}
