//! The tables `berth ps` prints: a row per container (service, container,
//! state, health, ports); with `--swarm` a row per Swarm service, then its
//! tasks, each named as `logs --swarm` prefixes its lines ([`task_label`]),
//! and the same rows as JSON. The containers' JSON, in compose's shape, is
//! [`super::ps_json`]'s.

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigPublishModeEnum, EndpointSpecModeEnum,
};

use crate::engine::clock::timestamp_secs;
use crate::observe::{ContainerState, ServiceState, SwarmService, TaskState};

/// One container's row of the table.
#[derive(Debug)]
struct Row {
    service: String,
    name: String,
    state: String,
    health: String,
    ports: String,
}

/// The containers' table, ordered by service, then name. `remote`: the
/// engine's host when it is not this machine, shown in place of the
/// wildcard address of a published port (that port is open there, not
/// here); a port on a named address keeps it.
pub fn container_table<'a>(
    containers: impl IntoIterator<Item = &'a ContainerState>,
    remote: Option<&str>,
) -> String {
    let mut rows: Vec<Row> = containers.into_iter().map(|c| row(c, remote)).collect();
    rows.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
    table(&rows)
}

fn row(c: &ContainerState, remote: Option<&str>) -> Row {
    Row {
        service: c.service.clone().unwrap_or_default(),
        name: c.name.clone(),
        state: c.status.as_str().to_string(),
        health: c.health.map(|h| h.as_str()).unwrap_or_default().to_string(),
        ports: ports(c, remote),
    }
}

/// `127.0.0.1:32768->8080/tcp, 9000/tcp`, as `docker ps` prints them.
fn ports(c: &ContainerState, remote: Option<&str>) -> String {
    let wildcard = |ip: &str| matches!(ip, "0.0.0.0" | "::" | "");
    let ports: Vec<String> = c
        .ports
        .iter()
        .map(|p| match (p.public, p.ip.as_deref()) {
            (Some(public), Some(ip)) if wildcard(ip) && remote.is_some() => format!(
                "{}:{public}->{}/{}",
                remote.unwrap_or_default(),
                p.private,
                p.protocol
            ),
            (Some(public), Some(ip)) => format!("{ip}:{public}->{}/{}", p.private, p.protocol),
            (Some(public), None) => format!("{public}->{}/{}", p.private, p.protocol),
            (None, _) => format!("{}/{}", p.private, p.protocol),
        })
        .collect();
    ports.join(", ")
}

fn table(rows: &[Row]) -> String {
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| [&*r.service, &*r.name, &*r.state, &*r.health, &*r.ports])
        .collect();
    grid(["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS"], &cells)
}

/// Columns padded to their widest cell, three spaces apart, no trailing
/// spaces.
pub(super) fn grid<const N: usize>(header: [&str; N], cells: &[[&str; N]]) -> String {
    let mut widths = header.map(str::len);
    for c in cells {
        for (w, cell) in widths.iter_mut().zip(c) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(&header).chain(cells) {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// One service of `ps --swarm`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceRow {
    /// The service's key in the stack file.
    #[serde(rename = "Service")]
    pub service: String,
    /// `<project>_<service>`, the Swarm service's name.
    #[serde(rename = "Name")]
    pub name: String,
    /// `replicated`, `global`, `replicated-job` or `global-job`.
    #[serde(rename = "Mode")]
    pub mode: String,
    /// `running/desired` (jobs: and how many completed).
    #[serde(rename = "Replicas")]
    pub replicas: String,
    #[serde(rename = "Running")]
    pub running: u64,
    #[serde(rename = "Desired")]
    pub desired: u64,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "Ports")]
    pub ports: String,
    #[serde(rename = "Tasks")]
    pub tasks: Vec<TaskRow>,
}

/// One task of a service in `ps --swarm`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskRow {
    /// `service.slot`, or `service.node` for a global service's task.
    #[serde(rename = "Task")]
    pub task: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Slot")]
    pub slot: Option<u64>,
    #[serde(rename = "Node")]
    pub node: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "DesiredState")]
    pub desired: String,
    /// When it entered its state (RFC 3339).
    #[serde(rename = "Since")]
    pub since: String,
    #[serde(rename = "Error")]
    pub error: String,
}

