//! The container: its create body, assembled from the builders of the other
//! files, plus the parts that are the container's own (labels, environment,
//! healthcheck, process and security fields).

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig,
};

use super::network::{attachment, extra_hosts, links, ports};
use super::resources::resources;
use super::storage::{binds, mounts, tmpfs, volumes_from};
use super::{list, map, namespace_mode};
use crate::identity;
use crate::model::stack::{Service, Stack};

/// Everything needed to create one container: the create body, the networks
/// to connect right after create (API 1.41 takes one endpoint at create) and
/// the platform query parameter. The bind sources to create first are
/// [`host_dirs`]'s.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub body: ContainerCreateBody,
    /// Engine network name and endpoint, in connect order.
    pub connect: Vec<(String, EndpointSettings)>,
    pub platform: Option<String>,
}

/// Replica `number` of `service`, as the engine's create request.
pub fn container(stack: &Stack, service: &Service, number: u32) -> ContainerSpec {
    let extras = service.extras();
    let (exposed_ports, port_bindings) = ports(service);
    let joins = attachment(stack, service);
    let host_config = HostConfig {
        port_bindings,
        network_mode: joins.network_mode,
        ..host_config(stack, service)
    };
    let body = ContainerCreateBody {
        // A built image without `image:` is `<project>-<service>`.
        image: Some(crate::identity::image_ref(stack, service)),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: environment(service),
        exposed_ports,
        labels: Some(container_labels(stack, service, number)),
        hostname: extras.hostname.clone(),
        domainname: extras.domainname.clone(),
        user: extras.user.clone(),
        working_dir: extras.working_dir.clone(),
        stop_signal: extras.stop_signal.clone(),
        // compose truncates to whole seconds.
        stop_timeout: extras.stop_grace_period.map(|d| d.0 / 1_000_000_000),
        healthcheck: healthcheck(service),
        tty: service.tty.then_some(true),
        open_stdin: service.stdin_open.then_some(true),
        host_config: Some(host_config),
        networking_config: joins.networking_config,
        ..Default::default()
    };
    ContainerSpec {
        body,
        connect: joins.connect,
        platform: extras.platform.clone(),
    }
}

/// The `HostConfig` of a create, but for ports and the network mode: the
/// [`resources`], then storage, names and namespaces, and security.
fn host_config(stack: &Stack, service: &Service) -> HostConfig {
    let extras = service.extras();
    HostConfig {
        mounts: mounts(stack, service),
        binds: binds(service),
        tmpfs: tmpfs(service),
        volumes_from: volumes_from(stack, service),
        storage_opt: map(&extras.storage_opt),

        dns: list(&extras.dns),
        dns_search: list(&extras.dns_search),
        dns_options: list(&extras.dns_opt),
        extra_hosts: extra_hosts(service),
        links: links(stack, service),
        pid_mode: extras.pid.as_deref().map(|p| namespace_mode(stack, p)),
        ipc_mode: extras.ipc.as_deref().map(|p| namespace_mode(stack, p)),
        uts_mode: extras.uts.clone(),
        userns_mode: extras.userns_mode.clone(),

        cap_add: list(&extras.cap_add),
        cap_drop: list(&extras.cap_drop),
        privileged: service.privileged.then_some(true),
        readonly_rootfs: service.read_only.then_some(true),
        security_opt: list(&extras.security_opt),
        devices: devices(service),
        sysctls: map(&extras.sysctls),
        group_add: list(&extras.group_add),
        oom_kill_disable: extras.oom_kill_disable,
        oom_score_adj: extras.oom_score_adj,

        log_config: extras.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: map(&l.options),
        }),
        runtime: extras.runtime.clone(),
        init: extras.init,
        ..resources(service)
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

/// `environment` as `KEY=VALUE` entries; None when there are none.
pub fn environment(service: &Service) -> Option<Vec<String>> {
    (!service.environment.is_empty()).then(|| {
        service
            .environment
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                // No `=`: the variable is unset in the container.
                None => k.clone(),
            })
            .collect()
    })
}

/// `healthcheck` in the engine's units (nanoseconds); `disable: true` is
/// the test `NONE`, which turns off one the image defines.
pub fn healthcheck(service: &Service) -> Option<HealthConfig> {
    let hc = service.extras().healthcheck.as_ref()?;
    if hc.disable {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    Some(HealthConfig {
        test: hc.test.clone(),
        interval: hc.interval.map(|d| d.0),
        timeout: hc.timeout.map(|d| d.0),
        retries: hc.retries.map(|r| r as i64),
        start_period: hc.start_period.map(|d| d.0),
        // start_interval needs API 1.44.
        ..Default::default()
    })
}

/// `devices` (`host:container[:permissions]`), `rwm` unless given.
fn devices(service: &Service) -> Option<Vec<DeviceMapping>> {
    let extras = service.extras();
    (!extras.devices.is_empty()).then(|| {
        extras
            .devices
            .iter()
            .map(|d| DeviceMapping {
                path_on_host: Some(d.source.clone()),
                path_in_container: Some(d.target.clone()),
                cgroup_permissions: Some(d.permissions.clone().unwrap_or_else(|| "rwm".into())),
            })
            .collect()
    })
}
