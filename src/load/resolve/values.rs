//! The scalar values many keys share: sizes, durations and whole numbers
//! (within a range when the engine or compose's schema sets one), each read
//! as compose reads it and reported at the value when it is not one, with
//! "too large" and the maximum for a number past 64 bits. What a particular
//! key means (a memory limit's minimum, a CPU count) is for the module that
//! resolves that key.

use crate::load::resolve::context::Context;
use crate::model::Spanned;
use crate::model::raw::Text;
use crate::model::stack::{Bytes, Duration};
use crate::model::units::{Whole, parse_bytes, parse_go_duration, parse_whole};

pub(super) fn bytes(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Bytes> {
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

pub(super) fn duration(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<Duration> {
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

pub(super) fn int(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<i64> {
    int_in(cx, v, key, i64::MIN..=i64::MAX)
}

/// An integer that must lie in `range`, as the engine or compose's schema
/// demands; a value outside it is an error at the value, never clamped. A
/// whole float (`1e3`) is read as compose reads it, and a number past 64
/// bits is "too large", however it is written.
pub(super) fn int_in(
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

#[cfg(test)]
mod tests {
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
}