/// The service's key in the stack file: its label, else its name without
/// the project's prefix.
pub fn service_key(s: &ServiceState, project: &str) -> String {
    s.service.clone().unwrap_or_else(|| {
        s.name
            .strip_prefix(&format!("{project}_"))
            .unwrap_or(&s.name)
            .to_string()
    })
}

/// `web.1`, or `web.<node>` for a global service's task: how `ps --swarm`
/// names a task and `logs --swarm` prefixes its lines.
pub fn task_label(key: &str, t: &TaskState) -> String {
    match t.slot {
        Some(slot) => format!("{key}.{slot}"),
        None => format!("{key}.{}", t.node),
    }
}

/// Whether `ps --swarm` lists a task without `--all`: the swarm wants it
/// running (or, for a job, complete).
fn wanted(t: &TaskState) -> bool {
    t.desired == "running" || t.desired == "complete"
}

/// A row per service, ordered by its key in the stack file; its tasks
/// only those the swarm wants running unless `all`.
pub fn service_rows(services: &[SwarmService], project: &str, all: bool) -> Vec<ServiceRow> {
    let mut rows: Vec<ServiceRow> = services
        .iter()
        .map(|svc| service_row(svc, project, all))
        .collect();
    rows.sort_by(|a, b| a.service.cmp(&b.service));
    rows
}

fn service_row(svc: &SwarmService, project: &str, all: bool) -> ServiceRow {
    let key = service_key(&svc.state, project);
    let tasks = &svc.tasks;
    let count = |f: &dyn Fn(&TaskState) -> bool| tasks.iter().filter(|t| f(t)).count() as u64;
    let running = count(&|t| t.desired == "running" && t.state == "running");
    let meant = count(&|t| t.desired == "running");
    let completed = count(&|t| t.state == "complete");
    let mode = svc.state.spec.mode.clone().unwrap_or_default();
    let positive =
        |n: Option<i64>, default: u64| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(default);
    let (name, desired, done) = if mode.global.is_some() {
        ("global", meant, None)
    } else if let Some(job) = &mode.replicated_job {
        let concurrent = positive(job.max_concurrent, 1);
        let total = positive(job.total_completions, concurrent);
        (
            "replicated-job",
            concurrent,
            Some(format!("{completed}/{total}")),
        )
    } else if mode.global_job.is_some() {
        ("global-job", meant, Some(completed.to_string()))
    } else {
        let replicas = mode.replicated.as_ref().and_then(|r| r.replicas);
        ("replicated", positive(replicas, 1), None)
    };
    let mut replicas = format!("{running}/{desired}");
    if let Some(done) = done {
        replicas.push_str(&format!(" ({done} completed)"));
    }
    let image = svc
        .state
        .spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref()?.image.clone())
        .unwrap_or_default();
    ServiceRow {
        name: svc.state.name.clone(),
        mode: name.to_string(),
        replicas,
        running,
        desired,
        image: image.split('@').next().unwrap_or_default().to_string(),
        ports: swarm_ports(&svc.ports),
        tasks: tasks
            .iter()
            .filter(|t| all || wanted(t))
            .map(|t| TaskRow {
                task: task_label(&key, t),
                id: t.id.clone(),
                slot: t.slot,
                node: t.node.clone(),
                state: t.state.clone(),
                desired: t.desired.clone(),
                since: t.since.clone(),
                error: t.error.clone(),
            })
            .collect(),
        service: key,
    }
}

/// `*:8080->80/tcp` through the ingress mesh, `8080->80/tcp (host)` on the
/// node a task runs on.
fn swarm_ports(ports: &[EndpointPortConfig]) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| {
            let target = p.target_port.unwrap_or_default();
            let protocol = p
                .protocol
                .map(|p| p.to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "tcp".into());
            match (p.published_port.filter(|&n| n > 0), host_mode(p)) {
                (None, _) => format!("{target}/{protocol}"),
                (Some(public), true) => format!("{public}->{target}/{protocol} (host)"),
                (Some(public), false) => format!("*:{public}->{target}/{protocol}"),
            }
        })
        .collect();
    ports.join(", ")
}

fn host_mode(p: &EndpointPortConfig) -> bool {
    p.publish_mode == Some(EndpointPortConfigPublishModeEnum::HOST)
}

