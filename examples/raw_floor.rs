//! The raw engine floor for `bench/up.sh`: the engine work a correct `up` or
//! `down` of a stack cannot avoid, done straight through the API, as berth
//! does it but with nothing else: no stack file to load, nothing to observe
//! or plan, no progress output. What no orchestrator can beat.
//!
//!     raw_floor up SPEC.json     # create volumes + networks, then create+start every container
//!     raw_floor down SPEC.json   # stop+remove every container, then the networks
//!     raw_floor clean PROJECT    # force-remove containers, networks and volumes
//!
//! `up` creates the volumes and the user-defined bridge networks (all at
//! once), then creates every container attached to its network, with its
//! aliases, in the create request itself (`NetworkingConfig`, as berth and
//! compose do: no separate connect call), and starts it as soon as it is
//! created and what it `depends_on` has started. `down` stops each container
//! (SIGTERM; 10 s grace, as compose) once what depends on it has stopped,
//! removes it, then removes the networks; volumes stay, as with `down`. In
//! both, at most `RAW_PARALLEL` containers are in flight (default 8; 0 means
//! all at once). Without `depends_on` every container goes as soon as a slot
//! is free; with it, the start (stop) order is the one any tool must keep.
//!
//! SPEC.json (written by bench/up.sh):
//!     {"project": "p", "networks": ["p_net"], "volumes": ["p_data"],
//!      "containers": [{"name": "p-web-1", "image": "...", "cmd": ["sh", "-c", "..."],
//!                      "network": "p_net", "aliases": ["web"], "binds": ["p_data:/data"],
//!                      "depends_on": ["p-db-1"]}]}
//!
//! Everything it creates carries the label `io.berth.bench.raw=<project>`.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
    RemoveContainerOptions, RemoveVolumeOptions, StartContainerOptions, StopContainerOptions,
};
use futures_util::future::try_join_all;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use tokio::sync::watch;

const LABEL: &str = "io.berth.bench.raw";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Deserialize)]
struct Spec {
    project: String,
    #[serde(default)]
    networks: Vec<String>,
    #[serde(default)]
    volumes: Vec<String>,
    containers: Vec<ContainerSpec>,
}

#[derive(Deserialize)]
struct ContainerSpec {
    name: String,
    image: String,
    cmd: Vec<String>,
    network: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    binds: Vec<String>,
    /// Names of containers that must have started before this one starts.
    #[serde(default)]
    depends_on: Vec<String>,
}

fn labels(project: &str) -> HashMap<String, String> {
    HashMap::from([(LABEL.to_string(), project.to_string())])
}

