//! `--dry-run`: every command that changes the engine prints its plan, one
//! step a line, and changes nothing.

use crate::engine::*;

/// `db`, and `web` after it.
fn two() -> String {
    format!(
        "services:\n{}{}",
        idle("db", ""),
        idle("web", "    depends_on: [db]\n")
    )
}

/// The lines of `run`'s stdout, sorted (steps that do not wait for each
/// other may be listed in any order).
fn sorted_lines(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run.stdout().lines().map(str::to_string).collect();
    v.sort();
    v
}

fn sorted(lines: &[String]) -> Vec<String> {
    let mut v = lines.to_vec();
    v.sort();
    v
}

/// (name, id, state, StartedAt) of each container of the project.
fn snapshot(p: &Project) -> Vec<(String, String, String, String)> {
    p.containers()
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.id.clone(),
                c.status().to_string(),
                c.started_at().to_string(),
            )
        })
        .collect()
}

#[test]
fn up_dry_run_on_an_empty_project_prints_the_creates_and_creates_nothing() {
    let p = Project::with_stack("dry-up", &two());
    let n = &p.name;
    let run = p.berth(&["up", "--dry-run"]).code_is(0);
    assert_eq!(
        sorted_lines(&run),
        sorted(&[
            format!("create network {n}_default: not found"),
            format!("create container {n}-db-1: not found"),
            format!("start {n}-db-1: created"),
            format!("create container {n}-web-1: not found"),
            format!("start {n}-web-1: created"),
        ]),
        "{}",
        run.stdout()
    );
    assert!(p.containers().is_empty(), "no container created");
    assert!(p.networks().is_empty(), "no network created");
    assert!(!exists("network", &format!("{n}_default")));
}

#[test]
fn down_stop_restart_and_start_dry_runs_print_their_steps_and_change_nothing() {
    let p = Project::up("dry-ops", &two());
    let n = p.name.clone();
    let before = snapshot(&p);
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|c| c.2 == "running"), "{before:?}");
    let networks = p.networks();
    assert_eq!(networks, [format!("{n}_default")]);

    let down = p.berth(&["down", "--dry-run"]).code_is(0);
    assert_eq!(
        sorted_lines(&down),
        sorted(&[
            format!("stop {n}-web-1: down"),
            format!("stop {n}-db-1: down"),
            format!("remove {n}-db-1: down"),
            format!("remove {n}-web-1: down"),
            format!("remove network {n}_default: down"),
        ]),
        "{}",
        down.stdout()
    );
    let stop = p.berth(&["stop", "--dry-run"]).code_is(0);
    assert_eq!(
        sorted_lines(&stop),
        sorted(&[
            format!("stop {n}-web-1: berth stop"),
            format!("stop {n}-db-1: berth stop"),
        ]),
        "{}",
        stop.stdout()
    );
    let restart = p.berth(&["restart", "--dry-run"]).code_is(0);
    assert_eq!(
        sorted_lines(&restart),
        sorted(&[
            format!("restart {n}-db-1: berth restart"),
            format!("restart {n}-web-1: berth restart"),
        ]),
        "{}",
        restart.stdout()
    );
    // Everything still runs, the same containers, never restarted.
    assert_eq!(snapshot(&p), before, "the dry runs changed nothing");
    assert_eq!(p.networks(), networks);

    p.berth(&["stop", "-t", "0"]).ok();
    let stopped = snapshot(&p);
    assert!(stopped.iter().all(|c| c.2 == "exited"), "{stopped:?}");
    let start = p.berth(&["start", "--dry-run"]).code_is(0);
    assert_eq!(
        sorted_lines(&start),
        sorted(&[
            format!("start {n}-db-1: berth start"),
            format!("start {n}-web-1: berth start"),
        ]),
        "{}",
        start.stdout()
    );
    assert_eq!(snapshot(&p), stopped, "start --dry-run started nothing");
}

#[test]
fn build_and_pull_dry_runs_print_their_steps_and_fetch_nothing() {
    let mut p = Project::new("dry-img");
    let tag = p.sleeper_context("built");
    p.write(
        "compose.yaml",
        &format!("services:\n  built:\n    build: ./app\n{}", idle("db", "")),
    );

    let build = p.berth(&["build", "--dry-run"]).code_is(0);
    assert_eq!(
        build.stdout().lines().collect::<Vec<_>>(),
        [format!("build image {tag} for built: requested")],
        "{}",
        build.stdout()
    );
    assert!(
        docker_try(&["image", "inspect", &tag]).is_err(),
        "build --dry-run built {tag}"
    );

    let pull = p.berth(&["pull", "--dry-run"]).code_is(0);
    assert_eq!(
        pull.stdout().lines().collect::<Vec<_>>(),
        [format!("pull {IMAGE}: requested")],
        "{}",
        pull.stdout()
    );

    // `up --dry-run` lists the build first, and builds nothing either.
    let up = p.berth(&["up", "--dry-run"]).code_is(0);
    let lines: Vec<&str> = up.stdout().lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("build image {tag} for built: image not found").as_str()),
        "{}",
        up.stdout()
    );
    assert!(
        lines.contains(&format!("create container {}-built-1: not found", p.name).as_str()),
        "{}",
        up.stdout()
    );
    assert!(docker_try(&["image", "inspect", &tag]).is_err());
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
}
