//! `berth down`, and what named volumes keep across down/up and recreation.

use super::*;

const WITH_VOLUME: &str = r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    environment:
      REV: "{REV}"
    volumes:
      - data:/data
  web:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    depends_on: [db]
volumes:
  data: {}
"#;

fn rev(r: &str) -> String {
    WITH_VOLUME.replace("{REV}", r)
}

#[test]
fn down_keeps_volumes_and_down_volumes_removes_them() {
    let p = Project::new("down");
    p.write("compose.yaml", &rev("1"));
    p.berth(&["up"]).ok();
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
    let p = Project::new("data");
    p.write("compose.yaml", &rev("1"));
    p.berth(&["up"]).ok();
    p.container("db").exec("echo precious > /data/file");

    p.berth(&["down"]).ok();
    p.berth(&["up"]).ok();
    assert_eq!(p.container("db").exec("cat /data/file"), "precious\n");

    let before = p.container("db");
    p.write("compose.yaml", &rev("2"));
    p.berth(&["up"]).ok();
    let after = p.container("db");
    assert_ne!(before.id, after.id, "recreated");
    assert_eq!(after.exec("cat /data/file"), "precious\n");
}
