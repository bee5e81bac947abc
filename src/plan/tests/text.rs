//! The words of a plan: its text, its JSON, the progress words, and
//! `Plan::then`.

use serde_json::{Value, json};

use super::*;
use crate::limits::Change;
use crate::model::stack::Condition;
use crate::plan::text::Words;

const WEB: &str = r#"
name: app
services:
  web:
    image: nginx:1
    networks: [front]
networks:
  front: {}
"#;

/// `up` of WEB on an engine with the image, then `--wait`.
fn web_plan() -> Plan {
    let s = stack(WEB);
    let mut o = Observed::default();
    o.images.insert("nginx:1".into(), Some(image_id("nginx:1")));
    up(&s, &o).then(plan_wait(&s, &[]), true)
}

#[test]
fn the_json_form_has_ids_actions_resources_causes_and_requests() {
    let plan = web_plan();
    // The text leaves the wait out; the JSON has every step.
    assert_eq!(
        plan.to_string(),
        "\
create network app_front: not found
create container app-web-1: not found
start app-web-1: created
"
    );
    let v = plan.to_json("app");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["project"], "app");
    assert_eq!(v["changes"], true);
    assert_eq!(v["warnings"], json!([]));
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    // Everything but the request, which is checked below.
    let outline: Vec<Value> = steps
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("request");
            s
        })
        .collect();
    assert_eq!(
        outline,
        [
            json!({
                "id": 0,
                "action": "create_network",
                "resource": { "kind": "network", "name": "app_front" },
                "cause": { "code": "not_found", "text": "not found" },
                "after": [],
                "changes_engine": true,
            }),
            json!({
                "id": 1,
                "action": "create_container",
                "resource": { "kind": "container", "name": "app-web-1", "service": "web" },
                "cause": { "code": "not_found", "text": "not found" },
                "after": [0],
                "changes_engine": true,
            }),
            json!({
                "id": 2,
                "action": "start_container",
                "resource": { "kind": "container", "name": "app-web-1", "service": "web" },
                "cause": { "code": "created", "text": "created" },
                "after": [1],
                "changes_engine": true,
            }),
            json!({
                "id": 3,
                "action": "wait",
                "resource": { "kind": "container", "name": "app-web-1", "service": "web" },
                "cause": { "code": "wait", "text": "--wait" },
                "after": [0, 1, 2],
                "changes_engine": false,
            }),
        ]
    );
    assert_eq!(steps[0]["request"]["Name"], "app_front");
    assert_eq!(steps[0]["request"]["Labels"]["io.berth.project"], "app");
    let create = &steps[1]["request"];
    assert_eq!(create["name"], "app-web-1");
    assert_eq!(create["body"]["Image"], "nginx:1");
    assert_eq!(create["body"]["HostConfig"]["NetworkMode"], "app_front");
    assert_eq!(
        create["body"]["NetworkingConfig"]["EndpointsConfig"]["app_front"]["Aliases"],
        json!(["web"])
    );
    assert!(create.get("platform").is_none(), "{create}");
    assert_eq!(steps[2]["request"], json!({ "id": "app-web-1" }));
    assert_eq!(
        steps[3]["request"],
        json!({ "id": "app-web-1", "condition": "service_started", "required": true })
    );
}

#[test]
fn a_plan_of_waits_alone_changes_nothing() {
    let s = stack(WEB);
    let plan = plan_wait(&s, &[]);
    assert_eq!(plan.steps.len(), 1);
    assert!(plan.is_empty());
    assert_eq!(plan.to_string(), "no changes\n");
    let v = plan.to_json("app");
    assert_eq!(v["changes"], false);
    assert_eq!(v["steps"][0]["changes_engine"], false);
}

fn change(field: &'static str, from: &str, to: &str) -> Change {
    Change {
        field,
        from: from.into(),
        to: to.into(),
    }
}

