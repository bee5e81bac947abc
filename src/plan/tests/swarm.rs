//! The Swarm target: services instead of containers.

use bollard::models::{
    NetworkCreateRequest, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec,
};

use super::*;
use crate::observe::ServiceState;

const STACK: &str = r#"
name: gb
services:
  web:
    image: gb/web:1
    depends_on:
      api: {condition: service_healthy}
    networks: [front]
  api:
    image: gb/api:1
    networks: [front]
  cache:
    image: gb/cache
    networks: [front]
networks:
  front: {}
"#;

fn spec(name: &str, image: &str, replicas: i64) -> ServiceSpec {
    ServiceSpec {
        name: Some(format!("gb_{name}")),
        labels: Some(
            [
                (identity::PROJECT.to_string(), "gb".to_string()),
                (identity::SERVICE.to_string(), name.to_string()),
            ]
            .into(),
        ),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(replicas),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn specs(web_image: &str, api_replicas: i64) -> SwarmSpecs {
    let mut s = SwarmSpecs::default();
    s.services.insert("web".into(), spec("web", web_image, 1));
    s.services
        .insert("api".into(), spec("api", "gb/api:1", api_replicas));
    s.services
        .insert("cache".into(), spec("cache", "gb/cache", 1));
    s.networks.insert(
        "front".into(),
        NetworkCreateRequest {
            name: "gb_front".into(),
            driver: Some("overlay".into()),
            ..Default::default()
        },
    );
    s
}

/// The swarm after `plan` was applied: each created service with the spec
/// it was sent (hash label included), and the overlay network.
fn deployed(plan: &Plan) -> Observed {
    let mut o = Observed::default();
    for (i, st) in plan.steps.iter().enumerate() {
        match &st.action {
            Action::CreateService { request, .. } => {
                let labels = request.labels.clone().unwrap_or_default();
                o.services.push(ServiceState {
                    id: format!("svc{i}"),
                    name: request.name.clone().unwrap_or_default(),
                    version: 7,
                    project: labels.get(identity::PROJECT).cloned(),
                    service: labels.get(identity::SERVICE).cloned(),
                    hash: labels.get(identity::CONFIG_HASH).cloned(),
                    spec: request.as_ref().clone(),
                });
            }
            Action::CreateNetwork { name, .. } => o.networks.push(NetworkState {
                id: format!("net{i}"),
                name: name.clone(),
                project: Some("gb".into()),
                key: Some("front".into()),
                driver: "overlay".into(),
                internal: false,
                scope: "swarm".into(),
                containers: Vec::new(),
            }),
            _ => {}
        }
    }
    o
}

fn swarm_up(s: &Stack, o: &Observed, specs: &SwarmSpecs) -> Plan {
    plan_swarm_up(s, o, specs, &UpOptions::default()).unwrap()
}

#[test]
fn an_empty_swarm_gets_the_network_then_services_after_what_they_depend_on() {
    let s = stack(STACK);
    let plan = swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1));
    assert_eq!(
        plan.to_string(),
        "\
create network gb_front: not found
create service gb_api: not found
create service gb_cache: not found
create service gb_web: not found
"
    );
    assert_eq!(
        after(&plan, "create service gb_web: not found"),
        [
            "create network gb_front: not found",
            "wait for service gb_api to converge: web depends on it",
        ]
    );
    assert_eq!(
        after(
            &plan,
            "wait for service gb_api to converge: web depends on it"
        ),
        ["create service gb_api: not found"]
    );
    // Nothing depends on cache: no wait for it.
    assert_eq!(plan.steps.len(), 5);
}

#[test]
fn a_deployed_stack_plans_nothing_not_even_an_update() {
    let s = stack(STACK);
    let first = swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1));
    let plan = swarm_up(&s, &deployed(&first), &specs("gb/web:1", 1));
    assert_eq!(plan.to_string(), "no changes\n");
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
}

#[test]
fn a_changed_image_and_scale_update_only_those_services_from_the_observed_version() {
    let s = stack(STACK);
    let first = swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1));
    let o = deployed(&first);
    let plan = swarm_up(&s, &o, &specs("gb/web:2", 3));
    assert_eq!(
        plan.to_string(),
        "\
update service gb_api: replicas 1 -> 3
update service gb_web: image gb/web:1 -> gb/web:2
"
    );
    // web waits for api's update to converge, as on a first deploy.
    assert_eq!(
        after(&plan, "update service gb_web: image gb/web:1 -> gb/web:2"),
        ["wait for service gb_api to converge: web depends on it"]
    );
    let Action::UpdateService { id, version, .. } = &plan.steps[0].action else {
        panic!("{plan}")
    };
    assert_eq!((id.as_str(), *version), ("svc1", 7));
}

