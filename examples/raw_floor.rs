//! The raw engine floor for `bench/up.sh`: the same networks, volumes and
//! containers a stack describes, created and started straight through the
//! API with everything that can run at once running at once. No stack file,
//! no planning, no waiting for conditions: what no orchestrator can beat.
//!
//!     raw_floor up SPEC.json     # create volumes + networks, then create+start every container
//!     raw_floor down PROJECT     # stop+remove its containers in parallel, then its networks
//!     raw_floor clean PROJECT    # force-remove containers, networks and volumes
//!
//! SPEC.json (written by bench/up.sh):
//!     {"project": "p", "networks": ["p_net"], "volumes": ["p_data"],
//!      "containers": [{"name": "p-web-1", "image": "...", "cmd": ["sh", "-c", "..."],
//!                      "network": "p_net", "aliases": ["web"], "binds": ["p_data:/data"]}]}
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
}

fn labels(project: &str) -> HashMap<String, String> {
    HashMap::from([(LABEL.to_string(), project.to_string())])
}

async fn up(docker: &Docker, spec: Spec) -> Result<(), Error> {
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
    let containers = spec.containers.iter().map(|c| async move {
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
        docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
    });
    // The engine serialises much of container creation internally; past a few
    // calls in flight, more parallelism only adds contention (RAW_PARALLEL).
    stream::iter(containers)
        .buffer_unordered(parallelism())
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

fn parallelism() -> usize {
    std::env::var("RAW_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX)
}

fn label_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL}={project}")])])
}

async fn container_ids(docker: &Docker, project: &str) -> Result<Vec<String>, Error> {
    let list = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(label_filter(project)),
            ..Default::default()
        }))
        .await?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}

async fn remove_networks(docker: &Docker, project: &str) -> Result<(), Error> {
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
    Ok(())
}

/// Stop (SIGTERM, 10 s grace, as compose) and remove every container at
/// once, then the networks; volumes stay, as with `down`.
async fn down(docker: &Docker, project: &str, force: bool) -> Result<(), Error> {
    let ids = container_ids(docker, project).await?;
    try_join_all(ids.iter().map(|id| async move {
        if !force {
            docker
                .stop_container(
                    id,
                    Some(StopContainerOptions {
                        t: Some(10),
                        ..Default::default()
                    }),
                )
                .await?;
        }
        docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force,
                    v: false,
                    ..Default::default()
                }),
            )
            .await
    }))
    .await?;
    remove_networks(docker, project).await
}

async fn clean(docker: &Docker, project: &str) -> Result<(), Error> {
    down(docker, project, true).await?;
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

async fn run(args: &[String]) -> Result<(), Error> {
    let docker = Docker::connect_with_defaults()?;
    match args {
        [cmd, spec] if cmd == "up" => {
            let spec: Spec = serde_json::from_str(&std::fs::read_to_string(spec)?)?;
            up(&docker, spec).await
        }
        [cmd, project] if cmd == "down" => down(&docker, project, false).await,
        [cmd, project] if cmd == "clean" => clean(&docker, project).await,
        _ => Err("usage: raw_floor up SPEC.json | down PROJECT | clean PROJECT".into()),
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