/// Every cause, with its words and its code. The match below has no
/// wildcard: a new variant fails to compile until it is listed here.
#[test]
fn every_cause_has_its_words_and_code() {
    let cpus = || vec![change("cpus", "0.5", "0.2")];
    let table: Vec<(Cause, &str, &str)> = vec![
        (Cause::NotFound, "not found", "not_found"),
        (
            Cause::Recreate(Replace::Config {
                keys: vec!["environment".into(), "ports".into()],
                image_changed: false,
            }),
            "recreate: config changed: environment, ports",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Config {
                keys: vec!["environment".into()],
                image_changed: true,
            }),
            "recreate: config changed: environment; image changed",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Config {
                keys: vec!["image".into()],
                image_changed: true,
            }),
            "recreate: config changed: image",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Config {
                keys: vec![],
                image_changed: false,
            }),
            "recreate: config changed",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Image),
            "recreate: image changed",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::ForceRecreate),
            "recreate: --force-recreate",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Parked("abc_app-web-1".into())),
            "recreate: left over from an interrupted recreate (named abc_app-web-1)",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Dead),
            "recreate: container is dead",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::BeingRemoved),
            "recreate: container is being removed",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::StaleTask),
            "recreate: the engine has a stale task for it (dockerd restarted while starting it)",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Ports { to_edge: true }),
            "recreate: its published ports move to the service's edge (start-first)",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::LimitRemoved(vec![change("cpus", "0.5", "unset")])),
            "recreate: cpus 0.5 -> unset: a limit cannot be removed in place",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::NoUpdate(cpus())),
            "recreate: cpus 0.5 -> 0.2: the engine cannot change limits in place (podman has no \
             `docker update`)",
            "recreate",
        ),
        (Cause::Limits(cpus()), "cpus 0.5 -> 0.2", "limits_changed"),
        (
            Cause::Limits(vec![
                change("cpus", "0.5", "0.2"),
                change("memory", "200m", "300m"),
            ]),
            "cpus 0.5 -> 0.2, memory 200m -> 300m",
            "limits_changed",
        ),
        (Cause::NetworkAdded, "network added", "network_added"),
        (Cause::NetworkRemoved, "network removed", "network_removed"),
        (Cause::AliasesChanged, "aliases changed", "aliases_changed"),
        (Cause::Created, "created", "created"),
        (Cause::Recreated, "recreated", "recreated"),
        (Cause::Stopped, "stopped", "stopped"),
        (
            Cause::DependsOn("backend".into()),
            "backend depends on it",
            "depends_on",
        ),
        (
            Cause::BindSourceMissing,
            "bind source does not exist",
            "bind_source_missing",
        ),
        (Cause::ScaledDown, "scaled down", "scaled_down"),
        (
            Cause::LeftOver,
            "left over from an interrupted recreate",
            "left_over",
        ),
        (
            Cause::Orphan("cache".into()),
            "orphan: service cache is no longer in the stack file",
            "orphan",
        ),
        (Cause::Down, "down", "down"),
        (Cause::Volumes, "--volumes", "volumes"),
        (Cause::WaitFlag, "--wait", "wait"),
        (Cause::Asked("start"), "berth start", "asked"),
        (Cause::Asked("stop"), "berth stop", "asked"),
        (Cause::Asked("restart"), "berth restart", "asked"),
        (
            Cause::Image(ImageReason::Missing),
            "image not found",
            "image_missing",
        ),
        (Cause::Image(ImageReason::Asked), "requested", "image_asked"),
        (
            Cause::Image(ImageReason::BuildFlag),
            "--build",
            "build_flag",
        ),
        (
            Cause::Image(ImageReason::PolicyAlways),
            "pull_policy: always",
            "pull_policy_always",
        ),
        (
            Cause::Image(ImageReason::PolicyBuild),
            "pull_policy: build",
            "pull_policy_build",
        ),
        (
            Cause::ServiceChanged(vec!["image a -> b".into(), "replicas 1 -> 3".into()]),
            "image a -> b, replicas 1 -> 3",
            "service_changed",
        ),
        (Cause::Unused, "no service uses it any more", "unused"),
        (
            Cause::NetworkChanged {
                network: "gb_back".into(),
                changes: vec!["internal false -> true".into()],
            },
            "recreate network gb_back: internal false -> true",
            "network_changed",
        ),
        (
            Cause::Recreate(Replace::Shares {
                what: Shared::NetworkNamespace,
                container: "gb-x-1".into(),
                earlier: false,
            }),
            "recreate: its network namespace's container gb-x-1 is recreated",
            "recreate",
        ),
        (
            Cause::Recreate(Replace::Shares {
                what: Shared::Volumes,
                container: "gb-x-1".into(),
                earlier: true,
            }),
            "recreate: its volumes_from container gb-x-1 was recreated after it",
            "recreate",
        ),
        (
            Cause::StartFirst {
                beside: "abc_app-web-1".into(),
            },
            "start-first, beside abc_app-web-1",
            "start_first",
        ),
        (Cause::Rollout, "rollout check", "rollout"),
        (
            Cause::Admit,
            "admit: healthy, takes over the service's aliases",
            "admit",
        ),
        (Cause::Replaced, "replaced", "replaced"),
        (Cause::RolloutDelay, "update_config.delay", "rollout_delay"),
        (
            Cause::RollBack {
                service: "web".into(),
            },
            "roll back, only if the new containers of web fail their check",
            "roll_back",
        ),
    ];
    let mut listed = std::collections::BTreeSet::new();
    for (cause, text, code) in &table {
        assert_eq!(cause.to_string(), *text, "{cause:?}");
        assert_eq!(cause.code(), *code, "{cause:?}");
        listed.insert(variant(cause));
    }
    // 26 plain causes, 11 replacements, 5 image reasons.
    assert_eq!(
        listed.len(),
        42,
        "every variant is in the table: {listed:?}"
    );
}

