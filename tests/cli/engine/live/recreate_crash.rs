//! A recreate is five plain steps (rename the old container aside, create the
//! new one, stop and remove the old one, start the new one). berth killed
//! with SIGKILL between any two of them leaves the engine in a state that the
//! next `up` finishes: one container under the service's own name, with the
//! new configuration, and nothing left under the temporary (parked) name.

use crate::engine::*;

/// `web` (one network, the default; stops at once on SIGTERM) with
/// `MODE=<mode>`, and `side`, which the change does not touch.
fn stack(mode: &str) -> String {
    format!(
        r#"
services:
  web:
    image: {{IMAGE}}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      MODE: {mode}
{}"#,
        idle("side", "")
    )
}

/// Names and states of web's containers, sorted by name.
fn web_containers(p: &Project) -> Vec<(String, String)> {
    p.containers()
        .into_iter()
        .filter(|c| c.service() == "web")
        .map(|c| (c.name.clone(), c.status().to_string()))
        .collect()
}

/// Every container on the engine (any project, any label) whose name has
/// the parked form `<id>_<project>-web-1`.
fn parked(p: &Project) -> Vec<String> {
    let pattern = format!("_{}-web-1", p.name);
    docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={pattern}"),
        "--format",
        "{{.Names}}",
    ])
    .into_iter()
    .filter(|n| n.ends_with(&pattern))
    .collect()
}

/// Brings the stack up with MODE=a, changes it to MODE=b, kills `up` after
/// its `n`-th step, checks what the kill left, then `up` again and checks
/// that it converged.
fn killed_after_step(test: &str, n: usize) {
    let p = Project::up(test, &stack("a"));
    let old = p.container("web");
    let side = p.container("side");
    let web = format!("{}-web-1", p.name);
    let aside = format!("{}_{web}", &old.id[..12]);

    p.write("compose.yaml", &stack("b"));
    // The recreate is exactly these five steps, and nothing else is planned.
    let plan = p.berth(&["plan"]).code_is(3);
    let cause = "recreate: config changed: environment";
    assert_eq!(
        plan.stdout().lines().collect::<Vec<_>>(),
        [
            format!("rename {web} to {aside}: {cause}"),
            format!("create container {web}: {cause}"),
            format!("stop {aside}: {cause}"),
            format!("remove {aside}: {cause}"),
            format!("start {web}: recreated"),
        ],
        "{}",
        plan.stdout()
    );

    p.command(&["compose.yaml"], &["up"])
        .env("BERTH_TEST_KILL_AFTER", n.to_string())
        .run()
        .killed();
    // The kill came right after step n: nothing of step n+1 happened.
    let s = |name: &str, state: &str| (name.to_string(), state.to_string());
    let mut left = match n {
        1 => vec![s(&aside, "running")],
        2 => vec![s(&aside, "running"), s(&web, "created")],
        3 => vec![s(&aside, "exited"), s(&web, "created")],
        4 => vec![s(&web, "created")],
        _ => unreachable!(),
    };
    left.sort();
    assert_eq!(web_containers(&p), left, "state after the kill at step {n}");

    p.berth(&["up"]).ok();
    let new = p.container("web");
    assert_eq!(new.name, web, "under its own name");
    assert_ne!(new.id, old.id, "recreated");
    assert!(new.running(), "running: {}", new.status());
    assert!(new.env().contains(&"MODE=b".to_string()), "{:?}", new.env());
    assert!(
        !new.env().contains(&"MODE=a".to_string()),
        "{:?}",
        new.env()
    );
    assert_eq!(
        web_containers(&p),
        [(web.clone(), "running".to_string())],
        "exactly one web container"
    );
    assert_eq!(parked(&p), Vec::<String>::new(), "nothing left parked");
    assert!(!exists("container", &old.id), "the old container is gone");
    let side2 = p.container("side");
    assert_eq!(side2.id, side.id, "side untouched");
    assert_eq!(side2.started_at(), side.started_at(), "side not restarted");
    p.berth(&["plan"]).code_is(0).says("no changes");
}

#[test]
fn recreate_killed_after_rename_then_up_converges() {
    killed_after_step("rc-crash1", 1);
}

#[test]
fn recreate_killed_after_create_then_up_converges() {
    killed_after_step("rc-crash2", 2);
}

#[test]
fn recreate_killed_after_stop_then_up_converges() {
    killed_after_step("rc-crash3", 3);
}

#[test]
fn recreate_killed_after_remove_then_up_converges() {
    killed_after_step("rc-crash4", 4);
}
