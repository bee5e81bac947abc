//! Rolling updates and dependency order on a one-node swarm, checked from
//! the engine's own records (service and task inspects, the containers the
//! tasks ran), not from berth's output: a new image tag rolls the service
//! and leaves the others alone, an image rebuilt under the same tag rolls
//! it too, and `depends_on` holds back a service until what it depends on is
//! healthy or has completed.
//!
//! Like `swarm.rs`, the services use `endpoint_mode: dnsrr`: the kernel
//! here has no IPVS.

use crate::engine::*;

use serde_json::Value;

/// A service that idles and stops at once on SIGTERM.
const IDLE: &str = r#"[sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]"#;

/// The inspects of a service's tasks (every one the swarm keeps, its history
/// too).
fn tasks_of(service: &str) -> Vec<Value> {
    docker_lines(&["service", "ps", "-q", "--no-trunc", service])
        .iter()
        .map(|id| {
            let v: Value =
                serde_json::from_str(&docker(&["inspect", "--type", "task", id])).expect("json");
            v[0].clone()
        })
        .collect()
}

/// The one task of `service` the swarm wants in `desired` state (`running`,
/// or `complete` for a job).
#[track_caller]
pub(super) fn task(service: &str, desired: &str) -> Value {
    let mut found: Vec<Value> = tasks_of(service)
        .into_iter()
        .filter(|t| t["DesiredState"] == desired)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one task of {service} desired {desired}: {found:#?}"
    );
    found.remove(0)
}

/// The container a task ran in.
pub(super) fn task_container(task: &Value) -> Container {
    let id = task["Status"]["ContainerStatus"]["ContainerID"]
        .as_str()
        .unwrap_or_else(|| panic!("no container for task {task:#}"));
    Container::inspect(id)
}

/// A task's last state change, in Unix seconds: when it entered its
/// current state.
fn task_since(task: &Value) -> f64 {
    rfc3339_secs(task["Status"]["Timestamp"].as_str().unwrap_or_default())
}

/// When the swarm created `service`, in Unix seconds.
fn created(service: &str) -> f64 {
    rfc3339_secs(service_inspect(service, "{{json .CreatedAt}}").trim_matches('"'))
}

fn version(service: &str) -> String {
    service_inspect(service, "{{.Version.Index}}")
}

fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .trim()
        .to_string()
}

#[test]
fn a_new_image_tag_rolls_the_service_and_leaves_the_other_alone() {
    let _swarm = Swarm::join();
    let mut p = Project::new("swarm-roll-tag");
    // Two names of the test image, this project's own; the project's drop
    // removes them (after its services), also when the test fails.
    let tags = [1, 2].map(|n| format!("{}-img:{n}", p.name));
    for t in &tags {
        p.extra_images.push(t.clone());
        docker(&["tag", IMAGE, t]);
    }
    let stack = |tag: &str| {
        format!(
            r#"
services:
  x:
    image: {tag}
    command: {IDLE}
    deploy:
      endpoint_mode: dnsrr
      update_config: {{monitor: 1s}}
  y:
    image: {{IMAGE}}
    command: {IDLE}
    deploy:
      endpoint_mode: dnsrr
"#
        )
    };
    let (x, y) = (format!("{}_x", p.name), format!("{}_y", p.name));
    p.write("compose.yaml", &stack(&tags[0]));
    p.berth(&["up", "--swarm", "--wait"]).ok();
    assert_eq!(
        task(&x, "running")["Spec"]["ContainerSpec"]["Image"],
        tags[0].as_str()
    );
    let y_version = version(&y);

    p.write("compose.yaml", &stack(&tags[1]));
    let plan = p.berth(&["plan", "--swarm"]).code_is(3);
    assert_eq!(
        plan.stdout(),
        format!("update service {x}: image {} -> {}\n", tags[0], tags[1])
    );
    p.berth(&["up", "--swarm", "--wait"])
        .ok()
        .says(&format!("Updated service {x}"));

    // The swarm rolled x: its update completed, and the one task it wants
    // running is on tag 2, running.
    assert_eq!(service_inspect(&x, "{{.UpdateStatus.State}}"), "completed");
    let now = task(&x, "running");
    assert_eq!(now["Spec"]["ContainerSpec"]["Image"], tags[1].as_str());
    assert_eq!(now["Status"]["State"], "running");
    // y was not sent an update: its version is the one it had.
    assert_eq!(version(&y), y_version, "y was updated");
    assert!(
        service_inspect(&y, "{{json .UpdateStatus}}") == "null",
        "y has an update status"
    );
}