/// The name of a cause's variant (and of its image reason, and of its
/// replacement).
fn variant(cause: &Cause) -> &'static str {
    match cause {
        Cause::NotFound => "NotFound",
        Cause::Recreate(r) => match r {
            Replace::Config { .. } => "Recreate(Config)",
            Replace::Image => "Recreate(Image)",
            Replace::ForceRecreate => "Recreate(ForceRecreate)",
            Replace::Parked(_) => "Recreate(Parked)",
            Replace::Dead => "Recreate(Dead)",
            Replace::BeingRemoved => "Recreate(BeingRemoved)",
            Replace::StaleTask => "Recreate(StaleTask)",
            Replace::LimitRemoved(_) => "Recreate(LimitRemoved)",
            Replace::NoUpdate(_) => "Recreate(NoUpdate)",
            Replace::Ports { .. } => "Recreate(Ports)",
            Replace::Shares { .. } => "Recreate(Shares)",
        },
        Cause::Limits(_) => "Limits",
        Cause::NetworkAdded => "NetworkAdded",
        Cause::NetworkRemoved => "NetworkRemoved",
        Cause::AliasesChanged => "AliasesChanged",
        Cause::Created => "Created",
        Cause::Recreated => "Recreated",
        Cause::Stopped => "Stopped",
        Cause::DependsOn(_) => "DependsOn",
        Cause::ServiceChanged(_) => "ServiceChanged",
        Cause::Unused => "Unused",
        Cause::NetworkChanged { .. } => "NetworkChanged",
        Cause::StartFirst { .. } => "StartFirst",
        Cause::Rollout => "Rollout",
        Cause::Admit => "Admit",
        Cause::Replaced => "Replaced",
        Cause::RolloutDelay => "RolloutDelay",
        Cause::RollBack { .. } => "RollBack",
        Cause::BindSourceMissing => "BindSourceMissing",
        Cause::ScaledDown => "ScaledDown",
        Cause::LeftOver => "LeftOver",
        Cause::Orphan(_) => "Orphan",
        Cause::Down => "Down",
        Cause::Volumes => "Volumes",
        Cause::WaitFlag => "WaitFlag",
        Cause::Asked(_) => "Asked",
        Cause::Image(r) => match r {
            ImageReason::Missing => "Image(Missing)",
            ImageReason::Asked => "Image(Asked)",
            ImageReason::BuildFlag => "Image(BuildFlag)",
            ImageReason::PolicyAlways => "Image(PolicyAlways)",
            ImageReason::PolicyBuild => "Image(PolicyBuild)",
        },
    }
}

fn words(w: &Words) -> [&str; 5] {
    [w.verb, &w.object, w.doing, &w.doing_object, w.done]
}

