//! Engine tests against a real dockerd (CI starts one; see `.ci/run`), with
//! the local image `berth-test/busybox:latest` (`scripts/test-image`).
//!
//! Each test works in its own project, `berth-engtest-<pid>-<n>`, and a
//! [`Project`] guard removes everything carrying that project's label when
//! the test ends, passed or failed.
//!
//! The adapter returns the engine's answers as they are; where a test
//! repeats a call, the repeat goes through the executor ([`step`]), so that
//! these tests also hold the plan's table of already-done rules to what
//! this engine really answers.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use bollard::models::EndpointSettings;

use super::*;
use crate::apply::{ApplyError, ApplyOptions, Summary};
use crate::limits::Limits;
use crate::model::stack::{Service, Stack};
use crate::plan::{Action, Cause, Plan};
use crate::spec;

mod releases;

const IMAGE: &str = "berth-test/busybox:latest";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A unique project name; on drop, removes the project's containers,
/// networks and volumes with the docker CLI (Drop cannot await).
struct Project {
    name: String,
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        Project {
            name: format!("berth-engtest-{}-{n}", std::process::id()),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Loads `yaml` as this project's stack.
    fn load(&self, yaml: &str) -> Stack {
        let file = self.dir.path().join("compose.yaml");
        std::fs::write(&file, yaml).expect("write stack file");
        let opts = crate::load::Options {
            files: vec![file],
            project_name: Some(self.name.clone()),
            cwd: self.dir.path().to_path_buf(),
            ..Default::default()
        };
        match crate::load::load(&opts) {
            Ok(l) => l.stack,
            Err(f) => panic!(
                "stack does not load: {:?}",
                f.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
            ),
        }
    }

    fn docker_ids(&self, args: &[&str]) -> Vec<String> {
        let filter = format!("label={}={}", identity::PROJECT, self.name);
        let out = Command::new("docker")
            .args(args)
            .args(["--filter", &filter])
            .output();
        match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(String::from)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let rm = |what: &[&str], ids: Vec<String>| {
            if !ids.is_empty() {
                let _ = Command::new("docker").args(what).args(&ids).output();
            }
        };
        rm(&["rm", "-f", "-v"], self.docker_ids(&["ps", "-aq"]));
        rm(
            &["network", "rm"],
            self.docker_ids(&["network", "ls", "-q"]),
        );
        rm(
            &["volume", "rm", "-f"],
            self.docker_ids(&["volume", "ls", "-q"]),
        );
    }
}

async fn engine() -> Engine {
    Engine::connect()
        .await
        .expect("these tests need a Docker engine (see .ci/run)")
}

/// Runs one step through the executor, as `apply` runs a plan's steps.
async fn step(
    e: &Engine,
    project: &str,
    action: Action,
) -> std::result::Result<Summary, ApplyError> {
    let mut plan = Plan::default();
    plan.push(action, Cause::Down, vec![]);
    let opts = ApplyOptions {
        project: project.to_string(),
        ..ApplyOptions::default()
    };
    crate::apply::apply(e, &plan, &opts, &|_| {}).await
}

/// Creates replica 1 of `svc` as `name` and connects it to its other
/// networks, as the plan's create and connect steps do.
async fn create(e: &Engine, stack: &Stack, svc: &Service, name: &str) -> Result<String> {
    let spec = spec::container(stack, svc, 1);
    let id = e
        .create_container(name, spec.platform.as_deref(), &spec.body)
        .await?;
    for (network, endpoint) in spec.connect {
        e.connect_network(&id, &network, endpoint).await?;
    }
    Ok(id)
}

fn endpoint(names: &[&str]) -> EndpointSettings {
    EndpointSettings {
        aliases: Some(names.iter().map(|a| a.to_string()).collect()),
        ..Default::default()
    }
}

fn inspect_text(id: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "--format", format, id])
        .output()
        .expect("docker inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn an_engine_that_is_not_there_is_unreachable_in_one_line() {
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let err = match Engine::connect_to(host).await {
            Err(e) => e,
            Ok(_) => panic!("{host} answered"),
        };
        let text = err.to_string();
        assert!(
            matches!(&err, EngineError::Unreachable { host: h, .. } if h == host),
            "{err:?}"
        );
        assert!(text.starts_with(&format!("cannot reach the Docker engine at {host}: ")));
        assert!(!text.contains('\n'), "{text}");
    }
}