#[test]
fn a_digest_pinned_by_the_engine_is_not_a_change_of_image() {
    let old = spec("web", "gb/web:1@sha256:abc", 1);
    let new = spec("web", "gb/web:1", 1);
    assert!(crate::engine::spec::service_changes(&old, &new).is_empty());
}

#[test]
fn orphans_are_left_with_a_warning_or_removed_with_remove_orphans() {
    let s = stack(STACK);
    let mut o = deployed(&swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1)));
    let old = spec("old", "gb/old", 1);
    o.services.push(ServiceState {
        id: "svc-old".into(),
        name: "gb_old".into(),
        version: 3,
        project: Some("gb".into()),
        service: Some("old".into()),
        hash: None,
        spec: old,
    });
    let plan = swarm_up(&s, &o, &specs("gb/web:1", 1));
    assert_eq!(plan.to_string(), "no changes\n");
    assert_eq!(
        plan.warnings,
        [
            "service old is no longer in the stack file: its swarm service gb_old is left running; remove it with --remove-orphans"
        ]
    );
    let opts = UpOptions {
        remove_orphans: true,
        ..UpOptions::default()
    };
    let plan = plan_swarm_up(&s, &o, &specs("gb/web:1", 1), &opts).unwrap();
    assert_eq!(
        plan.to_string(),
        "remove service gb_old: orphan: service old is no longer in the stack file\n"
    );
}

#[test]
fn a_local_network_of_the_same_name_or_a_foreign_service_is_refused() {
    let s = stack(STACK);
    let mut o = Observed::default();
    o.networks.push(NetworkState {
        id: "n".into(),
        name: "gb_front".into(),
        project: Some("gb".into()),
        key: Some("front".into()),
        driver: "bridge".into(),
        internal: false,
        scope: "local".into(),
        containers: Vec::new(),
    });
    let mut other = spec("cache", "x", 1);
    other.labels = None;
    o.services.push(ServiceState {
        id: "s".into(),
        name: "gb_cache".into(),
        version: 1,
        project: None,
        service: None,
        hash: None,
        spec: other,
    });
    let errors = plan_swarm_up(&s, &o, &specs("gb/web:1", 1), &UpOptions::default()).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "network gb_front has scope local; a swarm service needs a network of swarm scope (an overlay network)",
            "service gb_cache exists and is not managed by berth (project gb)",
        ]
    );
}

#[test]
fn down_removes_services_then_waits_for_their_tasks_before_the_networks() {
    let s = stack(STACK);
    let mut o = deployed(&swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1)));
    // A plain `up` of the same project has a network of its own: not the
    // swarm's to remove.
    o.networks.push(NetworkState {
        id: "local".into(),
        name: "gb_default".into(),
        project: Some("gb".into()),
        key: Some("default".into()),
        driver: "bridge".into(),
        internal: false,
        scope: "local".into(),
        containers: vec!["gb-cache-1".into()],
    });
    o.volumes.push(crate::observe::VolumeState {
        name: "gb_data".into(),
        project: Some("gb".into()),
        key: Some("data".into()),
        driver: "local".into(),
        options: Default::default(),
    });
    assert_eq!(
        plan_swarm_down("gb", &o, true).to_string().lines().last(),
        Some("remove volume gb_data: --volumes")
    );
    let plan = plan_swarm_down("gb", &o, false);
    assert_eq!(
        plan.to_string(),
        "\
remove service gb_api: down
remove service gb_cache: down
remove service gb_web: down
remove network gb_front: down
"
    );
    assert_eq!(
        after(&plan, "remove network gb_front: down"),
        [
            "wait for the tasks of gb_api to be gone: down",
            "wait for the tasks of gb_cache to be gone: down",
            "wait for the tasks of gb_web to be gone: down",
        ]
    );
}

#[test]
fn an_image_rebuilt_under_the_same_tag_updates_the_services_that_run_it() {
    let s = stack(STACK);
    let id = |hex: &str| Some(format!("sha256:{}", hex.repeat(64)));
    let mut o = Observed::default();
    o.images.insert("gb/web:1".into(), id("a"));
    o.images.insert("gb/api:1".into(), id("c"));
    let first = swarm_up(&s, &o, &specs("gb/web:1", 1));
    let mut d = deployed(&first);
    d.images = o.images.clone();
    assert_eq!(
        swarm_up(&s, &d, &specs("gb/web:1", 1)).to_string(),
        "no changes\n"
    );
    d.images.insert("gb/web:1".into(), id("b"));
    assert_eq!(
        swarm_up(&s, &d, &specs("gb/web:1", 1)).to_string(),
        "update service gb_web: image gb/web:1 rebuilt (aaaaaaaaaaaa -> bbbbbbbbbbbb)\n"
    );
    // Gone from this engine (in a registry only): no change, no roll.
    d.images.insert("gb/web:1".into(), None);
    assert_eq!(
        swarm_up(&s, &d, &specs("gb/web:1", 1)).to_string(),
        "no changes\n"
    );
}
