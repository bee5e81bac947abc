//! Releases and `rollback` on a one-node swarm: `up --swarm` records a
//! release as `up` does, `releases --swarm` lists them, and `rollback
//! --swarm` goes back to one as an ordinary plan (the service updated onto
//! the image the release kept), records a release of its own and leaves the
//! named volume as it is. Releases made with and without `--swarm` are one
//! history, each saying its target.
//!
//! One project through every step, to keep it short: v1 on the plain engine
//! (release 1), `down`, v1 on the swarm (2), v2 built under the same tag (3),
//! then the way back to 2 (4). The image is rebuilt under one tag, so going
//! back needs the image release 2 kept (`berth-releases/<project>/x:2`).
//! Checked from the engine's records (the service's spec, the container
//! its task runs), not from berth's words alone.
//!
//! Like `swarm.rs`, the service uses `endpoint_mode: dnsrr`: the kernel
//! here has no IPVS.

use serde_json::Value;

use super::swarm_roll::{task, task_container};
use crate::engine::*;

/// `x`, built from `app/` under one tag, with the named volume `data` and
/// the update and rollback settings Swarm is sent. The updates start the
/// new task first: stop-first, each waited about 4 s here for the old task
/// to stop before the new one started.
fn stack(tag: &str) -> String {
    format!(
        r#"
services:
  x:
    build: ./app
    image: {tag}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes: [data:/data]
    deploy:
      endpoint_mode: dnsrr
      update_config: {{monitor: 1s, failure_action: rollback, order: start-first}}
      rollback_config: {{monitor: 2s, parallelism: 1}}
volumes:
  data: {{}}
"#
    )
}

/// `berth build` of the image whose /v holds `version`, and its id. /p
/// holds the project's name, which makes the id this test's own (its
/// cleanup removes it).
fn build(p: &Project, tag: &str, version: &str) -> String {
    p.write(
        "app/Dockerfile",
        &format!("FROM {{IMAGE}}\nRUN echo {{P}} > /p && echo {version} > /v\n"),
    );
    p.berth(&["build"]).ok();
    docker(&["image", "inspect", "--format", "{{.Id}}", tag])
        .trim()
        .to_string()
}

