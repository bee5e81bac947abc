//! What `docker update` can change on a running container without restarting
//! it: CPU and memory limits, block-I/O limits, the pids limit and the restart
//! policy.
//!
//! The same type describes what a service asks for ([`Limits::of`]) and what
//! a container has (filled in by `observe` from `docker inspect`), so that the
//! plan can compare them field by field and print `cpus 0.5 -> 0.2`.

use std::fmt;

use crate::model::stack::{Restart, Service};

/// A throttle on one device: path and rate (bytes or operations per second).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Throttle {
    pub path: String,
    pub rate: i64,
}

/// Limits as the engine stores them (`HostConfig`): 0 or empty means unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub cpu_shares: i64,
    /// CPUs in billionths (`NanoCpus`).
    pub nano_cpus: i64,
    pub cpuset_cpus: String,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    pub memory: i64,
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub blkio_weight: u16,
    pub device_read_bps: Vec<Throttle>,
    pub device_write_bps: Vec<Throttle>,
    pub device_read_iops: Vec<Throttle>,
    pub device_write_iops: Vec<Throttle>,
    pub pids_limit: i64,
    pub restart: Restart,
}

impl Limits {
    /// What a service asks for, in the engine's units. `deploy.resources.limits`
    /// applies where the service's own keys are unset, as in compose.
    pub fn of(service: &Service) -> Limits {
        let extras = service.extras();
        let deploy_limits = extras
            .deploy
            .as_ref()
            .and_then(|d| d.resources.limits.as_ref());
        let cpus = extras.cpus.or(deploy_limits.and_then(|l| l.cpus));
        let memory = extras
            .mem_limit
            .map(|b| b.0)
            .or(deploy_limits.and_then(|l| l.memory.map(|m| m.0)));
        let throttles = |v: &[crate::model::stack::ThrottleDevice]| {
            let mut out: Vec<Throttle> = v
                .iter()
                .map(|t| Throttle {
                    path: t.path.clone(),
                    rate: t.rate.0,
                })
                .collect();
            out.sort();
            out
        };
        let blkio = extras.blkio_config.clone().unwrap_or_default();
        Limits {
            cpu_shares: extras.cpu_shares.unwrap_or(0),
            nano_cpus: cpus.map_or(0, |c| (c * 1e9).round() as i64),
            cpuset_cpus: extras.cpuset.clone().unwrap_or_default(),
            cpu_quota: extras.cpu_quota.unwrap_or(0),
            cpu_period: extras.cpu_period.unwrap_or(0),
            memory: memory.unwrap_or(0),
            memory_swap: extras.memswap_limit.map_or(0, |b| b.0),
            memory_reservation: extras.mem_reservation.map_or(0, |b| b.0),
            blkio_weight: blkio.weight.unwrap_or(0),
            device_read_bps: throttles(&blkio.device_read_bps),
            device_write_bps: throttles(&blkio.device_write_bps),
            device_read_iops: throttles(&blkio.device_read_iops),
            device_write_iops: throttles(&blkio.device_write_iops),
            pids_limit: extras
                .pids_limit
                .or(deploy_limits.and_then(|l| l.pids))
                .unwrap_or(0),
            restart: engine_restart(extras.restart.unwrap_or_default()),
        }
    }

    /// These limits, read back from an engine, in the shape `want` asks for
    /// them. One CPU limit has two shapes: `cpus` (`NanoCpus`) and a CFS
    /// quota per period. podman reports either one as both (`cpus: 0.5` as
    /// `NanoCpus` 500000000 with quota 50000 per 100000), where Docker keeps
    /// the one it was sent; the shape the stack does not use is dropped when
    /// it says the same as the other, so that it does not read as a change.
    pub fn shaped_like(&self, want: &Limits) -> Limits {
        let mut have = self.clone();
        let quota_as_nano = (have.cpu_quota > 0 && have.cpu_period > 0)
            .then(|| (have.cpu_quota as f64 * 1e9 / have.cpu_period as f64).round() as i64);
        let Some(as_nano) = quota_as_nano else {
            return have;
        };
        let wants_nano = want.nano_cpus != 0 && want.cpu_quota == 0 && want.cpu_period == 0;
        let wants_quota = want.nano_cpus == 0 && (want.cpu_quota != 0 || want.cpu_period != 0);
        if wants_nano && (have.nano_cpus == 0 || have.nano_cpus == as_nano) {
            have.nano_cpus = as_nano;
            have.cpu_quota = 0;
            have.cpu_period = 0;
        } else if wants_quota && have.nano_cpus == as_nano {
            have.nano_cpus = 0;
        }
        have
    }