/// How long ago `since` was, in its largest unit: `12s`, `3m`, `5h`, `2d`.
fn age(since: &str, now: i64) -> Option<String> {
    let secs = (now - timestamp_secs(since)?).max(0);
    Some(match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    })
}

/// The services, then (after a blank line) their tasks.
pub fn swarm_table(rows: &[ServiceRow], now: i64) -> String {
    let services: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            [
                &*r.service,
                &*r.name,
                &*r.mode,
                &*r.replicas,
                &*r.image,
                &*r.ports,
            ]
        })
        .collect();
    let mut out = grid(
        ["SERVICE", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"],
        &services,
    );
    let states: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.tasks
                .iter()
                .map(|t| match age(&t.since, now) {
                    Some(age) => format!("{} for {age}", t.state),
                    None => t.state.clone(),
                })
                .collect()
        })
        .collect();
    let tasks: Vec<[&str; 4]> = rows
        .iter()
        .zip(&states)
        .flat_map(|(r, states)| {
            r.tasks
                .iter()
                .zip(states)
                .map(|(t, state)| [&*t.task, &*t.node, &**state, &*t.error])
        })
        .collect();
    if !tasks.is_empty() {
        out.push('\n');
        out.push_str(&grid(["TASK", "NODE", "STATE", "ERROR"], &tasks));
    }
    out
}

/// `ps --swarm --format json`: one service per line, its tasks in `Tasks`.
pub fn swarm_json(rows: &[ServiceRow]) -> String {
    rows.iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).unwrap_or_default()))
        .collect()
}

/// The notes, each after a blank line, for the services whose published
/// ports an engine without IPVS cannot route; whether this host's engine
/// has IPVS is the caller's to know.
pub fn ingress_notes(services: &[SwarmService]) -> String {
    services
        .iter()
        .filter_map(ingress_note)
        .map(|note| format!("\n{note}\n"))
        .collect()
}

