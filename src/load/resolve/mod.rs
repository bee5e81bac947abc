//! Raw model to validated [`Stack`].
//!
//! Short syntax becomes long syntax, sizes and durations are parsed, relative
//! paths become absolute, names get their project prefix, and everything that can
//! be checked without an engine is checked: ports, sizes and their minimums, cpus,
//! cpuset, restart policies, references between services, networks, volumes,
//! secrets and configs. Every problem becomes a [`Diagnostic`] at the span it was
//! written; resolving goes on after a problem so that all of them are reported.
//! Dependency cycles are the graph's business (`crate::graph`).

pub mod develop;
pub mod ports;
pub mod volumes;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::Diagnostic;
use crate::load::paths::clean_path;
use crate::model::Spanned;
use crate::model::raw::{self, Text};
use crate::model::stack::*;
use crate::model::units::{Whole, parse_bytes, parse_go_duration, parse_go_int, parse_whole};
use crate::source::Span;

/// The engine refuses memory limits below this (`docker run -m 4m` fails).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// What resolving needs to know beyond the file itself.
pub struct Context<'a> {
    pub project: &'a str,
    pub project_dir: &'a Path,
    pub home: Option<PathBuf>,
    /// Variables for `environment:` entries given without a value, and for
    /// secrets and configs from the environment.
    pub env: &'a IndexMap<String, String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Context<'_> {
    fn error(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::error(message).label(span, label).help(help));
    }

    /// An absolute path for a file reference, resolved against the project
    /// directory, with `~` expanded.
    pub fn abs_path(&self, p: &str) -> String {
        let expanded = if p == "~" || p.starts_with("~/") {
            match &self.home {
                Some(h) => h.join(p.trim_start_matches('~').trim_start_matches('/')),
                None => PathBuf::from(p),
            }
        } else {
            PathBuf::from(p)
        };
        let joined = if expanded.is_absolute() {
            expanded
        } else {
            self.project_dir.join(expanded)
        };
        clean_path(&joined)
    }
}

// ---------------------------------------------------------------------------
// Small value parsers shared by many keys.