/// For each container (by index), the indexes of those it depends on, and
/// an order in which every container comes after those.
fn dependencies(spec: &Spec) -> Result<(Vec<Vec<usize>>, Vec<usize>), Error> {
    let index: HashMap<&str, usize> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let deps = spec
        .containers
        .iter()
        .map(|c| {
            c.depends_on
                .iter()
                .map(|d| {
                    index
                        .get(d.as_str())
                        .copied()
                        .ok_or_else(|| format!("{}: unknown dependency {d}", c.name).into())
                })
                .collect::<Result<Vec<_>, Error>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Depth-first; 1 = on the current path, 2 = placed.
    fn visit(i: usize, deps: &[Vec<usize>], mark: &mut [u8], order: &mut Vec<usize>) -> bool {
        match mark[i] {
            2 => return true,
            1 => return false,
            _ => {}
        }
        mark[i] = 1;
        if !deps[i].iter().all(|&d| visit(d, deps, mark, order)) {
            return false;
        }
        mark[i] = 2;
        order.push(i);
        true
    }
    let mut mark = vec![0u8; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    for i in 0..deps.len() {
        if !visit(i, &deps, &mut mark, &mut order) {
            return Err("depends_on has a cycle".into());
        }
    }
    Ok((deps, order))
}

/// One flag per container, raised once it has started (up) or stopped (down).
struct Gates(Vec<watch::Sender<bool>>);

impl Gates {
    fn new(n: usize) -> Self {
        Gates((0..n).map(|_| watch::channel(false).0).collect())
    }

    async fn wait(&self, ids: &[usize]) {
        for &i in ids {
            // The senders live as long as self: wait_for cannot fail.
            let _ = self.0[i].subscribe().wait_for(|done| *done).await;
        }
    }

    fn open(&self, i: usize) {
        self.0[i].send_replace(true);
    }
}

/// Runs `job` for every index of `order` with at most `parallelism()` in
/// flight, taking them in that order. A job waiting on the gates of jobs
/// earlier in `order` cannot deadlock: those already hold a slot or are done.
async fn run_all<F, Fut>(order: &[usize], job: F) -> Result<(), Error>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    stream::iter(order.iter().map(|&i| job(i)))
        .buffer_unordered(parallelism())
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

async fn up(docker: &Docker, spec: &Spec) -> Result<(), Error> {
    let (deps, order) = dependencies(spec)?;
    let p = &spec.project;
    let nets = spec.networks.iter().map(|n| async move {
        docker
            .create_network(NetworkCreateRequest {
                name: n.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels(p)),
                ..Default::default()
            })
            .await
            .map(|_| ())
    });
    let vols = spec.volumes.iter().map(|v| async move {
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(v.clone()),
                labels: Some(labels(p)),
                ..Default::default()
            })
            .await
            .map(|_| ())
    });
    // Containers need their network and volumes; those two kinds need nothing.
    tokio::try_join!(try_join_all(nets), try_join_all(vols))?;
    let started = Gates::new(spec.containers.len());
    let (started, deps) = (&started, &deps);
    run_all(&order, |i| async move {
        let c = &spec.containers[i];
        let body = ContainerCreateBody {
            image: Some(c.image.clone()),
            cmd: Some(c.cmd.clone()),
            labels: Some(labels(p)),
            host_config: Some(HostConfig {
                binds: (!c.binds.is_empty()).then(|| c.binds.clone()),
                network_mode: Some(c.network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    c.network.clone(),
                    EndpointSettings {
                        aliases: Some(c.aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(c.name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await?;
        started.wait(&deps[i]).await;
        docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await?;
        started.open(i);
        Ok(())
    })
    .await
}

/// Stop (SIGTERM, 10 s grace, as compose) and remove every container of the
/// spec, dependents first, then its networks; volumes stay, as with `down`.
async fn down(docker: &Docker, spec: &Spec) -> Result<(), Error> {
    let (deps, mut order) = dependencies(spec)?;
    let mut dependents = vec![Vec::new(); deps.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    order.reverse();
    let stopped = Gates::new(spec.containers.len());
    let (stopped, dependents) = (&stopped, &dependents);
    run_all(&order, |i| async move {
        let name = &spec.containers[i].name;
        stopped.wait(&dependents[i]).await;
        docker
            .stop_container(
                name,
                Some(StopContainerOptions {
                    t: Some(10),
                    ..Default::default()
                }),
            )
            .await?;
        stopped.open(i);
        docker
            .remove_container(name, None::<RemoveContainerOptions>)
            .await?;
        Ok(())
    })
    .await?;
    try_join_all(
        spec.networks
            .iter()
            .map(|n| async move { docker.remove_network(n).await }),
    )
    .await?;
    Ok(())
}

/// Containers in flight at once: `RAW_PARALLEL`, default 8, 0 for all.
fn parallelism() -> usize {
    match std::env::var("RAW_PARALLEL").ok().map(|v| v.parse()) {
        Some(Ok(0)) => usize::MAX,
        Some(Ok(n)) => n,
        _ => 8,
    }
}

fn label_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL}={project}")])])
}

/// Force-remove everything labelled with the project, whatever state it is in.
async fn clean(docker: &Docker, project: &str) -> Result<(), Error> {
    let list = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(project)),
            ..Default::default()
        }))
        .await?;
    try_join_all(list.into_iter().filter_map(|c| c.id).map(|id| async move {
        docker
            .remove_container(
                &id,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
    }))
    .await?;
    let nets = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(label_filter(project)),
        }))
        .await?;
    try_join_all(
        nets.into_iter()
            .filter_map(|n| n.id)
            .map(|id| async move { docker.remove_network(&id).await }),
    )
    .await?;
    let vols = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(label_filter(project)),
        }))
        .await?;
    for v in vols.volumes.unwrap_or_default() {
        docker
            .remove_volume(&v.name, Some(RemoveVolumeOptions { force: true }))
            .await?;
    }
    Ok(())
}

fn read_spec(path: &str) -> Result<Spec, Error> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

async fn run(args: &[String]) -> Result<(), Error> {
    let docker = Docker::connect_with_defaults()?;
    match args {
        [cmd, spec] if cmd == "up" => up(&docker, &read_spec(spec)?).await,
        [cmd, spec] if cmd == "down" => down(&docker, &read_spec(spec)?).await,
        [cmd, project] if cmd == "clean" => clean(&docker, project).await,
        _ => Err("usage: raw_floor up SPEC.json | down SPEC.json | clean PROJECT".into()),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args).await {
        eprintln!("raw_floor: {e}");
        std::process::exit(1);
    }
}
