//! Rollouts on one engine (`deploy.update_config`): the steps, their
//! order, and the fallbacks of each check.

use super::*;

const WEB: &str = r#"
name: app
services:
  web:
    image: app/web
    networks: [net]
    healthcheck:
      test: ["CMD", "true"]
    deploy:
      replicas: REPLICAS
      update_config:
        order: ORDER
        parallelism: 1
        failure_action: ACTION
networks:
  net: {}
"#;

fn web(replicas: u32, order: &str, action: &str) -> Stack {
    stack(
        &WEB.replace("REPLICAS", &replicas.to_string())
            .replace("ORDER", order)
            .replace("ACTION", action),
    )
}

/// The plan after the image of `web` changed.
fn new_image(s: &Stack) -> Plan {
    let mut o = converged(s);
    o.images.insert("app/web".into(), Some("sha256:v2".into()));
    up(s, &o)
}

#[test]
fn start_first_starts_beside_the_old_one_admits_after_the_check_and_drains() {
    let s = web(1, "start-first", "rollback");
    let plan = new_image(&s);
    assert_eq!(
        plan.to_string(),
        "\
rename app-web-1 to appweb100000_app-web-1: recreate: image changed
create container app-web-1: recreate: image changed
start app-web-1: start-first, beside appweb100000_app-web-1
stop app-web-1: roll back, only if the new containers of web fail their check
remove app-web-1: roll back, only if the new containers of web fail their check
rename appweb100000_app-web-1 to app-web-1: roll back, only if the new containers of web fail their check
start app-web-1: roll back, only if the new containers of web fail their check
disconnect app-web-1 from app_net: admit: healthy, takes over the service's aliases
connect app-web-1 to app_net: admit: healthy, takes over the service's aliases
drain appweb100000_app-web-1: replaced
remove appweb100000_app-web-1: replaced
"
    );
    // The new container has no service alias until it is admitted.
    let create = step(&plan, "create container app-web-1: recreate: image changed");
    let Action::CreateContainer { request, .. } = &plan.steps[create].action else {
        unreachable!()
    };
    let endpoints = request
        .networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.as_ref())
        .expect("endpoints");
    assert!(
        endpoints.values().all(|e| e.aliases.is_none()),
        "{endpoints:?}"
    );
    let check = first_check(&plan);
    assert_eq!(
        after(
            &plan,
            "disconnect app-web-1 from app_net: admit: healthy, takes over the service's aliases"
        ),
        ["wait for app-web-1 to pass the rollout check: rollout check"]
    );
    assert_eq!(
        after(&plan, "drain appweb100000_app-web-1: replaced"),
        [
            "wait for app-web-1 to pass the rollout check: rollout check",
            "connect app-web-1 to app_net: admit: healthy, takes over the service's aliases"
        ]
    );
    // The way back runs only if the check fails.
    let fallbacks: Vec<StepId> = (0..plan.steps.len())
        .filter(|&i| plan.steps[i].on_failure_of == Some(check))
        .collect();
    assert_eq!(fallbacks.len(), 4);
    let Action::WaitRollout { check: c, .. } = &plan.steps[check].action else {
        unreachable!()
    };
    assert!(c.health);
    assert_eq!(c.monitor, std::time::Duration::from_secs(5));
    assert!(!c.monitor_set);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn stop_first_stops_the_old_one_first_and_keeps_it_until_the_check_passes() {
    let s = web(1, "stop-first", "rollback");
    let plan = new_image(&s);
    assert_eq!(
        plan.to_string(),
        "\
rename app-web-1 to appweb100000_app-web-1: recreate: image changed
stop appweb100000_app-web-1: recreate: image changed
create container app-web-1: recreate: image changed
start app-web-1: recreated
stop app-web-1: roll back, only if the new containers of web fail their check
remove app-web-1: roll back, only if the new containers of web fail their check
rename appweb100000_app-web-1 to app-web-1: roll back, only if the new containers of web fail their check
start app-web-1: roll back, only if the new containers of web fail their check
remove appweb100000_app-web-1: replaced
"
    );
    assert_eq!(
        after(&plan, "start app-web-1: recreated"),
        [
            "rename app-web-1 to appweb100000_app-web-1: recreate: image changed",
            "stop appweb100000_app-web-1: recreate: image changed",
            "create container app-web-1: recreate: image changed",
        ]
    );
}