#[tokio::test]
async fn networks_and_volumes_are_created_listed_and_removed() {
    let p = Project::new();
    // Outside Docker's default address pools, and different per process, so
    // that networks other tests create at the same time cannot take it.
    let subnet = format!("10.231.{}.0/24", std::process::id() % 250);
    let stack = p.load(&format!(
        "services:\n  a: {{image: berth-test/busybox:latest, command: [sleep, '60'], networks: [front, plain], volumes: [data:/d]}}\n\
         networks:\n  plain: {{}}\n  front:\n    internal: true\n    labels: {{team: t}}\n    \
         ipam: {{config: [{{subnet: {subnet}}}]}}\n\
         volumes:\n  data: {{labels: {{team: t}}}}\n",
    ));
    let e = engine().await;
    let net_name = format!("{}_front", p.name);
    let vol_name = format!("{}_data", p.name);

    let network = |key: &str| spec::network(&stack, key).unwrap();
    let id = e.create_network(&network("front")).await.unwrap().id;
    let plain = e.create_network(&network("plain")).await.unwrap().id;
    let plain_name = format!("{}_plain", p.name);
    // API 1.41 makes a second network of a taken name and only warns...
    let twin = e.create_network(&network("plain")).await.unwrap();
    assert!(
        crate::plan::rules::duplicate_network(&twin.warning),
        "{twin:?}"
    );
    e.remove_network(&twin.id).await.unwrap();
    // ...which the plan's rule takes away again: the step is done.
    let again = Action::CreateNetwork {
        name: plain_name.clone(),
        request: Box::new(network("plain")),
    };
    step(&e, &p.name, again).await.unwrap();
    let same = e
        .list_networks("berth-engtest-nobody", std::slice::from_ref(&plain_name))
        .await
        .unwrap();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].id.as_deref(), Some(plain.as_str()));
    let volume = spec::volume(&stack, "data").unwrap();
    e.create_volume(&volume).await.unwrap();
    // A volume that exists: the engine answers with the volume, no error.
    e.create_volume(&volume).await.unwrap();

    let nets = e.list_networks(&p.name, &[]).await.unwrap();
    assert_eq!(nets.len(), 2);
    let front = nets
        .iter()
        .find(|n| n.id.as_deref() == Some(id.as_str()))
        .unwrap();
    let labels = front.labels.clone().unwrap();
    assert_eq!(labels[identity::NETWORK], "front");
    assert_eq!(labels["team"], "t");
    assert_eq!(front.internal, Some(true));
    // A name asked for explicitly is listed even without the label; a name
    // that merely contains it is not.
    let bridge = e
        .list_networks("berth-engtest-nobody", &["bridge".into(), "brid".into()])
        .await
        .unwrap();
    assert_eq!(bridge.len(), 1);
    assert_eq!(bridge[0].name.as_deref(), Some("bridge"));
    let inspected = e.inspect_network(&net_name).await.unwrap();
    let got_subnet = inspected.ipam.unwrap().config.unwrap()[0].subnet.clone();
    assert_eq!(got_subnet.as_deref(), Some(subnet.as_str()));

    let vols = e
        .list_volumes(&p.name, std::slice::from_ref(&vol_name))
        .await
        .unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0].name, vol_name);
    assert_eq!(vols[0].labels[identity::VOLUME], "data");

    // In use by a running container: both refuse with Conflict.
    let name = format!("{}-a-1", p.name);
    let c = create(&e, &stack, &stack.services["a"], &name)
        .await
        .unwrap();
    e.start_container(&c).await.unwrap();
    let busy = e.remove_network(&net_name).await;
    assert!(matches!(busy, Err(EngineError::Conflict(_))), "{busy:?}");
    let busy = e.remove_volume(&vol_name).await;
    assert!(matches!(busy, Err(EngineError::Conflict(_))), "{busy:?}");
    e.remove_container(&c, true).await.unwrap();

    e.remove_network(&net_name).await.unwrap();
    let gone = e.remove_network(&net_name).await;
    assert!(matches!(gone, Err(EngineError::NotFound(_))), "{gone:?}");
    let again = Action::RemoveNetwork {
        name: net_name.clone(),
    };
    step(&e, &p.name, again).await.unwrap();
    e.remove_network(&plain_name).await.unwrap();
    e.remove_volume(&vol_name).await.unwrap();
    let again = Action::RemoveVolume {
        name: vol_name.clone(),
    };
    step(&e, &p.name, again).await.unwrap();
    assert!(e.list_networks(&p.name, &[]).await.unwrap().is_empty());
    assert!(e.list_volumes(&p.name, &[]).await.unwrap().is_empty());
    assert!(matches!(
        e.inspect_network(&net_name).await,
        Err(EngineError::NotFound(_))
    ));
}

