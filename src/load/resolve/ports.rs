//! Published ports: every short form compose accepts, and the long form.
//!
//! `"80"`, `"8080:80"`, `"127.0.0.1:8080:80"`, `"[::1]:8080:80"`, `"9000-9001:90-91"`,
//! `"8080:80/udp"`, `127.0.0.1::80` (random host port). A range expands into one
//! long-form entry per port, in the order compose prints them. The short form
//! is read the way compose reads it (Docker's go-connections), quirks included.
//! Checks that need the whole stack (a host port published twice) are made
//! before `up`, by the preflight checks. [`parse_short`] and [`short_count`]
//! serve `merge` too, which merges ports by what their short form expands to.

use crate::load::resolve::context::Context;
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
                    cx.diagnostics.push(
                        crate::diag::Diagnostic::error(
                            "a port in the long form needs `target`, the container port",
                        )
                        .label(p.span, "no `target`")
                        .help(
                            "add `target: 80` (the port the service listens on in the container)",
                        ),
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
                            "the published port must be a number or range from 0 to 65535",
                        );
                        return Vec::new();
                    }
                    // compose leaves an empty one out: any free port.
                    (!text.is_empty()).then_some(text)
                }
                None => None,
            };
            // compose keeps the long form's protocol as written (`UDP`).
            let protocol = l.protocol.clone().unwrap_or_else(|| "tcp".into());
            if !matches!(
                protocol.to_ascii_lowercase().as_str(),
                "tcp" | "udp" | "sctp"
            ) {
                cx.diagnostics.push(
                    crate::diag::Diagnostic::error(format!("invalid port protocol `{protocol}`"))
                        .label(p.span, "unknown protocol")
                        .help("use `protocol: tcp`, `udp` or `sctp`"),
                );
            }
            let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
            vec![Port {
                name: given(&l.name),
                mode: given(&l.mode).unwrap_or_else(|| "ingress".into()),
                host_ip: given(&l.host_ip),
                target,
                published,
                protocol,
                app_protocol: given(&l.app_protocol),
                span: p.span,
            }]
        }
    }
}

/// What a port past 65535 is, in every message about one.
const TOO_LARGE: &str = "too large (ports go up to 65535)";

/// Whether a port (or one end of a range) that did not parse is a number
/// past 65535: `70000`, `99999999999999999999`, and the `1e+19` or `+Inf`
/// that YAML makes of `1e19` and `1e400`. Such a port gets "too large" and
/// the maximum, not "not a port".
fn too_large(text: &str) -> bool {
    text.trim()
        .split('-')
        .filter(|end| !end.is_empty())
        .any(|end| end.parse::<f64>().is_ok_and(|n| n > 65535.0))
}

/// Why `text` is not a port, in words: too large, or not a port at all
/// (`what`, e.g. "not a container port or range").
fn not_a_port(text: &str, what: &str) -> String {
    if too_large(text) {
        // `+Inf` and `1e+19` are YAML's renderings, not what was written:
        // the label points at what was.
        TOO_LARGE.to_string()
    } else {
        format!("`{text}` is {what}")
    }
}

fn port_error(cx: &mut Context, span: Span, text: &str, why: &str) {
    let (message, label) = if too_large(text) {
        (format!("invalid port: {TOO_LARGE}"), "too large")
    } else {
        (format!("invalid port `{text}`: {why}"), "not a valid port")
    };
    cx.diagnostics.push(
        crate::diag::Diagnostic::error(message)
            .label(span, label)
            .help("ports are whole numbers from 1 to 65535"),
    );
}

/// Checks one `expose` entry: `PORT[-PORT][/PROTOCOL]`, as the engine's
/// `ExposedPorts` reads it; anything else would be refused only at create.
pub fn check_expose(cx: &mut Context, text: &str, span: Span) {
    let (range, protocol) = match text.split_once('/') {
        Some((r, p)) => (r, p),
        None => (text, "tcp"),
    };
    let why = if parse_range(range).is_none() {
        Some(if too_large(range) {
            TOO_LARGE
        } else {
            "not a port or a range of ports"
        })
    } else if !matches!(protocol, "tcp" | "udp" | "sctp") {
        Some("the protocol must be `tcp`, `udp` or `sctp`")
    } else {
        None
    };
    if let Some(why) = why {
        cx.diagnostics.push(
            crate::diag::Diagnostic::error(if too_large(range) {
                format!("invalid `expose` entry: {why}")
            } else {
                format!("invalid `expose` entry `{text}`: {why}")
            })
                .label(span, "not a port")
                .help("write a container port or range, optionally with a protocol: `80`, `8000-8010/udp`"),
        );
    }
}