/// The containers a stop-first rollout of `s` to image v2 leaves when
/// berth is killed after its create: the old one parked (`old` its
/// status: still stopping, or stopped), the new one `new`.
fn stop_first_halfway(s: &Stack, old: Status, new: Status) -> Observed {
    let mut o = converged(s);
    o.images.insert("app/web".into(), Some("sha256:v2".into()));
    let mut fresh = container(s, "web", 1);
    fresh.id = "f".repeat(64);
    fresh.image_id = "sha256:v2".into();
    fresh.status = new;
    for aliases in fresh.networks.values_mut() {
        *aliases.last_mut().unwrap() = "f".repeat(12);
    }
    let parked = identity::parked_name(&o.containers[0].id, &o.containers[0].name);
    o.containers[0].name = parked;
    o.containers[0].status = old;
    o.containers.push(fresh);
    o
}

#[test]
fn a_stop_first_rollout_stopped_after_its_create_is_checked_and_can_still_roll_back() {
    // Killed between the stop and the start (or during the stop, or after
    // the start): the next plan starts the new container only once the
    // old one has stopped, checks it, and keeps the old one to come back
    // to until the check has passed, as the whole rollout would have.
    // Taken for a leftover, the old one would be removed and the new one
    // started unchecked: a version that never gets healthy would stay,
    // and `up` succeed.
    let s = web(1, "stop-first", "rollback");
    let back = "\
stop app-web-1: roll back, only if the new containers of web fail their check
remove app-web-1: roll back, only if the new containers of web fail their check
rename appweb100000_app-web-1 to app-web-1: roll back, only if the new containers of web fail their check
start app-web-1: roll back, only if the new containers of web fail their check
";
    for (old, new) in [
        (Status::Exited, Status::Created),
        (Status::Running, Status::Created),
        (Status::Exited, Status::Running),
    ] {
        let plan = up(&s, &stop_first_halfway(&s, old, new));
        let stop = if old == Status::Running {
            "stop appweb100000_app-web-1: replaced\n"
        } else {
            ""
        };
        let start = if new == Status::Created {
            "start app-web-1: recreated\n"
        } else {
            ""
        };
        assert_eq!(
            plan.to_string(),
            format!("{stop}{start}{back}remove appweb100000_app-web-1: replaced\n"),
            "old {old:?}, new {new:?}"
        );
        let check = first_check(&plan);
        assert_eq!(
            plan.steps[step(&plan, "remove appweb100000_app-web-1: replaced")].after,
            [check]
        );
        if old == Status::Running && new == Status::Created {
            assert_eq!(
                after(&plan, "start app-web-1: recreated"),
                ["stop appweb100000_app-web-1: replaced"]
            );
        }
    }
    // Paused by a failed check, the next `up` checks it again rather
    // than taking the new one as it is.
    let s = web(1, "stop-first", "pause");
    let plan = up(&s, &stop_first_halfway(&s, Status::Exited, Status::Running));
    assert_eq!(
        plan.to_string(),
        "remove appweb100000_app-web-1: replaced\n"
    );
    assert!(
        plan.steps
            .iter()
            .any(|s| matches!(s.action, Action::WaitRollout { .. })),
        "{plan}"
    );
}

#[test]
fn batches_wait_for_the_one_before_and_a_failure_brings_back_every_replica_so_far() {
    let s = web(2, "start-first", "rollback");
    let plan = new_image(&s);
    let checks: Vec<StepId> = (0..plan.steps.len())
        .filter(|&i| matches!(plan.steps[i].action, Action::WaitRollout { .. }))
        .collect();
    assert_eq!(checks.len(), 2, "one check per batch of one\n{plan}");
    // The second batch starts after the first one's old container drained.
    assert_eq!(
        after(
            &plan,
            "rename app-web-2 to appweb200000_app-web-2: recreate: image changed"
        ),
        ["drain appweb100000_app-web-1: replaced"]
    );
    // Its failure brings back both replicas; the first's only itself.
    let back = |check: StepId| {
        plan.steps
            .iter()
            .filter(|s| s.on_failure_of == Some(check))
            .filter(|s| matches!(s.action, Action::Rename { .. }))
            .map(|s| s.action.describe())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        back(checks[0]),
        ["rename appweb100000_app-web-1 to app-web-1"]
    );
    assert_eq!(
        back(checks[1]),
        [
            "rename appweb100000_app-web-1 to app-web-1",
            "rename appweb200000_app-web-2 to app-web-2"
        ]
    );
    // The old containers go only when both batches passed.
    assert_eq!(
        after(&plan, "remove appweb100000_app-web-1: replaced"),
        ["drain appweb200000_app-web-2: replaced"]
    );
}

