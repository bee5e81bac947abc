//! Resources: what a container's cgroup holds it to (CPU, memory, block I/O,
//! pids, ulimits, the cgroup namespace) and its restart policy.
//!
//! [`resources`] gives them as the fields of a create's `HostConfig` and
//! [`update`] as the body of `docker update`, both from the same
//! [`Limits`], so that create and update agree.

use bollard::models::{
    ContainerUpdateBody, HostConfig, HostConfigCgroupnsModeEnum, ResourcesBlkioWeightDevice,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum, ThrottleDevice,
};

use crate::limits::{Limits, Throttle};
use crate::model::stack::{Cgroup, Restart, Service, Ulimit};

/// A `restart` policy as the engine's; the retry count only with
/// `on-failure`.
pub fn restart_policy(restart: Restart) -> RestartPolicy {
    let (name, count) = match restart {
        Restart::No => (RestartPolicyNameEnum::NO, None),
        Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
        Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
        Restart::OnFailure(n) => (RestartPolicyNameEnum::ON_FAILURE, n),
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: count.map(i64::from),
    }
}

/// Zero is unset: left out, so that the engine's default applies.
fn nonzero(n: i64) -> Option<i64> {
    (n != 0).then_some(n)
}

fn throttles(v: &[Throttle]) -> Option<Vec<ThrottleDevice>> {
    (!v.is_empty()).then(|| {
        v.iter()
            .map(|t| ThrottleDevice {
                path: Some(t.path.clone()),
                rate: Some(t.rate),
            })
            .collect()
    })
}

/// The resource fields of a create's `HostConfig` (all others unset): the
/// [`Limits`] that `docker update` can change later, then those it cannot.
pub fn resources(service: &Service) -> HostConfig {
    let extras = service.extras();
    let l = Limits::of(service);
    HostConfig {
        cpu_shares: nonzero(l.cpu_shares),
        nano_cpus: nonzero(l.nano_cpus),
        cpuset_cpus: (!l.cpuset_cpus.is_empty()).then(|| l.cpuset_cpus.clone()),
        cpu_quota: nonzero(l.cpu_quota),
        cpu_period: nonzero(l.cpu_period),
        memory: nonzero(l.memory),
        memory_swap: nonzero(l.memory_swap),
        memory_reservation: nonzero(l.memory_reservation),
        blkio_weight: (l.blkio_weight != 0).then_some(l.blkio_weight),
        blkio_device_read_bps: throttles(&l.device_read_bps),
        blkio_device_write_bps: throttles(&l.device_write_bps),
        blkio_device_read_iops: throttles(&l.device_read_iops),
        blkio_device_write_iops: throttles(&l.device_write_iops),
        pids_limit: nonzero(l.pids_limit),
        restart_policy: Some(restart_policy(l.restart)),

        blkio_weight_device: weight_devices(service),
        memory_swappiness: extras.mem_swappiness,
        cpu_realtime_period: extras.cpu_rt_period.map(|d| d.0 / 1000),
        cpu_realtime_runtime: extras.cpu_rt_runtime.map(|d| d.0 / 1000),
        cgroup_parent: extras.cgroup_parent.clone(),
        cgroupns_mode: extras.cgroup.map(|c| match c {
            Cgroup::Host => HostConfigCgroupnsModeEnum::HOST,
            Cgroup::Private => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        shm_size: extras.shm_size.map(|b| b.0),
        ulimits: ulimits(service),
        ..Default::default()
    }
}

/// `blkio_config.weight_device`, which `docker update` cannot change.
fn weight_devices(service: &Service) -> Option<Vec<ResourcesBlkioWeightDevice>> {
    let blkio = service.extras().blkio_config.as_ref()?;
    (!blkio.weight_device.is_empty()).then(|| {
        blkio
            .weight_device
            .iter()
            .map(|w| ResourcesBlkioWeightDevice {
                path: Some(w.path.clone()),
                weight: Some(w.weight.into()),
            })
            .collect()
    })
}

/// `ulimits`, a single number meaning soft = hard.
pub fn ulimits(service: &Service) -> Option<Vec<ResourcesUlimits>> {
    let extras = service.extras();
    (!extras.ulimits.is_empty()).then(|| {
        extras
            .ulimits
            .iter()
            .map(|(name, u)| {
                let (soft, hard) = match *u {
                    Ulimit::Single(n) => (n, n),
                    Ulimit::Range { soft, hard } => (soft, hard),
                };
                ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(soft),
                    hard: Some(hard),
                }
            })
            .collect()
    })
}

/// The body of `docker update` for `limits`.
///
/// Docker 20.10 treats a zero CPU or memory field as "leave as is", so an
/// update cannot take a limit away (`cpus 0.5 -> unset`); only `pids_limit`
/// can be reset, and is always sent. The daemon also ignores the device
/// throttles on update (it changes only the blkio weight); they are sent
/// anyway, for engines that honour them.
pub fn update(l: &Limits) -> ContainerUpdateBody {
    ContainerUpdateBody {
        cpu_shares: nonzero(l.cpu_shares),
        nano_cpus: nonzero(l.nano_cpus),
        cpuset_cpus: (!l.cpuset_cpus.is_empty()).then(|| l.cpuset_cpus.clone()),
        cpu_quota: nonzero(l.cpu_quota),
        cpu_period: nonzero(l.cpu_period),
        memory: nonzero(l.memory),
        memory_swap: nonzero(l.memory_swap),
        memory_reservation: nonzero(l.memory_reservation),
        blkio_weight: (l.blkio_weight != 0).then_some(l.blkio_weight),
        blkio_device_read_bps: throttles(&l.device_read_bps),
        blkio_device_write_bps: throttles(&l.device_write_bps),
        blkio_device_read_iops: throttles(&l.device_read_iops),
        blkio_device_write_iops: throttles(&l.device_write_iops),
        // 0 resets to unlimited here, unlike the fields above.
        pids_limit: Some(l.pids_limit),
        restart_policy: Some(restart_policy(l.restart)),
        ..Default::default()
    }
}
