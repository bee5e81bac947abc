//! Containers: list, inspect, create, start, stop, restart, remove, rename
//! and `docker update`. Each method sends the request the plan computed
//! (with [`spec`](crate::spec)) and returns the engine's answer as it is:
//! what "already stopped" or "already gone" means for a step is the plan's
//! rule (`plan::rules`), not this file's.

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerUpdateBody,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StartContainerOptions, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};

use std::collections::HashMap;

use super::{Engine, EngineError, Result, project_filter};

impl Engine {
    /// All containers (any state) labelled io.berth.project=<project>.
    pub async fn list_containers(&self, project: &str) -> Result<Vec<ContainerSummary>> {
        self.list_filtered(true, &project_filter(project)).await
    }

    /// The containers of any project that carry the label `key`; stopped
    /// ones too with `all` (`berth ls`).
    pub async fn list_labelled(&self, key: &str, all: bool) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("label".to_string(), vec![key.to_string()])]);
        self.list_filtered(all, &filters).await
    }

    /// The containers that match `filters`; stopped ones too with `all`.
    ///
    /// A filter the engine does not know (podman 4.3 has no `publish`) is
    /// applied here instead, when berth knows how ([`matches_locally`]): the
    /// list is asked again without it and its answer filtered.
    async fn list_filtered(
        &self,
        all: bool,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<ContainerSummary>> {
        let mut sent = filters.clone();
        let mut here: Vec<(String, Vec<String>)> = Vec::new();
        loop {
            let opts = ListContainersOptionsBuilder::new()
                .all(all)
                .filters(&sent)
                .build();
            match self.docker.list_containers(Some(opts)).await {
                Ok(listed) => {
                    return Ok(listed
                        .into_iter()
                        .filter(|c| here.iter().all(|(k, v)| matches_locally(k, v, c)))
                        .collect());
                }
                Err(e) => {
                    let e = self.error(e);
                    let Some(key) = unknown_filter(&e, &sent) else {
                        return Err(e);
                    };
                    let values = sent.remove(&key).unwrap_or_default();
                    here.push((key, values));
                }
            }
        }
    }

    /// The containers (any state) of a Swarm service's tasks on this engine,
    /// by the label the swarm puts on them: they are still listed for a
    /// moment after the service and its tasks are gone.
    pub async fn service_containers(&self, service_id: &str) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("com.docker.swarm.service.id={service_id}")],
        )]);
        self.list_filtered(true, &filters).await
    }

    /// Running containers of any project that publish one of `ports`
    /// (`8080/tcp`, `8080-8082/udp`) on the host.
    pub async fn list_publishing(&self, ports: &[String]) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("publish".to_string(), ports.to_vec())]);
        self.list_filtered(false, &filters).await
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// Creates (does not start) a container named `name`; returns its id.
    pub async fn create_container(
        &self,
        name: &str,
        platform: Option<&str>,
        body: &ContainerCreateBody,
    ) -> Result<String> {
        let mut opts = CreateContainerOptionsBuilder::new().name(name);
        if let Some(p) = platform {
            opts = opts.platform(p);
        }
        Ok(self
            .docker
            .create_container(Some(opts.build()), body.clone())
            .await
            .map_err(|e| self.error(e))?
            .id)
    }

    /// Extracts `tar` at `/` in the container (the archive API).
    pub async fn upload_to_container(&self, id: &str, tar: Vec<u8>) -> Result<()> {
        let opts = UploadToContainerOptionsBuilder::new().path("/").build();
        self.docker
            .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.error(e))
    }

    /// 304 (already started) is Ok; bollard already counts it a success.
    pub async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    /// 304 (already stopped) is Ok; bollard counts it a success.
    pub async fn stop_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = StopContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        self.docker
            .stop_container(id, Some(opts.build()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Stops (within `timeout_s`, else the container's own grace period)
    /// and starts again; a stopped container is simply started.
    pub async fn restart_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = RestartContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        self.docker
            .restart_container(id, Some(opts.build()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Anonymous volumes go with the container, as in compose.
    pub async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::new()
            .force(force)
            .v(true)
            .build();
        self.docker
            .remove_container(id, Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    pub async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let opts = RenameContainerOptionsBuilder::new().name(name).build();
        self.docker
            .rename_container(id, opts)
            .await
            .map_err(|e| self.error(e))
    }

    /// docker update: cpu/memory/blkio/pids limits and restart policy. See
    /// [`spec::update`](crate::spec::update) for what Docker 20.10 cannot
    /// change this way.
    pub async fn update_container(&self, id: &str, body: &ContainerUpdateBody) -> Result<()> {
        self.docker
            .update_container(id, body.clone())
            .await
            .map_err(|e| self.error(e))
    }
}

/// The filter of `sent` that `e` says the engine does not know, when berth
/// can apply it itself. podman answers "publish is an invalid filter" (500);
/// Docker "invalid filter 'publish'" (400).
fn unknown_filter(e: &EngineError, sent: &HashMap<String, Vec<String>>) -> Option<String> {
    let EngineError::Api { message, .. } = e else {
        return None;
    };
    sent.keys()
        .find(|k| {
            LOCAL_FILTERS.contains(&k.as_str())
                && (message.contains(&format!("{k} is an invalid filter"))
                    || message.contains(&format!("invalid filter '{k}'")))
        })
        .cloned()
}

/// The container list filters [`matches_locally`] knows.
const LOCAL_FILTERS: &[&str] = &["publish"];

/// Whether `c` passes the list filter `key` with any of `values`, as the
/// engine would have decided it.
fn matches_locally(key: &str, values: &[String], c: &ContainerSummary) -> bool {
    match key {
        "publish" => values.iter().any(|v| publishes(v, c)),
        _ => true,
    }
}

/// Docker's `publish` filter: `8080`, `8080/udp`, `8080-8082/tcp`; a port
/// without a protocol is tcp.
fn publishes(value: &str, c: &ContainerSummary) -> bool {
    let (range, proto) = value.split_once('/').unwrap_or((value, "tcp"));
    let (low, high) = range.split_once('-').unwrap_or((range, range));
    let (Ok(low), Ok(high)) = (low.parse::<u16>(), high.parse::<u16>()) else {
        return false;
    };
    c.ports.iter().flatten().any(|p| {
        let same_proto = p.typ.map_or(proto == "tcp", |t| {
            t.to_string().eq_ignore_ascii_case(proto)
        });
        p.public_port.is_some_and(|n| (low..=high).contains(&n)) && same_proto
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{PortSummary, PortSummaryTypeEnum};

    fn publishing(port: u16, typ: PortSummaryTypeEnum) -> ContainerSummary {
        ContainerSummary {
            ports: Some(vec![PortSummary {
                ip: Some("127.0.0.1".into()),
                private_port: 80,
                public_port: Some(port),
                typ: Some(typ),
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn the_publish_filter_matches_as_dockers_does() {
        let tcp = publishing(8080, PortSummaryTypeEnum::TCP);
        let udp = publishing(8080, PortSummaryTypeEnum::UDP);
        let f = |v: &[&str], c: &ContainerSummary| {
            let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            matches_locally("publish", &v, c)
        };
        assert!(f(&["8080/tcp"], &tcp));
        assert!(f(&["8080"], &tcp), "no protocol is tcp");
        assert!(!f(&["8080"], &udp));
        assert!(f(&["8080/udp"], &udp));
        assert!(f(&["8079-8081/tcp"], &tcp));
        assert!(!f(&["8081-8090/tcp"], &tcp));
        assert!(f(&["9000/tcp", "8080/tcp"], &tcp), "any of the values");
        assert!(!f(&["8080/tcp"], &ContainerSummary::default()));
    }

    #[test]
    fn only_a_filter_berth_can_apply_falls_back() {
        let sent = HashMap::from([
            ("publish".to_string(), vec!["80/tcp".to_string()]),
            ("label".to_string(), vec!["a=b".to_string()]),
        ]);
        let api = |status, message: &str| EngineError::Api {
            status,
            message: message.into(),
        };
        let podman = api(500, "publish is an invalid filter");
        assert_eq!(unknown_filter(&podman, &sent).as_deref(), Some("publish"));
        let docker = api(400, "invalid filter 'publish'");
        assert_eq!(unknown_filter(&docker, &sent).as_deref(), Some("publish"));
        assert_eq!(
            unknown_filter(&api(500, "label is an invalid filter"), &sent),
            None
        );
        assert_eq!(unknown_filter(&api(500, "no space left"), &sent), None);
    }
}