/// `"80"` or `"9000-9001"`; 0 is allowed (a published 0 means any port).
fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(lo) || !digits(hi) {
        return None;
    }
    let lo: u16 = lo.parse().ok()?;
    let hi: u16 = hi.parse().ok()?;
    (hi >= lo).then_some((lo, hi))
}

/// Parses the short syntax into long-form entries (span left empty), as
/// compose does with Docker's go-connections: the container port is after the
/// last `:`, the host port before it, and everything before that is the host
/// address (so `::1:8080:80` works without brackets). A range becomes one
/// entry per port, ordered as compose orders them: by `"port/proto"` as text
/// (`8-10` gives 10, 8, 9).
pub fn parse_short(s: &str) -> Result<Vec<Port>, String> {
    let Short {
        ip,
        published: prange,
        target: (tlo, thi),
        protocol,
    } = read_short(s)?;
    let count = (thi - tlo) as usize + 1;
    let mut out = Vec::with_capacity(count);
    for i in 0..count as u16 {
        let published = prange.map(|(plo, phi)| {
            // One container port with a host range: the engine picks one
            // host port from the range.
            if count == 1 && plo != phi {
                format!("{plo}-{phi}")
            } else {
                (plo + i).to_string()
            }
        });
        out.push(port(&ip, published, tlo + i, &protocol));
    }
    // Cached: a range may hold 65,535 ports, each key a new string.
    out.sort_by_cached_key(|p| p.target.to_string());
    Ok(out)
}

/// How many long-form entries [`parse_short`] makes of `s`, without making
/// them: a range is checked against the load's budget before it is expanded.
pub fn short_count(s: &str) -> Result<usize, String> {
    let (lo, hi) = read_short(s)?.target;
    Ok((hi - lo) as usize + 1)
}

/// The short syntax, read and checked.
struct Short {
    ip: Option<String>,
    published: Option<(u16, u16)>,
    target: (u16, u16),
    protocol: String,
}

fn read_short(s: &str) -> Result<Short, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let n = parts.len();
    let (ip, published, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (target, protocol) = match container.split_once('/') {
        Some((t, "")) => (t, "tcp".to_string()),
        Some((t, p)) => (t, p.to_ascii_lowercase()),
        None => (container, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol `{protocol}`"));
    }
    let ip = match ip.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or("unclosed `[` in the host address")?
            .to_string(),
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("`{ip}` is not an IP address"));
    }
    let ip = (!ip.is_empty()).then_some(ip);
    let (tlo, thi) = parse_range(target)
        .filter(|(lo, _)| *lo > 0)
        .ok_or_else(|| not_a_port(target, "not a container port or range"))?;
    let prange = match published {
        "" => None,
        p => Some(parse_range(p).ok_or_else(|| not_a_port(p, "not a host port or range"))?),
    };
    let count = (thi - tlo) as usize + 1;
    if let Some((plo, phi)) = prange
        && count > 1
        && (phi - plo) as usize + 1 != count
    {
        return Err("the host and container port ranges differ in length".into());
    }
    Ok(Short {
        ip,
        published: prange,
        target: (tlo, thi),
        protocol,
    })
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
    fn host_address_is_everything_before_the_last_two_parts() {
        assert_eq!(
            one("::1:8080:80"),
            (Some("::1".into()), Some("8080".into()), 80, "tcp".into())
        );
        assert_eq!(
            one("[::1]::80/UDP"),
            (Some("::1".into()), None, 80, "udp".into())
        );
        assert_eq!(one(":80"), (None, None, 80, "tcp".into()));
        assert_eq!(one("0:80/"), (None, Some("0".into()), 80, "tcp".into()));
    }

    #[test]
    fn ranges_sort_as_text_like_compose() {
        let p = parse_short("98-101:8-11").unwrap();
        let got: Vec<(u16, &str)> = p
            .iter()
            .map(|p| (p.target, p.published.as_deref().unwrap()))
            .collect();
        assert_eq!(got, [(10, "100"), (11, "101"), (8, "98"), (9, "99")]);
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
            "[::1]:81",
            "65535:1-3",
            "80:+1",
            "80/tcp/x",
        ] {
            assert!(parse_short(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_past_65535_are_too_large_not_unknown_words() {
        for big in [
            "99999999999999999999:80",
            "80-99999999999999999999",
            "70000:80",
        ] {
            assert_eq!(
                parse_short(big).unwrap_err(),
                "too large (ports go up to 65535)",
                "{big}"
            );
        }
        // YAML's renderings of 1e19 and 1e400.
        for text in ["1e+19", "+Inf", "70000", "1-70000"] {
            assert!(too_large(text), "{text}");
        }
        for text in ["80", "0", "-1", "abc", "1-2", "", "NaN"] {
            assert!(!too_large(text), "{text}");
        }
    }
}
