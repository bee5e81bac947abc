use std::collections::HashMap;

use bollard::models::{
    ContainerSummary, ContainerSummaryStateEnum, ServiceSpec, TaskSpec, TaskSpecContainerSpec,
};

use super::*;
use crate::observe::{self, ServiceState};
use crate::plan::{Replace, UpOptions};

const TWO: &str =
    "services:\n  db:\n    image: db:1\n  web:\n    image: app:1\n    depends_on: [db]\n";

#[test]
fn a_first_up_is_its_creates_and_not_their_starts() {
    let stack = crate::testutil::stack(TWO);
    let plan = crate::plan::plan_up(&stack, &Observed::default(), &UpOptions::default()).unwrap();
    assert_eq!(
        changes(&plan),
        [
            "create network t_default: not found",
            "create container t-db-1: not found",
            "create container t-web-1: not found",
        ]
    );
    assert!(changes(&Plan::default()).is_empty());
}

#[test]
fn a_recreate_is_one_line_per_service_with_its_reason() {
    let mut plan = Plan::default();
    let why = Cause::Recreate(Replace::Config {
        keys: vec!["environment".into()],
        image_changed: false,
    });
    for number in [1, 2] {
        let name = format!("t-web-{number}");
        plan.push(
            Action::Rename {
                service: "web".into(),
                id: format!("id{number}"),
                from: name.clone(),
                to: format!("old_{name}"),
            },
            why.clone(),
            vec![],
        );
        plan.push(
            Action::Stop {
                service: Some("web".into()),
                name: format!("old_{name}"),
                id: format!("id{number}"),
                timeout: None,
            },
            why.clone(),
            vec![],
        );
        plan.push(
            Action::Start {
                service: "web".into(),
                name: name.clone(),
            },
            Cause::Recreated,
            vec![],
        );
    }
    plan.push(
        Action::Wait {
            service: "db".into(),
            name: "t-db-1".into(),
            condition: crate::model::stack::Condition::ServiceHealthy,
            required: true,
        },
        Cause::DependsOn("web".into()),
        vec![],
    );
    plan.push(
        Action::Start {
            service: "db".into(),
            name: "t-db-1".into(),
        },
        Cause::Stopped,
        vec![],
    );
    assert_eq!(
        changes(&plan),
        [
            "recreate web: config changed: environment",
            "start t-db-1: stopped"
        ]
    );
}

#[test]
fn a_rollout_is_the_recreate_it_carries_out_and_not_its_way_back() {
    let why = Cause::Recreate(Replace::Image);
    let mut plan = Plan::default();
    let stop = |name: &str| Action::Stop {
        service: Some("web".into()),
        name: name.into(),
        id: "old".into(),
        timeout: None,
    };
    plan.push(
        Action::Rename {
            service: "web".into(),
            id: "old".into(),
            from: "t-web-1".into(),
            to: "old_t-web-1".into(),
        },
        why.clone(),
        vec![],
    );
    let create = plan.push(
        Action::CreateContainer {
            service: "web".into(),
            number: 1,
            name: "t-web-1".into(),
            platform: None,
            request: Box::default(),
        },
        why,
        vec![],
    );
    plan.push(
        Action::Start {
            service: "web".into(),
            name: "t-web-1".into(),
        },
        Cause::StartFirst {
            beside: "old_t-web-1".into(),
        },
        vec![create],
    );
    let check = plan.push(
        Action::WaitRollout {
            service: "web".into(),
            names: vec!["t-web-1".into()],
            check: crate::plan::wait::RolloutCheck {
                health: true,
                monitor: std::time::Duration::from_secs(5),
                monitor_set: false,
                tolerate: 0,
                go_on: false,
            },
        },
        Cause::Rollout,
        vec![],
    );
    plan.push_fallback(
        check,
        stop("t-web-1"),
        Cause::RollBack {
            service: "web".into(),
        },
        vec![],
    );
    plan.push(
        Action::Disconnect {
            service: "web".into(),
            name: "t-web-1".into(),
            network: "t_default".into(),
        },
        Cause::Admit,
        vec![check],
    );
    plan.push(
        Action::Drain {
            service: "web".into(),
            name: "old_t-web-1".into(),
            id: "old".into(),
        },
        Cause::Replaced,
        vec![check],
    );
    for (action, network) in [("disconnect", "t_back"), ("remove", "t_back")] {
        let cause = Cause::NetworkChanged {
            network: network.into(),
            changes: vec!["internal false -> true".into()],
        };
        let a = if action == "remove" {
            Action::RemoveNetwork {
                name: network.into(),
            }
        } else {
            Action::Disconnect {
                service: "db".into(),
                name: "t-db-1".into(),
                network: network.into(),
            }
        };
        plan.push(a, cause, vec![]);
    }
    assert_eq!(
        changes(&plan),
        [
            "recreate web: image changed",
            "recreate network t_back: internal false -> true"
        ]
    );
}

