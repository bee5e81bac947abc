//! `up` where one change reaches beyond its own resource: a network whose
//! settings changed is recreated under its containers, and a container that
//! takes another's network namespace or volumes follows it when it is
//! replaced.

use super::*;

fn internal(s: &str) -> String {
    s.replace("  devapp-net: {}", "  devapp-net: {internal: true}")
}

const CHANGED: &str = "recreate network gb_devapp-net: internal false -> true";

#[test]
fn a_changed_network_is_recreated_and_its_containers_reconnected() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    let plan = up(&new, &converged(&old));
    assert_eq!(
        plan.to_string(),
        format!(
            "\
disconnect gb-frontend-1 from gb_devapp-net: {CHANGED}
disconnect gb-backend-1 from gb_devapp-net: {CHANGED}
disconnect gb-mongodb-1 from gb_devapp-net: {CHANGED}
remove network gb_devapp-net: {CHANGED}
create network gb_devapp-net: {CHANGED}
connect gb-mongodb-1 to gb_devapp-net: {CHANGED}
connect gb-backend-1 to gb_devapp-net: {CHANGED}
connect gb-frontend-1 to gb_devapp-net: {CHANGED}
"
        )
    );
    assert_eq!(
        after(&plan, &format!("remove network gb_devapp-net: {CHANGED}")),
        [
            format!("disconnect gb-frontend-1 from gb_devapp-net: {CHANGED}"),
            format!("disconnect gb-backend-1 from gb_devapp-net: {CHANGED}"),
            format!("disconnect gb-mongodb-1 from gb_devapp-net: {CHANGED}"),
        ]
    );
    assert_eq!(
        after(
            &plan,
            &format!("connect gb-backend-1 to gb_devapp-net: {CHANGED}")
        ),
        [format!("create network gb_devapp-net: {CHANGED}")]
    );
    // The create carries the new settings; each reconnect the service's
    // aliases.
    let create = &plan.steps[step(&plan, &format!("create network gb_devapp-net: {CHANGED}"))];
    let Action::CreateNetwork { request, .. } = &create.action else {
        panic!("{create:?}")
    };
    assert_eq!(request.internal, Some(true));
    let connect = &plan.steps[step(
        &plan,
        &format!("connect gb-backend-1 to gb_devapp-net: {CHANGED}"),
    )];
    let Action::Connect { endpoint, .. } = &connect.action else {
        panic!("{connect:?}")
    };
    assert_eq!(
        endpoint.aliases.as_deref(),
        Some(&["backend".to_string()][..])
    );
    // Once done, nothing more to do.
    assert_eq!(up(&new, &converged(&new)).to_string(), "no changes\n");
}

#[test]
fn every_network_setting_is_compared_and_named() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace(
        "  devapp-net: {}",
        "  devapp-net:\n    driver_opts: {com.docker.network.bridge.enable_icc: 'false'}\n    attachable: true\n    enable_ipv6: true\n    labels: {tier: app}\n    ipam:\n      config:\n        - subnet: 10.5.0.0/24",
    ));
    let plan = up(&new, &converged(&old));
    let cause = &plan.steps[0].cause;
    assert_eq!(
        cause.to_string(),
        "recreate network gb_devapp-net: driver_opts {} -> {com.docker.network.bridge.enable_icc=false}, \
         attachable false -> true, enable_ipv6 false -> true, \
         ipam.config [subnet=172.18.0.0/16] -> [subnet=10.5.0.0/24], labels {} -> {tier=app}"
    );
    // A pool's gateway the engine picked is not a change; the subnet
    // and the labels berth sets itself are what they were.
    assert_eq!(up(&new, &converged(&new)).to_string(), "no changes\n");
}

#[test]
fn a_network_used_by_a_container_outside_the_project_stops_the_plan() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    let mut o = converged(&old);
    o.networks[0].containers.push("someone-elses".into());
    let errors = plan_up(&new, &o, &UpOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].message,
        "network gb_devapp-net must be recreated (internal false -> true), but containers outside project gb use it: someone-elses"
    );
    assert_eq!(
        errors[0].help,
        "disconnect them (`docker network disconnect gb_devapp-net someone-elses`) and run the command again, \
         or change the network's settings in the stack back"
    );
    assert!(errors[0].span.is_some());
}

#[test]
fn a_container_recreated_anyway_is_disconnected_but_not_reconnected() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    let mut o = converged(&old);
    o.images
        .insert("gb/backend".into(), Some("sha256:newer".into()));
    let plan = up(&new, &o);
    let text = plan.to_string();
    assert!(
        text.contains(&format!(
            "disconnect gb-backend-1 from gb_devapp-net: {CHANGED}"
        )),
        "{text}"
    );
    assert!(
        !text.contains("connect gb-backend-1 to"),
        "the new container joins at its create: {text}"
    );
    assert_eq!(
        after(
            &plan,
            "create container gb-backend-1: recreate: image changed"
        ),
        [
            format!("create network gb_devapp-net: {CHANGED}"),
            "rename gb-backend-1 to gbbackend100_gb-backend-1: recreate: image changed".into(),
        ]
    );
}