/// The note for a service whose ports go through the ingress mesh to a
/// virtual IP, which an engine without IPVS cannot route.
fn ingress_note(svc: &SwarmService) -> Option<String> {
    let mode = svc.state.spec.endpoint_spec.as_ref().and_then(|e| e.mode);
    if matches!(mode, Some(EndpointSpecModeEnum::DNSRR)) {
        return None;
    }
    let ingress: Vec<&EndpointPortConfig> = svc
        .ports
        .iter()
        .filter(|p| !host_mode(p) && p.published_port.is_some_and(|n| n > 0))
        .collect();
    let first = ingress.first()?;
    Some(format!(
        "note: {} publishes port {} through the ingress mesh, to a virtual IP: this host has \
         no IPVS (no /proc/net/ip_vs), so such ports do not answer here\n  \
         help: give the service `deploy: {{endpoint_mode: dnsrr}}` and its ports `mode: host`",
        svc.state.name,
        first.published_port.unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_engine_s_host_stands_for_the_wildcard_address_of_a_published_port() {
        let port = |ip: &str, public, private| bollard::models::PortSummary {
            ip: Some(ip.to_string()),
            public_port: Some(public),
            private_port: private,
            typ: Some(bollard::models::PortSummaryTypeEnum::TCP),
        };
        let c = crate::observe::container_from_summary(&bollard::models::ContainerSummary {
            ports: Some(vec![port("0.0.0.0", 8080, 80), port("127.0.0.1", 9090, 90)]),
            ..Default::default()
        });
        assert_eq!(
            ports(&c, Some("server")),
            "server:8080->80/tcp, 127.0.0.1:9090->90/tcp"
        );
        assert_eq!(
            ports(&c, None),
            "0.0.0.0:8080->80/tcp, 127.0.0.1:9090->90/tcp"
        );
    }

    #[test]
    fn table_aligns_columns_and_leaves_no_trailing_spaces() {
        let rows = vec![Row {
            service: "db".into(),
            name: "p-db-1".into(),
            state: "running".into(),
            health: "healthy".into(),
            ports: "127.0.0.1:5432->5432/tcp".into(),
        }];
        assert_eq!(
            table(&rows),
            "SERVICE   CONTAINER   STATE     HEALTH    PORTS\n\
             db        p-db-1      running   healthy   127.0.0.1:5432->5432/tcp\n"
        );
    }

    fn task(slot: Option<u64>, state: &str, desired: &str) -> TaskState {
        TaskState {
            id: format!("t{}{state}", slot.unwrap_or(0)),
            slot,
            node_id: "n1".into(),
            node: "vm".into(),
            state: state.into(),
            desired: desired.into(),
            since: "1970-01-01T00:00:00Z".into(),
            error: String::new(),
            created: String::new(),
        }
    }

    fn service(
        spec: bollard::models::ServiceSpec,
        ports: Vec<EndpointPortConfig>,
        tasks: Vec<TaskState>,
    ) -> SwarmService {
        SwarmService {
            state: ServiceState {
                id: "s1".into(),
                name: "p_web".into(),
                version: 1,
                project: Some("p".into()),
                service: Some("web".into()),
                hash: None,
                spec,
            },
            ports,
            tasks,
        }
    }

    fn port(published: i64, target: i64, host: bool) -> EndpointPortConfig {
        EndpointPortConfig {
            published_port: Some(published),
            target_port: Some(target),
            publish_mode: Some(if host {
                EndpointPortConfigPublishModeEnum::HOST
            } else {
                EndpointPortConfigPublishModeEnum::INGRESS
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_swarm_service_counts_running_of_desired_and_lists_wanted_tasks() {
        use bollard::models::{
            ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
            TaskSpecContainerSpec,
        };
        let spec = ServiceSpec {
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated { replicas: Some(2) }),
                ..Default::default()
            }),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some("busybox:1.36@sha256:abc".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut failed = task(Some(2), "failed", "shutdown");
        failed.error = "task: non-zero exit (1)".into();
        let svc = service(
            spec,
            vec![port(8080, 80, false)],
            vec![
                task(Some(1), "running", "running"),
                task(Some(2), "starting", "running"),
                failed,
            ],
        );
        let row = service_row(&svc, "p", false);
        assert_eq!(
            (&*row.service, &*row.mode, &*row.replicas, &*row.image),
            ("web", "replicated", "1/2", "busybox:1.36")
        );
        assert_eq!(row.ports, "*:8080->80/tcp");
        assert_eq!(row.tasks.len(), 2, "the failed task only with --all");
        assert_eq!(service_row(&svc, "p", true).tasks.len(), 3);
        assert_eq!(
            swarm_table(&[service_row(&svc, "p", true)], 90),
            "SERVICE   NAME    MODE         REPLICAS   IMAGE          PORTS\n\
             web       p_web   replicated   1/2        busybox:1.36   *:8080->80/tcp\n\
             \n\
             TASK    NODE   STATE             ERROR\n\
             web.1   vm     running for 1m\n\
             web.2   vm     starting for 1m\n\
             web.2   vm     failed for 1m     task: non-zero exit (1)\n"
        );
    }

    #[test]
    fn global_tasks_are_named_by_node_and_ports_by_mode() {
        let t = task(None, "running", "running");
        assert_eq!(task_label("agent", &t), "agent.vm");
        assert_eq!(
            task_label("web", &task(Some(3), "running", "running")),
            "web.3"
        );
        assert_eq!(
            swarm_ports(&[port(8080, 80, true), port(53, 53, false)]),
            "8080->80/tcp (host), *:53->53/tcp"
        );
        assert_eq!(age("1970-01-01T00:00:00Z", 7200).as_deref(), Some("2h"));
        assert_eq!(age("", 7200), None);
    }

    #[test]
    fn only_an_ingress_port_on_a_virtual_ip_gets_the_ipvs_note() {
        use bollard::models::{EndpointSpec, ServiceSpec};
        let vip = service(ServiceSpec::default(), vec![port(8080, 80, false)], vec![]);
        let note = ingress_note(&vip).expect("a note");
        assert!(note.contains("p_web publishes port 8080"), "{note}");
        assert!(note.contains("endpoint_mode: dnsrr"), "{note}");
        let host = service(ServiceSpec::default(), vec![port(8080, 80, true)], vec![]);
        assert_eq!(ingress_note(&host), None);
        let dnsrr = ServiceSpec {
            endpoint_spec: Some(EndpointSpec {
                mode: Some(EndpointSpecModeEnum::DNSRR),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            ingress_note(&service(dnsrr, vec![port(8080, 80, false)], vec![])),
            None
        );
    }
}