#[test]
fn pause_plans_no_way_back_and_continue_goes_on() {
    for action in ["pause", "continue"] {
        let s = web(1, "start-first", action);
        let plan = new_image(&s);
        assert!(
            plan.steps.iter().all(|s| s.on_failure_of.is_none()),
            "{action}: {plan}"
        );
        let check = plan
            .steps
            .iter()
            .find_map(|s| match &s.action {
                Action::WaitRollout { check, .. } => Some(*check),
                _ => None,
            })
            .expect("a check");
        assert_eq!(check.go_on, action == "continue");
    }
}

fn with_port(port: &str) -> Stack {
    stack(
        &WEB.replace("REPLICAS", "1")
            .replace("ORDER", "start-first")
            .replace("ACTION", "rollback")
            .replace(
                "    networks: [net]\n",
                &format!("    networks: [net]\n    ports: [\"{port}\"]\n"),
            ),
    )
}

/// The plan's first rollout check.
fn first_check(plan: &crate::plan::Plan) -> usize {
    plan.steps
        .iter()
        .position(|s| matches!(s.action, Action::WaitRollout { .. }))
        .expect("a check")
}

fn with_edge_image(o: &mut Observed, present: bool) {
    o.edge_image = Some(crate::observe::EdgeImageState {
        reference: "berth/edge:0123456789ab".into(),
        present,
        engine_socket: Some("/var/run/docker.sock".into()),
    });
}

#[test]
fn a_start_first_service_with_published_ports_gets_an_edge_made_once() {
    let s = with_port("127.0.0.1:8080:80");
    let mut o = Observed::default();
    o.images.insert("app/web".into(), Some("sha256:v1".into()));
    with_edge_image(&mut o, false);
    let plan = up(&s, &o);
    assert_eq!(
        plan.to_string(),
        "\
create network app_net: not found
create container app-web-1: not found
start app-web-1: created
import edge image berth/edge:0123456789ab: not found
create container app-web-edge: not found
point app-web-edge at web: created
start app-web-edge: created
"
    );
    // The service's container publishes nothing; its edge listens on the
    // port itself, on the host's network.
    let create = |name: &str| {
        let id = step(&plan, &format!("create container {name}: not found"));
        let Action::CreateContainer { request, .. } = &plan.steps[id].action else {
            unreachable!()
        };
        request.as_ref().clone()
    };
    let web = create("app-web-1").host_config.unwrap_or_default();
    assert!(web.port_bindings.is_none());
    let edge = create("app-web-edge");
    assert_eq!(
        edge.host_config.unwrap().network_mode.as_deref(),
        Some("host")
    );
    assert!(
        edge.cmd
            .unwrap()
            .join(" ")
            .contains("--forward 127.0.0.1:8080:80"),
        "the edge listens on the port"
    );
    assert_eq!(
        after(&plan, "start app-web-edge: created"),
        [
            "point app-web-edge at web: created",
            "create container app-web-1: not found",
            "start app-web-1: created",
        ]
    );
}

#[test]
fn the_first_rollout_with_an_edge_moves_the_ports_and_starts_the_edge_once_they_are_free() {
    let s = with_port("127.0.0.1:8080:80");
    let mut o = converged(&s);
    // Made before the stack asked for start-first: it publishes itself.
    o.containers[0].publishes = true;
    with_edge_image(&mut o, true);
    let plan = up(&s, &o);
    let text = plan.to_string();
    assert!(
        text.contains("recreate: its published ports move to the service's edge (start-first)"),
        "{text}"
    );
    assert!(
        text.contains("start app-web-1: start-first, beside"),
        "{text}"
    );
    assert!(!text.contains("import edge image"), "{text}");
    // The edge starts only once the old container let the port go.
    let edge_start = after(&plan, "start app-web-edge: created");
    assert!(
        edge_start
            .iter()
            .any(|s| s == "remove appweb100000_app-web-1: replaced"),
        "{edge_start:?}"
    );
}