/// `berth releases ARGS --format json`, parsed.
fn releases_json(p: &Project, args: &[&str]) -> Value {
    let mut all = vec!["releases"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(p.berth(&all).ok().stdout()).expect("releases JSON")
}

/// Each release's (number, target), newest first.
fn targets(list: &Value) -> Vec<(u64, String)> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|r| {
            (
                r["number"].as_u64().unwrap(),
                r["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn spec_version(service: &str) -> String {
    service_inspect(service, "{{.Version.Index}}")
}

#[test]
fn releases_and_rollback_on_the_swarm_share_the_engines_history() {
    let _swarm = Swarm::join();
    let mut p = Project::new("swarm-rel");
    let n = p.name.clone();
    let tag = format!("{n}-app:1");
    p.extra_images.push(tag.clone());
    std::fs::create_dir_all(p.path("app")).unwrap();
    p.write("compose.yaml", &stack(&tag));
    let x = format!("{n}_x");
    let volume = format!("{n}_data");

    // Release 1: v1 on the plain engine; a marker in the volume, which no
    // rollback may touch. Then `down`: the release outlives it, and the
    // volume stays.
    let v1 = build(&p, &tag, "v1");
    p.extra_images.push(v1.clone());
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says(&format!("Recorded release 1 of {n}"));
    let c = p.container("x");
    c.exec("echo kept > /data/marker");
    p.berth(&["down"]).ok();

    // Release 2: the same stack on the swarm; its number follows the
    // engine's.
    p.berth(&["up", "--swarm", "--wait", "--progress", "plain"])
        .ok()
        .says(&format!("Recorded release 2 of {n}"));
    let c = task_container(&task(&x, "running"));
    assert_eq!(c.exec("cat /v /data/marker"), "v1\nkept\n");

    // Release 3: v2, rebuilt under the same tag.
    let v2 = build(&p, &tag, "v2");
    p.extra_images.push(v2.clone());
    assert_ne!(v1, v2);
    p.berth(&["up", "--swarm", "--wait", "--progress", "plain"])
        .ok()
        .says(&format!("Recorded release 3 of {n}"));
    assert_eq!(task_container(&task(&x, "running")).exec("cat /v"), "v2\n");

    // One history, with or without --swarm, each release saying its target.
    let list = releases_json(&p, &["--swarm"]);
    assert_eq!(
        targets(&list),
        [
            (3, "swarm".to_string()),
            (2, "swarm".to_string()),
            (1, "engine".to_string())
        ]
    );
    assert_eq!(list, releases_json(&p, &[]), "one history");
    let short = |id: &str| id.trim_start_matches("sha256:")[..12].to_string();
    assert_eq!(
        list[0]["changes"],
        serde_json::json!([format!(
            "update service {x}: image {tag} rebuilt ({} -> {})",
            short(&v1),
            short(&v2)
        )])
    );
    assert_eq!(
        list[1]["changes"],
        serde_json::json!([
            format!("create network {n}_default: not found"),
            format!("create service {x}: not found"),
        ])
    );
    // The image each release ran, and the tag that keeps it.
    for (release, id) in [(&list[0], &v2), (&list[1], &v1), (&list[2], &v1)] {
        let number = &release["number"];
        let x = &release["services"]["x"];
        assert_eq!(x["image"], tag.as_str(), "release {number}");
        assert_eq!(x["id"], id.as_str(), "release {number}");
        assert_eq!(x["tag"], format!("berth-releases/{n}/x:{number}"));
        assert_eq!(x["kept"], true, "release {number}");
        assert_eq!(release["images"], "kept");
    }

    let table = p.berth(&["releases", "--swarm"]).ok();
    let lines: Vec<&str> = table.stdout().lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout());
    assert!(lines[0].starts_with("RELEASE   TIME"), "{}", lines[0]);
    let target = |line: &str| line.split_whitespace().nth(2).unwrap_or("").to_string();
    assert_eq!(
        lines[1..].iter().map(|l| target(l)).collect::<Vec<_>>(),
        ["swarm", "swarm", "engine"],
        "{}",
        table.stdout()
    );
    table.says("3 of 3 releases keep their images");
    // One release, with the stack it ran: the settings Swarm was sent.
    let two = releases_json(&p, &["2", "--swarm"]);
    assert_eq!(two["target"], "swarm");
    let deploy = &two["stack"]["services"]["x"]["deploy"];
    assert_eq!(deploy["rollback_config"]["parallelism"], 1, "{deploy:#}");

    // An unknown release: said so, with the known ones, and nothing
    // changed.
    let version = spec_version(&x);
    p.berth(&["rollback", "--swarm", "9"])
        .code_is(1)
        .says(&format!("no release 9 of {n}; its releases are 1-3"));
    assert_eq!(spec_version(&x), version, "an unknown release changed x");

    // The plan back to release 2 (the one before the newest): x updated
    // onto the image release 2 kept, the volume left as it is, and nothing
    // changed.
    let back = format!("berth-releases/{n}/x:2");
    let dry = p.berth(&["rollback", "--swarm", "--dry-run"]).ok();
    assert_eq!(
        dry.stdout(),
        format!("update service {x}: image {tag} -> {back}\n")
    );
    dry.says(&format!("volume {volume} is not rolled back"))
        .says(&format!("x runs {back}, the image it ran in release 2"));
    // Swarm ignores pull_policy and warns about it; the rollback pins the
    // image without making one up.
    assert!(!dry.stderr().contains("pull_policy"), "{}", dry.stderr());
    let json = p
        .berth(&["rollback", "--swarm", "--dry-run", "--format", "json"])
        .ok();
    let plan: Value = serde_json::from_str(json.stdout()).expect("plan JSON");
    assert_eq!(plan["changes"], true);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{plan:#}");
    assert_eq!(steps[0]["action"], "update_service");
    let body = &steps[0]["request"]["body"];
    let container = &body["TaskTemplate"]["ContainerSpec"];
    assert_eq!(container["Image"], back.as_str());
    assert_eq!(container["Labels"]["io.berth.image-id"], v1.as_str());
    assert_eq!(body["UpdateConfig"]["FailureAction"], "rollback");
    assert_eq!(body["RollbackConfig"]["Monitor"], 2_000_000_000u64);
    // Release 1 was made without --swarm; the swarm goes back to it as well.
    let to_one = p.berth(&["rollback", "--swarm", "1", "--dry-run"]).ok();
    assert_eq!(
        to_one.stdout(),
        format!("update service {x}: image {tag} -> berth-releases/{n}/x:1\n")
    );
    assert_eq!(spec_version(&x), version, "--dry-run changed x");
    assert_eq!(releases_json(&p, &["--swarm"]).as_array().unwrap().len(), 3);

    // The rollback: x runs v1 again, from the kept image, with the update
    // and rollback settings of the stack; the volume keeps its marker; a
    // release of the swarm records the way back.
    p.berth(&["rollback", "--swarm", "--wait", "--progress", "plain"])
        .ok()
        .says(&format!("Rolling {n} back to release 2"))
        .says(&format!("Updated service {x}"))
        .says(&format!("Recorded release 4 of {n}"));
    assert_eq!(
        service_inspect(&x, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        back
    );
    assert_eq!(service_inspect(&x, "{{.UpdateStatus.State}}"), "completed");
    assert_eq!(
        service_inspect(
            &x,
            "{{.Spec.UpdateConfig.FailureAction}} {{.Spec.UpdateConfig.Order}}"
        ),
        "rollback start-first"
    );
    assert_eq!(
        service_inspect(&x, "{{.Spec.RollbackConfig.Monitor}}"),
        "2s"
    );
    let now = task(&x, "running");
    assert_eq!(now["Spec"]["ContainerSpec"]["Image"], back.as_str());
    assert_eq!(now["Status"]["State"], "running");
    let c = task_container(&now);
    assert_eq!(c.json["Image"], v1.as_str());
    assert_eq!(c.exec("cat /v /data/marker"), "v1\nkept\n");
    let list = releases_json(&p, &["--swarm"]);
    assert_eq!(list[0]["number"], 4);
    assert_eq!(list[0]["target"], "swarm");
    assert_eq!(
        list[0]["changes"],
        serde_json::json!([format!("update service {x}: image {tag} -> {back}")])
    );
    assert_eq!(list[0]["services"]["x"]["image"], back.as_str());
    assert_eq!(list[0]["services"]["x"]["id"], v1.as_str());

    // `down --swarm --volumes` takes the service and the volume (once the
    // task's container, which holds it, is gone); the releases stay.
    p.berth(&["down", "--swarm", "--volumes"]).ok();
    assert!(services_of(&n).is_empty());
    assert!(p.volumes().is_empty(), "{:?}", p.volumes());
    assert_eq!(
        targets(&releases_json(&p, &["--swarm"])),
        [
            (4, "swarm".to_string()),
            (3, "swarm".to_string()),
            (2, "swarm".to_string()),
            (1, "engine".to_string())
        ]
    );
}