#[test]
fn an_image_rebuilt_under_the_same_tag_rolls_the_service_onto_it() {
    let _swarm = Swarm::join();
    let mut p = Project::new("swarm-roll-build");
    let tag = format!("{}-app:1", p.name);
    p.extra_images.push(tag.clone());
    p.write(
        "compose.yaml",
        &format!(
            r#"
services:
  x:
    build: ./app
    image: {tag}
    command: {IDLE}
    deploy:
      endpoint_mode: dnsrr
      update_config: {{monitor: 1s}}
"#
        ),
    );
    std::fs::create_dir_all(p.path("app")).unwrap();
    // `berth build` of an image whose /v holds `<project> <n>`, and its id:
    // the project's name makes the id this test's own.
    let build = |p: &Project, n: u32| {
        p.write(
            "app/Dockerfile",
            &format!("FROM {{IMAGE}}\nRUN echo {{P}} {n} > /v\n"),
        );
        p.berth(&["build"]).ok();
        image_id(&tag)
    };
    let x = format!("{}_x", p.name);

    let first = build(&p, 2);
    // The rebuild below leaves this one untagged: removed with the project.
    p.extra_images.push(first.clone());
    p.berth(&["up", "--swarm", "--wait"]).ok();
    let c = task_container(&task(&x, "running"));
    assert_eq!(c.json["Image"], first.as_str());
    assert_eq!(
        c.json["Config"]["Labels"]["io.berth.image-id"],
        first.as_str()
    );
    // The same image: the same spec, nothing to do.
    p.berth(&["plan", "--swarm"]).ok().says("no changes");

    let second = build(&p, 3);
    p.extra_images.push(second.clone());
    assert_ne!(first, second);
    let short = |id: &str| id.trim_start_matches("sha256:")[..12].to_string();
    let plan = p.berth(&["plan", "--swarm"]).code_is(3);
    assert_eq!(
        plan.stdout(),
        format!(
            "update service {x}: image {tag} rebuilt ({} -> {})\n",
            short(&first),
            short(&second)
        )
    );
    p.berth(&["up", "--swarm", "--wait"])
        .ok()
        .says(&format!("Updated service {x}"));

    // The task the swarm runs now is a new one, in a container of the
    // rebuilt image.
    assert_eq!(service_inspect(&x, "{{.UpdateStatus.State}}"), "completed");
    let c = task_container(&task(&x, "running"));
    assert_eq!(c.json["Image"], second.as_str());
    assert_eq!(c.exec("cat /v").trim(), format!("{} 3", p.name));
    p.berth(&["plan", "--swarm"]).ok().says("no changes");
}

#[test]
fn a_dependent_is_created_only_once_its_dependency_is_healthy_or_has_completed() {
    let _swarm = Swarm::join();
    let p = Project::new("swarm-roll-deps");
    // db turns healthy 3 s after it starts; migrate, a job, completes after
    // 3 s. Without the order, api and worker would be created at once.
    p.write(
        "compose.yaml",
        &format!(
            r#"
services:
  db:
    image: {{IMAGE}}
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; sleep 3600 & wait"]
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 500ms
      retries: 60
    deploy: {{endpoint_mode: dnsrr}}
  api:
    image: {{IMAGE}}
    command: {IDLE}
    depends_on:
      db: {{condition: service_healthy}}
    deploy: {{endpoint_mode: dnsrr}}
  migrate:
    image: {{IMAGE}}
    command: [sh, -c, "sleep 3"]
    deploy:
      mode: replicated-job
      endpoint_mode: dnsrr
      restart_policy: {{condition: on-failure}}
  worker:
    image: {{IMAGE}}
    command: {IDLE}
    depends_on:
      migrate: {{condition: service_completed_successfully}}
    deploy: {{endpoint_mode: dnsrr}}
"#
        ),
    );
    p.berth(&["up", "--swarm", "--wait"]).ok();
    let name = |s: &str| format!("{}_{s}", p.name);

    // A task with a health check turns `running` only once its container
    // is healthy: that is the time the task's status holds.
    let db = task(&name("db"), "running");
    let db_container = task_container(&db);
    assert_eq!(db_container.json["State"]["Health"]["Status"], "healthy");
    let healthy = task_since(&db);
    assert!(
        healthy - db_container.started_secs() >= 2.5,
        "db's task ran {:.2} s after its container started; its check should have held it for 3 s",
        healthy - db_container.started_secs()
    );
    let api = created(&name("api"));
    assert!(
        api > healthy,
        "api was created {:.2} s before db was healthy",
        healthy - api
    );

    let job = task(&name("migrate"), "complete");
    assert_eq!(job["Status"]["State"], "complete");
    let job_container = task_container(&job);
    assert_eq!(job_container.json["State"]["ExitCode"], 0);
    let done = task_since(&job).max(job_container.finished_secs());
    assert!(done - job_container.started_secs() >= 2.5);
    let worker = created(&name("worker"));
    assert!(
        worker > done,
        "worker was created {:.2} s before migrate completed",
        done - worker
    );
}
