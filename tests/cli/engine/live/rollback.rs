//! `berth rollback`: back to what a release ran, as an ordinary plan. The
//! service's image is built by berth (v1, then v2 under the same tag), so
//! going back needs the image the release kept; it rolls out start-first
//! while a client keeps asking for it by name, records a release of its
//! own, and never touches the named volume.

use super::rollout::serves;
use crate::engine::*;

/// `web`, built from `web/` (the Dockerfile writes `version`), with a
/// health check and a start-first rollout, a named volume, and `client`.
fn stack() -> String {
    r#"
services:
  web:
    build: web
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/index.html"]
      interval: 1s
      retries: 2
    deploy:
      update_config:
        order: start-first
        failure_action: rollback
  client:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
volumes:
  data: {}
"#
    .to_string()
}

fn write_version(p: &Project, version: &str) {
    std::fs::create_dir_all(p.path("web")).expect("web/");
    p.write(
        "web/Dockerfile",
        &format!(
            "FROM {IMAGE}\nRUN mkdir -p /www && echo {version} > /www/index.html\n\
             CMD [\"sh\", \"-c\", \"sleep 1; exec httpd -f -p 80 -h /www\"]\n"
        ),
    );
}

#[test]
fn rollback_goes_back_to_the_previous_release_with_its_kept_image() {
    let mut p = Project::new("rb-back");
    p.extra_images.push(format!("{}-web", p.name));
    p.write("compose.yaml", &stack().replace("{IMAGE}", IMAGE));
    write_version(&p, "v1");
    p.berth(&["up", "--wait"]).ok();
    assert_eq!(serves(&p), "v1");
    // A marker in the volume, which no rollback may touch.
    let web = p.container("web");
    docker(&["exec", &web.id, "sh", "-c", "echo kept > /data/marker"]);

    // One release is nothing to go back from.
    let run = p.berth(&["rollback"]).code_is(1);
    assert!(
        run.stderr().contains("nothing before it to roll back to"),
        "{}",
        run.stderr()
    );

    write_version(&p, "v2");
    p.berth(&["up", "--build", "--wait"]).ok();
    assert_eq!(serves(&p), "v2");

    // The plan first: a start-first rollout, the volume left as it is, and
    // nothing changed.
    let before = p.container("web").id;
    let dry = p.berth(&["rollback", "--dry-run"]).ok();
    assert!(
        dry.stdout().contains("start-first, beside"),
        "{}",
        dry.stdout()
    );
    assert!(
        dry.stderr()
            .contains(&format!("volume {}_data is not rolled back", p.name)),
        "{}",
        dry.stderr()
    );
    let json = p.berth(&["rollback", "--dry-run", "--format", "json"]).ok();
    let plan: serde_json::Value = serde_json::from_str(json.stdout()).expect("plan JSON");
    assert_eq!(plan["changes"], true);
    assert_eq!(p.container("web").id, before, "--dry-run changes nothing");

    // Unknown releases are named with the known ones.
    let run = p.berth(&["rollback", "9"]).code_is(1);
    assert!(
        run.stderr().contains("1, 2") || run.stderr().contains("1-2"),
        "{}",
        run.stderr()
    );

    let client = p.container("client").id;
    let load = std::process::Command::new("docker")
        .args([
            "exec",
            &client,
            "sh",
            "-c",
            "end=$(( $(date +%s) + 10 )); while [ $(date +%s) -lt $end ]; do \
             timeout 1 wget -q -O - http://web/index.html 2>/dev/null || echo FAIL; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("load");
    let run = p.berth(&["rollback", "--progress", "plain"]).ok();
    let out = load.wait_with_output().expect("load ends");
    let answers = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        run.stderr().contains("Rolling") && run.stderr().contains("back to release 1"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("Recorded release 3"),
        "{}",
        run.stderr()
    );
    assert_eq!(serves(&p), "v1");
    let web = p.container("web");
    assert_eq!(
        web.json["Config"]["Image"],
        format!("berth-releases/{}/web:1", p.name),
        "runs the image release 1 kept"
    );
    assert_eq!(
        web.exec("cat /data/marker").trim(),
        "kept",
        "the volume is not rolled back"
    );
    let lines: Vec<&str> = answers.lines().collect();
    assert!(lines.contains(&"v1") && lines.contains(&"v2"), "{lines:?}");
    let failed = lines.iter().filter(|l| **l == "FAIL").count();
    // Requests by name fail only as the old container stops (see
    // rollout.rs); a stop-first replacement here refuses for its boot and
    // first health check.
    assert!(
        failed * 20 <= lines.len(),
        "{failed} of {} failed",
        lines.len()
    );
}
