//! The engine killed in the middle of `up`, then restarted. The `up` that
//! was cut off fails with the engine's error; the first `up` once the engine
//! is back converges: containers whose start was cut off, which the engine
//! can no longer start (it keeps a stale task for them), are replaced, named
//! volumes kept.
//!
//! The engine killed is a dockerd of the test's own (`scripts/swarm-worker
//! up --no-join`: its own namespace, data and containerd, in no swarm), not
//! the one the other tests share.

use crate::engine::*;

use std::time::Duration;

const SERVICES: usize = 30;

#[test]
fn an_up_cut_off_by_a_killed_engine_converges_at_the_next_up() {
    let engine = Worker::start("bk", 1);
    let p = Project::new("engine-killed");
    let mut yaml = String::from("services:\n");
    for i in 0..SERVICES {
        yaml.push_str(&idle(
            &format!("s{i}"),
            &format!("    volumes: ['data{i}:/data']\n"),
        ));
    }
    yaml.push_str("volumes:\n");
    for i in 0..SERVICES {
        yaml.push_str(&format!("  data{i}: {{}}\n"));
    }
    p.write("compose.yaml", &yaml);
    let on_engine = |args: &[&str]| {
        p.command(&["compose.yaml"], args)
            .env("DOCKER_HOST", engine.host())
    };

    // Kill dockerd as soon as the first container has started: the other
    // starts are in flight or waiting.
    let mut up = on_engine(&["up"]).spawn();
    assert!(
        wait_until(Duration::from_secs(60), || up
            .stderr_so_far()
            .contains("Started")
            || up.has_exited()),
        "no container started"
    );
    let pid = std::fs::read_to_string(format!("/run/{}/dockerd.pid", engine.name))
        .expect("the engine's pid file");
    let _ = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status();
    let cut = up.wait();
    assert!(!cut.succeeded(), "the cut-off up fails:\n{}", cut.output());

    engine.script_ok(&["up", "--no-join"]);
    let again = on_engine(&["up"]).run();
    assert!(again.succeeded(), "{}", again.output());
    if again.stderr().contains("a stale task") {
        eprintln!("stale tasks were replaced:\n{}", again.stderr());
    }
    let label = format!("label={LABEL}={}", p.name);
    let running = engine.docker(&["ps", "-q", "--filter", &label]);
    assert_eq!(running.lines().count(), SERVICES, "every container runs");
    let volumes = engine.docker(&["volume", "ls", "-q", "--filter", &label]);
    assert_eq!(volumes.lines().count(), SERVICES, "every volume kept");
    on_engine(&["plan"]).run().says("no changes");
}
