//! A swarm of two nodes on one machine: the test engine (the manager) and a
//! second dockerd in its own network namespace that `scripts/swarm-worker`
//! starts and joins as a worker. Shows that berth refuses an engine that is
//! not a manager (before the join and after it), that placement and global
//! mode put tasks on the worker, that a service on the worker reaches one on
//! the manager over the overlay network, and that `up --swarm` warns about an
//! image only the manager has, naming the worker.
//!
//! The worker is in the swarm for as short a time as the test allows, and no
//! other swarm test runs meanwhile ([`Swarm::alone`]): Swarm could put their
//! tasks on it.

use crate::engine::*;

use std::time::Duration;

/// server runs on the manager (httpd), client on the worker (asks server
/// every half second, over the overlay network, and logs the answer), and
/// everywhere on each node.
const STACK: &str = r#"
services:
  server:
    image: {IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; mkdir -p /www; echo pong from $$(hostname) > /www/index.html; httpd -f -p 8000 -h /www & wait"]
    networks: [back]
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: [node.role == manager]
  client:
    image: {IMAGE}
    # No `wget -T`: it crashes in this busybox; `timeout` bounds a stuck try.
    command: [sh, -c, "trap 'exit 0' TERM; while true; do timeout 3 wget -q -O- http://server:8000/ || echo no answer; sleep 0.5; done & wait"]
    networks: [back]
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: [node.role == worker]
  everywhere:
    image: {IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    deploy:
      mode: global
      endpoint_mode: dnsrr
networks:
  back: {}
"#;

/// The nodes (hostnames) of a service's running tasks, sorted.
fn running_on(service: &str) -> Vec<String> {
    let mut v = docker_lines(&[
        "service",
        "ps",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}} {{.CurrentState}}",
        service,
    ])
    .into_iter()
    .filter(|l| l.contains("Running"))
    .filter_map(|l| l.split_whitespace().next().map(String::from))
    .collect::<Vec<_>>();
    v.sort();
    v
}

#[test]
fn a_worker_node_is_refused_runs_placed_and_global_tasks_reaches_the_manager_and_is_named_in_the_image_warning()
 {
    let _swarm = Swarm::alone();
    // Dropped in reverse: the project's services go first, then the worker.
    let worker = Worker::start("bw", 0);
    let p = Project::with_stack("nodes", STACK);
    let manager = docker(&["info", "--format", "{{.Name}}"])
        .trim()
        .to_string();
    let on_worker = |args: &[&str]| {
        p.command(&["compose.yaml"], args)
            .env("DOCKER_HOST", worker.host())
            .run()
    };
    let nothing_on_worker = || {
        worker.docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label={LABEL}={}", p.name),
        ])
    };

    // An engine in no swarm: one error, saying how to make it a manager.
    on_worker(&["up", "--swarm"])
        .failed()
        .says(&format!(
            "the Docker engine at {} is not part of a swarm",
            worker.host()
        ))
        .says("docker swarm init");
    assert_eq!(nothing_on_worker(), "");

    worker.join();
    // A worker: refused, nothing changed on either node.
    on_worker(&["up", "--swarm"])
        .failed()
        .says("is a swarm worker, and only a manager can deploy services")
        .says("point DOCKER_HOST at a manager");
    on_worker(&["plan", "--swarm"])
        .failed()
        .says("is a swarm worker");
    assert!(services_of(&p.name).is_empty());
    assert_eq!(nothing_on_worker(), "");

    // The test image exists on the manager with no registry digest (it was
    // imported): client and everywhere may run on the worker, server may not.
    let warning =
        format!("image `{IMAGE}` of services client, everywhere is only on this node ({manager})");
    p.berth(&["plan", "--swarm"])
        .code_is(3)
        .says(&warning)
        .says(&format!("so node {} cannot pull it", worker.name));
    p.berth(&["up", "--swarm", "--wait"])
        .ok()
        .says(&warning)
        .says("push it to a registry");

    let (server, client, everywhere) = (
        format!("{}_server", p.name),
        format!("{}_client", p.name),
        format!("{}_everywhere", p.name),
    );
    assert_eq!(running_on(&server), [manager.as_str()]);
    assert_eq!(running_on(&client), [worker.name.as_str()]);
    let mut both = vec![manager.clone(), worker.name.clone()];
    both.sort();
    assert_eq!(running_on(&everywhere), both, "one task per node");

    // client, on the worker, gets server's page from the manager over the
    // overlay network (its logs come through the manager).
    let mut logs = String::new();
    let answered = wait_until(Duration::from_secs(30), || {
        logs = docker_try(&["service", "logs", "--raw", &client]).unwrap_or_default();
        logs.contains("pong from")
    });
    assert!(
        answered,
        "client never got server's page; its logs:\n{logs}"
    );

    p.berth(&["down", "--swarm"]).ok();
    assert!(services_of(&p.name).is_empty());
    // The worker leaves, and nothing of it is left (drop does it again, as
    // a no-op).
    worker.script_ok(&["down"]);
    assert!(!docker(&["node", "ls", "--format", "{{.Hostname}}"]).contains(&worker.name));
    assert!(!std::path::Path::new(&format!("/run/netns/{}", worker.name)).exists());
}