#[test]
fn progress_words_of_a_build_name_the_service() {
    let s = stack("name: app\nservices:\n  web:\n    build: .\n");
    let plan = plan_build(&s, &[], false, false).unwrap();
    let w = Words::of(&plan.steps[0].action);
    assert_eq!(
        words(&w),
        ["build", "image app-web for web", "Building", "web", "Built"]
    );
    assert_eq!(w.done_object, "web");
    assert_eq!(format!("{} {}", w.doing, w.doing_object), "Building web");
    assert_eq!(format!("{} {}", w.done, w.done_object), "Built web");
    assert_eq!(
        plan.steps[0].action.describe(),
        "build image app-web for web"
    );
}

#[test]
fn progress_words_of_a_wait_say_the_state_reached() {
    let wait = |condition| Action::Wait {
        service: "db".into(),
        name: "app-db-1".into(),
        condition,
        required: true,
    };
    let table = [
        (
            Condition::ServiceHealthy,
            "for app-db-1 to be healthy",
            "Healthy",
        ),
        (
            Condition::ServiceStarted,
            "for app-db-1 to be started",
            "Running",
        ),
        (
            Condition::ServiceCompletedSuccessfully,
            "for app-db-1 to be completed successfully",
            "Completed",
        ),
    ];
    for (condition, object, done) in table {
        let w = Words::of(&wait(condition));
        assert_eq!(words(&w), ["wait", object, "Waiting", object, done]);
        assert_eq!(w.done_object, "app-db-1");
        assert_eq!(
            format!("{} {}", w.done, w.done_object),
            format!("{done} app-db-1")
        );
    }
    assert_eq!(
        wait(Condition::ServiceHealthy).describe(),
        "wait for app-db-1 to be healthy"
    );
    assert!(!wait(Condition::ServiceHealthy).mutates());
}

#[test]
fn progress_words_of_an_update_list_the_changes_when_done() {
    let update = Action::Update {
        service: "api".into(),
        name: "app-api-1".into(),
        id: "abc".into(),
        changes: vec![change("cpus", "0.5", "0.2")],
        request: Box::default(),
    };
    let w = Words::of(&update);
    assert_eq!(
        words(&w),
        [
            "update",
            "app-api-1 in place",
            "Updating",
            "app-api-1 in place",
            "Updated"
        ]
    );
    assert_eq!(w.done_object, "app-api-1 in place (cpus 0.5 -> 0.2)");
}

fn pull(image: &str, after: Vec<StepId>) -> Step {
    Step {
        action: Action::Pull {
            image: image.into(),
            optional: false,
        },
        cause: Cause::Image(ImageReason::Asked),
        after,
        on_failure_of: None,
    }
}

fn plan_of(steps: Vec<Step>, warnings: &[&str]) -> Plan {
    Plan {
        steps,
        warnings: warnings.iter().map(|w| w.to_string()).collect(),
    }
}

#[test]
fn then_offsets_the_edges_of_the_second_plan() {
    let first = || plan_of(vec![pull("a", vec![]), pull("b", vec![0])], &["one"]);
    let second = || {
        plan_of(
            vec![pull("c", vec![]), pull("d", vec![0]), pull("e", vec![0, 1])],
            &["two"],
        )
    };
    let edges = |p: &Plan| p.steps.iter().map(|s| s.after.clone()).collect::<Vec<_>>();

    let plan = first().then(second(), false);
    assert_eq!(
        plan.to_string(),
        "\
pull a: requested
pull b: requested
pull c: requested
pull d: requested
pull e: requested
"
    );
    assert_eq!(edges(&plan), [vec![], vec![0], vec![], vec![2], vec![2, 3]]);
    assert_eq!(plan.warnings, ["one", "two"]);

    // A barrier: every step of the second waits for all of the first.
    let plan = first().then(second(), true);
    assert_eq!(
        edges(&plan),
        [vec![], vec![0], vec![0, 1], vec![2, 0, 1], vec![2, 3, 0, 1]]
    );

    // An empty first plan: nothing to offset, nothing to wait for.
    let plan = Plan::default().then(second(), true);
    assert_eq!(edges(&plan), [vec![], vec![0], vec![0, 1]]);
    assert_eq!(plan.warnings, ["two"]);
}
