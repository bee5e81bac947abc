//! Published ports: every short form compose accepts, and the long form.
//!
//! `"80"`, `"8080:80"`, `"127.0.0.1:8080:80"`, `"[::1]:8080:80"`, `"9000-9001:90-91"`,
//! `"8080:80/udp"`, `127.0.0.1::80` (random host port). A range expands into one
//! long-form entry per port, as compose prints it. Checks that need the whole
//! stack (a port published twice) are made by the caller.

use crate::load::resolve::Context;
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::Port;
use crate::source::Span;

pub fn resolve(cx: &mut Context, p: &Spanned<raw::Port>) -> Vec<Port> {
    match &p.value {
        raw::Port::Short(s) => match parse_short(s) {
            Ok(ports) => ports
                .into_iter()
                .map(|mut port| {
                    port.span = p.span;
                    port
                })
                .collect(),
            Err(e) => {
                cx.diagnostics.push(
                    crate::diag::Diagnostic::error(format!("invalid port `{s}`: {e}"))
                        .label(p.span, "not a port mapping")
                        .help("write `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, e.g. `8080:80` or `127.0.0.1:8080:80/tcp`; ports are 1-65535"),
                );
                Vec::new()
            }
        },
        raw::Port::Long(l) => {
            let target = match &l.target {
                Some(t) => match t.value.0.trim().parse::<u16>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        port_error(
                            cx,
                            t.span,
                            &t.value.0,
                            "the container port must be a number from 1 to 65535",
                        );
                        return Vec::new();
                    }
                },
                None => {
                    port_error(
                        cx,
                        p.span,
                        "",
                        "the long form needs `target`, the container port",
                    );
                    return Vec::new();
                }
            };
            let published = match &l.published {
                Some(pb) => {
                    let text = pb.value.0.trim().to_string();
                    if !text.is_empty() && parse_range(&text).is_none() {
                        port_error(
                            cx,
                            pb.span,
                            &text,
                            "the published port must be a number or range from 1 to 65535",
                        );
                        return Vec::new();
                    }
                    Some(text)
                }
                None => None,
            };
            let protocol = l.protocol.clone().unwrap_or_else(|| "tcp".into());
            if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
                port_error(
                    cx,
                    p.span,
                    &protocol,
                    "the protocol must be tcp, udp or sctp",
                );
            }
            vec![Port {
                name: l.name.clone(),
                mode: l.mode.clone().unwrap_or_else(|| "ingress".into()),
                host_ip: l.host_ip.clone(),
                target,
                published,
                protocol,
                app_protocol: l.app_protocol.clone(),
                span: p.span,
            }]
        }
    }
}

fn port_error(cx: &mut Context, span: Span, text: &str, why: &str) {
    cx.diagnostics.push(
        crate::diag::Diagnostic::error(format!("invalid port `{text}`: {why}"))
            .label(span, "not a valid port")
            .help("ports are whole numbers from 1 to 65535"),
    );
}

/// `"80"` or `"9000-9001"`.
fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let lo: u16 = lo.parse().ok()?;
    let hi: u16 = hi.parse().ok()?;
    (lo > 0 && hi >= lo).then_some((lo, hi))
}

/// Parses the short syntax into long-form entries (span left empty).
pub fn parse_short(s: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match s.rsplit_once('/') {
        Some((spec, proto)) => (spec, proto.to_string()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol `{protocol}`"));
    }
    // An IPv6 host address is written in brackets: [::1]:8080:80
    let (host_ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, rest) = r
            .split_once(']')
            .ok_or("unclosed `[` in the host address")?;
        let rest = rest
            .strip_prefix(':')
            .ok_or("expected `:` after the host address")?;
        (Some(ip.to_string()), rest)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (None, [p, t]) => (None, Some(*p), *t),
        (None, [ip, p, t]) => (Some(ip.to_string()), Some(*p), *t),
        (Some(ip), [p, t]) => (Some(ip), Some(*p), *t),
        _ => return Err("too many `:`".into()),
    };
    if let Some(ip) = &ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("`{ip}` is not an IP address"));
        }
    }
    let (tlo, thi) = parse_range(target)
        .ok_or_else(|| format!("`{target}` is not a container port or range"))?;
    let published = published.filter(|p| !p.is_empty());
    let prange = match published {
        Some(p) => {
            Some(parse_range(p).ok_or_else(|| format!("`{p}` is not a host port or range"))?)
        }
        None => None,
    };
    let count = (thi - tlo) as usize + 1;
    let mut out = Vec::with_capacity(count);
    match prange {
        Some((plo, phi)) if tlo == thi || (phi - plo) as usize + 1 == count => {
            // Equal-length ranges map one to one; a single container port with
            // a host range lets the engine pick one host port from the range.
            if tlo == thi && plo != phi {
                out.push(port(&ip, Some(format!("{plo}-{phi}")), tlo, &protocol));
            } else {
                for i in 0..count {
                    out.push(port(
                        &ip,
                        Some((plo + i as u16).to_string()),
                        tlo + i as u16,
                        &protocol,
                    ));
                }
            }
        }
        Some(_) => return Err("the host and container port ranges differ in length".into()),
        None => {
            for i in 0..count {
                out.push(port(&ip, None, tlo + i as u16, &protocol));
            }
        }
    }
    Ok(out)
}

fn port(ip: &Option<String>, published: Option<String>, target: u16, protocol: &str) -> Port {
    Port {
        name: None,
        mode: "ingress".into(),
        host_ip: ip.clone(),
        target,
        published,
        protocol: protocol.into(),
        app_protocol: None,
        span: Span::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (Option<String>, Option<String>, u16, String) {
        let p = parse_short(s).unwrap();
        assert_eq!(p.len(), 1);
        let p = &p[0];
        (
            p.host_ip.clone(),
            p.published.clone(),
            p.target,
            p.protocol.clone(),
        )
    }

    #[test]
    fn short_forms() {
        assert_eq!(one("80"), (None, None, 80, "tcp".into()));
        assert_eq!(
            one("8080:80"),
            (None, Some("8080".into()), 80, "tcp".into())
        );
        assert_eq!(
            one("127.0.0.1:8080:80/udp"),
            (
                Some("127.0.0.1".into()),
                Some("8080".into()),
                80,
                "udp".into()
            )
        );
        assert_eq!(
            one("127.0.0.1::80"),
            (Some("127.0.0.1".into()), None, 80, "tcp".into())
        );
        assert_eq!(
            one("[::1]:8080:80"),
            (Some("::1".into()), Some("8080".into()), 80, "tcp".into())
        );
        assert_eq!(
            one("9000-9001:80"),
            (None, Some("9000-9001".into()), 80, "tcp".into())
        );
    }

    #[test]
    fn ranges_expand() {
        let p = parse_short("9000-9001:90-91").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].published.as_deref(), Some("9001"));
        assert_eq!(p[1].target, 91);
    }

    #[test]
    fn bad_ports_are_rejected() {
        for bad in [
            "0",
            "70000",
            "a:b",
            "80/xtp",
            "1:2:3:4",
            "9000-9002:90-91",
            "300.1.1.1:80:80",
            "90-80",
        ] {
            assert!(parse_short(bad).is_err(), "{bad}");
        }
    }
}
