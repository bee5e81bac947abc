//! Model to engine: the request bodies that create networks, volumes and
//! containers for a stack, with berth's labels on each, and the body of a
//! `docker update`.
//!
//! Pure functions, no I/O: what a body holds can be tested without an engine.
//! Only fields that Docker API 1.41 (Docker 20.10) knows are set; a model field
//! that needs a newer engine is left out and listed by [`unsupported`], so
//! that a caller can warn before creating anything. Name resolution (network
//! keys to engine names, `service:x` to a container name) happens here too;
//! creating directories for bind sources and calling the engine are
//! `Engine`'s job.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, ContainerUpdateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig, Ipam, IpamConfig,
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions,
    MountVolumeOptions, NetworkCreateRequest, NetworkingConfig, PortBinding,
    ResourcesBlkioWeightDevice, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
    ThrottleDevice, VolumeCreateRequest,
};

use crate::identity;
use crate::limits::{Limits, Throttle};
use crate::model::stack::{MountType, Service, ServiceVolume, Stack, Ulimit};

/// Everything needed to create one container: the create body, the networks
/// to connect right after create (API 1.41 takes one endpoint at create), the
/// platform query parameter and the bind sources to create first.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub body: ContainerCreateBody,
    /// Engine network name and endpoint, in connect order.
    pub connect: Vec<(String, EndpointSettings)>,
    pub platform: Option<String>,
    /// Bind sources that the stack allows berth to create when missing.
    pub host_dirs: Vec<PathBuf>,
}

/// The labels berth puts on a network or volume it creates: the user's, then
/// its own, which win.
fn resource_labels(
    user: &crate::model::stack::Map<String>,
    project: &str,
    kind: &str,
    key: &str,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> =
        user.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    labels.insert(identity::PROJECT.into(), project.into());
    labels.insert(kind.into(), key.into());
    labels.insert(identity::VERSION.into(), identity::BERTH_VERSION.into());
    labels
}

fn map(m: &crate::model::stack::Map<String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

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

/// `stack.volumes[key]` as a create request; None if the stack has no such
/// volume.
pub fn volume(stack: &Stack, key: &str) -> Option<VolumeCreateRequest> {
    let v = stack.volumes.get(key)?;
    Some(VolumeCreateRequest {
        name: Some(v.name.clone()),
        driver: Some(v.driver.clone().unwrap_or_else(|| "local".into())),
        driver_opts: map(&v.driver_opts),
        labels: Some(resource_labels(
            &v.labels,
            &stack.name,
            identity::VOLUME,
            key,
        )),
        ..Default::default()
    })
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]` as the engine's policy.
pub fn restart_policy(text: &str) -> RestartPolicy {
    let (name, count) = match text.split_once(':') {
        Some((n, c)) => (n, c.trim().parse().ok()),
        None => (text, None),
    };
    let name = match name.trim() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        maximum_retry_count: if name == RestartPolicyNameEnum::ON_FAILURE {
            count
        } else {
            None
        },
        name: Some(name),
    }
}

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

/// The limit fields of a create, from the same [`Limits`] that `docker
/// update` sends, so that create and update agree. Zero means unset and is
/// left out, so that the engine's defaults apply.
fn apply_limits(h: &mut HostConfig, l: &Limits) {
    h.cpu_shares = nonzero(l.cpu_shares);
    h.nano_cpus = nonzero(l.nano_cpus);
    h.cpuset_cpus = (!l.cpuset_cpus.is_empty()).then(|| l.cpuset_cpus.clone());
    h.cpu_quota = nonzero(l.cpu_quota);
    h.cpu_period = nonzero(l.cpu_period);
    h.memory = nonzero(l.memory);
    h.memory_swap = nonzero(l.memory_swap);
    h.memory_reservation = nonzero(l.memory_reservation);
    h.blkio_weight = (l.blkio_weight != 0).then_some(l.blkio_weight);
    h.blkio_device_read_bps = throttles(&l.device_read_bps);
    h.blkio_device_write_bps = throttles(&l.device_write_bps);
    h.blkio_device_read_iops = throttles(&l.device_read_iops);
    h.blkio_device_write_iops = throttles(&l.device_write_iops);
    h.pids_limit = nonzero(l.pids_limit);
    h.restart_policy = Some(restart_policy(&l.restart));
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
        restart_policy: Some(restart_policy(&l.restart)),
        ..Default::default()
    }
}