fn bytes(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Bytes> {
    match parse_bytes(&v.value.0) {
        Ok(b) => Some(Bytes(b)),
        Err(e) => {
            cx.error(
                v.span,
                format!("invalid size for `{key}`: {e}"),
                "not a size",
                "write a size in bytes or with a unit: `512m`, `1g` (binary units, as Docker reads them)",
            );
            None
        }
    }
}

fn memory(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Bytes> {
    let b = bytes(cx, v, key)?;
    // -1 means unlimited for memswap_limit; 0 means unset.
    if b.0 > 0 && b.0 < MIN_MEMORY {
        cx.error(
            v.span,
            format!("`{key}` of {} is below the engine's minimum of 6 MiB", v.value.0),
            "below 6 MiB",
            "the Docker engine refuses memory limits under 6 MiB (`docker run -m 4m` fails the same way); use `6m` or more",
        );
        return None;
    }
    Some(b)
}

fn duration(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Duration> {
    match parse_go_duration(&v.value.0) {
        Ok(ns) => Some(Duration(ns)),
        Err(e) => {
            cx.error(
                v.span,
                format!("invalid duration for `{key}`: {e}"),
                "not a duration",
                "use a number with a unit: `10s`, `1m30s`, `500ms`",
            );
            None
        }
    }
}

fn int(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<i64> {
    int_in(cx, v, key, i64::MIN..=i64::MAX)
}

/// An integer that must lie in `range`, as the engine or compose's schema
/// demands; a value outside it is an error at the value, never clamped. A
/// whole float (`1e3`) is read as compose reads it, and a number past 64
/// bits is "too large", however it is written.
fn int_in(
    cx: &mut Context,
    v: &Spanned<Text>,
    key: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Option<i64> {
    let (lo, hi) = (*range.start(), *range.end());
    let n = match parse_whole(&v.value.0) {
        Ok(n) => n,
        Err(Whole::Invalid) => {
            cx.error(
                v.span,
                format!("`{key}` must be a whole number, not `{}`", v.value.0),
                "not a whole number",
                format!("write `{key}` as an integer"),
            );
            return None;
        }
        Err(Whole::TooLarge) => {
            out_of_range(cx, v, key, "too large", format!("the maximum is {hi}"));
            return None;
        }
        Err(Whole::TooSmall) => {
            out_of_range(cx, v, key, "too small", format!("the minimum is {lo}"));
            return None;
        }
    };
    if !range.contains(&n) {
        let allowed = if hi == i64::MAX {
            format!("{lo} or more")
        } else {
            format!("from {lo} to {hi}")
        };
        cx.error(
            v.span,
            format!("`{key}: {n}` is out of range: it must be {allowed}"),
            "out of range",
            format!("use a whole number {allowed}"),
        );
        return None;
    }
    Some(n)
}

/// `key: value` is too large or too small; `bound` says the limit.
fn out_of_range(cx: &mut Context, v: &Spanned<Text>, key: &str, what: &str, bound: String) {
    cx.error(
        v.span,
        format!("`{key}: {}` is {what}: {bound}", v.value.0),
        what.to_string(),
        format!("write `{key}` as a whole number within range; {bound}"),
    );
}

fn cpus(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<f64> {
    // Asked once: the answer reads cgroup files, and a large stack has
    // thousands of services.
    static NCPU: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ncpu =
        *NCPU.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()) as f64);
    match v.value.0.trim().parse::<f64>() {
        // The engine takes CPUs as an i64 count of billionths (NanoCPUs): a
        // value that does not fit (`+Inf` too, from `.inf` or `1e400`), or
        // that rounds to 0 (no limit at all), would be changed silently on
        // the way.
        Ok(n) if n * 1e9 >= i64::MAX as f64 => {
            cx.error(
                v.span,
                format!(
                    "`{key}: {}` is too large: the engine takes at most 9223372036.854775807 CPUs",
                    v.value.0
                ),
                "too large",
                "write a number of CPUs from 0.000000001 to the CPUs of the machine, such as `0.5` or `2`",
            );
            None
        }
        Ok(n) if n > 0.0 && n < 1e-9 => {
            cx.error(
                v.span,
                format!(
                    "`{key}: {}` is too small: the engine takes at least 0.000000001 CPUs",
                    v.value.0
                ),
                "too small",
                "write a number of CPUs from 0.000000001 to the CPUs of the machine, such as `0.5` or `2`",
            );
            None
        }
        Ok(n) if n.is_finite() && n >= 0.0 => {
            // The engine rejects more CPUs than the host has; say so now.
            if n > ncpu && key == "cpus" {
                cx.error(
                    v.span,
                    format!(
                        "`cpus: {}` is more than the {ncpu} CPUs this machine has",
                        v.value.0
                    ),
                    "too many CPUs",
                    format!("use a value between 0.01 and {ncpu}"),
                );
                return None;
            }
            Some(n)
        }
        _ => {
            cx.error(
                v.span,
                format!("`{key}` must be a number of CPUs, not `{}`", v.value.0),
                "not a number",
                "write a decimal number such as `0.5` or `2`",
            );
            None
        }
    }
}

/// `0-3,5` style lists of CPUs.
fn cpuset(cx: &mut Context, v: &Spanned<Text>) -> Option<String> {
    let text = v.value.0.trim();
    let valid = !text.is_empty()
        && text.split(',').all(|part| {
            let mut bounds = part.splitn(2, '-');
            let lo = bounds.next().and_then(|s| s.parse::<u32>().ok());
            match (lo, bounds.next()) {
                (Some(_), None) => true,
                (Some(lo), Some(hi)) => hi.parse::<u32>().is_ok_and(|hi| hi >= lo),
                _ => false,
            }
        });
    if !valid {
        cx.error(
            v.span,
            format!("invalid cpuset `{text}`"),
            "not a CPU list",
            "list CPUs by number and range, e.g. `0`, `0-1` or `0,2-3`",
        );
        return None;
    }
    Some(text.to_string())
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

fn texts(v: &Option<Vec<Text>>) -> Vec<String> {
    v.iter().flatten().map(|t| t.0.clone()).collect()
}

fn strings(v: &Option<Vec<String>>) -> Vec<String> {
    v.clone().unwrap_or_default()
}

pub(crate) fn one_or_many(v: Option<&raw::OneOrMany>) -> Vec<String> {
    spanned_list(v, Span::default())
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// The strings of a one-or-many value, each with where it was written (the
/// whole value's span for a single string).
fn spanned_list(v: Option<&raw::OneOrMany>, whole: Span) -> Vec<(String, Span)> {
    match v {
        None => Vec::new(),
        Some(raw::OneOrMany::One(s)) => vec![(s.clone(), whole)],
        Some(raw::OneOrMany::Many(v)) => v.iter().map(|t| (t.value.0.clone(), t.span)).collect(),
    }
}

/// `KEY=VALUE` lists and mappings to one mapping. `KEY` alone has no value.
pub(crate) fn list_or_dict(
    v: &Option<raw::ListOrDict>,
    sep: char,
) -> IndexMap<String, Option<String>> {
    let mut out = IndexMap::new();
    match v {
        None => {}
        Some(raw::ListOrDict::Dict(d)) => {
            for (k, v) in d {
                out.insert(k.value.clone(), v.as_ref().map(|t| t.0.clone()));
            }
        }
        Some(raw::ListOrDict::List(l)) => {
            for item in l {
                match item.value.0.split_once(sep) {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(item.value.0.clone(), None),
                };
            }
        }
    }
    out
}

/// Like [`list_or_dict`], for keys where a missing value means the empty string.
fn labels(v: &Option<raw::ListOrDict>) -> IndexMap<String, String> {
    list_or_dict(v, '=')
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// Reports every entry of a `KEY=VALUE` list or mapping whose name is empty
/// (`"": x`, `=x`): the engine has no use for a nameless label or sysctl,
/// and compose's schema refuses the mapping form.
pub(crate) fn empty_names(cx: &mut Context, v: &Option<raw::ListOrDict>, key: &str) {
    let spans: Vec<Span> = match v {
        None => Vec::new(),
        Some(raw::ListOrDict::Dict(d)) => d
            .keys()
            .filter(|k| k.value.trim().is_empty())
            .map(|k| k.span)
            .collect(),
        Some(raw::ListOrDict::List(l)) => l
            .iter()
            .filter(|i| i.value.0.split('=').next().unwrap_or("").trim().is_empty())
            .map(|i| i.span)
            .collect(),
    };
    for span in spans {
        cx.error(
            span,
            format!("an entry of `{key}` has an empty name"),
            "no name",
            format!("give each entry of `{key}` a name: `name: value` or `name=value`"),
        );
    }
}

fn text_map(v: &Option<IndexMap<String, Text>>) -> IndexMap<String, String> {
    v.iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// Splits a command line into words exactly as compose does, with Go's
/// go-shellwords (no variable or backtick expansion), which is not POSIX: a
/// backslash escapes any character even inside double quotes (`"\n"` is `n`),
/// `#` starts no comment, and the line ends at the first unquoted `;`, `&`,
/// `|`, `<` or `>` (with a `2>` the `2` goes too). A bare `(` is an error unless
/// it follows `$`. `None` for an unbalanced quote, escape or parenthesis.
#[cfg(test)]
pub fn shell_split(line: &str) -> Option<Vec<String>> {
    split_words(line).map(|(words, _)| words)
}

/// [`shell_split`], also giving the byte offset where the line was cut short.
fn split_words(line: &str) -> Option<(Vec<String>, Option<usize>)> {
    #[derive(PartialEq)]
    enum Got {
        Nothing,
        Word,
        Quoted,
    }
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut double, mut single, mut backtick, mut dollar) =
        (false, false, false, false, false);
    let mut got = Got::Nothing;
    let mut cut = None;
    let mut word_start = 0;
    for (at, r) in line.char_indices() {
        if got == Got::Nothing && buf.is_empty() {
            word_start = at;
        }
        if escaped {
            buf.push(r);
            escaped = false;
            got = Got::Word;
            continue;
        }
        if r == '\\' {
            if single {
                buf.push(r);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(r, ' ' | '\t' | '\r' | '\n') {
            if single || double || backtick || dollar {
                buf.push(r);
            } else if got != Got::Nothing {
                args.push(std::mem::take(&mut buf));
                got = Got::Nothing;
            }
            continue;
        }
        match r {
            '`' if !single && !double && !dollar => backtick = !backtick,
            ')' if !single && !double && !backtick => dollar = !dollar,
            '(' if !single && !double && !backtick => {
                if dollar || !buf.ends_with('$') {
                    return None;
                }
                dollar = true;
                buf.push(r);
                continue;
            }
            '"' if !single && !dollar => {
                if double {
                    got = Got::Quoted;
                }
                double = !double;
                continue;
            }
            '\'' if !double && !dollar => {
                if single {
                    got = Got::Quoted;
                }
                single = !single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double || backtick || dollar) => {
                // `2>`: the word before is a file descriptor and goes too.
                if r == '>' && buf.starts_with(|c: char| c.is_ascii_digit()) {
                    got = Got::Nothing;
                    cut = Some(word_start);
                } else {
                    cut = Some(at);
                }
                break;
            }
            _ => {}
        }
        got = Got::Word;
        buf.push(r);
    }
    if got != Got::Nothing {
        args.push(buf);
    }
    if escaped || single || double || backtick || dollar {
        return None;
    }
    Some((args, cut))
}

pub(crate) fn split_command(
    cx: &mut Context,
    c: &Option<Spanned<raw::Command>>,
    key: &str,
) -> Option<Vec<String>> {
    let c = c.as_ref()?;
    let span = c.span;
    match &c.value {
        raw::Command::Exec(v) => Some(v.iter().map(|t| t.0.clone()).collect()),
        raw::Command::Shell(s) => match split_words(s) {
            Some((words, cut)) => {
                // Valid, and what compose runs too, but rarely what was meant.
                if let Some(at) = cut {
                    // The operator, not what follows it: the line is
                    // interpolated, and may go on with a password.
                    let op: String = s[at..]
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || ";&|<>".contains(*c))
                        .take(4)
                        .collect();
                    cx.diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{key}` stops at `{op}`; compose and berth ignore the rest of the line"
                        ))
                        .label(span, "split into words, not run by a shell")
                        .help(format!(
                            "to run a shell line, write `{key}: [\"sh\", \"-c\", \"...\"]`"
                        )),
                    );
                }
                Some(words)
            }
            None => {
                cx.error(
                    span,
                    format!("`{key}` cannot be split into words"),
                    "unbalanced quote, escape or parenthesis",
                    "close the quote (a `(` needs quotes or a `$` before it), or write the command as a list",
                );
                None
            }
        },
    }
}

// ---------------------------------------------------------------------------

/// Names of everything defined at the top level, for reference checks.
pub struct Defined {
    /// Each network's `ipam.config` subnets, as written.
    pub subnets: IndexMap<String, Vec<String>>,
    pub services: Names,
    pub networks: Names,
    pub volumes: Names,
    pub secrets: Names,
    pub configs: Names,
}

/// Names in file order (for "use one of: ..." hints) with a set beside them,
/// so that checking thousands of references stays linear.
pub struct Names {
    list: Vec<String>,
    set: std::collections::HashSet<String>,
}

impl Names {
    pub fn new(list: Vec<String>) -> Names {
        let set = list.iter().cloned().collect();
        Names { list, set }
    }

    pub fn contains<Q: AsRef<str> + ?Sized>(&self, name: &Q) -> bool {
        self.set.contains(name.as_ref())
    }
}

impl std::ops::Deref for Names {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.list
    }
}

fn undefined(cx: &mut Context, what: &str, name: &str, span: Span, defined: &[String], hint: &str) {
    let suggestion = defined
        .iter()
        .map(|d| (strsim::jaro_winkler(name, d), d.as_str()))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, d)| d);
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None if defined.is_empty() => format!("define it under `{hint}:`"),
        None => format!(
            "define it under `{hint}:`, or use one of: {}",
            defined.join(", ")
        ),
    };
    cx.error(
        span,
        format!("{what} `{name}` is not defined"),
        format!("unknown {what}"),
        help,
    );
}

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
        crate::load::resolve::ports::check_expose(cx, &e.value.0, e.span);
    }
    out.command = split_command(cx, &s.command, "command");
    out.entrypoint = split_command(cx, &s.entrypoint, "entrypoint");
    out.environment = list_or_dict(&s.environment, '=');
    out.expose = s
        .expose
        .iter()
        .flatten()
        .map(|e| e.value.0.clone())
        .collect();
    out.extra_hosts = extra_hosts(cx, &s.extra_hosts);
    out.links = s.links.iter().flatten().map(|l| l.value.clone()).collect();
    out.volumes_from = s
        .volumes_from
        .iter()
        .flatten()
        .map(|v| v.value.clone())
        .collect();
    out.network_mode = s.network_mode.as_ref().map(|n| n.value.clone());
    out.container_name = s.container_name.as_ref().map(|c| c.value.clone());
    if let Some(p) = &s.pull_policy {
        out.pull_policy = PullPolicy::parse(&p.value);
        if out.pull_policy.is_none() {
            cx.error(
                p.span,
                format!("invalid pull_policy `{}`", p.value),
                "unknown policy",
                "use one of `missing`, `always`, `never`, `build`",
            );
        }
    }
    if let Some(c) = &s.cgroup {
        out.cgroup = Cgroup::parse(&c.value);
        if out.cgroup.is_none() {
            cx.error(
                c.span,
                format!("invalid cgroup `{}`", c.value),
                "not a cgroup namespace mode",
                "use `host` or `private`",
            );
        }
    }

    if let Some(v) = &s.mem_limit {
        out.mem_limit = memory(cx, v, "mem_limit");
    }
    if let Some(v) = &s.memswap_limit {
        out.memswap_limit = if v.value.0.trim() == "-1" {
            Some(Bytes(-1))
        } else {
            memory(cx, v, "memswap_limit")
        };
    }
    if let (Some(mem), Some(swap)) = (out.mem_limit, out.memswap_limit)
        && swap.0 > 0
        && swap.0 < mem.0
    {
        let span = s.memswap_limit.as_ref().map_or(key_span, |v| v.span);
        cx.error(
            span,
            "`memswap_limit` is smaller than `mem_limit`",
            "memory plus swap must be at least the memory limit",
            "memswap_limit is memory plus swap: set it to at least mem_limit, or -1 for unlimited swap",
        );
    }
    if let Some(v) = &s.mem_reservation {
        out.mem_reservation = bytes(cx, v, "mem_reservation");
    }
    if let Some(v) = &s.shm_size {
        out.shm_size = bytes(cx, v, "shm_size");
    }
    if let Some(v) = &s.mem_swappiness {
        out.mem_swappiness = int(cx, v, "mem_swappiness");
        if out.mem_swappiness.is_some_and(|n| !(0..=100).contains(&n)) {
            cx.error(
                v.span,
                "`mem_swappiness` must be between 0 and 100",
                "out of range",
                "use a value from 0 to 100",
            );
        }
    }
    if let Some(v) = &s.cpus {
        out.cpus = cpus(cx, v, "cpus");
    }
    if let Some(v) = &s.cpu_shares {
        out.cpu_shares = int_in(cx, v, "cpu_shares", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_quota {
        out.cpu_quota = int(cx, v, "cpu_quota");
    }
    if let Some(v) = &s.cpu_period {
        out.cpu_period = int_in(cx, v, "cpu_period", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_count {
        out.cpu_count = int_in(cx, v, "cpu_count", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_percent {
        out.cpu_percent = cpus(cx, v, "cpu_percent");
    }
    if let Some(v) = &s.cpu_rt_runtime {
        out.cpu_rt_runtime = duration_or_micros(cx, v, "cpu_rt_runtime");
    }
    if let Some(v) = &s.cpu_rt_period {
        out.cpu_rt_period = duration_or_micros(cx, v, "cpu_rt_period");
    }
    if let Some(v) = &s.cpuset {
        out.cpuset = cpuset(cx, v);
    }
    if let Some(v) = &s.pids_limit {
        // -1 is "unlimited"; anything lower means nothing.
        out.pids_limit = int_in(cx, v, "pids_limit", -1..=i64::MAX);
    }
    if let Some(v) = &s.oom_score_adj {
        // The kernel's range (`/proc/PID/oom_score_adj`).
        out.oom_score_adj = int_in(cx, v, "oom_score_adj", -1000..=1000);
    }
    if let Some(v) = &s.stop_grace_period {
        out.stop_grace_period = duration(cx, v, "stop_grace_period");
    }
    if let Some(v) = &s.scale {
        out.scale = int_in(cx, v, "scale", 0..=i64::MAX);
    }
    if let Some(r) = &s.restart {
        out.restart = restart_policy(cx, r);
    }
    out.ulimits = ulimits(cx, &s.ulimits);
    out.blkio_config = s.blkio_config.as_ref().map(|b| Box::new(blkio(cx, b)));
    out.logging = s.logging.as_ref().map(|l| {
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
    out.healthcheck = s.healthcheck.as_ref().map(|h| Box::new(healthcheck(cx, h)));
    out.build = s.build.as_ref().map(|b| Box::new(build(cx, b, defined)));
    build_platform(cx, s);
    out.devices = s
        .devices
        .iter()
        .flatten()
        .filter_map(|d| device(cx, d))
        .collect();
    out.deploy = s.deploy.as_ref().map(|d| Box::new(deploy(cx, d)));
    out.develop = s.develop.as_ref().map(|d| {
        Box::new(crate::load::resolve::develop::resolve(
            cx,
            name,
            s.build.is_some(),
            d,
        ))
    });
    out.ports = s
        .ports
        .iter()
        .flatten()
        .flat_map(|p| crate::load::resolve::ports::resolve(cx, p))
        .collect();
    out.volumes = s
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| crate::load::resolve::volumes::resolve(cx, v, defined))
        .collect();
    out.secrets = file_refs(cx, &s.secrets, &defined.secrets, "secret", "secrets");
    out.configs = file_refs(cx, &s.configs, &defined.configs, "config", "configs");
    networks(cx, &mut out, s, defined);
    dependencies(cx, &mut out, s, defined);
    check_container_name(cx, &out, s);
    unset_zeros(&mut out);
    out
}

/// compose holds these in Go fields where zero means "not set" and leaves them
/// out of its output; berth does the same, so that `0` and nothing plan alike.
fn unset_zeros(s: &mut Service) {
    nonzero(&mut s.mem_limit);
    nonzero(&mut s.mem_reservation);
    nonzero(&mut s.memswap_limit);
    nonzero(&mut s.shm_size);
    nonzero(&mut s.mem_swappiness);
    nonzero(&mut s.pids_limit);
    nonzero(&mut s.cpu_shares);
    nonzero(&mut s.cpus);
    nonzero(&mut s.cpu_quota);
    nonzero(&mut s.cpu_period);
    nonzero(&mut s.cpu_count);
    nonzero(&mut s.cpu_percent);
    nonzero(&mut s.oom_score_adj);
    if let Some(b) = &mut s.blkio_config {
        nonzero(&mut b.weight);
    }
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
    if let Some(d) = &mut s.deploy {
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

fn duration_or_micros(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Duration> {
    if let Ok(us) = v.value.0.trim().parse::<i64>() {
        return Some(Duration(us * 1000));
    }
    duration(cx, v, key)
}

/// `host=ip` lines, sorted, as compose prints them: it reads `host:ip` and
/// `host=ip` (the first `=`, else the first `:`), splits `ip1,ip2` into one line
/// per address and drops the brackets around an IPv6 address.
fn extra_hosts(cx: &mut Context, v: &Option<Spanned<raw::ExtraHosts>>) -> Vec<String> {
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

fn ulimits(
    cx: &mut Context,
    u: &Option<IndexMap<String, Spanned<raw::Ulimit>>>,
) -> IndexMap<String, Ulimit> {
    let mut out = IndexMap::new();
    for (name, v) in u.iter().flatten() {
        // The engine takes limits as signed 64-bit numbers.
        let mut too_large = None;
        let mut parse = |t: &str| match parse_whole(t) {
            Ok(n) => Some(n),
            Err(Whole::Invalid) => None,
            Err(_) => {
                too_large.get_or_insert(t.trim().to_string());
                None
            }
        };
        let value = match &v.value {
            raw::Ulimit::Single(s) => parse(s).map(Ulimit::Single),
            raw::Ulimit::Long(l) => match (parse(&l.soft.0), parse(&l.hard.0)) {
                (Some(soft), Some(hard)) => {
                    if soft > hard {
                        cx.error(
                            v.span,
                            format!(
                                "ulimit `{name}`: soft limit {soft} is above hard limit {hard}"
                            ),
                            "soft > hard",
                            "make the soft limit at most the hard limit",
                        );
                    }
                    Some(Ulimit::Range { soft, hard })
                }
                _ => None,
            },
        };
        match value {
            Some(u) => {
                out.insert(name.clone(), u);
            }
            None if too_large.is_some() => cx.error(
                v.span,
                format!(
                    "ulimit `{name}`: `{}` is too large: the maximum is {}",
                    too_large.unwrap_or_default(),
                    i64::MAX
                ),
                "too large",
                "write a limit of at most 9223372036854775807, or -1 for no limit",
            ),
            None => cx.error(
                v.span,
                format!("ulimit `{name}` must be a number or `{{soft, hard}}`"),
                "not a limit",
                "write e.g. `nofile: {soft: 1024, hard: 2048}`",
            ),
        }
    }
    out
}

fn throttles(
    cx: &mut Context,
    v: &Option<Vec<raw::ThrottleDevice>>,
    iops: bool,
) -> Vec<ThrottleDevice> {
    let mut out = Vec::new();
    for d in v.iter().flatten() {
        let rate = if iops {
            match parse_whole(&d.rate.value.0) {
                Ok(n) if n >= 0 => Some(Bytes(n)),
                Err(Whole::TooLarge) => {
                    cx.error(
                        d.rate.span,
                        format!(
                            "I/O rate `{}` is too large: the maximum is {}",
                            d.rate.value.0,
                            i64::MAX
                        ),
                        "too large",
                        "iops limits are whole numbers of operations per second",
                    );
                    None
                }
                _ => {
                    cx.error(
                        d.rate.span,
                        format!("invalid I/O rate `{}`", d.rate.value.0),
                        "not a whole number",
                        "iops limits are whole numbers of operations per second",
                    );
                    None
                }
            }
        } else {
            bytes(cx, &d.rate, "rate")
        };
        if let Some(rate) = rate {
            out.push(ThrottleDevice {
                path: d.path.value.clone(),
                rate,
                span: d.path.span,
            });
        }
    }
    out
}

/// A blkio weight: 10 to 1000, or 0 for none.
fn blkio_weight(cx: &mut Context, w: &Spanned<Text>) -> Option<u16> {
    match parse_whole(&w.value.0) {
        Ok(n) if n == 0 || (10..=1000).contains(&n) => Some(n as u16),
        Err(Whole::Invalid) => {
            cx.error(
                w.span,
                format!("blkio weight `{}` is not a whole number", w.value.0),
                "not a number",
                "use a weight between 10 and 1000",
            );
            None
        }
        _ => {
            cx.error(
                w.span,
                format!("blkio weight `{}` is out of range", w.value.0),
                "not 10-1000",
                "use a weight between 10 and 1000",
            );
            None
        }
    }
}

/// A count that swarm takes as an unsigned number (`parallelism`,
/// `max_attempts`): 0 or more.
fn count(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<u64> {
    int_in(cx, v, key, 0..=i64::MAX).map(|n| n as u64)
}

/// `max_failure_ratio`: a fraction of the tasks, from 0 to 1 (swarm refuses
/// any other).
fn ratio(cx: &mut Context, v: &Spanned<Text>) -> Option<f64> {
    match v.value.0.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Some(r),
        _ => {
            cx.error(
                v.span,
                format!(
                    "`max_failure_ratio: {}` is not a ratio from 0 to 1",
                    v.value.0
                ),
                "not from 0 to 1",
                "write the share of failed tasks that is tolerated, from 0 (none) to 1 (all), such as `0.2`",
            );
            None
        }
    }
}

fn blkio(cx: &mut Context, b: &raw::BlkioConfig) -> BlkioConfig {
    let weight = b.weight.as_ref().and_then(|w| blkio_weight(cx, w));
    BlkioConfig {
        weight,
        weight_device: b
            .weight_device
            .iter()
            .flatten()
            .filter_map(|d| {
                Some(WeightDevice {
                    path: d.path.clone(),
                    weight: blkio_weight(cx, &d.weight)?,
                })
            })
            .collect(),
        device_read_bps: throttles(cx, &b.device_read_bps, false),
        device_read_iops: throttles(cx, &b.device_read_iops, true),
        device_write_bps: throttles(cx, &b.device_write_bps, false),
        device_write_iops: throttles(cx, &b.device_write_iops, true),
    }
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

fn build(cx: &mut Context, b: &Spanned<raw::Build>, defined: &Defined) -> Build {
    match &b.value {
        raw::Build::Context(c) => Build {
            context: build_context(cx, c),
            dockerfile: "Dockerfile".into(),
            ..Build::default()
        },
        raw::Build::Long(l) => {
            not_honoured(cx, l);
            build_ssh(cx, l);
            Build {
                labels: {
                    empty_names(cx, &l.labels, "build.labels");
                    labels(&l.labels)
                },
                context: build_context(cx, l.context.as_deref().unwrap_or(".")),
                dockerfile: l.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
                dockerfile_inline: l.dockerfile_inline.clone(),
                // An arg without a value takes it from the environment; compose
                // drops it when the variable is not set.
                args: list_or_dict(&l.args, '=')
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let v = v.or_else(|| cx.env.get(&k).cloned())?;
                        Some((k, v))
                    })
                    .collect(),
                target: l.target.clone(),
                cache_from: strings(&l.cache_from),
                cache_to: l
                    .cache_to
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                network: l.network.clone(),
                shm_size: l.shm_size.as_ref().and_then(|s| bytes(cx, s, "shm_size")),
                extra_hosts: extra_hosts(cx, &l.extra_hosts),
                pull: l.pull.unwrap_or(false),
                no_cache: l.no_cache.unwrap_or(false),
                platforms: l
                    .platforms
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                tags: l.tags.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                isolation: l.isolation.as_ref().map(|v| v.value.clone()),
                privileged: l.privileged.as_ref().is_some_and(|v| v.value),
                entitlements: l
                    .entitlements
                    .as_ref()
                    .map(|v| v.value.clone())
                    .unwrap_or_default(),
                provenance: l.provenance.as_ref().map(|v| v.value.0.clone()),
                sbom: l.sbom.as_ref().map(|v| v.value.0.clone()),
                no_cache_filter: one_or_many(l.no_cache_filter.as_ref().map(|v| &v.value)),
                // Paths are relative to the project directory; other
                // contexts (`docker-image://`, URLs) are kept as written.
                additional_contexts: l
                    .additional_contexts
                    .as_ref()
                    .map(|a| {
                        list_or_dict(&Some(a.value.clone()), '=')
                            .into_iter()
                            .map(|(k, v)| {
                                let v = v.unwrap_or_default();
                                let v = if v.contains("://") {
                                    v
                                } else {
                                    cx.abs_path(&v)
                                };
                                (k, v)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                secrets: file_refs(cx, &l.secrets, &defined.secrets, "build secret", "secrets"),
                ulimits: ulimits(cx, &l.ulimits),
            }
        }
    }
}

/// compose-go's rule: a service's `platform`, when set, is one of its
/// `build.platforms`, when those are listed (compared as written).
fn build_platform(cx: &mut Context, s: &raw::Service) {
    let Some(platform) = &s.platform else {
        return;
    };
    let Some(raw::Build::Long(l)) = s.build.as_ref().map(|b| &b.value) else {
        return;
    };
    let Some(platforms) = l.platforms.as_ref().filter(|p| !p.value.is_empty()) else {
        return;
    };
    if platforms.value.contains(&platform.value) {
        return;
    }
    let listed: Vec<String> = platforms.value.iter().map(|p| format!("`{p}`")).collect();
    cx.diagnostics.push(
        Diagnostic::error(format!(
            "`platform: {}` is not among the service's `build.platforms`",
            platform.value
        ))
        .label(platform.span, "not a platform the image is built for")
        .label(platforms.span, "built for these")
        .help(format!(
            "set `platform` to one of {} (spelled the same), or add it to `build.platforms`",
            listed.join(", ")
        )),
    );
}

/// Each `build.ssh` entry is `default` (the SSH agent) or `ID=PATH`, as
/// compose-go reads them; an ID alone is refused there, so here.
fn build_ssh(cx: &mut Context, l: &raw::BuildLong) {
    let Some(raw::ListOrDict::List(entries)) = l.ssh.as_ref().map(|s| &s.value) else {
        return;
    };
    for e in entries {
        let text = &e.value.0;
        if text == "default" || text.contains('=') {
            continue;
        }
        cx.error(
            e.span,
            if text.is_empty() {
                "empty `build.ssh` entry".to_string()
            } else {
                format!("invalid `build.ssh` entry `{text}`")
            },
            "not `default` or `ID=PATH`",
            "write `default` to forward the SSH agent, or `ID=PATH` (such as `github=~/.ssh/id_ed25519`) to forward a key",
        );
    }
}

/// A warning at each `build` key that berth's builds cannot honour: they go
/// to the engine's classic builder (API 1.41), which has no BuildKit
/// features (entitlements, attestations, secrets, SSH, cache exports,
/// several platforms) and whose API berth's client does not give ulimits or
/// isolation. compose hands these to BuildKit.
fn not_honoured(cx: &mut Context, l: &raw::BuildLong) {
    let first_secret = l.secrets.as_ref().and_then(|v| v.first()).map(|v| v.span);
    let first_ulimit = l
        .ulimits
        .as_ref()
        .and_then(|u| u.values().next())
        .map(|v| v.span);
    let privileged = l.privileged.as_ref().filter(|v| v.value).map(|v| v.span);
    // The API takes the size as a 32-bit number of bytes.
    let huge_shm = l.shm_size.as_ref().filter(|s| {
        crate::model::units::parse_bytes(&s.value.0).is_ok_and(|b| b > i64::from(i32::MAX))
    });
    let keys: [(&str, Option<Span>, &str); 14] = [
        (
            "shm_size",
            huge_shm.map(|s| s.span),
            "a build's shm_size is at most 2 GiB - 1 byte",
        ),
        (
            "entitlements",
            l.entitlements.as_ref().map(|v| v.span),
            "no entitlements",
        ),
        (
            "provenance",
            l.provenance.as_ref().map(|v| v.span),
            "no attestations",
        ),
        ("sbom", l.sbom.as_ref().map(|v| v.span), "no attestations"),
        (
            "cache_to",
            l.cache_to.as_ref().map(|v| v.span),
            "no cache exports",
        ),
        (
            "no_cache_filter",
            l.no_cache_filter.as_ref().map(|v| v.span),
            "no cache control per stage",
        ),
        (
            "platforms",
            l.platforms.as_ref().map(|v| v.span),
            "no multi-platform builds",
        ),
        ("tags", l.tags.as_ref().map(|v| v.span), "one tag per build"),
        ("ssh", l.ssh.as_ref().map(|v| v.span), "no SSH forwarding"),
        ("secrets", first_secret, "no build secrets"),
        (
            "additional_contexts",
            l.additional_contexts.as_ref().map(|v| v.span),
            "no named contexts",
        ),
        (
            "isolation",
            l.isolation.as_ref().map(|v| v.span),
            "no isolation setting berth can send",
        ),
        ("privileged", privileged, "no privileged builds"),
        ("ulimits", first_ulimit, "no ulimits berth can send"),
    ];
    for (key, span, why) in keys {
        let Some(span) = span else { continue };
        cx.diagnostics.push(
            Diagnostic::warning(format!(
                "`build.{key}` is not honoured: berth builds with the engine's classic builder (API 1.41): {why}"
            ))
            .label(span, "not honoured")
            .help("remove it, or build the image with `docker buildx build` and name it in `image:`"),
        );
    }
}

/// A build context is a path unless it is a URL (git, http).
fn build_context(cx: &Context, c: &str) -> String {
    if c.contains("://") || c.starts_with("git@") {
        c.to_string()
    } else {
        cx.abs_path(c)
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

fn deploy(cx: &mut Context, d: &raw::Deploy) -> Deploy {
    empty_names(cx, &d.labels, "deploy.labels");
    let spec = |cx: &mut Context, r: &Option<raw::ResourceSpec>| {
        r.as_ref().map(|r| ResourceSpec {
            cpus: r
                .cpus
                .as_ref()
                .and_then(|c| cpus(cx, c, "deploy.resources.cpus")),
            memory: r
                .memory
                .as_ref()
                .and_then(|m| memory(cx, m, "deploy.resources.memory")),
            pids: r.pids.as_ref().and_then(|p| int(cx, p, "pids")),
        })
    };
    let update = |cx: &mut Context, u: &Option<raw::UpdateConfig>| {
        u.as_ref().map(|u| UpdateConfig {
            parallelism: u
                .parallelism
                .as_ref()
                .and_then(|p| count(cx, p, "parallelism")),
            delay: u.delay.as_ref().and_then(|v| duration(cx, v, "delay")),
            failure_action: u.failure_action.clone(),
            monitor: u.monitor.as_ref().and_then(|v| duration(cx, v, "monitor")),
            max_failure_ratio: u.max_failure_ratio.as_ref().and_then(|p| ratio(cx, p)),
            order: u.order.clone(),
        })
    };
    if let Some(m) = &d.mode
        && !matches!(
            m.value.as_str(),
            "replicated" | "global" | "replicated-job" | "global-job"
        )
    {
        cx.error(
            m.span,
            format!("invalid deploy mode `{}`", m.value),
            "unknown mode",
            "use `replicated` or `global`",
        );
    }
    Deploy {
        mode: d.mode.as_ref().map(|m| m.value.clone()),
        replicas: d
            .replicas
            .as_ref()
            .and_then(|r| int_in(cx, r, "deploy.replicas", 0..=i64::MAX)),
        endpoint_mode: d.endpoint_mode.clone(),
        labels: labels(&d.labels),
        resources: Resources {
            limits: spec(cx, &d.resources.as_ref().and_then(|r| r.limits.clone())),
            reservations: spec(
                cx,
                &d.resources.as_ref().and_then(|r| r.reservations.clone()),
            ),
        },
        restart_policy: d.restart_policy.as_ref().map(|r| RestartPolicy {
            condition: r.condition.clone(),
            delay: r.delay.as_ref().and_then(|v| duration(cx, v, "delay")),
            max_attempts: r
                .max_attempts
                .as_ref()
                .and_then(|p| count(cx, p, "max_attempts")),
            window: r.window.as_ref().and_then(|v| duration(cx, v, "window")),
        }),
        update_config: update(cx, &d.update_config),
        rollback_config: update(cx, &d.rollback_config),
        placement: d
            .placement
            .as_ref()
            .map(|p| Placement {
                constraints: strings(&p.constraints),
                preferences: p
                    .preferences
                    .iter()
                    .flatten()
                    .map(|x| Preference {
                        spread: x.spread.clone(),
                    })
                    .collect(),
                max_replicas_per_node: p
                    .max_replicas_per_node
                    .as_ref()
                    .and_then(|v| count(cx, v, "max_replicas_per_node")),
            })
            .unwrap_or_default(),
    }
}

fn file_refs(
    cx: &mut Context,
    refs: &Option<Vec<Spanned<raw::ServiceFileRef>>>,
    defined: &Names,
    what: &str,
    section: &str,
) -> Vec<FileRef> {
    let mut out = Vec::new();
    for r in refs.iter().flatten() {
        let (source, span, long) = match &r.value {
            raw::ServiceFileRef::Name(n) => (n.clone(), r.span, None),
            raw::ServiceFileRef::Long(l) => (l.source.value.clone(), l.source.span, Some(l)),
        };
        if !defined.contains(&source.as_str()) {
            undefined(cx, what, &source, span, defined, section);
        }
        let target = long.and_then(|l| l.target.clone());
        // Secrets land in /run/secrets/<name> unless told otherwise; compose
        // prints that default (but none for configs), and prints a relative
        // target as written: the engine puts it under /run/secrets.
        let target = match (what, target) {
            ("secret", None) => Some(format!("/run/secrets/{source}")),
            (_, t) => t,
        };
        let mode = long.and_then(|l| l.mode.as_ref()).and_then(|m| {
            let mode = file_mode(&m.value.0);
            if mode.is_none() {
                cx.error(
                    m.span,
                    format!("invalid file mode `{}`", m.value.0),
                    "not a file mode",
                    "write the mode in octal with a leading zero, e.g. `0440`",
                );
            }
            mode
        });
        out.push(FileRef {
            source,
            target,
            uid: long.and_then(|l| l.uid.as_ref().map(|u| u.0.clone())),
            gid: long.and_then(|l| l.gid.as_ref().map(|u| u.0.clone())),
            mode,
            digest: None,
        });
    }
    out
}

/// A secret's or config's mode. compose reads a YAML number as Go does (`0440`
/// is octal, `440` decimal) and a quoted one as octal; the spelling is all that
/// is kept here, so a quoted number follows the first rule too.
fn file_mode(m: &str) -> Option<FileMode> {
    parse_go_int(m)
        .and_then(|n| u32::try_from(n).ok())
        .map(FileMode)
}

fn networks(cx: &mut Context, out: &mut Service, s: &raw::Service, defined: &Defined) {
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

fn dependencies(cx: &mut Context, out: &mut Service, s: &raw::Service, defined: &Defined) {
    let add = |cx: &mut Context,
               out: &mut Service,
               name: &str,
               span: Span,
               dep: Dependency,
               kind: EdgeKind| {
        if !defined.services.contains(&name) {
            if dep.required {
                undefined(cx, "service", name, span, &defined.services, "services");
            }
            return;
        }
        out.edges.push(Edge {
            to: name.to_string(),
            kind,
            span,
        });
        if kind == EdgeKind::DependsOn || !out.depends_on.contains_key(name) {
            out.depends_on.insert(name.to_string(), dep);
        }
    };
    let started = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    match &s.depends_on {
        None => {}
        Some(raw::DependsOn::List(l)) => {
            for d in l {
                add(
                    cx,
                    out,
                    &d.value,
                    d.span,
                    started.clone(),
                    EdgeKind::DependsOn,
                );
            }
        }
        Some(raw::DependsOn::Map(m)) => {
            for (name, d) in m {
                let condition = match d.condition.as_ref().map(|c| (c.value.as_str(), c.span)) {
                    None | Some(("service_started", _)) => Condition::ServiceStarted,
                    Some(("service_healthy", _)) => Condition::ServiceHealthy,
                    Some(("service_completed_successfully", _)) => {
                        Condition::ServiceCompletedSuccessfully
                    }
                    Some((other, span)) => {
                        cx.error(
                            span,
                            format!("invalid depends_on condition `{other}`"),
                            "unknown condition",
                            "use `service_started`, `service_healthy` or `service_completed_successfully`",
                        );
                        Condition::ServiceStarted
                    }
                };
                let dep = Dependency {
                    condition,
                    restart: d.restart.unwrap_or(false),
                    required: d.required.unwrap_or(true),
                };
                add(cx, out, &name.value, name.span, dep, EdgeKind::DependsOn);
            }
        }
    }
    // links and volumes_from imply a dependency, as in compose; links restart
    // with their target.
    for l in s.links.iter().flatten() {
        let target = l.value.split(':').next().unwrap_or_default().to_string();
        let dep = Dependency {
            restart: true,
            ..started.clone()
        };
        add(cx, out, &target, l.span, dep, EdgeKind::Link);
    }
    for v in s.volumes_from.iter().flatten() {
        // `container:<name>` names a container outside the stack: no edge.
        if v.value.starts_with("container:") {
            continue;
        }
        let target = v.value.split(':').next().unwrap_or_default();
        add(
            cx,
            out,
            target,
            v.span,
            started.clone(),
            EdgeKind::VolumesFrom,
        );
    }
    // compose also makes `network_mode`, `ipc` and `pid: service:x` a
    // dependency that restarts with x (compose-go's implied dependencies);
    // the network edge itself is recorded by `networks`, the others here, so
    // that a cycle through them is found.
    let shared = [
        ("network_mode", &s.network_mode),
        ("ipc", &s.ipc),
        ("pid", &s.pid),
    ]
    .into_iter()
    .filter_map(|(key, m)| {
        let m = m.as_ref()?;
        Some((key, m.value.strip_prefix("service:")?, m.span))
    });
    for (key, target, span) in shared {
        if !defined.services.contains(&target) {
            // An unknown network_mode target is reported by `networks`.
            if key != "network_mode" {
                undefined(cx, "service", target, span, &defined.services, "services");
            }
            continue;
        }
        let kind = match key {
            "ipc" => Some(EdgeKind::Ipc),
            "pid" => Some(EdgeKind::Pid),
            _ => None,
        };
        if let Some(kind) = kind {
            out.edges.push(Edge {
                to: target.to_string(),
                kind,
                span,
            });
        }
        if !out.depends_on.contains_key(target) {
            let dep = Dependency {
                restart: true,
                ..started.clone()
            };
            out.depends_on.insert(target.to_string(), dep);
        }
    }
}

fn check_container_name(cx: &mut Context, out: &Service, s: &raw::Service) {
    let Some(name) = &s.container_name else {
        return;
    };
    let replicas = out
        .scale
        .or(out.deploy.as_ref().and_then(|d| d.replicas))
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
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_split(line).unwrap_or_else(|| panic!("{line:?} should split"))
    }

    #[test]
    fn commands_split_like_go_shellwords() {
        assert_eq!(words("echo 'a b'  c"), ["echo", "a b", "c"]);
        assert_eq!(words(r#"echo 'a'"b"c"#), ["echo", "abc"]);
        // A backslash escapes anything outside single quotes, even in "".
        assert_eq!(
            words(r#"echo "\n\"" a\ b 'c\d'"#),
            ["echo", "n\"", "a b", r"c\d"]
        );
        assert_eq!(words("echo '' \"\""), ["echo", "", ""]);
        assert_eq!(words("echo #no-comment"), ["echo", "#no-comment"]);
        assert_eq!(words("echo a;b c"), ["echo", "a"]);
        assert_eq!(words("echo a|b"), ["echo", "a"]);
        assert_eq!(words("echo 'a;b'"), ["echo", "a;b"]);
        assert_eq!(words("echo x 2>/dev/null"), ["echo", "x"]);
        assert_eq!(words("echo x>out"), ["echo", "x"]);
        assert_eq!(
            words("echo $(date +%s) `id`"),
            ["echo", "$(date +%s)", "`id`"]
        );
        assert_eq!(words(" \t\n"), Vec::<String>::new());
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn where_a_command_is_cut_short_is_known() {
        assert_eq!(split_words("echo a").unwrap().1, None);
        assert_eq!(split_words("echo a;b").unwrap().1, Some(6));
        assert_eq!(split_words("echo 2>x").unwrap().1, Some(5));
        assert_eq!(split_words("echo 'a;b'").unwrap().1, None);
    }

    #[test]
    fn unbalanced_commands_do_not_split() {
        for bad in [
            "echo 'a", "echo \"a", "echo a\\", "echo (a)", "echo `a", "echo $(a",
        ] {
            assert_eq!(shell_split(bad), None, "{bad}");
        }
    }

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

    #[test]
    fn file_modes_read_a_leading_zero_as_octal() {
        assert_eq!(file_mode("0440"), Some(FileMode(0o440)));
        assert_eq!(file_mode("0o440"), Some(FileMode(0o440)));
        assert_eq!(file_mode("440"), Some(FileMode(440)));
        assert_eq!(file_mode("-1"), None);
        assert_eq!(file_mode("rw"), None);
    }

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

    /// The error messages of loading `services: {a: {image: x, <service>}}`.
    fn messages(service: &str) -> Vec<String> {
        let d = crate::testutil::dir(&[(
            "compose.yaml",
            &format!("services:\n  a:\n    image: x\n{service}\n"),
        )]);
        let opts = crate::load::Options {
            cwd: d.0.clone(),
            ..Default::default()
        };
        match crate::load::load(&opts) {
            Ok(_) => Vec::new(),
            Err(f) => f.diagnostics.into_iter().map(|d| d.message).collect(),
        }
    }

    const MAX: i64 = i64::MAX;

    #[test]
    fn huge_whole_numbers_are_too_large_with_their_maximum() {
        // YAML reads all three as floats; `+Inf` and `1e+20` are their text.
        for (huge, shown) in [
            ("1e400", "+Inf"),
            ("99999999999999999999", "1e+20"),
            ("1e19", "1e+19"),
        ] {
            let service = [
                "cpu_shares",
                "cpu_quota",
                "pids_limit",
                "mem_swappiness",
                "scale",
            ]
            .map(|k| format!("    {k}: {huge}"))
            .join("\n");
            assert_eq!(
                messages(&service),
                [
                    format!("`cpu_shares: {shown}` is too large: the maximum is {MAX}"),
                    format!("`cpu_quota: {shown}` is too large: the maximum is {MAX}"),
                    format!("`pids_limit: {shown}` is too large: the maximum is {MAX}"),
                    format!("`mem_swappiness: {shown}` is too large: the maximum is {MAX}"),
                    format!("`scale: {shown}` is too large: the maximum is {MAX}"),
                ],
                "{huge}"
            );
        }
        assert_eq!(
            messages("    oom_score_adj: 1e400"),
            ["`oom_score_adj: +Inf` is too large: the maximum is 1000"]
        );
        assert_eq!(
            messages("    cpu_shares: -1e400"),
            ["`cpu_shares: -Inf` is too small: the minimum is 0"]
        );
        // A whole float is read as the number it is, as compose reads it.
        assert_eq!(messages("    pids_limit: 1e3"), Vec::<String>::new());
    }

    #[test]
    fn huge_sizes_durations_and_cpus_are_too_large_with_their_maximum() {
        let size = "is too large: the largest size is 8 EiB - 1 byte (9223372036854775807 bytes)";
        let long = "is too long: the longest duration is 2562047h47m16.854775807s";
        assert_eq!(
            messages(
                "    mem_limit: 1e19\n    shm_size: 9e18g\n    stop_grace_period: 1e19s\n    cpu_rt_runtime: 1e400\n    tmpfs: ['/x:size=1e19']\n    deploy: {resources: {limits: {cpus: 1e400}}}"
            ),
            [
                format!("invalid size for `mem_limit`: `1e+19` {size}"),
                format!("invalid size for `shm_size`: `9e18g` {size}"),
                format!("invalid duration for `stop_grace_period`: `1e19s` {long}"),
                format!("invalid duration for `cpu_rt_runtime`: `+Inf` {long}"),
                format!("invalid `tmpfs` size: `1e19` {size}"),
                "`deploy.resources.cpus: +Inf` is too large: the engine takes at most 9223372036.854775807 CPUs".to_string(),
            ]
        );
    }

    #[test]
    fn huge_limits_counts_and_weights_are_too_large_not_dropped() {
        assert_eq!(
            messages(
                "    ulimits: {nofile: 1e400, nproc: {soft: 1, hard: 99999999999999999999}}\n    blkio_config: {weight: 1e19, weight_device: [{path: /dev/sda, weight: 1e400}], device_read_iops: [{path: /dev/sda, rate: 1e19}]}"
            ),
            [
                format!("ulimit `nofile`: `+Inf` is too large: the maximum is {MAX}"),
                format!("ulimit `nproc`: `1e+20` is too large: the maximum is {MAX}"),
                "blkio weight `1e+19` is out of range".to_string(),
                "blkio weight `+Inf` is out of range".to_string(),
                format!("I/O rate `1e+19` is too large: the maximum is {MAX}"),
            ]
        );
        // These were dropped without a word when they did not parse.
        assert_eq!(
            messages(
                "    deploy:\n      update_config: {parallelism: 1e400, max_failure_ratio: 1e19}\n      restart_policy: {max_attempts: 99999999999999999999}\n      placement: {max_replicas_per_node: -1}"
            ),
            [
                format!("`parallelism: +Inf` is too large: the maximum is {MAX}"),
                "`max_failure_ratio: 1e+19` is not a ratio from 0 to 1".to_string(),
                format!("`max_attempts: 1e+20` is too large: the maximum is {MAX}"),
                "`max_replicas_per_node: -1` is out of range: it must be 0 or more".to_string(),
            ]
        );
    }

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
