//! Model to Swarm: the spec of a stack's service and the create request of
//! its overlay networks, as `docker stack deploy` builds them (docker/cli
//! `cli/compose/convert`), from the same builders as a container's body
//! (environment, healthcheck, mounts, ulimits).
//!
//! Pure functions, no I/O. Only fields Docker API 1.41 (Docker 20.10) knows
//! are set. Where `docker stack deploy` drops a key silently, [`service`]
//! says so: each key Swarm cannot honour is a [`SwarmIssue`] in the
//! mapping's warnings, naming the key and what to use instead, and each
//! setting Swarm would honour differently than written (a port bound to
//! `127.0.0.1` that Swarm opens on every interface) is one in its errors.
//!
//! Naming follows `docker stack deploy`, so that `docker stack ls/ps/services`
//! shows berth's stacks: the service is `<project>_<service>`, networks and
//! volumes keep the stack's names (`<project>_<key>` unless `name:` is set),
//! and the service, its containers, networks and volumes carry
//! `com.docker.stack.namespace=<project>`. berth's own labels
//! (`io.berth.*`) go on the service, its networks and volumes, but not on
//! the task containers: those would otherwise look like berth's plain
//! containers to the container target's observe, which lists containers by
//! `io.berth.project`. The one exception, `io.berth.image-id` (the local id
//! of the image, which the plan adds: see [`pin_image`]), names no project.
//!
//! The spec carries its own hash ([`service_hash`]) as the label
//! `io.berth.config-hash`, so that a plan compares the label of a deployed
//! service with the hash of the spec it would send; [`service_changes`]
//! says in words what differs between a deployed spec and a new one.

mod hash;
mod image;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, Limit, Mount, MountTmpfsOptions, MountVolumeOptions,
    MountVolumeOptionsDriverConfig, NetworkAttachmentConfig, NetworkCreateRequest, Platform,
    ResourceObject, ResourcesUlimits, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
    ServiceSpecModeReplicatedJob, ServiceSpecRollbackConfig, ServiceSpecUpdateConfig, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecDnsConfig, TaskSpecLogDriver, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};

pub use hash::{canonical, service_changes, service_hash};
pub use image::pin_image;

use super::objects::{self, ObjectNames};
use super::{environment, healthcheck, list, map, resource_labels, ulimits, volume_mounts};
use crate::diag::{Diagnostic, Severity};
use crate::identity;
use crate::identity::STACK_NAMESPACE;
use crate::model::stack::{
    Edge, EdgeKind, MountType, Port, Restart, Service, Stack, UpdateConfig, Volume,
};
use crate::source::Span;

/// The image as the stack file names it, which `docker stack deploy` also
/// puts on the service.
pub const STACK_IMAGE: &str = "com.docker.stack.image";

/// One key of a service that Swarm cannot honour as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmIssue {
    /// The service's key in `services:`.
    pub service: String,
    /// The stack file key, as written (`container_name`, `ports`,
    /// `networks.back.ipv4_address`).
    pub key: String,
    /// One sentence: what Swarm does with it.
    pub message: String,
    /// What to use instead.
    pub help: String,
    /// Where: the key's own span where the model keeps one (ports,
    /// volumes), else the service's.
    pub span: Span,
}

/// A key Swarm ignores or does differently; the service is still deployed.
pub type SwarmWarning = SwarmIssue;
/// A setting Swarm would not honour in a way that matters (an address a
/// port should be bound to); the service must not be deployed as written.
pub type SwarmError = SwarmIssue;

impl SwarmIssue {
    /// As a diagnostic of `severity`, labelled at its span.
    pub fn diagnostic(&self, severity: Severity) -> Diagnostic {
        let d = Diagnostic {
            severity,
            ..Diagnostic::error(format!("service `{}`: {}", self.service, self.message))
        };
        d.label(self.span, format!("`{}` under Swarm", self.key))
            .help(self.help.clone())
    }
}

/// A service as a Swarm service spec, with what could not be mapped.
#[derive(Debug, Clone, Default)]
pub struct ServiceMapping {
    pub spec: ServiceSpec,
    pub warnings: Vec<SwarmWarning>,
    pub errors: Vec<SwarmError>,
}

impl ServiceMapping {
    /// The errors, then the warnings, as diagnostics.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.errors
            .iter()
            .map(|e| e.diagnostic(Severity::Error))
            .chain(
                self.warnings
                    .iter()
                    .map(|w| w.diagnostic(Severity::Warning)),
            )
            .collect()
    }
}

/// `<project>_<service>`: the Swarm service's name.
pub fn service_name(stack: &Stack, service: &Service) -> String {
    format!("{}_{}", stack.name, service.name)
}

/// `stack.networks[key]` as the create request of a Swarm-scoped network
/// (driver `overlay` unless the stack names one); None if the stack has no
/// such network or it is external.
pub fn overlay_network(stack: &Stack, key: &str) -> Option<NetworkCreateRequest> {
    let n = stack.networks.get(key)?;
    if n.external {
        return None;
    }
    let mut req = super::network(stack, key)?;
    req.driver = Some(n.driver.clone().unwrap_or_else(|| "overlay".into()));
    req.scope = Some("swarm".into());
    if let Some(labels) = &mut req.labels {
        labels.insert(STACK_NAMESPACE.into(), stack.name.clone());
    }
    Some(req)
}