/// The labels of a container: the service's, then berth's own.
pub fn container_labels(stack: &Stack, service: &Service, number: u32) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = service
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let config = serde_json::to_string(&identity::recreate_config(service)).unwrap_or_default();
    for (k, v) in [
        (identity::PROJECT, stack.name.clone()),
        (identity::SERVICE, service.name.clone()),
        (identity::NUMBER, number.to_string()),
        (identity::CONFIG_HASH, identity::config_hash(service)),
        (identity::CONFIG, config),
        (identity::VERSION, identity::BERTH_VERSION.to_string()),
    ] {
        labels.insert(k.to_string(), v);
    }
    labels
}

/// Replica 1 of a service of this stack: what `service:x` names.
fn first_container(stack: &Stack, service: &str) -> String {
    match stack.services.get(service) {
        Some(s) => identity::container_name(stack, s, 1),
        None => format!("{}-{service}-1", stack.name),
    }
}

/// `service:x` -> `container:<x's first container>`; other modes unchanged.
fn namespace_mode(stack: &Stack, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(s) => format!("container:{}", first_container(stack, s)),
        None => mode.to_string(),
    }
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
    if service.network_mode.is_some() {
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

fn propagation(p: &str) -> Option<MountBindOptionsPropagationEnum> {
    p.parse()
        .ok()
        .filter(|p| *p != MountBindOptionsPropagationEnum::EMPTY)
}

/// One `volumes:` entry as an engine mount; None for kinds API 1.41 lacks
/// (npipe, cluster, image).
fn mount(stack: &Stack, v: &ServiceVolume) -> Option<Mount> {
    let mut m = Mount {
        target: Some(v.target.clone()),
        read_only: v.read_only.then_some(true),
        consistency: v.consistency.clone(),
        ..Default::default()
    };
    match v.kind {
        MountType::Bind => {
            m.typ = Some(bollard::models::MountType::BIND);
            m.source = v.source.clone();
            if let Some(b) = &v.bind {
                let non_recursive = b.recursive.as_deref() == Some("disabled");
                let prop = b.propagation.as_deref().and_then(propagation);
                if prop.is_some() || non_recursive {
                    m.bind_options = Some(MountBindOptions {
                        propagation: prop,
                        non_recursive: non_recursive.then_some(true),
                        ..Default::default()
                    });
                }
            }
        }
        MountType::Volume => {
            m.typ = Some(bollard::models::MountType::VOLUME);
            // A named volume is the stack's key; anonymous ones have no source.
            m.source = v.source.as_ref().map(|s| {
                stack
                    .volumes
                    .get(s)
                    .map_or_else(|| s.clone(), |vol| vol.name.clone())
            });
            if v.volume.as_ref().is_some_and(|o| o.nocopy) {
                m.volume_options = Some(MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                });
            }
        }
        MountType::Tmpfs => {
            m.typ = Some(bollard::models::MountType::TMPFS);
            if let Some(t) = &v.tmpfs {
                m.tmpfs_options = Some(MountTmpfsOptions {
                    size_bytes: t.size.map(|b| b.0),
                    mode: t.mode.map(i64::from),
                    ..Default::default()
                });
            }
        }
        MountType::Npipe | MountType::Cluster | MountType::Image => return None,
    }
    Some(m)
}