fn container(service: &str, image_id: &str, state: ContainerSummaryStateEnum) -> ContainerSummary {
    ContainerSummary {
        id: Some(format!("{service}-{image_id}")),
        names: Some(vec![format!("/t-{service}-1")]),
        image_id: Some(image_id.into()),
        state: Some(state),
        labels: Some(HashMap::from([
            (identity::PROJECT.to_string(), "t".to_string()),
            (identity::SERVICE.to_string(), service.to_string()),
        ])),
        ..Default::default()
    }
}

#[test]
fn a_service_runs_the_image_it_is_created_from_else_the_one_its_containers_run() {
    let stack = crate::testutil::stack(
        "services:\n  web:\n    image: app:1\n  db:\n    image: db:1\n  job:\n    image: job:1\n  \
         cache:\n    image: cache:1\n",
    );
    let observed = Observed {
        images: BTreeMap::from([
            ("app:1".to_string(), Some("sha256:app2".to_string())),
            ("db:1".to_string(), Some("sha256:db2".to_string())),
            ("job:1".to_string(), None),
            ("cache:1".to_string(), Some("sha256:cache".to_string())),
        ]),
        containers: [
            container("web", "sha256:app1", ContainerSummaryStateEnum::RUNNING),
            // --no-recreate kept db on the image its tag named before;
            // an old exited one is not what runs.
            container("db", "sha256:db0", ContainerSummaryStateEnum::EXITED),
            container("db", "sha256:db1", ContainerSummaryStateEnum::RUNNING),
        ]
        .iter()
        .map(observe::container_from_summary)
        .collect(),
        ..Observed::default()
    };
    let mut plan = Plan::default();
    plan.push(
        Action::CreateContainer {
            service: "web".into(),
            number: 1,
            name: "t-web-1".into(),
            platform: None,
            request: Box::default(),
        },
        Cause::Recreate(Replace::Image),
        vec![],
    );
    let images = container_images(&stack, &observed, &plan);
    let id = |s: &str| images[s].id.as_deref();
    assert_eq!(id("web"), Some("sha256:app2"));
    assert_eq!(id("db"), Some("sha256:db1"));
    assert_eq!(id("job"), None);
    assert_eq!(
        id("cache"),
        Some("sha256:cache"),
        "not running: what its tag names"
    );
    assert_eq!(images["web"].image, "app:1");
    assert!(images.values().all(|s| s.tag.is_none()));
}

fn spec(image: &str, pinned: Option<&str>) -> ServiceSpec {
    ServiceSpec {
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.into()),
                labels: pinned
                    .map(|id| HashMap::from([(identity::IMAGE_ID.to_string(), id.into())])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_swarm_service_runs_the_image_pinned_on_the_spec_sent_else_on_the_one_deployed() {
    let stack = crate::testutil::stack(
        "services:\n  web:\n    image: app:2\n  api:\n    image: api:2\n  new:\n    image: new:1\n",
    );
    let observed = Observed {
        images: BTreeMap::from([
            ("app:2".to_string(), Some("sha256:app2".to_string())),
            ("api:2".to_string(), Some("sha256:api2".to_string())),
            ("new:1".to_string(), Some("sha256:new".to_string())),
        ]),
        services: vec![ServiceState {
            id: "s1".into(),
            name: "t_api".into(),
            version: 1,
            project: Some("t".into()),
            service: Some("api".into()),
            hash: None,
            spec: spec("api:1", Some("sha256:api1")),
        }],
        ..Observed::default()
    };
    let mut plan = Plan::default();
    plan.push(
        Action::UpdateService {
            service: "web".into(),
            name: "t_web".into(),
            id: "s0".into(),
            version: 3,
            request: Box::new(spec("app:2", Some("sha256:app2-pinned"))),
        },
        Cause::ServiceChanged(vec![]),
        vec![],
    );
    let images = swarm_images(&stack, &observed, &plan);
    let got = |s: &str| (images[s].image.as_str(), images[s].id.as_deref());
    assert_eq!(got("web"), ("app:2", Some("sha256:app2-pinned")));
    // Not selected this time: it still runs what it was deployed with.
    assert_eq!(got("api"), ("api:1", Some("sha256:api1")));
    assert_eq!(got("new"), ("new:1", Some("sha256:new")));
}

#[test]
fn the_recorded_stack_is_what_config_prints_with_dollars_doubled() {
    let stack = crate::testutil::stack(
        "services:\n  web:\n    image: app:1\n    environment:\n      A: $$HOME\n",
    );
    let v = stack_json(&stack).unwrap();
    assert_eq!(v["name"], "t");
    assert_eq!(v["services"]["web"]["environment"]["A"], "$$HOME");
}

#[test]
fn the_kept_releases_are_said_in_ranges() {
    assert_eq!(
        kept_words(&[3, 4, 5, 6, 7]),
        "images kept for releases 3-7; berth keeps those of the last 5"
    );
    assert_eq!(
        kept_words(&[1]),
        "images kept for release 1; berth keeps those of the last 5"
    );
    assert_eq!(
        kept_words(&[]),
        "none of its images is on this engine to keep"
    );
}