    /// Each field that differs, as `name old -> new`, in a fixed order.
    pub fn changes(&self, to: &Limits) -> Vec<Change> {
        let mut out = Vec::new();
        let mut num = |name: &'static str, a: i64, b: i64, show: fn(i64) -> String| {
            if a != b {
                out.push(Change {
                    field: name,
                    from: show(a),
                    to: show(b),
                });
            }
        };
        num("cpu_shares", self.cpu_shares, to.cpu_shares, plain);
        num("cpus", self.nano_cpus, to.nano_cpus, cpus);
        num("cpu_quota", self.cpu_quota, to.cpu_quota, plain);
        num("cpu_period", self.cpu_period, to.cpu_period, plain);
        num("memory", self.memory, to.memory, size);
        num("memswap", self.memory_swap, to.memory_swap, size);
        num(
            "mem_reservation",
            self.memory_reservation,
            to.memory_reservation,
            size,
        );
        num(
            "blkio_weight",
            self.blkio_weight.into(),
            to.blkio_weight.into(),
            plain,
        );
        num("pids_limit", self.pids_limit, to.pids_limit, plain);
        let mut text = |name: &'static str, a: String, b: String| {
            if a != b {
                out.push(Change {
                    field: name,
                    from: a,
                    to: b,
                });
            }
        };
        text(
            "cpuset",
            or_none(&self.cpuset_cpus),
            or_none(&to.cpuset_cpus),
        );
        text(
            "device_read_bps",
            throttles(&self.device_read_bps),
            throttles(&to.device_read_bps),
        );
        text(
            "device_write_bps",
            throttles(&self.device_write_bps),
            throttles(&to.device_write_bps),
        );
        text(
            "device_read_iops",
            throttles(&self.device_read_iops),
            throttles(&to.device_read_iops),
        );
        text(
            "device_write_iops",
            throttles(&self.device_write_iops),
            throttles(&to.device_write_iops),
        );
        text("restart", self.restart.to_string(), to.restart.to_string());
        out
    }
}

/// A retry count of 0 is no limit to the engine, which reads it back as
/// plain `on-failure`; `on-failure:0` compared as written would plan a
/// `docker update` on every run.
fn engine_restart(restart: Restart) -> Restart {
    match restart {
        Restart::OnFailure(Some(0)) => Restart::OnFailure(None),
        other => other,
    }
}

/// One field that `docker update` will change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub from: String,
    pub to: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.field, self.from, self.to)
    }
}

fn plain(n: i64) -> String {
    if n == 0 {
        "unset".into()
    } else {
        n.to_string()
    }
}

fn cpus(n: i64) -> String {
    if n == 0 {
        return "unset".into();
    }
    let s = format!("{:.3}", n as f64 / 1e9);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Sizes in Docker's binary units, as users write them (`200m`).
fn size(n: i64) -> String {
    const K: i64 = 1024;
    match n {
        0 => "unset".into(),
        -1 => "unlimited".into(),
        n if n % (K * K * K) == 0 => format!("{}g", n / (K * K * K)),
        n if n % (K * K) == 0 => format!("{}m", n / (K * K)),
        n if n % K == 0 => format!("{}k", n / K),
        n => n.to_string(),
    }
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "unset".into()
    } else {
        s.to_string()
    }
}

fn throttles(v: &[Throttle]) -> String {
    if v.is_empty() {
        return "unset".into();
    }
    v.iter()
        .map(|t| format!("{}:{}", t.path, t.rate))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_like_the_stack_file() {
        let a = Limits {
            nano_cpus: 500_000_000,
            memory: 200 * 1024 * 1024,
            ..Limits::default()
        };
        let b = Limits {
            nano_cpus: 200_000_000,
            memory: 300 * 1024 * 1024,
            ..Limits::default()
        };
        let text: Vec<String> = a.changes(&b).iter().map(|c| c.to_string()).collect();
        assert_eq!(text, vec!["cpus 0.5 -> 0.2", "memory 200m -> 300m"]);
    }

    #[test]
    fn podmans_two_shapes_of_one_cpu_limit_read_as_the_stack_writes_it() {
        let cpus = |n| Limits {
            nano_cpus: n,
            ..Limits::default()
        };
        let quota = |q, p| Limits {
            cpu_quota: q,
            cpu_period: p,
            ..Limits::default()
        };
        let both = Limits {
            nano_cpus: 500_000_000,
            ..quota(50_000, 100_000)
        };
        // `cpus: 0.5` as podman reports it, and as it may after a change.
        assert_eq!(both.shaped_like(&cpus(500_000_000)), cpus(500_000_000));
        assert_eq!(
            quota(50_000, 100_000).shaped_like(&cpus(500_000_000)),
            cpus(500_000_000)
        );
        // A different quota is a change of `cpus`.
        assert_eq!(
            quota(20_000, 100_000).shaped_like(&cpus(500_000_000)),
            cpus(200_000_000)
        );
        // `cpu_quota`/`cpu_period` as podman reports them.
        assert_eq!(
            both.shaped_like(&quota(50_000, 100_000)),
            quota(50_000, 100_000)
        );
        // Docker keeps what it was sent; nothing to reshape.
        assert_eq!(
            cpus(500_000_000).shaped_like(&cpus(500_000_000)),
            cpus(500_000_000)
        );
        assert_eq!(both.shaped_like(&Limits::default()), both, "unasked stays");
    }
}
