//! The Swarm target: services instead of containers.

use bollard::models::{
    NetworkCreateRequest, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec,
    TaskSpecContainerSpec,
};

use std::collections::HashMap;

use super::*;
use crate::observe::ObjectState;
use crate::observe::ServiceState;
use crate::spec::{self as mapping, ObjectKind, ObjectNames};

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
                settings: Default::default(),
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

/// The condition of each `WaitService` step of `plan`, by service.
fn wait_conditions(plan: &Plan) -> Vec<(String, wait::ServiceCondition)> {
    plan.steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::WaitService {
                service, condition, ..
            } => Some((service.clone(), *condition)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_wait_after_an_update_that_replaces_the_tasks_says_so_with_the_grace_to_start_rolling() {
    use wait::ServiceCondition::{Converged, ConvergedAfterUpdate};
    let rolled = ConvergedAfterUpdate {
        roll_start: std::time::Duration::from_secs(15),
    };
    let s = stack(STACK);
    let first = swarm_up(&s, &Observed::default(), &specs("gb/web:1", 1));
    // A first deploy creates: nothing rolls.
    assert_eq!(wait_conditions(&first), [("api".to_string(), Converged)]);
    // Scaling api does not replace its tasks; a new image for web does.
    let plan = swarm_up(&s, &deployed(&first), &specs("gb/web:2", 3));
    assert_eq!(wait_conditions(&plan), [("api".to_string(), Converged)]);
    let waits = plan_swarm_wait(&s, &plan, &[]);
    assert_eq!(
        wait_conditions(&waits),
        [
            ("web".to_string(), rolled),
            ("api".to_string(), Converged),
            ("cache".to_string(), Converged),
        ]
    );
    assert!(
        waits
            .steps
            .iter()
            .all(|st| st.cause == Cause::WaitFlag && st.after.is_empty())
    );
    let named = plan_swarm_wait(&s, &plan, &["web".to_string()]);
    assert_eq!(wait_conditions(&named), [("web".to_string(), rolled)]);
}

#[test]
fn a_digest_pinned_by_the_engine_is_not_a_change_of_image() {
    let old = spec("web", "gb/web:1@sha256:abc", 1);
    let new = spec("web", "gb/web:1", 1);
    assert!(crate::spec::service_changes(&old, &new).is_empty());
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
        settings: Default::default(),
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
        settings: Default::default(),
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

/// A stack whose `app` reads the secret `pw` and the config `conf`, and
/// whose `other` reads nothing.
const OBJECTS: &str = r#"
name: gb
services:
  app:
    image: gb/app
    secrets: [pw]
    configs: [{source: conf, target: /etc/app.conf}]
  other:
    image: gb/other
secrets:
  pw: {environment: PW}
configs:
  conf: {content: "level=1"}
"#;

/// `stack` mapped as `up --swarm` maps it, with `pw` holding `secret`.
fn object_specs(s: &Stack, secret: &str) -> SwarmSpecs {
    let mut out = SwarmSpecs::default();
    let mut names = ObjectNames::new();
    for (kind, key, content) in [
        (ObjectKind::Secret, "pw", secret),
        (ObjectKind::Config, "conf", "level=1"),
    ] {
        let declared = match kind {
            ObjectKind::Secret => &s.secrets[key],
            ObjectKind::Config => &s.configs[key],
        };
        let o = mapping::object(s, kind, key, declared, content.as_bytes());
        names.insert((kind, key.to_string()), o.name.clone());
        out.objects.push(o);
    }
    for (key, svc) in &s.services {
        out.services
            .insert(key.clone(), mapping::service(s, svc, &names).spec);
    }
    out
}

/// `deployed`, with the objects the plan created (ids `obj<step>`) and the
/// services holding the ids of their objects, as the engine keeps them.
fn deployed_with_objects(plan: &Plan) -> Observed {
    let mut o = deployed(plan);
    let mut ids = HashMap::new();
    for (i, st) in plan.steps.iter().enumerate() {
        if let Action::CreateObject { object } = &st.action {
            ids.insert((object.kind, object.name.clone()), format!("obj{i}"));
            o.objects.push(ObjectState {
                kind: object.kind,
                id: format!("obj{i}"),
                name: object.name.clone(),
                project: object.labels.get(identity::PROJECT).cloned(),
                key: Some(object.key.clone()),
            });
        }
    }
    for s in &mut o.services {
        s.spec = mapping::with_ids(s.spec.clone(), &ids);
    }
    o
}

fn object_names(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::CreateObject { object } => Some(object.name.clone()),
            _ => None,
        })
        .collect()
}

fn container_spec(plan: &Plan, service: &str) -> TaskSpecContainerSpec {
    plan.steps
        .iter()
        .find_map(|st| match &st.action {
            Action::CreateService {
                service: s,
                request,
                ..
            }
            | Action::UpdateService {
                service: s,
                request,
                ..
            } if s == service => request.task_template.clone()?.container_spec,
            _ => None,
        })
        .expect("a create or update of the service")
}

#[test]
fn secrets_and_configs_are_created_before_the_services_that_use_them() {
    let s = stack(OBJECTS);
    let plan = swarm_up(&s, &Observed::default(), &object_specs(&s, "one"));
    let names = object_names(&plan);
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("gb_pw-") && names[1].starts_with("gb_conf-"));
    assert_eq!(
        after(&plan, "create service gb_app: not found"),
        [
            format!("create secret {}: not found", names[0]),
            format!("create config {}: not found", names[1]),
        ]
    );
    assert!(after(&plan, "create service gb_other: not found").is_empty());
    // The spec names the secret; its id is the executor's to fill in.
    let secret = &container_spec(&plan, "app").secrets.unwrap()[0];
    assert_eq!(secret.secret_name.as_deref(), Some(names[0].as_str()));
    assert_eq!(secret.secret_id, None);
    // A secret's data never shows in the plan's JSON.
    let json = plan.to_json("gb").to_string();
    assert!(!json.contains("b25l"), "{json}");
    assert!(json.contains("(3 bytes, not shown)"), "{json}");
}