/// File-based secrets and configs, mounted read-only as compose does outside
/// swarm: secrets under `/run/secrets/`, configs at `/<name>` by default.
fn file_mounts(stack: &Stack, service: &Service) -> Vec<Mount> {
    let mut out = Vec::new();
    let kinds = [
        (&service.secrets, &stack.secrets, "/run/secrets/"),
        (&service.configs, &stack.configs, "/"),
    ];
    for (refs, objects, dir) in kinds {
        for r in refs {
            let Some(file) = objects.get(&r.source).and_then(|o| o.file.clone()) else {
                continue;
            };
            let target = match &r.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{}", r.source),
            };
            out.push(Mount {
                typ: Some(bollard::models::MountType::BIND),
                source: Some(file),
                target: Some(target),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
    out
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

/// A `links` entry (`service[:alias]`) as the engine's `container:alias`.
fn link(stack: &Stack, l: &str) -> String {
    let (svc, alias) = l.split_once(':').unwrap_or((l, l));
    format!("{}:{alias}", first_container(stack, svc))
}

/// A `volumes_from` entry (`service[:mode]` or `container:name[:mode]`).
fn volumes_from(stack: &Stack, v: &str) -> String {
    if let Some(rest) = v.strip_prefix("container:") {
        return rest.to_string();
    }
    match v.split_once(':') {
        Some((svc, mode)) => format!("{}:{mode}", first_container(stack, svc)),
        None => first_container(stack, v),
    }
}

/// Replica `number` of `service`, as the engine's create request.
pub fn container(stack: &Stack, service: &Service, number: u32) -> ContainerSpec {
    let limits = Limits::of(service);
    let mut h = HostConfig::default();
    apply_limits(&mut h, &limits);

    // Ports: several bindings of one container port are one key's list.
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
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
    for e in &service.expose {
        for key in expose_keys(e) {
            if !exposed.contains(&key) {
                exposed.push(key);
            }
        }
    }
    h.port_bindings = (!bindings.is_empty()).then_some(bindings);

    let mut mounts: Vec<Mount> = service
        .volumes
        .iter()
        .filter_map(|v| mount(stack, v))
        .collect();
    mounts.extend(file_mounts(stack, service));
    h.mounts = (!mounts.is_empty()).then_some(mounts);
    let host_dirs = service
        .volumes
        .iter()
        .filter(|v| {
            v.kind == MountType::Bind && v.bind.as_ref().is_some_and(|b| b.create_host_path)
        })
        .filter_map(|v| v.source.as_ref().map(PathBuf::from))
        .collect();
    h.tmpfs = (!service.tmpfs.is_empty()).then(|| {
        service
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), opts.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect()
    });

    let blkio = service.blkio_config.clone().unwrap_or_default();
    h.blkio_weight_device = (!blkio.weight_device.is_empty()).then(|| {
        blkio
            .weight_device
            .iter()
            .map(|w| ResourcesBlkioWeightDevice {
                path: Some(w.path.clone()),
                weight: Some(w.weight.into()),
            })
            .collect()
    });
    h.memory_swappiness = service.mem_swappiness;
    h.cpu_realtime_period = service.cpu_rt_period.map(|d| d.0 / 1000);
    h.cpu_realtime_runtime = service.cpu_rt_runtime.map(|d| d.0 / 1000);
    h.cgroup_parent = service.cgroup_parent.clone();
    h.cgroupns_mode = service.cgroup.as_deref().and_then(|c| match c {
        "host" => Some(HostConfigCgroupnsModeEnum::HOST),
        "private" => Some(HostConfigCgroupnsModeEnum::PRIVATE),
        _ => None,
    });
    h.shm_size = service.shm_size.map(|b| b.0);
    h.ulimits = (!service.ulimits.is_empty()).then(|| {
        service
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
    });
    h.sysctls = map(&service.sysctls);
    h.storage_opt = map(&service.storage_opt);
    h.cap_add = list(&service.cap_add);
    h.cap_drop = list(&service.cap_drop);
    h.privileged = service.privileged.then_some(true);
    h.readonly_rootfs = service.read_only.then_some(true);
    h.security_opt = list(&service.security_opt);
    h.devices = (!service.devices.is_empty()).then(|| {
        service
            .devices
            .iter()
            .map(|d| DeviceMapping {
                path_on_host: Some(d.source.clone()),
                path_in_container: Some(d.target.clone()),
                cgroup_permissions: Some(d.permissions.clone().unwrap_or_else(|| "rwm".into())),
            })
            .collect()
    });
    h.dns = list(&service.dns);
    h.dns_search = list(&service.dns_search);
    h.dns_options = list(&service.dns_opt);
    // The model keeps compose's printed form `host=ip`; the engine reads
    // `host:ip` (an IPv6 address after the first colon is fine).
    h.extra_hosts = (!service.extra_hosts.is_empty()).then(|| {
        service
            .extra_hosts
            .iter()
            .map(|e| match e.split_once('=') {
                Some((host, ip)) => format!("{host}:{ip}"),
                None => e.clone(),
            })
            .collect()
    });
    h.volumes_from = (!service.volumes_from.is_empty()).then(|| {
        service
            .volumes_from
            .iter()
            .map(|v| volumes_from(stack, v))
            .collect()
    });
    let mut links: Vec<String> = service.links.iter().map(|l| link(stack, l)).collect();
    links.extend(
        service
            .external_links
            .iter()
            .map(|l| match l.split_once(':') {
                Some(_) => l.clone(),
                None => format!("{l}:{l}"),
            }),
    );
    h.links = (!links.is_empty()).then_some(links);
    h.log_config = service.logging.as_ref().map(|l| HostConfigLogConfig {
        typ: l.driver.clone(),
        config: map(&l.options),
    });
    h.oom_kill_disable = service.oom_kill_disable;
    h.oom_score_adj = service.oom_score_adj;
    h.pid_mode = service.pid.as_deref().map(|p| namespace_mode(stack, p));
    h.ipc_mode = service.ipc.as_deref().map(|p| namespace_mode(stack, p));
    h.uts_mode = service.uts.clone();
    h.userns_mode = service.userns_mode.clone();
    h.group_add = list(&service.group_add);
    h.runtime = service.runtime.clone();
    h.init = service.init;

    let endpoints = endpoints(stack, service);
    let mut connect = endpoints.into_iter();
    let first = connect.next();
    let networking_config = match (&service.network_mode, &first) {
        (Some(mode), _) => {
            h.network_mode = Some(namespace_mode(stack, mode));
            None
        }
        (None, Some((name, settings))) => {
            h.network_mode = Some(name.clone());
            Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(name.clone(), settings.clone())])),
            })
        }
        (None, None) => None,
    };

    let healthcheck = service.healthcheck.as_ref().map(|hc| {
        if hc.disable {
            return HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            };
        }
        HealthConfig {
            test: hc.test.clone(),
            interval: hc.interval.map(|d| d.0),
            timeout: hc.timeout.map(|d| d.0),
            retries: hc.retries.map(|r| r as i64),
            start_period: hc.start_period.map(|d| d.0),
            // start_interval needs API 1.44.
            ..Default::default()
        }
    });

    let body = ContainerCreateBody {
        // A built image without `image:` is `<project>-<service>`.
        image: Some(crate::identity::image_ref(stack, service)),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: (!service.environment.is_empty()).then(|| {
            service
                .environment
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    // No `=`: the variable is unset in the container.
                    None => k.clone(),
                })
                .collect()
        }),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        labels: Some(container_labels(stack, service, number)),
        hostname: service.hostname.clone(),
        domainname: service.domainname.clone(),
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        stop_signal: service.stop_signal.clone(),
        // compose truncates to whole seconds.
        stop_timeout: service.stop_grace_period.map(|d| d.0 / 1_000_000_000),
        healthcheck,
        tty: service.tty.then_some(true),
        open_stdin: service.stdin_open.then_some(true),
        host_config: Some(h),
        networking_config,
        ..Default::default()
    };
    ContainerSpec {
        body,
        connect: connect.collect(),
        platform: service.platform.clone(),
        host_dirs,
    }
}

