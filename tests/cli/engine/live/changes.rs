//! What `up` does about each difference: recreate, update in place, connect
//! in place, orphans.

use crate::engine::*;

fn stack(image: &str, env: &str) -> String {
    format!(
        r#"
services:
  app:
    image: {image}
    command: ["sh", "-c", "sleep 3600"]
    environment:
      MODE: {env}
{}"#,
        idle("side", "")
    )
}

/// Asserts that `after` is `before`, neither recreated nor restarted.
#[track_caller]
fn assert_changed_in_place(before: &Container, after: &Container) {
    assert_eq!(before.id, after.id, "same container");
    assert_eq!(before.started_at(), after.started_at(), "not restarted");
}

#[test]
fn env_change_recreates_only_that_service() {
    let p = Project::up("envchange", &stack(IMAGE, "one"));
    let app = p.container("app");
    let side = p.container("side");

    p.write("compose.yaml", &stack(IMAGE, "two"));
    p.berth(&["plan"])
        .code_is(3)
        .says("recreate")
        .says(&format!("{}-app-1", p.name));
    p.berth(&["up"]).ok();

    let app2 = p.container("app");
    assert_ne!(app.id, app2.id, "app recreated");
    assert_eq!(app2.name, format!("{}-app-1", p.name), "under its own name");
    assert!(app2.running());
    assert!(
        app2.json["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "MODE=two")
    );
    let side2 = p.container("side");
    assert_eq!(side.id, side2.id, "side untouched");
    assert_eq!(side.started_at(), side2.started_at());
    assert_eq!(p.containers().len(), 2, "old container removed");
    p.berth(&["plan"]).code_is(0);
}

#[test]
fn image_change_recreates() {
    let mut p = Project::new("imagechange");
    let tag = format!("berth-test/busybox:{}", p.name);
    docker(&["tag", IMAGE, &tag]);
    p.extra_images.push(tag.clone());
    p.write("compose.yaml", &stack(IMAGE, "one"));
    p.berth(&["up"]).ok();
    let app = p.container("app");

    p.write("compose.yaml", &stack(&tag, "one"));
    p.berth(&["plan"]).code_is(3).says("image");
    p.berth(&["up"]).ok();
    let app2 = p.container("app");
    assert_ne!(app.id, app2.id, "recreated");
    assert_eq!(app2.json["Config"]["Image"].as_str(), Some(tag.as_str()));
    assert!(app2.running());
    assert_eq!(p.containers().len(), 2);
}

fn limits(cpus: &str, mem: &str) -> String {
    let app = idle("app", &format!("    cpus: {cpus}\n    mem_limit: {mem}\n"));
    format!("services:\n{app}")
}

#[test]
fn cpus_and_memory_change_update_in_place() {
    let p = Project::up("limits", &limits("0.5", "64m"));
    let before = p.container("app");
    assert_eq!(before.host_i64("NanoCpus"), 500_000_000);
    assert_eq!(before.host_i64("Memory"), 64 << 20);

    p.write("compose.yaml", &limits("0.25", "96m"));
    p.berth(&["plan"]).code_is(3).says("in place").says("cpus");
    p.berth(&["up"]).ok();
    let after = p.container("app");
    assert_changed_in_place(&before, &after);
    assert!(after.running());
    assert_eq!(after.host_i64("NanoCpus"), 250_000_000);
    assert_eq!(after.host_i64("Memory"), 96 << 20);
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}

#[test]
fn on_failure_0_is_converged_after_up() {
    // The engine reads a retry count of 0 back as plain `on-failure`.
    let p = Project::up(
        "onfailure0",
        &format!("services:\n{}", idle("app", "    restart: on-failure:0\n")),
    );
    let app = p.container("app");
    assert_eq!(
        app.json["HostConfig"]["RestartPolicy"]["Name"],
        "on-failure"
    );
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}

fn nets(list: &str) -> String {
    format!(
        "services:\n{}{}networks:\n  a: {{}}\n  b: {{}}\n",
        idle("app", &format!("    networks: [{list}]\n")),
        idle("peer", "    networks: [b]\n")
    )
}

#[test]
fn network_added_to_a_service_is_connected_in_place() {
    let p = Project::up("netadd", &nets("a"));
    let before = p.container("app");
    assert_eq!(before.networks(), [format!("{}_a", p.name)]);

    p.write("compose.yaml", &nets("a, b"));
    p.berth(&["plan"]).code_is(3).says(&format!("{}_b", p.name));
    p.berth(&["up"]).ok();
    let after = p.container("app");
    assert_changed_in_place(&before, &after);
    assert_eq!(
        after.networks(),
        [format!("{}_a", p.name), format!("{}_b", p.name)]
    );
    // The service name resolves on the new network.
    let peer = p.container("peer");
    peer.exec("ping -c 1 -W 2 app >/dev/null");
    p.berth(&["plan"]).code_is(0);
}

#[test]
fn orphans_are_warned_about_then_removed_with_remove_orphans() {
    let both = format!("services:\n{}{}", idle("keep", ""), idle("gone", ""));
    let p = Project::up("orphans", &both);
    let keep = p.container("keep");
    let gone = p.container("gone");

    p.write("compose.yaml", &format!("services:\n{}", idle("keep", "")));
    let up = p.berth(&["up"]).ok();
    up.says("orphan").says("gone");
    assert_eq!(p.container("gone").id, gone.id, "orphan left alone");
    assert!(p.container("gone").running());

    p.berth(&["up", "--remove-orphans"]).ok();
    let names: Vec<String> = p.containers().iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, [format!("{}-keep-1", p.name)]);
    assert_eq!(p.container("keep").id, keep.id, "keep untouched");
    assert!(!exists("container", &gone.id));
}