#[tokio::test]
async fn images_are_found_locally_or_not_at_all() {
    let e = engine().await;
    let id = e.image_id(IMAGE).await.unwrap();
    assert!(id.is_some_and(|i| i.starts_with("sha256:")));
    assert_eq!(e.image_id("berth-test/absent:1").await.unwrap(), None);
}

#[tokio::test]
async fn a_container_lives_its_whole_life_through_the_engine() {
    let p = Project::new();
    let stack = p.load(
        "services:\n  web:\n    image: berth-test/busybox:latest\n    \
         command: [sh, -c, 'mkdir -p /www && echo hello > /www/index.html && echo started && echo oops >&2 && exec httpd -f -p 8080 -h /www']\n    \
         cpus: 0.5\n    mem_limit: 64m\n    pids_limit: 100\n    restart: unless-stopped\n    \
         stop_grace_period: 1s\n    environment: {GREETING: hi}\n    labels: {team: web}\n    \
         ports: ['127.0.0.1::8080']\n    volumes: [data:/data, ./made/here:/host]\n    \
         networks:\n      front: {aliases: [www]}\n      back: {}\n  \
         other: {image: berth-test/busybox:latest, networks: [extra]}\n\
         networks: {front: {}, back: {}, extra: {}}\n\
         volumes: {data: {}}\n",
    );
    let e = engine().await;
    for key in ["front", "back", "extra"] {
        let request = spec::network(&stack, key).unwrap();
        e.create_network(&request).await.unwrap();
    }
    e.create_volume(&spec::volume(&stack, "data").unwrap())
        .await
        .unwrap();
    let web = &stack.services["web"];
    let name = format!("{}-web-1", p.name);
    let made = p.dir.path().join("made/here");
    let dir = Action::CreateDirectory {
        service: "web".into(),
        path: made.clone(),
    };
    step(&e, &p.name, dir).await.unwrap();
    assert!(made.is_dir(), "bind source created");
    let id = create(&e, &stack, web, &name).await.unwrap();

    // Attached to both networks before it starts, service name as alias.
    let front = format!("{}_front", p.name);
    let back = format!("{}_back", p.name);
    let extra = format!("{}_extra", p.name);
    let info = e.inspect_container(&id).await.unwrap();
    let nets = info
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.clone())
        .unwrap();
    let mut names: Vec<&String> = nets.keys().collect();
    names.sort();
    assert_eq!(names, vec![&back, &front]);
    let aliases = nets[&front].aliases.clone().unwrap();
    assert!(aliases.contains(&"web".to_string()) && aliases.contains(&"www".to_string()));
    assert!(nets[&back].aliases.clone().unwrap().contains(&"web".into()));
    let labels = info.config.as_ref().unwrap().labels.clone().unwrap();
    assert_eq!(labels[identity::SERVICE], "web");
    assert_eq!(labels["team"], "web");
    assert_eq!(labels[identity::CONFIG_HASH], identity::config_hash(web));

    let listed = e.list_containers(&p.name).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some(id.as_str()));

    e.start_container(&id).await.unwrap();
    e.start_container(&id).await.unwrap();
    let host = info.host_config.clone().unwrap();
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.memory, Some(64 * 1024 * 1024));
    assert_eq!(host.pids_limit, Some(100));
    assert_eq!(
        inspect_text(&id, "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );
    assert_eq!(inspect_text(&id, "{{.Config.StopTimeout}}"), "1");

    // The service name and its alias resolve on the network.
    let mut served = String::new();
    for _ in 0..50 {
        let out = Command::new("docker")
            .args(["exec", &id, "wget", "-q", "-O-", "http://www:8080/"])
            .output()
            .unwrap();
        served = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if served == "hello" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(served, "hello");
    let logs = e.logs_tail(&id, 2).await.unwrap();
    assert!(
        logs.contains("started") && logs.contains("oops"),
        "{logs:?}"
    );

    // docker update: same container, not restarted, new limits.
    let started = inspect_text(&id, "{{.State.StartedAt}}");
    let mut limits = Limits::of(web);
    limits.nano_cpus = 200_000_000;
    limits.memory = 96 * 1024 * 1024;
    limits.pids_limit = 50;
    limits.restart = crate::model::stack::Restart::OnFailure(Some(3));
    e.update_container(&id, &spec::update(&limits))
        .await
        .unwrap();
    let after = e.inspect_container(&id).await.unwrap();
    let host = after.host_config.unwrap();
    assert_eq!(after.id.as_deref(), Some(id.as_str()));
    assert_eq!(inspect_text(&id, "{{.State.StartedAt}}"), started);
    assert_eq!(host.nano_cpus, Some(200_000_000));
    assert_eq!(host.memory, Some(96 * 1024 * 1024));
    assert_eq!(host.pids_limit, Some(50));
    assert_eq!(
        inspect_text(
            &id,
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "on-failure:3"
    );

    // Networks change in place; a repeated step is done.
    e.connect_network(&id, &extra, endpoint(&["web", "x"]))
        .await
        .unwrap();
    let again = Action::Connect {
        service: "web".into(),
        name: id.clone(),
        network: extra.clone(),
        endpoint: Box::new(endpoint(&["web"])),
    };
    step(&e, &p.name, again).await.unwrap();
    e.disconnect_network(&id, &back).await.unwrap();
    let again = Action::Disconnect {
        service: "web".into(),
        name: id.clone(),
        network: back.clone(),
    };
    step(&e, &p.name, again).await.unwrap();
    let nets = inspect_text(
        &id,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert_eq!(nets, format!("{extra} {front}"));
    let extra_net = e.inspect_network(&extra).await.unwrap();
    assert!(extra_net.containers.unwrap().contains_key(&id));

    e.stop_container(&id, Some(1)).await.unwrap();
    // Stopping a stopped container is a 304, which is no error.
    e.stop_container(&id, Some(1)).await.unwrap();
    let missing = "berth-engtest-no-such-container";
    let gone = e.stop_container(missing, None).await;
    assert!(matches!(gone, Err(EngineError::NotFound(_))), "{gone:?}");
    let again = Action::Stop {
        service: None,
        name: missing.into(),
        id: missing.into(),
        timeout: None,
    };
    step(&e, &p.name, again).await.unwrap();
    assert_eq!(inspect_text(&id, "{{.State.Running}}"), "false");

    let renamed = format!("{}-web-renamed", p.name);
    e.rename_container(&id, &renamed).await.unwrap();
    assert_eq!(inspect_text(&id, "{{.Name}}"), format!("/{renamed}"));

    e.remove_container(&id, false).await.unwrap();
    let again = Action::Remove {
        service: None,
        name: renamed.clone(),
        id: id.clone(),
    };
    step(&e, &p.name, again).await.unwrap();
    assert!(matches!(
        e.inspect_container(&id).await,
        Err(EngineError::NotFound(_))
    ));
    // The named volume outlives its container.
    let vol = format!("{}_data", p.name);
    assert_eq!(e.list_volumes(&p.name, &[]).await.unwrap()[0].name, vol);
}

#[tokio::test]
async fn a_container_name_in_use_is_a_conflict() {
    let p = Project::new();
    let stack = p.load("services:\n  a: {image: berth-test/busybox:latest, network_mode: none}\n");
    let e = engine().await;
    let name = format!("{}-a-1", p.name);
    let a = &stack.services["a"];
    create(&e, &stack, a, &name).await.unwrap();
    let again = create(&e, &stack, a, &name).await;
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    // The plan's rule: a container of this project under the name means
    // the create was done by an interrupted run; anyone else's is a failure.
    let spec = spec::container(&stack, a, 1);
    let create_step = |project: &str| {
        let action = Action::CreateContainer {
            service: "a".into(),
            number: 1,
            name: name.clone(),
            platform: None,
            request: Box::new(spec.body.clone()),
        };
        (project.to_string(), action)
    };
    let (project, action) = create_step(&p.name);
    step(&e, &project, action).await.unwrap();
    let (project, action) = create_step("berth-engtest-someone-else");
    let refused = step(&e, &project, action).await;
    assert!(
        matches!(refused, Err(ApplyError::Failed { .. })),
        "{refused:?}"
    );
    assert_eq!(e.list_containers(&p.name).await.unwrap().len(), 1);
}