#[test]
fn unchanged_objects_plan_nothing_and_a_changed_secret_rolls_its_service_then_goes() {
    let s = stack(OBJECTS);
    let first = swarm_up(&s, &Observed::default(), &object_specs(&s, "one"));
    let o = deployed_with_objects(&first);
    assert_eq!(
        swarm_up(&s, &o, &object_specs(&s, "one")).to_string(),
        "no changes\n"
    );

    let plan = swarm_up(&s, &o, &object_specs(&s, "two"));
    let (old, new) = (
        object_names(&first)[0].clone(),
        object_names(&plan)[0].clone(),
    );
    assert_ne!(old, new);
    assert_eq!(
        plan.to_string(),
        format!(
            "create secret {new}: not found\n\
             update service gb_app: secret pw changed\n\
             remove secret {old}: no service uses it any more\n"
        )
    );
    // The old version goes once the service converged without it, so that
    // a failed update can still roll back to it.
    assert_eq!(
        after(
            &plan,
            &format!("remove secret {old}: no service uses it any more")
        ),
        ["wait for service gb_app to converge: no service uses it any more"]
    );
    // The update names the config it keeps by the id it has.
    let c = container_spec(&plan, "app");
    assert!(c.configs.unwrap()[0].config_id.is_some());
}

#[test]
fn an_external_secret_must_exist() {
    let s = stack(
        "name: gb\nservices:\n  app:\n    image: gb/app\n    secrets: [pw]\n\
         secrets:\n  pw: {external: true, name: shared_pw}\n",
    );
    let names: ObjectNames = [((ObjectKind::Secret, "pw".into()), "shared_pw".into())]
        .into_iter()
        .collect();
    let mut specs = SwarmSpecs::default();
    specs.services.insert(
        "app".into(),
        mapping::service(&s, &s.services["app"], &names).spec,
    );
    let errors =
        plan_swarm_up(&s, &Observed::default(), &specs, &UpOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].message.contains("secret shared_pw is external"),
        "{}",
        errors[0].message
    );
    let mut o = Observed::default();
    o.objects.push(ObjectState {
        kind: ObjectKind::Secret,
        id: "ext1".into(),
        name: "shared_pw".into(),
        project: None,
        key: None,
    });
    let plan = swarm_up(&s, &o, &specs);
    assert_eq!(plan.to_string(), "create service gb_app: not found\n");
    let secret = &container_spec(&plan, "app").secrets.unwrap()[0];
    assert_eq!(secret.secret_id.as_deref(), Some("ext1"));
}