#[test]
fn containers_of_services_left_alone_are_reconnected_too() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    let opts = UpOptions {
        services: vec!["mongodb".into()],
        ..UpOptions::default()
    };
    let plan = plan_up(&new, &converged(&old), &opts).unwrap();
    let connects: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Connect { .. }))
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        connects,
        [
            format!("connect gb-mongodb-1 to gb_devapp-net: {CHANGED}"),
            format!("connect gb-frontend-1 to gb_devapp-net: {CHANGED}"),
            format!("connect gb-backend-1 to gb_devapp-net: {CHANGED}"),
        ]
    );
}

#[test]
fn a_changed_volume_driver_is_still_an_error() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace("  mongo-data: {}", "  mongo-data: {driver: other}"));
    let errors = plan_up(&new, &converged(&old), &UpOptions::default()).unwrap_err();
    assert!(
        errors[0]
            .message
            .starts_with("volume gb_mongo-data exists with driver local")
    );
}

const SHARED: &str = r#"
name: gb
services:
  x:
    image: gb/x
    environment: {MODE: a}
  ns:
    image: gb/ns
    network_mode: service:x
  vols:
    image: gb/vols
    volumes_from: [x]
"#;

#[test]
fn a_namespace_or_volumes_dependent_is_recreated_with_its_container() {
    let old = stack(SHARED);
    let new = stack(&SHARED.replace("MODE: a", "MODE: b"));
    let plan = up(&new, &converged(&old));
    let text = plan.to_string();
    assert!(
        text.contains("create container gb-x-1: recreate: config changed: environment"),
        "{text}"
    );
    assert!(
        text.contains(
            "create container gb-ns-1: recreate: its network namespace's container gb-x-1 is recreated"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "create container gb-vols-1: recreate: its volumes_from container gb-x-1 is recreated"
        ),
        "{text}"
    );
    // The dependent's new container is made once x's new one exists.
    assert!(
        after(
            &plan,
            "create container gb-ns-1: recreate: its network namespace's container gb-x-1 is recreated"
        )
        .contains(&"create container gb-x-1: recreate: config changed: environment".to_string())
    );
}

#[test]
fn a_dependent_made_against_an_earlier_container_is_recreated() {
    let s = stack(SHARED);
    let mut o = converged(&s);
    assert_eq!(up(&s, &o).to_string(), "no changes\n");
    // x was replaced after its dependents were made (an `up x` alone):
    // the namespace dependent names the old id, the volumes one is older.
    let x = o
        .containers
        .iter_mut()
        .find(|c| c.name == "gb-x-1")
        .unwrap();
    x.id = format!("{:f<64}", "newx");
    x.created = "2026-11-30T08:00:00.5Z".into();
    for c in &mut o.containers {
        if c.name != "gb-x-1" {
            c.created = "2026-11-30T07:00:00.123456789Z".into();
        }
    }
    let plan = up(&s, &o);
    let lines: Vec<String> = plan
        .to_string()
        .lines()
        .filter(|l| l.starts_with("create container"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "create container gb-ns-1: recreate: its network namespace's container gb-x-1 was recreated after it",
            "create container gb-vols-1: recreate: its volumes_from container gb-x-1 was recreated after it",
        ]
    );
}

#[test]
fn an_interrupted_network_recreate_converges() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    // Stopped after the disconnects and the remove: the network is
    // missing and no container is on it.
    let mut o = converged(&old);
    o.networks.clear();
    for c in &mut o.containers {
        c.networks.clear();
    }
    let plan = up(&new, &o);
    assert_eq!(
        plan.to_string(),
        "\
create network gb_devapp-net: not found
connect gb-mongodb-1 to gb_devapp-net: network added
connect gb-backend-1 to gb_devapp-net: network added
connect gb-frontend-1 to gb_devapp-net: network added
"
    );
    // Stopped after one disconnect: the others still go through the
    // recreate, the one already off joins the new network.
    let mut o = converged(&old);
    o.containers[0].networks.clear();
    let text = up(&new, &o).to_string();
    assert!(!text.contains("disconnect gb-frontend-1"), "{text}");
    assert!(
        text.contains("connect gb-frontend-1 to gb_devapp-net: network added"),
        "{text}"
    );
    assert!(
        text.contains(&format!("remove network gb_devapp-net: {CHANGED}")),
        "{text}"
    );
}

#[test]
fn a_changed_swarm_network_is_an_error() {
    let old = stack(THREE_TIER);
    let new = stack(&internal(THREE_TIER));
    let mut o = converged(&old);
    o.networks[0].scope = "swarm".into();
    let errors = plan_up(&new, &o, &UpOptions::default()).unwrap_err();
    assert!(
        errors[0].message.contains("it is a swarm network"),
        "{errors:?}"
    );
}

#[test]
fn options_the_engine_adds_to_an_overlay_network_are_no_change() {
    let s = stack(&THREE_TIER.replace(
        "  devapp-net: {}",
        "  devapp-net: {driver: overlay, attachable: true}",
    ));
    let mut o = converged(&s);
    o.networks[0].settings.options.insert(
        "com.docker.network.driver.overlay.vxlanid_list".into(),
        "4097".into(),
    );
    assert_eq!(up(&s, &o).to_string(), "no changes\n");
}
