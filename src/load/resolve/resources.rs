//! A service's resources: memory, swap and shared memory (with the engine's
//! minimum), CPUs (no more than the machine has), cpusets, pids, the OOM
//! score, ulimits and block I/O. The service-level keys are read here by
//! [`limits`]; `deploy.resources` reads its CPUs and memory with the same
//! rules ([`cpus`], [`memory`]), and a build's ulimits with [`ulimits`].

use indexmap::IndexMap;

use crate::load::resolve::context::Context;
use crate::load::resolve::values::{bytes, duration, int, int_in};
use crate::model::Spanned;
use crate::model::raw::{self, Text};
use crate::model::stack::*;
use crate::model::units::{Whole, parse_whole};
use crate::source::Span;

/// The engine refuses memory limits below this (`docker run -m 4m` fails).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

pub(super) fn memory(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Bytes> {
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

pub(super) fn cpus(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<f64> {
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

/// The resource limits written at the service's top level: memory, swap and
/// shared memory, CPUs, cpusets, pids and the OOM score, all among the
/// service's extras (`x`).
pub(super) fn limits(cx: &mut Context, x: &mut ServiceExtras, s: &raw::Service, key_span: Span) {
    if let Some(v) = &s.mem_limit {
        x.mem_limit = memory(cx, v, "mem_limit");
    }
    if let Some(v) = &s.memswap_limit {
        x.memswap_limit = if v.value.0.trim() == "-1" {
            Some(Bytes(-1))
        } else {
            memory(cx, v, "memswap_limit")
        };
    }
    if let (Some(mem), Some(swap)) = (x.mem_limit, x.memswap_limit)
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
        x.mem_reservation = bytes(cx, v, "mem_reservation");
    }
    if let Some(v) = &s.shm_size {
        x.shm_size = bytes(cx, v, "shm_size");
    }
    if let Some(v) = &s.mem_swappiness {
        x.mem_swappiness = int(cx, v, "mem_swappiness");
        if x.mem_swappiness.is_some_and(|n| !(0..=100).contains(&n)) {
            cx.error(
                v.span,
                "`mem_swappiness` must be between 0 and 100",
                "out of range",
                "use a value from 0 to 100",
            );
        }
    }
    if let Some(v) = &s.cpus {
        x.cpus = cpus(cx, v, "cpus");
    }
    if let Some(v) = &s.cpu_shares {
        x.cpu_shares = int_in(cx, v, "cpu_shares", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_quota {
        x.cpu_quota = int(cx, v, "cpu_quota");
    }
    if let Some(v) = &s.cpu_period {
        x.cpu_period = int_in(cx, v, "cpu_period", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_count {
        x.cpu_count = int_in(cx, v, "cpu_count", 0..=i64::MAX);
    }
    if let Some(v) = &s.cpu_percent {
        x.cpu_percent = cpus(cx, v, "cpu_percent");
    }
    if let Some(v) = &s.cpu_rt_runtime {
        x.cpu_rt_runtime = duration_or_micros(cx, v, "cpu_rt_runtime");
    }
    if let Some(v) = &s.cpu_rt_period {
        x.cpu_rt_period = duration_or_micros(cx, v, "cpu_rt_period");
    }
    if let Some(v) = &s.cpuset {
        x.cpuset = cpuset(cx, v);
    }
    if let Some(v) = &s.pids_limit {
        // -1 is "unlimited"; anything lower means nothing.
        x.pids_limit = int_in(cx, v, "pids_limit", -1..=i64::MAX);
    }
    if let Some(v) = &s.oom_score_adj {
        // The kernel's range (`/proc/PID/oom_score_adj`).
        x.oom_score_adj = int_in(cx, v, "oom_score_adj", -1000..=1000);
    }
}

fn duration_or_micros(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Duration> {
    if let Ok(us) = v.value.0.trim().parse::<i64>() {
        return Some(Duration(us * 1000));
    }
    duration(cx, v, key)
}

pub(super) fn ulimits(
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

pub(super) fn blkio(cx: &mut Context, b: &raw::BlkioConfig) -> BlkioConfig {
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