/// `svc` as the spec of a Swarm service (see the module doc), with a
/// warning for each key Swarm cannot honour and an error for each setting
/// it would honour wrongly.
///
/// `names` holds the engine names of the stack's secrets and configs
/// ([`super::object`]), which carry their content's hash.
pub fn service(stack: &Stack, svc: &Service, names: &ObjectNames) -> ServiceMapping {
    let mut m = Mapper {
        stack,
        svc,
        names,
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let mut spec = m.spec();
    m.unsupported();
    let hash = service_hash(&spec);
    spec.labels
        .get_or_insert_with(HashMap::new)
        .insert(identity::CONFIG_HASH.into(), hash);
    ServiceMapping {
        spec,
        warnings: m.warnings,
        errors: m.errors,
    }
}

struct Mapper<'a> {
    stack: &'a Stack,
    svc: &'a Service,
    names: &'a ObjectNames,
    warnings: Vec<SwarmIssue>,
    errors: Vec<SwarmIssue>,
}

/// A span that points somewhere, else the fallback.
fn or_span(span: Span, fallback: Span) -> Span {
    if span.end > span.start {
        span
    } else {
        fallback
    }
}

impl Mapper<'_> {
    fn issue(&self, key: &str, message: String, help: &str, span: Span) -> SwarmIssue {
        SwarmIssue {
            service: self.svc.name.clone(),
            key: key.to_string(),
            message,
            help: help.to_string(),
            span: or_span(span, self.svc.span),
        }
    }

    fn warn(&mut self, key: &str, message: impl Into<String>, help: &str) {
        let w = self.issue(key, message.into(), help, self.svc.span);
        self.warnings.push(w);
    }

    fn warn_at(&mut self, key: &str, span: Span, message: impl Into<String>, help: &str) {
        let w = self.issue(key, message.into(), help, span);
        self.warnings.push(w);
    }

    fn error(&mut self, key: &str, message: impl Into<String>, help: &str) {
        let e = self.issue(key, message.into(), help, self.svc.span);
        self.errors.push(e);
    }

    fn error_at(&mut self, key: &str, span: Span, message: impl Into<String>, help: &str) {
        let e = self.issue(key, message.into(), help, span);
        self.errors.push(e);
    }

    fn spec(&mut self) -> ServiceSpec {
        let (stack, svc) = (self.stack, self.svc);
        let deploy = svc.extras().deploy.clone().unwrap_or_default();
        let mut labels: HashMap<String, String> = deploy
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in [
            (identity::PROJECT, stack.name.clone()),
            (identity::SERVICE, svc.name.clone()),
            (identity::VERSION, identity::BERTH_VERSION.to_string()),
            (STACK_NAMESPACE, stack.name.clone()),
            (STACK_IMAGE, identity::image_ref(stack, svc)),
        ] {
            labels.insert(k.to_string(), v);
        }
        let task = TaskSpec {
            container_spec: Some(self.container_spec()),
            resources: self.resources(),
            restart_policy: self.restart_policy(),
            placement: self.placement(),
            networks: self.networks(),
            log_driver: self.log_driver(),
            ..Default::default()
        };
        ServiceSpec {
            name: Some(service_name(stack, svc)),
            labels: Some(labels),
            task_template: Some(task),
            mode: self.mode(),
            update_config: deploy.update_config.as_ref().map(|u| self.update_config(u)),
            rollback_config: deploy
                .rollback_config
                .as_ref()
                .map(|u| self.rollback_config(u)),
            endpoint_spec: self.endpoint_spec(),
            ..Default::default()
        }
    }

    fn container_spec(&mut self) -> TaskSpecContainerSpec {
        let (stack, s) = (self.stack, self.svc);
        let extras = s.extras();
        let mut labels: HashMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert(STACK_NAMESPACE.into(), stack.name.clone());
        // Sorted, as docker does, so that reordering the file is no update.
        let mut env = environment(s);
        if let Some(e) = &mut env {
            e.sort();
        }
        let mut ulimits: Option<Vec<ResourcesUlimits>> = ulimits(s);
        if let Some(u) = &mut ulimits {
            u.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let dns_config =
            (!extras.dns.is_empty() || !extras.dns_search.is_empty() || !extras.dns_opt.is_empty())
                .then(|| TaskSpecContainerSpecDnsConfig {
                    nameservers: list(&extras.dns),
                    search: list(&extras.dns_search),
                    options: list(&extras.dns_opt),
                });
        let isolation = extras.isolation.as_deref().and_then(|i| match i.parse() {
            Ok(i) => Some(i),
            Err(_) => {
                self.warn(
                    "isolation",
                    format!("isolation `{i}` is not one Swarm knows; left out"),
                    "use `default`, `process` or `hyperv` (Windows nodes only)",
                );
                None
            }
        });
        TaskSpecContainerSpec {
            image: Some(identity::image_ref(stack, s)),
            labels: Some(labels),
            // compose's entrypoint is Swarm's Command, compose's command its Args.
            command: s.entrypoint.clone(),
            args: s.command.clone(),
            hostname: extras.hostname.clone(),
            env,
            dir: extras.working_dir.clone(),
            user: extras.user.clone(),
            groups: list(&extras.group_add),
            tty: s.tty.then_some(true),
            open_stdin: s.stdin_open.then_some(true),
            read_only: s.read_only.then_some(true),
            mounts: self.mounts(),
            stop_signal: extras.stop_signal.clone(),
            stop_grace_period: extras.stop_grace_period.map(|d| d.0),
            health_check: healthcheck(s),
            hosts: hosts(s),
            dns_config,
            isolation,
            init: extras.init,
            sysctls: map(&extras.sysctls),
            capability_add: list(&extras.cap_add),
            capability_drop: list(&extras.cap_drop),
            ulimits,
            secrets: Some(objects::secret_refs(&extras.secrets, self.names))
                .filter(|r| !r.is_empty()),
            configs: Some(objects::config_refs(&extras.configs, self.names))
                .filter(|r| !r.is_empty()),
            ..Default::default()
        }
    }

    /// The container's mounts ([`mounts`]), a stack volume's driver, options
    /// and labels on its mount (Swarm creates the volume on each node that
    /// runs a task), then `tmpfs:` entries as tmpfs mounts (a service has no
    /// tmpfs map).
    fn mounts(&mut self) -> Option<Vec<Mount>> {
        let stack = self.stack;
        let mut out = volume_mounts(stack, self.svc);
        let by_name: HashMap<&str, (&String, &Volume)> = stack
            .volumes
            .iter()
            .map(|(k, v)| (v.name.as_str(), (k, v)))
            .collect();
        for m in &mut out {
            if m.typ != Some(bollard::models::MountType::VOLUME) {
                continue;
            }
            let Some((key, vol)) = m.source.as_deref().and_then(|s| by_name.get(s)) else {
                continue;
            };
            if vol.external {
                continue;
            }
            let mut labels = resource_labels(&vol.labels, &stack.name, identity::VOLUME, key);
            labels.insert(STACK_NAMESPACE.into(), stack.name.clone());
            // Part of the spec, hence of its hash: a new berth must not
            // update every service that mounts a volume.
            labels.remove(identity::VERSION);
            let opts = m
                .volume_options
                .get_or_insert_with(MountVolumeOptions::default);
            opts.labels = Some(labels);
            if vol.driver.is_some() || !vol.driver_opts.is_empty() {
                opts.driver_config = Some(MountVolumeOptionsDriverConfig {
                    name: vol.driver.clone(),
                    options: map(&vol.driver_opts),
                });
            }
        }
        let svc = self.svc;
        for t in &svc.extras().tmpfs {
            out.push(self.tmpfs_mount(t));
        }
        (!out.is_empty()).then_some(out)
    }

    /// `path[:size=..,mode=..]` as a tmpfs mount; API 1.41 takes no other
    /// tmpfs option.
    fn tmpfs_mount(&mut self, entry: &str) -> Mount {
        let (path, opts) = entry.split_once(':').unwrap_or((entry, ""));
        let mut tmpfs = MountTmpfsOptions::default();
        let mut dropped = Vec::new();
        for opt in opts.split(',').filter(|o| !o.is_empty()) {
            match opt.split_once('=') {
                Some(("size", v)) => match crate::model::units::parse_bytes(v) {
                    Ok(b) => tmpfs.size_bytes = Some(b),
                    Err(_) => dropped.push(opt),
                },
                Some(("mode", v)) => match i64::from_str_radix(v, 8) {
                    Ok(mode) => tmpfs.mode = Some(mode),
                    Err(_) => dropped.push(opt),
                },
                _ => dropped.push(opt),
            }
        }
        if !dropped.is_empty() {
            self.warn(
                "tmpfs",
                format!(
                    "tmpfs {path}: option {} left out; a Swarm tmpfs mount takes only size and mode on API 1.41",
                    dropped.join(",")
                ),
                "keep `size=` and `mode=` only",
            );
        }
        let has_opts = tmpfs.size_bytes.is_some() || tmpfs.mode.is_some();
        Mount {
            target: Some(path.to_string()),
            typ: Some(bollard::models::MountType::TMPFS),
            tmpfs_options: has_opts.then_some(tmpfs),
            ..Default::default()
        }
    }

    /// `deploy.resources`; the service's own `cpus`, `mem_limit`,
    /// `pids_limit` and `mem_reservation` where `deploy` leaves them unset.
    fn resources(&mut self) -> Option<TaskSpecResources> {
        let s = self.svc;
        let extras = s.extras();
        let res = extras
            .deploy
            .as_ref()
            .map(|d| d.resources.clone())
            .unwrap_or_default();
        let lim = res.limits.clone().unwrap_or_default();
        let rsv = res.reservations.clone().unwrap_or_default();

        let cpus = self.fallback("cpus", extras.cpus, lim.cpus, "limits.cpus");
        let memory = self.fallback(
            "mem_limit",
            extras.mem_limit.map(|b| b.0),
            lim.memory.map(|b| b.0),
            "limits.memory",
        );
        let pids = self.fallback("pids_limit", extras.pids_limit, lim.pids, "limits.pids");
        let reserved_memory = self.fallback(
            "mem_reservation",
            extras.mem_reservation.map(|b| b.0),
            rsv.memory.map(|b| b.0),
            "reservations.memory",
        );
        if rsv.pids.is_some() {
            self.warn(
                "deploy.resources.reservations.pids",
                "Swarm reserves CPU and memory only; the pids reservation is left out",
                "use deploy.resources.limits.pids to cap the number of processes",
            );
        }
        let nano = |c: f64| (c * 1e9).round() as i64;
        let limits = Limit {
            nano_cpus: cpus.map(nano),
            memory_bytes: memory,
            pids,
        };
        let reservations = ResourceObject {
            nano_cpus: rsv.cpus.map(nano),
            memory_bytes: reserved_memory,
            ..Default::default()
        };
        let limits = (limits != Limit::default()).then_some(limits);
        let reservations = (reservations != ResourceObject::default()).then_some(reservations);
        (limits.is_some() || reservations.is_some()).then_some(TaskSpecResources {
            limits,
            reservations,
            ..Default::default()
        })
    }

    /// The `deploy.resources` value, else the service-level key's, with a
    /// warning either way when the service-level key is set.
    fn fallback<T: PartialEq + Copy>(
        &mut self,
        key: &str,
        own: Option<T>,
        deploy: Option<T>,
        deploy_key: &str,
    ) -> Option<T> {
        match (own, deploy) {
            (Some(_), None) => {
                self.warn(
                    key,
                    format!("`{key}` is mapped to deploy.resources.{deploy_key}"),
                    &format!("write it as deploy.resources.{deploy_key}"),
                );
                own
            }
            (Some(a), Some(b)) if a != b => {
                self.warn(
                    key,
                    format!("`{key}` is ignored: deploy.resources.{deploy_key} applies"),
                    &format!("remove `{key}`, or make it equal to deploy.resources.{deploy_key}"),
                );
                deploy
            }
            _ => deploy,
        }
    }

    /// `deploy.restart_policy`, else the service's `restart`: `no` -> none,
    /// `always` and `unless-stopped` -> any, `on-failure[:N]` -> on-failure
    /// at most N times. Neither: Swarm's default (any).
    fn restart_policy(&mut self) -> Option<TaskSpecRestartPolicy> {
        use TaskSpecRestartPolicyConditionEnum as C;
        let extras = self.svc.extras();
        let from_restart = extras.restart.map(|r| match r {
            Restart::No => (C::NONE, None),
            Restart::Always | Restart::UnlessStopped => (C::ANY, None),
            Restart::OnFailure(n) => (C::ON_FAILURE, n.map(i64::from)),
        });
        let Some(rp) = extras
            .deploy
            .as_ref()
            .and_then(|d| d.restart_policy.clone())
        else {
            return from_restart.map(|(condition, max)| TaskSpecRestartPolicy {
                condition: Some(condition),
                max_attempts: max,
                ..Default::default()
            });
        };
        let condition = match rp.condition.as_deref() {
            None => None,
            Some(c) => match c.parse::<C>() {
                Ok(C::EMPTY) | Err(_) => {
                    self.error(
                        "deploy.restart_policy.condition",
                        format!("restart condition `{c}` is not one Swarm knows"),
                        "use `none`, `on-failure` or `any`",
                    );
                    None
                }
                Ok(c) => Some(c),
            },
        };
        if let Some((restart, _)) = from_restart
            && restart != condition.unwrap_or(C::ANY)
        {
            self.warn(
                "restart",
                "`restart` is ignored: deploy.restart_policy applies",
                "remove `restart`, or make it agree with deploy.restart_policy",
            );
        }
        Some(TaskSpecRestartPolicy {
            condition,
            delay: rp.delay.map(|d| d.0),
            max_attempts: rp.max_attempts.map(|n| n as i64),
            window: rp.window.map(|d| d.0),
        })
    }

    fn placement(&mut self) -> Option<TaskSpecPlacement> {
        let deploy = self.svc.extras().deploy.clone().unwrap_or_default();
        let p = &deploy.placement;
        let preferences: Vec<TaskSpecPlacementPreferences> = p
            .preferences
            .iter()
            .filter_map(|x| x.spread.clone())
            .map(|spread| TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread {
                    spread_descriptor: Some(spread),
                }),
            })
            .collect();
        if p.max_replicas_per_node.is_some() && self.mode_name().starts_with("global") {
            self.warn(
                "deploy.placement.max_replicas_per_node",
                "max_replicas_per_node has no effect in global mode (one task per node)",
                "remove it, or use mode: replicated",
            );
        }
        let svc = self.svc;
        let platforms = svc.extras().platform.as_deref().map(|text| {
            let mut parts = text.splitn(3, '/');
            let os = parts.next().unwrap_or_default().to_string();
            let arch = parts.next().map(str::to_string);
            if let Some(variant) = parts.next() {
                self.warn(
                    "platform",
                    format!(
                        "Swarm places by OS and architecture only; variant `{variant}` is left out"
                    ),
                    "make sure the image's manifest has the variant the nodes need",
                );
            }
            vec![Platform {
                os: Some(os),
                architecture: arch,
            }]
        });
        let placement = TaskSpecPlacement {
            constraints: list(&p.constraints),
            preferences: (!preferences.is_empty()).then_some(preferences),
            max_replicas: p.max_replicas_per_node.map(|n| n as i64),
            platforms,
        };
        (placement != TaskSpecPlacement::default()).then_some(placement)
    }

    /// The service's networks by engine name (sorted, as docker does), each
    /// with the service name and its configured aliases.
    fn networks(&mut self) -> Option<Vec<NetworkAttachmentConfig>> {
        let (stack, svc) = (self.stack, self.svc);
        let mut out: Vec<NetworkAttachmentConfig> = Vec::new();
        for (key, cfg) in &svc.networks {
            let target = stack
                .networks
                .get(key)
                .map_or_else(|| key.clone(), |n| n.name.clone());
            // Aliases only on user-defined networks, as docker does.
            let user_defined = !matches!(target.as_str(), "host" | "bridge" | "none" | "default")
                && !target.starts_with("container:");
            if let Some(c) = cfg {
                let dropped: Vec<&str> = [
                    ("ipv4_address", c.ipv4_address.is_some()),
                    ("ipv6_address", c.ipv6_address.is_some()),
                    ("link_local_ips", !c.link_local_ips.is_empty()),
                    ("mac_address", c.mac_address.is_some()),
                    ("priority", c.priority.is_some()),
                    ("gw_priority", c.gw_priority.is_some()),
                ]
                .into_iter()
                .filter_map(|(k, set)| set.then_some(k))
                .collect();
                if !dropped.is_empty() {
                    self.warn(
                        &format!("networks.{key}"),
                        format!(
                            "a Swarm network attachment takes aliases and driver_opts only; {} left out",
                            dropped.join(", ")
                        ),
                        "Swarm assigns task addresses; reach the service by its name or an alias",
                    );
                }
            }
            out.push(NetworkAttachmentConfig {
                target: Some(target),
                aliases: user_defined.then(|| identity::aliases(svc, key)),
                driver_opts: cfg.as_ref().and_then(|c| map(&c.driver_opts)),
            });
        }
        out.sort_by(|a, b| a.target.cmp(&b.target));
        (!out.is_empty()).then_some(out)
    }

    fn log_driver(&mut self) -> Option<TaskSpecLogDriver> {
        let l = self.svc.extras().logging.as_ref()?;
        if l.driver.is_none() {
            if !l.options.is_empty() {
                self.warn(
                    "logging.options",
                    "Swarm takes log options only with a driver; they are left out and the daemon's default driver applies",
                    "name the driver too (`logging: {driver: json-file, options: ...}`)",
                );
            }
            return None;
        }
        Some(TaskSpecLogDriver {
            name: l.driver.clone(),
            options: map(&l.options),
        })
    }

    fn mode_name(&self) -> &str {
        self.svc
            .extras()
            .deploy
            .as_ref()
            .and_then(|d| d.mode.as_deref())
            .unwrap_or("replicated")
    }

    /// `deploy.mode` with `replicas` (`scale` wins, as it does for
    /// containers); replicated services get an explicit count (default 1).
    fn mode(&mut self) -> Option<ServiceSpecMode> {
        let svc = self.svc;
        let extras = svc.extras();
        let deploy_replicas = extras.deploy.as_ref().and_then(|d| d.replicas);
        let (replicas_key, replicas) = match (extras.scale, deploy_replicas) {
            (Some(n), _) => ("scale", Some(n)),
            (None, Some(n)) => ("deploy.replicas", Some(n)),
            _ => ("deploy.replicas", None),
        };
        if let Some(n) = replicas
            && n < 0
        {
            self.error(
                replicas_key,
                format!("{replicas_key} is {n}; a service runs zero or more replicas"),
                "use 0 to deploy the service with no task",
            );
        }
        let mode = self.mode_name().to_string();
        match mode.as_str() {
            "replicated" => Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated {
                    replicas: Some(replicas.unwrap_or(1)),
                }),
                ..Default::default()
            }),
            "replicated-job" => Some(ServiceSpecMode {
                replicated_job: Some(ServiceSpecModeReplicatedJob {
                    max_concurrent: replicas,
                    total_completions: replicas,
                }),
                ..Default::default()
            }),
            "global" | "global-job" => {
                if replicas.is_some() {
                    self.error(
                        replicas_key,
                        format!("{replicas_key} cannot be used with mode `{mode}`: a global service runs one task on every node"),
                        "remove it, or use mode: replicated",
                    );
                }
                let global = Some(HashMap::new());
                Some(if mode == "global" {
                    ServiceSpecMode {
                        global,
                        ..Default::default()
                    }
                } else {
                    ServiceSpecMode {
                        global_job: global,
                        ..Default::default()
                    }
                })
            }
            other => {
                self.error(
                    "deploy.mode",
                    format!("deploy mode `{other}` is not one Swarm knows"),
                    "use `replicated`, `global`, `replicated-job` or `global-job`",
                );
                None
            }
        }
    }

    /// The update settings shared by `update_config` and
    /// `rollback_config`: parallelism (1 unless given, as docker does),
    /// delay, monitor, max failure ratio; the failure action and order are
    /// the caller's.
    fn update_common(&mut self, key: &str, u: &UpdateConfig) -> ServiceSpecUpdateConfig {
        if let Some(r) = u.max_failure_ratio
            && !(0.0..=1.0).contains(&r)
        {
            self.error(
                &format!("deploy.{key}.max_failure_ratio"),
                format!("max_failure_ratio {r} is outside 0..1"),
                "write a fraction of the tasks, e.g. 0.1",
            );
        }
        ServiceSpecUpdateConfig {
            parallelism: Some(u.parallelism.map_or(1, |p| p as i64)),
            delay: u.delay.map(|d| d.0),
            monitor: u.monitor.map(|d| d.0),
            max_failure_ratio: u.max_failure_ratio,
            ..Default::default()
        }
    }

    /// A value of an enum the engine knows, or an error naming the key.
    fn parse_enum<E: std::str::FromStr + PartialEq>(
        &mut self,
        key: &str,
        value: Option<&str>,
        empty: E,
        allowed: &str,
    ) -> Option<E> {
        let v = value?;
        match v.parse::<E>() {
            Ok(e) if e != empty => Some(e),
            _ => {
                self.error(
                    key,
                    format!("`{v}` is not a value Swarm knows for {key}"),
                    &format!("use {allowed}"),
                );
                None
            }
        }
    }

    fn update_config(&mut self, u: &UpdateConfig) -> ServiceSpecUpdateConfig {
        use bollard::models::{
            ServiceSpecUpdateConfigFailureActionEnum as A, ServiceSpecUpdateConfigOrderEnum as O,
        };
        let mut c = self.update_common("update_config", u);
        c.failure_action = self.parse_enum(
            "deploy.update_config.failure_action",
            u.failure_action.as_deref(),
            A::EMPTY,
            "`continue`, `pause` or `rollback`",
        );
        c.order = self.parse_enum(
            "deploy.update_config.order",
            u.order.as_deref(),
            O::EMPTY,
            "`stop-first` or `start-first`",
        );
        c
    }

    fn rollback_config(&mut self, u: &UpdateConfig) -> ServiceSpecRollbackConfig {
        use bollard::models::{
            ServiceSpecRollbackConfigFailureActionEnum as A,
            ServiceSpecRollbackConfigOrderEnum as O,
        };
        let c = self.update_common("rollback_config", u);
        ServiceSpecRollbackConfig {
            parallelism: c.parallelism,
            delay: c.delay,
            monitor: c.monitor,
            max_failure_ratio: c.max_failure_ratio,
            failure_action: self.parse_enum(
                "deploy.rollback_config.failure_action",
                u.failure_action.as_deref(),
                A::EMPTY,
                "`continue` or `pause`",
            ),
            order: self.parse_enum(
                "deploy.rollback_config.order",
                u.order.as_deref(),
                O::EMPTY,
                "`stop-first` or `start-first`",
            ),
        }
    }

    /// `deploy.endpoint_mode` and the published ports (sorted, as docker
    /// does); None when the service sets neither.
    fn endpoint_spec(&mut self) -> Option<EndpointSpec> {
        let endpoint_mode = self
            .svc
            .extras()
            .deploy
            .as_ref()
            .and_then(|d| d.endpoint_mode.clone());
        let mode = self.parse_enum(
            "deploy.endpoint_mode",
            endpoint_mode
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            EndpointSpecModeEnum::EMPTY,
            "`vip` or `dnsrr`",
        );
        let mut ports: Vec<EndpointPortConfig> = Vec::new();
        let svc = self.svc;
        for p in &svc.ports {
            if let Some(c) = self.port(p, mode == Some(EndpointSpecModeEnum::DNSRR)) {
                ports.push(c);
            }
        }
        ports.sort_by_key(|p| {
            (
                p.published_port,
                p.target_port,
                p.protocol.map(|x| x.to_string()),
                p.publish_mode.map(|x| x.to_string()),
            )
        });
        (mode.is_some() || !ports.is_empty()).then(|| EndpointSpec {
            mode,
            ports: (!ports.is_empty()).then_some(ports),
        })
    }

    fn port(&mut self, p: &Port, dnsrr: bool) -> Option<EndpointPortConfig> {
        use EndpointPortConfigPublishModeEnum as M;
        let span = p.span;
        let shown = match &p.published {
            Some(pub_) => format!("{pub_}:{}", p.target),
            None => p.target.to_string(),
        };
        let publish_mode = match p.mode.as_str() {
            "ingress" | "" => M::INGRESS,
            "host" => M::HOST,
            other => {
                self.error_at(
                    "ports",
                    span,
                    format!("port {shown}: publish mode `{other}` is not one Swarm knows"),
                    "use `ingress` or `host`",
                );
                return None;
            }
        };
        if let Some(ip) = p.host_ip.as_deref()
            && !matches!(ip, "0.0.0.0" | "::" | "[::]")
        {
            let (message, help) = if publish_mode == M::INGRESS {
                (
                    format!(
                        "port {ip}:{shown}: Swarm's ingress publishes on every interface of every node and cannot bind {ip}"
                    ),
                    "drop the address to publish on every node, or use `mode: host` without an address and a firewall in front",
                )
            } else {
                (
                    format!(
                        "port {ip}:{shown}: Swarm publishes host-mode ports on every interface of the node and cannot bind {ip}"
                    ),
                    "drop the address to publish on every interface, or keep the port unpublished and reach the service over an overlay network",
                )
            };
            self.error_at("ports", span, message, help);
        }
        if dnsrr && publish_mode == M::INGRESS {
            self.error_at(
                "ports",
                span,
                format!(
                    "port {shown}: Swarm does not publish ingress ports of a service with endpoint_mode dnsrr"
                ),
                "publish it with `mode: host` (long syntax), or use endpoint_mode vip",
            );
        }
        let published_port = match p.published.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let range = text
                    .split_once('-')
                    .map_or(Some((text, text)), Some)
                    .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)));
                match range {
                    Some((a, b)) if a == b => (a != 0).then_some(i64::from(a)),
                    _ => {
                        self.error_at(
                            "ports",
                            span,
                            format!("port {shown}: Swarm publishes a target port on one published port, not a range"),
                            "write one published port per target port",
                        );
                        None
                    }
                }
            }
        };
        let protocol = match p.protocol.parse::<EndpointPortConfigProtocolEnum>() {
            Ok(EndpointPortConfigProtocolEnum::EMPTY) => None,
            Ok(proto) => Some(proto),
            Err(_) => {
                self.error_at(
                    "ports",
                    span,
                    format!(
                        "port {shown}: protocol `{}` is not one Swarm knows",
                        p.protocol
                    ),
                    "use `tcp`, `udp` or `sctp`",
                );
                None
            }
        };
        if p.app_protocol.is_some() {
            self.warn_at(
                "ports",
                span,
                format!("port {shown}: Swarm has no app_protocol; it is left out"),
                "remove app_protocol",
            );
        }
        Some(EndpointPortConfig {
            name: p.name.clone(),
            protocol,
            target_port: Some(i64::from(p.target)),
            published_port,
            publish_mode: Some(publish_mode),
        })
    }

    /// A warning for each key the spec above left out or could not honour.
    fn unsupported(&mut self) {
        let (stack, s) = (self.stack, self.svc);
        let extras = s.extras();
        if extras.build.is_some() && s.image.is_none() {
            let image = identity::image_ref(stack, s);
            self.warn(
                "build",
                format!(
                    "the image `{image}` is built on this machine only; Swarm nodes run images from a registry, so a node without it cannot start the task"
                ),
                "set `image:` to a registry reference (e.g. `registry.example:5000/app:1`) and push it after the build",
            );
        }
        let mut plain = |set: bool, key: &str, message: &str, help: &str| {
            if set {
                self.warn(key, message, help);
            }
        };
        plain(
            s.container_name.is_some(),
            "container_name",
            "Swarm names a service's containers itself (`<service>.<slot>.<task id>`); container_name is ignored",
            "remove it; other services reach this one by its service name",
        );
        plain(
            !extras.links.is_empty(),
            "links",
            "Swarm services have no links",
            "reach the service by its name on a shared network; add network aliases for other names",
        );
        plain(
            !extras.external_links.is_empty(),
            "external_links",
            "Swarm services have no links",
            "attach both to a shared (external) network and use the other's name",
        );
        plain(
            extras.network_mode.is_some(),
            "network_mode",
            "Swarm services join networks; they have no network_mode",
            "for the host's network, join the external network `host` (`networks: {host: {external: true}}`)",
        );
        plain(
            s.privileged,
            "privileged",
            "Swarm services cannot run privileged",
            "add the capabilities the service needs with cap_add",
        );
        plain(
            !extras.devices.is_empty(),
            "devices",
            "Swarm services cannot map devices (API 1.41)",
            "run this service as a container (`berth up` on the node that has the device)",
        );
        for (set, key) in [
            (extras.cpu_shares.is_some(), "cpu_shares"),
            (extras.cpuset.is_some(), "cpuset"),
            (extras.cpu_quota.is_some(), "cpu_quota"),
            (extras.cpu_period.is_some(), "cpu_period"),
            (extras.cpu_count.is_some(), "cpu_count"),
            (extras.cpu_percent.is_some(), "cpu_percent"),
            (extras.cpu_rt_period.is_some(), "cpu_rt_period"),
            (extras.cpu_rt_runtime.is_some(), "cpu_rt_runtime"),
        ] {
            plain(
                set,
                key,
                &format!("Swarm services limit CPU by a number of CPUs only; `{key}` is ignored"),
                "use deploy.resources.limits.cpus (and reservations.cpus)",
            );
        }
        plain(
            extras.blkio_config.is_some(),
            "blkio_config",
            "Swarm services cannot weight or throttle block I/O; blkio_config is ignored",
            "remove it, or run this service as a container",
        );
        plain(
            !extras.volumes_from.is_empty(),
            "volumes_from",
            "Swarm services cannot mount another container's volumes",
            "mount the same named volume in both services",
        );
        for (set, key) in [
            (extras.ipc.is_some(), "ipc"),
            (extras.pid.is_some(), "pid"),
            (extras.uts.is_some(), "uts"),
            (extras.userns_mode.is_some(), "userns_mode"),
            (extras.cgroup.is_some(), "cgroup"),
            (extras.cgroup_parent.is_some(), "cgroup_parent"),
        ] {
            plain(
                set,
                key,
                &format!("Swarm services have no `{key}` (API 1.41); it is ignored"),
                "remove it, or run this service as a container",
            );
        }
        plain(
            !extras.security_opt.is_empty(),
            "security_opt",
            "Swarm services take no security options on API 1.41 (seccomp, apparmor, no-new-privileges, labels); security_opt is ignored",
            "remove it, or run this service as a container",
        );
        plain(
            extras.shm_size.is_some(),
            "shm_size",
            "Swarm services have no shm_size (API 1.41); it is ignored",
            "mount a tmpfs at /dev/shm instead (`tmpfs: ['/dev/shm:size=64m']`)",
        );
        plain(
            !extras.expose.is_empty(),
            "expose",
            "Swarm has no exposed ports: every port of a task is reachable on its networks; expose is ignored",
            "remove it; publish with `ports` to reach it from outside",
        );
        plain(
            extras.oom_score_adj.is_some(),
            "oom_score_adj",
            "Swarm services take oom_score_adj from API 1.46 on; Docker 20.10 (API 1.41) ignores it",
            "remove it, or run this service as a container",
        );
        plain(
            extras.oom_kill_disable.is_some(),
            "oom_kill_disable",
            "Swarm services cannot disable the OOM killer; oom_kill_disable is ignored",
            "remove it, or run this service as a container",
        );
        plain(
            extras.memswap_limit.is_some(),
            "memswap_limit",
            "Swarm services limit swap from API 1.46 on; Docker 20.10 (API 1.41) ignores memswap_limit",
            "use deploy.resources.limits.memory",
        );
        plain(
            extras.mem_swappiness.is_some(),
            "mem_swappiness",
            "Swarm services set swappiness from API 1.46 on; Docker 20.10 (API 1.41) ignores mem_swappiness",
            "remove it",
        );
        plain(
            extras.mac_address.is_some(),
            "mac_address",
            "Swarm assigns its tasks' addresses; mac_address is ignored",
            "remove it",
        );
        plain(
            extras.runtime.is_some(),
            "runtime",
            "Swarm runs tasks with each node's default runtime; runtime is ignored",
            "set `default-runtime` in the daemon configuration of the nodes",
        );
        plain(
            extras.domainname.is_some(),
            "domainname",
            "Swarm services have no domainname; it is ignored",
            "set a fully qualified `hostname`, or `dns_search`",
        );
        plain(
            !extras.storage_opt.is_empty(),
            "storage_opt",
            "Swarm services have no storage options; storage_opt is ignored",
            "remove it, or run this service as a container",
        );
        plain(
            extras.annotations.is_some(),
            "annotations",
            "Swarm services have no OCI annotations; annotations are ignored",
            "use `labels` (on the containers) or `deploy.labels` (on the service)",
        );
        plain(
            extras.pull_policy.is_some(),
            "pull_policy",
            "Swarm nodes pull the image themselves when they start a task; pull_policy is ignored",
            "remove it; pin a tag or digest in `image:` to control what runs",
        );
        plain(
            extras
                .healthcheck
                .as_ref()
                .is_some_and(|h| h.start_interval.is_some()),
            "healthcheck.start_interval",
            "Swarm takes a healthcheck's start_interval from API 1.44 on; Docker 20.10 (API 1.41) ignores it",
            "remove it; interval applies from the start",
        );
        self.depends_on_warning();
        self.storage_warnings();
    }

    /// One warning for the `depends_on` entries (as written, not those
    /// that links imply) with `restart: true`, at the first one's span.
    /// Their conditions are kept: the plan creates or updates a service
    /// only after what it depends on has converged (healthy, where it has a
    /// health check). What Swarm has no notion of is restarting a service
    /// when its dependency is updated.
    fn depends_on_warning(&mut self) {
        let s = self.svc;
        let restarts = |name: &str| s.depends_on.get(name).is_some_and(|d| d.restart);
        let lost: Vec<&Edge> = s
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::DependsOn && restarts(&e.to))
            .collect();
        let Some(first) = lost.first() else {
            return;
        };
        let names: Vec<&str> = lost.iter().map(|e| e.to.as_str()).collect();
        self.warn_at(
            "depends_on",
            first.span,
            format!(
                "`restart: true` is ignored under Swarm: an update of {} does not restart {}",
                names.join(", "),
                s.name
            ),
            "drop `restart: true`, or change the dependent's spec with its dependency's so that both roll",
        );
    }

    fn storage_warnings(&mut self) {
        let s = self.svc;
        for v in &s.volumes {
            let span = v.span;
            match v.kind {
                MountType::Npipe | MountType::Cluster | MountType::Image => {
                    let kind = serde_json::to_value(v.kind)
                        .ok()
                        .and_then(|k| k.as_str().map(str::to_string))
                        .unwrap_or_default();
                    self.warn_at(
                        "volumes",
                        span,
                        format!("{}: a mount of type {kind} needs a newer engine (or Windows) than Docker 20.10; it is left out", v.target),
                        "use a volume or bind mount",
                    );
                }
                MountType::Bind => {
                    let src = v.source.clone().unwrap_or_default();
                    let b = v.bind.clone().unwrap_or_default();
                    if b.create_host_path {
                        self.warn_at(
                            "volumes",
                            span,
                            format!("{src}: Swarm does not create a missing bind source; the task fails on a node where it does not exist"),
                            "create the directory on every node that may run the service, or use a named volume",
                        );
                    }
                    if b.selinux.is_some() {
                        self.warn_at(
                            "volumes",
                            span,
                            format!("{src}: Swarm does not relabel bind sources (`z`/`Z`); it is ignored"),
                            "label the directory on the nodes (chcon), or use a named volume",
                        );
                    }
                }
                MountType::Volume => {
                    if v.volume.as_ref().is_some_and(|o| o.subpath.is_some()) {
                        self.warn_at(
                            "volumes",
                            span,
                            format!("{}: volume subpath needs API 1.45; Docker 20.10 mounts the whole volume", v.target),
                            "mount the volume and use the subdirectory's path in the container",
                        );
                    }
                }
                MountType::Tmpfs => {}
            }
        }
    }
}

/// `extra_hosts` (`host=ip`, as the model keeps them) in Swarm's
/// `IP host` form (hosts(5)).
fn hosts(service: &Service) -> Option<Vec<String>> {
    let extras = service.extras();
    (!extras.extra_hosts.is_empty()).then(|| {
        extras
            .extra_hosts
            .iter()
            .filter_map(|e| e.split_once('=').or_else(|| e.split_once(':')))
            .map(|(host, ip)| format!("{ip} {host}"))
            .collect()
    })
}