/// Fields a service sets that berth cannot pass to a Docker 20.10 engine
/// (API 1.41) or that mean nothing outside swarm or Windows, by their stack
/// file key. They are left out of the container, not refused.
pub fn unsupported(service: &Service) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |set: bool, key: &'static str| {
        if set {
            out.push(key);
        }
    };
    check(service.mac_address.is_some(), "mac_address");
    check(service.annotations.is_some(), "annotations");
    check(service.isolation.is_some(), "isolation");
    check(service.cpu_count.is_some(), "cpu_count");
    check(service.cpu_percent.is_some(), "cpu_percent");
    check(
        service
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.start_interval.is_some()),
        "healthcheck.start_interval",
    );
    let vols = &service.volumes;
    check(
        vols.iter()
            .any(|v| v.volume.as_ref().is_some_and(|o| o.subpath.is_some())),
        "volumes[].volume.subpath",
    );
    check(
        vols.iter()
            .any(|v| v.bind.as_ref().is_some_and(|b| b.selinux.is_some())),
        "volumes[].bind.selinux",
    );
    check(
        vols.iter().any(|v| {
            v.bind
                .as_ref()
                .and_then(|b| b.recursive.as_deref())
                .is_some_and(|r| r == "writable" || r == "readonly")
        }),
        "volumes[].bind.recursive",
    );
    check(
        vols.iter().any(|v| {
            matches!(
                v.kind,
                MountType::Npipe | MountType::Cluster | MountType::Image
            )
        }),
        "volumes[].type",
    );
    check(
        service
            .networks
            .values()
            .flatten()
            .any(|n| n.mac_address.is_some() || n.gw_priority.is_some()),
        "networks.*.mac_address/gw_priority",
    );
    check(
        service
            .secrets
            .iter()
            .chain(&service.configs)
            .any(|r| r.uid.is_some() || r.gid.is_some() || r.mode.is_some()),
        "secrets/configs uid, gid, mode",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::*;

    fn stack(yaml: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, yaml).unwrap();
        let opts = crate::load::Options {
            files: vec![file],
            project_name: Some("t".into()),
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        };
        match crate::load::load(&opts) {
            Ok(l) => l.stack,
            Err(f) => panic!(
                "stack does not load: {:?}",
                f.diagnostics
                    .iter()
                    .map(|d| format!("{d:?}"))
                    .collect::<Vec<_>>()
            ),
        }
    }

    fn host(spec: &ContainerSpec) -> &HostConfig {
        spec.body.host_config.as_ref().unwrap()
    }

    #[test]
    fn network_request_carries_driver_options_ipam_and_berth_labels() {
        let s = stack(
            "services: {a: {image: x, networks: [back]}}\n\
             networks:\n  back:\n    driver_opts: {com.docker.network.bridge.name: br-t}\n    \
             internal: true\n    attachable: true\n    enable_ipv6: true\n    labels: {team: db}\n    \
             ipam:\n      config:\n        - subnet: 172.28.0.0/16\n          gateway: 172.28.0.1\n          \
             ip_range: 172.28.5.0/24\n",
        );
        let n = network(&s, "back").unwrap();
        assert_eq!(n.name, "t_back");
        assert_eq!(n.driver.as_deref(), Some("bridge"));
        assert_eq!(n.internal, Some(true));
        assert_eq!(n.attachable, Some(true));
        assert_eq!(n.enable_ipv6, Some(true));
        assert_eq!(n.enable_ipv4, None);
        assert_eq!(n.options.unwrap()["com.docker.network.bridge.name"], "br-t");
        let pool = &n.ipam.unwrap().config.unwrap()[0];
        assert_eq!(pool.subnet.as_deref(), Some("172.28.0.0/16"));
        assert_eq!(pool.gateway.as_deref(), Some("172.28.0.1"));
        assert_eq!(pool.ip_range.as_deref(), Some("172.28.5.0/24"));
        let labels = n.labels.unwrap();
        assert_eq!(labels["team"], "db");
        assert_eq!(labels[identity::PROJECT], "t");
        assert_eq!(labels[identity::NETWORK], "back");
        assert_eq!(labels[identity::VERSION], identity::BERTH_VERSION);
        assert!(network(&s, "nope").is_none());
    }

    #[test]
    fn volume_request_carries_driver_options_and_berth_labels() {
        let s = stack(
            "services: {a: {image: x, volumes: [data:/d]}}\n\
             volumes:\n  data:\n    driver_opts: {type: tmpfs, device: tmpfs}\n    labels: {k: v}\n",
        );
        let v = volume(&s, "data").unwrap();
        assert_eq!(v.name.as_deref(), Some("t_data"));
        assert_eq!(v.driver.as_deref(), Some("local"));
        assert_eq!(v.driver_opts.unwrap()["type"], "tmpfs");
        let labels = v.labels.unwrap();
        assert_eq!(labels["k"], "v");
        assert_eq!(labels[identity::PROJECT], "t");
        assert_eq!(labels[identity::VOLUME], "data");
    }

    #[test]
    fn restart_policies_read_like_docker_run() {
        let p = restart_policy("on-failure:3");
        assert_eq!(p.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(p.maximum_retry_count, Some(3));
        assert_eq!(
            restart_policy("unless-stopped").name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        assert_eq!(
            restart_policy("always").name,
            Some(RestartPolicyNameEnum::ALWAYS)
        );
        assert_eq!(restart_policy("no").name, Some(RestartPolicyNameEnum::NO));
    }

    #[test]
    fn process_fields_and_berth_labels_reach_the_body() {
        let s = stack(
            "services:\n  web:\n    image: img\n    command: [sh, -c, 'echo hi']\n    \
             entrypoint: [/bin/env]\n    environment: {A: '1', B: ''}\n    labels: {team: web}\n    \
             hostname: h\n    domainname: example.org\n    user: '1000:1000'\n    working_dir: /w\n    \
             init: true\n    stop_signal: SIGINT\n    stop_grace_period: 1m30s\n    tty: true\n    \
             stdin_open: true\n    platform: linux/amd64\n",
        );
        let spec = container(&s, &s.services["web"], 2);
        let b = &spec.body;
        assert_eq!(b.image.as_deref(), Some("img"));
        assert_eq!(
            b.cmd,
            Some(vec!["sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(b.entrypoint, Some(vec!["/bin/env".into()]));
        assert_eq!(b.env, Some(vec!["A=1".into(), "B=".into()]));
        assert_eq!(b.hostname.as_deref(), Some("h"));
        assert_eq!(b.domainname.as_deref(), Some("example.org"));
        assert_eq!(b.user.as_deref(), Some("1000:1000"));
        assert_eq!(b.working_dir.as_deref(), Some("/w"));
        assert_eq!(b.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(b.stop_timeout, Some(90));
        assert_eq!(b.tty, Some(true));
        assert_eq!(b.open_stdin, Some(true));
        assert_eq!(host(&spec).init, Some(true));
        assert_eq!(spec.platform.as_deref(), Some("linux/amd64"));
        let labels = b.labels.as_ref().unwrap();
        let web = &s.services["web"];
        assert_eq!(labels["team"], "web");
        assert_eq!(labels[identity::PROJECT], "t");
        assert_eq!(labels[identity::SERVICE], "web");
        assert_eq!(labels[identity::NUMBER], "2");
        assert_eq!(labels[identity::CONFIG_HASH], identity::config_hash(web));
        let config: serde_json::Value = serde_json::from_str(&labels[identity::CONFIG]).unwrap();
        assert_eq!(config, identity::recreate_config(web));
    }

    #[test]
    fn ports_become_bindings_and_exposed_ports() {
        let s = stack(
            "services:\n  web:\n    image: img\n    expose: ['3000', 4000-4001/udp]\n    ports:\n      \
             - 127.0.0.1:8080:80\n      - 8443:443/udp\n      - '9000-9001:9000'\n      - '81'\n      - 8081:80\n",
        );
        let spec = container(&s, &s.services["web"], 1);
        let exposed = spec.body.exposed_ports.clone().unwrap();
        for k in [
            "80/tcp", "443/udp", "9000/tcp", "81/tcp", "3000/tcp", "4000/udp", "4001/udp",
        ] {
            assert!(exposed.contains(&k.to_string()), "{k} in {exposed:?}");
        }
        let b = host(&spec).port_bindings.clone().unwrap();
        let hp = |k: &str| -> Vec<(Option<String>, Option<String>)> {
            b[k].clone()
                .unwrap()
                .into_iter()
                .map(|p| (p.host_ip, p.host_port))
                .collect()
        };
        assert_eq!(
            hp("80/tcp"),
            vec![
                (Some("127.0.0.1".into()), Some("8080".into())),
                (None, Some("8081".into()))
            ]
        );
        assert_eq!(hp("443/udp"), vec![(None, Some("8443".into()))]);
        assert_eq!(hp("9000/tcp"), vec![(None, Some("9000-9001".into()))]);
        assert_eq!(hp("81/tcp"), vec![(None, Some(String::new()))]);
    }

    #[test]
    fn mounts_resolve_volume_names_and_carry_their_options() {
        let s = stack(
            "services:\n  web:\n    image: img\n    tmpfs: ['/run:size=64k']\n    volumes:\n      \
             - data:/data:ro,nocopy\n      - /anon\n      - ./src:/src:rshared\n      \
             - {type: tmpfs, target: /tmp, tmpfs: {size: 1m, mode: 0o1777}}\n\
             volumes:\n  data:\n    name: shared-data\n",
        );
        let spec = container(&s, &s.services["web"], 1);
        let h = host(&spec);
        let m = h.mounts.clone().unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].typ, Some(bollard::models::MountType::VOLUME));
        assert_eq!(m[0].source.as_deref(), Some("shared-data"));
        assert_eq!(m[0].read_only, Some(true));
        assert_eq!(m[0].volume_options.as_ref().unwrap().no_copy, Some(true));
        assert_eq!(m[1].source, None);
        assert_eq!(m[1].target.as_deref(), Some("/anon"));
        assert_eq!(m[2].typ, Some(bollard::models::MountType::BIND));
        assert!(m[2].source.as_deref().unwrap().ends_with("/src"));
        assert_eq!(
            m[2].bind_options.as_ref().unwrap().propagation,
            Some(MountBindOptionsPropagationEnum::RSHARED)
        );
        assert_eq!(m[3].typ, Some(bollard::models::MountType::TMPFS));
        let t = m[3].tmpfs_options.as_ref().unwrap();
        assert_eq!(t.size_bytes, Some(1024 * 1024));
        assert_eq!(t.mode, Some(0o1777));
        assert_eq!(spec.host_dirs.len(), 1);
        assert!(spec.host_dirs[0].ends_with("src"));
        assert_eq!(h.tmpfs.as_ref().unwrap()["/run"], "size=64k");
    }

    #[test]
    fn limits_come_from_limits_of_the_service() {
        let s = stack(
            "services:\n  web:\n    image: img\n    cpus: 0.5\n    cpu_shares: 512\n    cpuset: '0'\n    \
             cpu_quota: 50000\n    cpu_period: 100000\n    mem_limit: 200m\n    memswap_limit: 400m\n    \
             mem_reservation: 100m\n    mem_swappiness: 10\n    pids_limit: 64\n    shm_size: 64m\n    \
             restart: on-failure:2\n    blkio_config:\n      weight: 300\n      \
             weight_device: [{path: /dev/sda, weight: 400}]\n      \
             device_read_bps: [{path: /dev/sda, rate: 1mb}]\n      \
             device_write_iops: [{path: /dev/sda, rate: 100}]\n",
        );
        let web = &s.services["web"];
        let spec = container(&s, web, 1);
        let h = host(&spec);
        const M: i64 = 1024 * 1024;
        assert_eq!(h.nano_cpus, Some(500_000_000));
        assert_eq!(h.cpu_shares, Some(512));
        assert_eq!(h.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(h.cpu_quota, Some(50000));
        assert_eq!(h.cpu_period, Some(100000));
        assert_eq!(h.memory, Some(200 * M));
        assert_eq!(h.memory_swap, Some(400 * M));
        assert_eq!(h.memory_reservation, Some(100 * M));
        assert_eq!(h.memory_swappiness, Some(10));
        assert_eq!(h.pids_limit, Some(64));
        assert_eq!(h.shm_size, Some(64 * M));
        assert_eq!(h.blkio_weight, Some(300));
        assert_eq!(h.blkio_weight_device.as_ref().unwrap()[0].weight, Some(400));
        let bps = &h.blkio_device_read_bps.as_ref().unwrap()[0];
        assert_eq!((bps.path.as_deref(), bps.rate), (Some("/dev/sda"), Some(M)));
        assert_eq!(
            h.blkio_device_write_iops.as_ref().unwrap()[0].rate,
            Some(100)
        );
        assert_eq!(h.restart_policy, Some(restart_policy("on-failure:2")));

        // The update body sends the same values.
        let u = update(&Limits::of(web));
        assert_eq!(u.nano_cpus, h.nano_cpus);
        assert_eq!(u.memory, h.memory);
        assert_eq!(u.memory_swap, h.memory_swap);
        assert_eq!(u.cpuset_cpus, h.cpuset_cpus);
        assert_eq!(u.blkio_weight, h.blkio_weight);
        assert_eq!(u.pids_limit, h.pids_limit);
        assert_eq!(u.restart_policy, h.restart_policy);
        // pids_limit is the one limit an update can take away.
        assert_eq!(update(&Limits::default()).pids_limit, Some(0));
        assert_eq!(update(&Limits::default()).nano_cpus, None);
    }

    #[test]
    fn security_and_kernel_fields_reach_the_host_config() {
        let s = stack(
            "services:\n  web:\n    image: img\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    \
             privileged: true\n    read_only: true\n    security_opt: ['no-new-privileges:true']\n    \
             devices: ['/dev/null:/dev/xnull']\n    sysctls: {net.core.somaxconn: '1024'}\n    \
             ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}\n    oom_kill_disable: true\n    \
             oom_score_adj: 500\n    pid: host\n    ipc: shareable\n    userns_mode: host\n    \
             group_add: [audio]\n    storage_opt: {size: 1G}\n    cgroup: private\n",
        );
        let spec = container(&s, &s.services["web"], 1);
        let h = host(&spec);
        assert_eq!(h.cap_add, Some(vec!["NET_ADMIN".into()]));
        assert_eq!(h.cap_drop, Some(vec!["ALL".into()]));
        assert_eq!(h.privileged, Some(true));
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(h.security_opt, Some(vec!["no-new-privileges:true".into()]));
        let d = &h.devices.as_ref().unwrap()[0];
        assert_eq!(d.path_on_host.as_deref(), Some("/dev/null"));
        assert_eq!(d.path_in_container.as_deref(), Some("/dev/xnull"));
        assert_eq!(d.cgroup_permissions.as_deref(), Some("rwm"));
        assert_eq!(h.sysctls.as_ref().unwrap()["net.core.somaxconn"], "1024");
        let u = h.ulimits.as_ref().unwrap();
        let nproc = u
            .iter()
            .find(|u| u.name.as_deref() == Some("nproc"))
            .unwrap();
        assert_eq!((nproc.soft, nproc.hard), (Some(65535), Some(65535)));
        let nofile = u
            .iter()
            .find(|u| u.name.as_deref() == Some("nofile"))
            .unwrap();
        assert_eq!((nofile.soft, nofile.hard), (Some(20000), Some(40000)));
        assert_eq!(h.oom_kill_disable, Some(true));
        assert_eq!(h.oom_score_adj, Some(500));
        assert_eq!(h.pid_mode.as_deref(), Some("host"));
        assert_eq!(h.ipc_mode.as_deref(), Some("shareable"));
        assert_eq!(h.userns_mode.as_deref(), Some("host"));
        assert_eq!(h.group_add, Some(vec!["audio".into()]));
        assert_eq!(h.storage_opt.as_ref().unwrap()["size"], "1G");
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
    }

    #[test]
    fn dns_hosts_logging_and_healthcheck_are_in_engine_form() {
        let s = stack(
            "services:\n  web:\n    image: img\n    dns: [1.1.1.1]\n    dns_search: [example.org]\n    \
             dns_opt: [ndots:2]\n    extra_hosts: ['db:10.0.0.2', 'v6=::1']\n    \
             logging: {driver: json-file, options: {max-size: 1m}}\n    \
             healthcheck: {test: wget -q -O- localhost, interval: 2s, timeout: 1s, retries: 3, start_period: 5s}\n  \
             off:\n    image: img\n    healthcheck: {disable: true}\n",
        );
        let spec = container(&s, &s.services["web"], 1);
        let h = host(&spec);
        assert_eq!(h.dns, Some(vec!["1.1.1.1".into()]));
        assert_eq!(h.dns_search, Some(vec!["example.org".into()]));
        assert_eq!(h.dns_options, Some(vec!["ndots:2".into()]));
        let mut hosts = h.extra_hosts.clone().unwrap();
        hosts.sort();
        assert_eq!(hosts, vec!["db:10.0.0.2".to_string(), "v6:::1".to_string()]);
        let log = h.log_config.as_ref().unwrap();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(log.config.as_ref().unwrap()["max-size"], "1m");
        let hc = spec.body.healthcheck.as_ref().unwrap();
        assert_eq!(
            hc.test,
            Some(vec!["CMD-SHELL".into(), "wget -q -O- localhost".into()])
        );
        assert_eq!(hc.interval, Some(2_000_000_000));
        assert_eq!(hc.timeout, Some(1_000_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.start_period, Some(5_000_000_000));
        let off = container(&s, &s.services["off"], 1);
        assert_eq!(
            off.body.healthcheck.unwrap().test,
            Some(vec!["NONE".to_string()])
        );
    }

    #[test]
    fn references_to_services_name_their_first_container() {
        let s = stack(
            "services:\n  db: {image: img, container_name: the-db}\n  app: {image: img}\n  \
             web:\n    image: img\n    links: ['db:database', app]\n    volumes_from: ['app:ro', 'container:other']\n  \
             side: {image: img, network_mode: 'service:app', ipc: 'service:db'}\n",
        );
        let spec = container(&s, &s.services["web"], 1);
        let h = host(&spec);
        assert_eq!(
            h.links,
            Some(vec!["the-db:database".into(), "t-app-1:app".into()])
        );
        assert_eq!(
            h.volumes_from,
            Some(vec!["t-app-1:ro".into(), "other".into()])
        );
        let side = container(&s, &s.services["side"], 1);
        let h = host(&side);
        assert_eq!(h.network_mode.as_deref(), Some("container:t-app-1"));
        assert_eq!(h.ipc_mode.as_deref(), Some("container:the-db"));
        assert!(side.body.networking_config.is_none());
        assert!(side.connect.is_empty());
    }

    #[test]
    fn first_network_by_priority_is_created_with_the_rest_to_connect() {
        let s = stack(
            "services:\n  api:\n    image: img\n    networks:\n      \
             zeta: {priority: 10, aliases: [backend], ipv4_address: 172.29.0.5}\n      alpha: {}\n      beta:\n\
             networks:\n  zeta:\n    ipam: {config: [{subnet: 172.29.0.0/16}]}\n  alpha: {}\n  beta: {name: custom-beta}\n",
        );
        let spec = container(&s, &s.services["api"], 1);
        let h = host(&spec);
        assert_eq!(h.network_mode.as_deref(), Some("t_zeta"));
        let eps = spec
            .body
            .networking_config
            .as_ref()
            .unwrap()
            .endpoints_config
            .as_ref()
            .unwrap();
        let zeta = &eps["t_zeta"];
        assert_eq!(
            zeta.aliases,
            Some(vec!["api".to_string(), "backend".to_string()])
        );
        assert_eq!(
            zeta.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("172.29.0.5")
        );
        let rest: Vec<&str> = spec.connect.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(rest, vec!["custom-beta", "t_alpha"]);
        assert_eq!(spec.connect[0].1.aliases, Some(vec!["api".to_string()]));
    }

    #[test]
    fn fields_an_old_engine_lacks_are_listed() {
        let mut s = Service {
            mac_address: Some("02:42:ac:11:00:02".into()),
            ..Service::default()
        };
        assert_eq!(unsupported(&s), vec!["mac_address"]);
        s.mac_address = None;
        assert!(unsupported(&s).is_empty());
    }
}