/// `s` (of [`with_port`]) as `up` leaves it, with its edge.
fn converged_with_edge(s: &Stack) -> Observed {
    let mut o = converged(s);
    with_edge_image(&mut o, true);
    let spec = crate::spec::edge_container(
        s,
        &s.services["web"],
        "berth/edge:0123456789ab",
        Some("/var/run/docker.sock"),
    )
    .unwrap();
    let labels = spec.body.labels.clone().unwrap();
    o.containers.push(ContainerState {
        id: format!("{:0<64}", "edge"),
        name: "app-web-edge".into(),
        number: None,
        config_hash: labels.get(crate::identity::CONFIG_HASH).cloned(),
        config: None,
        publishes: true,
        edge: Some("web".into()),
        ..o.containers[0].clone()
    });
    o
}

#[test]
fn a_converged_service_with_its_edge_plans_nothing_and_a_rollout_points_it_before_the_drain() {
    let s = with_port("127.0.0.1:8080:80");
    let mut o = converged_with_edge(&s);
    let plan = up(&s, &o);
    assert!(plan.steps.is_empty(), "{plan}");
    o.images.insert("app/web".into(), Some("sha256:v2".into()));
    let plan = up(&s, &o);
    assert!(plan.to_string().contains("start-first"), "{plan}");
    // The running edge is pointed at the new container before the old one
    // is drained, and is otherwise left alone.
    assert_eq!(
        after(&plan, "drain appweb100000_app-web-1: replaced"),
        ["point app-web-edge at app-web-1: admit: healthy, takes over the service's aliases"]
    );
    let edge_steps: Vec<String> = plan
        .to_string()
        .lines()
        .filter(|l| l.contains("app-web-edge"))
        .map(str::to_string)
        .collect();
    assert_eq!(edge_steps.len(), 1, "{plan}");
}

#[test]
fn an_edge_that_does_not_run_gets_its_target_again_before_it_starts() {
    // Created by a run killed before it wrote the edge's target, the edge
    // would refuse every connection; stopped while its service rolled out,
    // it would still name the container that was replaced.
    let s = with_port("127.0.0.1:8080:80");
    for (status, cause) in [(Status::Created, "created"), (Status::Exited, "stopped")] {
        let mut o = converged_with_edge(&s);
        o.containers.last_mut().unwrap().status = status;
        let plan = up(&s, &o);
        assert_eq!(
            plan.to_string(),
            format!("point app-web-edge at web: {cause}\nstart app-web-edge: {cause}\n")
        );
        assert_eq!(
            after(&plan, &format!("start app-web-edge: {cause}")),
            [format!("point app-web-edge at web: {cause}")]
        );
        // With a rollout: the edge is not pointed at the new container
        // (it does not run), and starts after the old one is gone.
        o.images.insert("app/web".into(), Some("sha256:v2".into()));
        let plan = up(&s, &o);
        assert!(
            !plan.to_string().contains("point app-web-edge at app-web-1"),
            "{plan}"
        );
        let start = after(&plan, &format!("start app-web-edge: {cause}"));
        assert!(
            start.contains(&format!("point app-web-edge at web: {cause}"))
                && start.contains(&"remove appweb100000_app-web-1: replaced".to_string()),
            "{start:?}"
        );
    }
}

#[test]
fn a_udp_port_keeps_start_first_from_working_stop_first_with_a_warning() {
    let s = with_port("127.0.0.1:5353:53/udp");
    let plan = new_image(&s);
    assert!(
        plan.to_string()
            .contains("stop appweb100000_app-web-1: recreate"),
        "{plan}"
    );
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(plan.warnings[0].contains("UDP"), "{:?}", plan.warnings);
}

#[test]
fn without_update_config_a_recreate_is_as_before() {
    let s = stack(&WEB.replace(
        "    deploy:\n      replicas: REPLICAS\n      update_config:\n        order: ORDER\n        parallelism: 1\n        failure_action: ACTION\n",
        "",
    ));
    let plan = new_image(&s);
    assert!(!plan.to_string().contains("roll back"), "{plan}");
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| matches!(s.action, Action::WaitRollout { .. }))
    );
}

#[test]
fn a_converged_service_with_update_config_plans_nothing() {
    let s = web(2, "start-first", "rollback");
    let plan = up(&s, &converged(&s));
    assert!(plan.steps.is_empty(), "{plan}");
}
