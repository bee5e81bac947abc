//! `extra_hosts`, a service's and a build's: the lines of `/etc/hosts` the
//! container gets, read in every form compose reads (a list of `host:ip` or
//! `host=ip`, a mapping of hosts to one address or several) and printed as
//! compose prints them. Whether an address is reachable is not checked.

use crate::load::resolve::context::Context;
use crate::model::Spanned;
use crate::model::raw;
use crate::source::Span;

/// `host=ip` lines, sorted, as compose prints them: it reads `host:ip` and
/// `host=ip` (the first `=`, else the first `:`), splits `ip1,ip2` into one line
/// per address and drops the brackets around an IPv6 address.
pub(super) fn extra_hosts(cx: &mut Context, v: &Option<Spanned<raw::ExtraHosts>>) -> Vec<String> {
    let Some(v) = v else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String, Span)> = Vec::new();
    match &v.value {
        raw::ExtraHosts::Map(m) => {
            for (host, ips) in m {
                let ips = match ips {
                    None => vec![String::new()],
                    Some(raw::OneOrMany::One(ip)) => vec![ip.clone()],
                    Some(raw::OneOrMany::Many(l)) => l.iter().map(|t| t.value.0.clone()).collect(),
                };
                for ip in ips {
                    pairs.push((host.clone(), ip, v.span));
                }
            }
        }
        raw::ExtraHosts::List(l) => {
            for item in l {
                let t = &item.value.0;
                let Some((host, ips)) = t.split_once('=').or_else(|| t.split_once(':')) else {
                    cx.error(
                        item.span,
                        format!("extra host `{t}` has no address"),
                        "missing `:ip`",
                        "write `host:ip` or `host=ip`",
                    );
                    continue;
                };
                for ip in ips.split(',') {
                    pairs.push((host.to_string(), ip.to_string(), item.span));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(pairs.len());
    for (host, ip, span) in pairs {
        if host.is_empty() || host.contains([':', '=']) {
            cx.error(
                span,
                format!("bad extra host name `{host}`"),
                "not a host name",
                "write `host:ip` or `host=ip`, with a host name that has no `:` or `=`",
            );
            continue;
        }
        let ip = match ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(inner) if !inner.is_empty() => inner,
            _ => ip.as_str(),
        };
        out.push(format!("{host}={ip}"));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use indexmap::IndexMap;

    use crate::model::raw::Text;

    fn hosts(v: raw::ExtraHosts) -> (Vec<String>, usize) {
        let env = IndexMap::new();
        let mut cx = Context {
            project: "p",
            project_dir: Path::new("/p"),
            home: None,
            env: &env,
            diagnostics: Vec::new(),
        };
        let out = extra_hosts(&mut cx, &Some(Spanned::new(v, Span::default())));
        (out, cx.diagnostics.len())
    }

    fn list(items: &[&str]) -> raw::ExtraHosts {
        raw::ExtraHosts::List(
            items
                .iter()
                .map(|s| Spanned::new(Text(s.to_string()), Span::default()))
                .collect(),
        )
    }

    #[test]
    fn extra_hosts_print_sorted_host_equals_ip() {
        let (out, errors) = hosts(list(&[
            "web:10.0.0.1",
            "db=10.0.0.2,10.0.0.3",
            "v6:::1",
            "br=[fe80::1]",
        ]));
        assert_eq!(errors, 0);
        assert_eq!(
            out,
            [
                "br=fe80::1",
                "db=10.0.0.2",
                "db=10.0.0.3",
                "v6=::1",
                "web=10.0.0.1"
            ]
        );
        let mut m = IndexMap::new();
        m.insert("b".to_string(), Some(raw::OneOrMany::One("1.1.1.1".into())));
        m.insert("a".to_string(), None);
        assert_eq!(hosts(raw::ExtraHosts::Map(m)).0, ["a=", "b=1.1.1.1"]);
    }

    #[test]
    fn extra_hosts_need_an_address_and_a_plain_name() {
        assert_eq!(hosts(list(&["nohost"])).1, 1);
        assert_eq!(hosts(list(&[":1.1.1.1"])).1, 1);
    }
}
