//! Keys the engine here cannot honour warn once each, at their place in the
//! stack file, with the engine's API version and the one they need; the
//! rest of the stack runs. What it can honour reaches the container.

use crate::engine::*;

/// The engine's API version, as `docker version` reports it.
fn engine_api() -> (u32, u32) {
    let v = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    let (a, b) = v.trim().split_once('.').expect("major.minor");
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Whether this engine keeps a blkio weight, tried on a container.
fn keeps_blkio_weight(p: &Project) -> bool {
    let label = format!("{LABEL}={}", p.name);
    let id = docker(&[
        "create",
        "--label",
        &label,
        "--blkio-weight",
        "300",
        IMAGE,
        "true",
    ]);
    let id = id.trim();
    let w = docker(&["inspect", "-f", "{{.HostConfig.BlkioWeight}}", id]);
    docker(&["rm", "-f", id]);
    w.trim() == "300"
}

#[test]
fn keys_too_new_for_the_engine_warn_at_their_place_and_the_rest_runs() {
    let p = Project::new("newer-keys");
    std::fs::create_dir_all(p.path("data")).unwrap();
    p.write(
        "compose.yaml",
        r#"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    annotations:
      com.example.team: infra
    healthcheck:
      test: ["CMD", "true"]
      start_interval: 2s
    blkio_config:
      weight: 300
    volumes:
      - type: bind
        source: ./data
        target: /data
        bind:
          selinux: z
"#,
    );
    let api = engine_api();
    let run = p.berth(&["up"]).ok();
    let err = run.stderr();
    let speaks = format!("this engine speaks {}.{}", api.0, api.1);
    let annotations =
        format!("`annotations` of service `app` needs engine API 1.43; {speaks}: it is left out");
    let c = p.container("app");
    if api < (1, 43) {
        assert_eq!(err.matches(&annotations).count(), 1, "one warning: {err}");
        assert!(err.contains("compose.yaml:3:3"), "located: {err}");
        assert!(
            err.contains("`healthcheck.start_interval` of service `app` needs engine API 1.44"),
            "{err}"
        );
        assert_eq!(c.host("Annotations"), &serde_json::Value::Null);
    } else {
        assert!(!err.contains("`annotations`"), "{err}");
        assert_eq!(c.host("Annotations")["com.example.team"], "infra");
    }
    let weight_warning = "sets a weight, which this engine does not keep";
    assert_eq!(
        err.contains(weight_warning),
        !keeps_blkio_weight(&p),
        "the weight warning follows the engine: {err}"
    );
    // The relabelled bind goes the old way, which every engine takes.
    assert_eq!(
        c.host("Binds"),
        &serde_json::json!([format!("{}:/data:rw,z", p.path("data").display())])
    );
    assert!(c.running());
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}
