//! `berth down`, and what named volumes keep across down/up and recreation.

use crate::engine::*;

#[test]
fn down_keeps_volumes_and_down_volumes_removes_them() {
    let p = Project::up("down", &db_and_web("1"));
    assert_eq!(p.containers().len(), 2);
    let vol = format!("{}_data", p.name);

    p.berth(&["down"]).ok();
    assert!(p.containers().is_empty(), "containers removed");
    assert!(p.networks().is_empty(), "networks removed");
    assert_eq!(p.volumes(), std::slice::from_ref(&vol), "named volume kept");

    p.berth(&["up"]).ok();
    assert_eq!(p.containers().len(), 2);
    p.berth(&["down", "--volumes"]).ok();
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
    assert!(p.volumes().is_empty(), "--volumes removes named volumes");
    assert!(!exists("volume", &vol));

    // Down on nothing is not an error.
    p.berth(&["down"]).ok();
}

#[test]
fn volume_data_survives_down_up_and_recreate() {
    let p = Project::up("data", &db_and_web("1"));
    p.container("db").exec("echo precious > /data/file");

    p.berth(&["down"]).ok();
    p.berth(&["up"]).ok();
    assert_eq!(p.container("db").exec("cat /data/file"), "precious\n");

    let before = p.container("db");
    p.write("compose.yaml", &db_and_web("2"));
    p.berth(&["up"]).ok();
    let after = p.container("db");
    assert_ne!(before.id, after.id, "recreated");
    assert_eq!(after.exec("cat /data/file"), "precious\n");
}

/// A container outside the project on its network: `down` removes what is
/// the project's, leaves the network with a warning that says what to do
/// (it neither fails on the engine's "active endpoints" nor waits on a
/// count a living container holds), and a second `down` after the
/// container has gone removes it.
#[test]
fn a_network_a_foreign_container_uses_is_left_with_what_to_do() {
    let p = Project::up("downforeign", &db_and_web("1"));
    let net = format!("{}_default", p.name);
    let foreign = format!("{}-foreign", p.name);
    let _gone = Removed(foreign.clone());
    docker(&[
        "run",
        "-d",
        "--name",
        &foreign,
        "--network",
        &net,
        IMAGE,
        "sleep",
        "3600",
    ]);
    p.berth(&["down"]).ok().says(&format!(
        "warning: network {net} is still used by {foreign}, not part of this stack: not removed; \
         disconnect it (`docker network disconnect {net} CONTAINER`) and run `berth down` again"
    ));
    assert!(p.containers().is_empty(), "the project's containers went");
    assert!(exists("network", &net), "the network stayed");

    docker(&["rm", "-f", &foreign]);
    p.berth(&["down"]).ok();
    assert!(!exists("network", &net));
}

/// Removes a container the test made, even when the test fails.
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = docker_try(&["rm", "-f", &self.0]);
    }
}