#[test]
fn objects_and_networks_that_left_the_file_go_only_with_remove_orphans() {
    let s = stack(OBJECTS);
    let first = swarm_up(&s, &Observed::default(), &object_specs(&s, "one"));
    let mut o = deployed_with_objects(&first);
    o.objects.push(ObjectState {
        kind: ObjectKind::Config,
        id: "gone1".into(),
        name: "gb_old-123".into(),
        project: Some("gb".into()),
        key: Some("old".into()),
    });
    o.networks.push(NetworkState {
        id: "net-old".into(),
        name: "gb_old".into(),
        project: Some("gb".into()),
        key: Some("old".into()),
        driver: "overlay".into(),
        internal: false,
        scope: "swarm".into(),
        containers: Vec::new(),
        settings: Default::default(),
    });
    let plan = swarm_up(&s, &o, &object_specs(&s, "one"));
    assert_eq!(plan.to_string(), "no changes\n");
    assert_eq!(
        plan.warnings,
        [
            "config gb_old-123 is no longer in the stack file and no service uses it; remove it with --remove-orphans",
            "network gb_old is no longer in the stack file; remove it with --remove-orphans",
        ]
    );
    let opts = UpOptions {
        remove_orphans: true,
        ..UpOptions::default()
    };
    let plan = plan_swarm_up(&s, &o, &object_specs(&s, "one"), &opts).unwrap();
    assert_eq!(
        plan.to_string(),
        "remove config gb_old-123: no service uses it any more\n\
         remove network gb_old: no service uses it any more\n"
    );
}

#[test]
fn down_removes_secrets_and_configs_once_the_services_are_gone() {
    let s = stack(OBJECTS);
    let first = swarm_up(&s, &Observed::default(), &object_specs(&s, "one"));
    let plan = plan_swarm_down("gb", &deployed_with_objects(&first), false);
    for name in object_names(&first) {
        let kind = if name.starts_with("gb_pw") {
            "secret"
        } else {
            "config"
        };
        assert_eq!(
            after(&plan, &format!("remove {kind} {name}: down")),
            [
                "wait for the tasks of gb_app to be gone: down",
                "wait for the tasks of gb_other to be gone: down",
            ]
        );
    }
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

#[test]
fn a_wide_fan_waits_for_the_hub_once_naming_every_leaf() {
    let n = 1000;
    let s = stack(&fan("gb", n));
    let mut specs = SwarmSpecs::default();
    for key in s.services.keys() {
        specs.services.insert(key.clone(), spec(key, "x", 1));
    }
    let plan = swarm_up(&s, &Observed::default(), &specs);
    let leaves: Vec<String> = (0..n).map(|i| format!("leaf{i}")).collect();
    let hub_wait = format!(
        "wait for service gb_hub to converge: {} depends on it",
        leaves.join(", ")
    );
    assert_eq!(
        after(&plan, &hub_wait),
        ["create service gb_hub: not found"]
    );
    for leaf in &leaves {
        assert_eq!(
            after(&plan, &format!("create service gb_{leaf}: not found")),
            [hub_wait.as_str()]
        );
    }
    let mut hub_after = after(&plan, "create service gb_hub: not found");
    hub_after.sort();
    assert_eq!(
        hub_after,
        (0..3)
            .map(|i| format!("wait for service gb_base{i} to converge: hub depends on it"))
            .collect::<Vec<_>>()
    );
}

/// `specs` with web's health check running `cmd`.
fn checked(cmd: &str) -> SwarmSpecs {
    let mut s = specs("gb/web:1", 1);
    let web = s.services.get_mut("web").unwrap();
    let c = web.task_template.as_mut().unwrap();
    c.container_spec.as_mut().unwrap().health_check = Some(bollard::models::HealthConfig {
        test: Some(vec!["CMD".into(), cmd.into()]),
        ..Default::default()
    });
    s
}

#[test]
fn a_changed_health_check_is_listed_though_bollard_reads_back_none() {
    let s = stack(STACK);
    let mut o = deployed(&swarm_up(&s, &Observed::default(), &checked("true")));
    // Each service as the engine answers it (`Healthcheck`), read through
    // bollard (which reads `HealthCheck`).
    for svc in &mut o.services {
        let mut spec = serde_json::to_value(&svc.spec).unwrap();
        let c = spec.pointer_mut("/TaskTemplate/ContainerSpec").unwrap();
        if let Some(h) = c.as_object_mut().unwrap().remove("HealthCheck") {
            c["Healthcheck"] = h;
        }
        let answer = serde_json::json!({"ID": svc.id, "Version": {"Index": 7}, "Spec": spec});
        *svc = crate::observe::service_state(&serde_json::from_value(answer).unwrap());
    }
    assert_eq!(
        swarm_up(&s, &o, &checked("true")).to_string(),
        "no changes\n"
    );
    let plan = swarm_up(&s, &o, &checked("false")).to_string();
    assert_eq!(plan, "update service gb_web: healthcheck changed\n");
}
