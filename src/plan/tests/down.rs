use super::*;

fn down(s: &Stack, o: &Observed, volumes: bool) -> Plan {
    let opts = DownOptions {
        volumes,
        ..DownOptions::default()
    };
    plan_down(&s.name, o, Some(s), &opts)
}

#[test]
fn down_stops_dependents_first_and_keeps_volumes() {
    let s = stack(THREE_TIER);
    let o = converged(&s);
    let plan = down(&s, &o, false);
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: down
stop gb-backend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
"
    );
    assert_eq!(
        after(&plan, "stop gb-frontend-1: down"),
        Vec::<String>::new()
    );
    assert_eq!(
        after(&plan, "stop gb-backend-1: down"),
        ["stop gb-frontend-1: down"]
    );
    assert_eq!(
        after(&plan, "stop gb-mongodb-1: down"),
        ["stop gb-backend-1: down"]
    );
    assert_eq!(
        after(&plan, "remove gb-mongodb-1: down"),
        ["stop gb-mongodb-1: down"]
    );
    assert_eq!(after(&plan, "remove network gb_devapp-net: down").len(), 3);
}

#[test]
fn down_with_volumes_removes_them_after_the_containers() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    // backend is already stopped: nothing to stop, but mongodb still
    // waits for frontend through it.
    o.containers[1].status = Status::Exited;
    let plan = down(&s, &o, true);
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
remove volume gb_mongo-data: --volumes
"
    );
    assert_eq!(
        after(&plan, "stop gb-mongodb-1: down"),
        ["stop gb-frontend-1: down"]
    );
    assert_eq!(
        after(&plan, "remove volume gb_mongo-data: --volumes").len(),
        3
    );
}

#[test]
fn down_leaves_a_network_another_container_uses_and_says_so() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers.truncate(1);
    o.networks[0].containers = vec!["gb-frontend-1".into(), "debugger".into()];
    let plan = down(&s, &o, false);
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: down
remove gb-frontend-1: down
"
    );
    assert_eq!(
        plan.warnings,
        [
            "network gb_devapp-net is still used by debugger, not part of this stack: not removed; \
              disconnect it (`docker network disconnect gb_devapp-net CONTAINER`) and run `berth down` again"
        ]
    );
}

#[test]
fn down_without_a_stack_file_removes_every_labelled_container() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[0].service = Some("gone".into());
    let plan = plan_down("gb", &o, None, &DownOptions::default());
    assert_eq!(
        plan.to_string(),
        "\
stop gb-backend-1: down
stop gb-frontend-1: down
stop gb-mongodb-1: down
remove gb-backend-1: down
remove gb-frontend-1: down
remove gb-mongodb-1: down
remove network gb_devapp-net: down
"
    );
    // With the stack, the container of a service no longer in it stays.
    let plan = down(&s, &o, false);
    assert_eq!(
        plan.warnings,
        [
            "service gone is no longer in the stack file: 1 container(s) left running; remove with --remove-orphans"
        ]
    );
    assert!(!plan.to_string().contains("gb-frontend-1"));
}

#[test]
fn down_carries_the_timeout_on_each_stop() {
    let s = stack(THREE_TIER);
    let o = converged(&s);
    let opts = DownOptions {
        timeout: Some(2),
        ..DownOptions::default()
    };
    let plan = plan_down("gb", &o, Some(&s), &opts);
    let stops: Vec<(String, Option<i64>)> = plan
        .steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::Stop { name, timeout, .. } => Some((name.clone(), *timeout)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stops,
        [
            ("gb-frontend-1".to_string(), Some(2)),
            ("gb-backend-1".to_string(), Some(2)),
            ("gb-mongodb-1".to_string(), Some(2)),
        ]
    );
    // Without one, each container's own grace period; the same in JSON.
    let plan = down(&s, &o, false);
    assert!(plan.steps.iter().all(|st| match st.action {
        Action::Stop { timeout, .. } => timeout.is_none(),
        _ => true,
    }));
    let plan = plan_down("gb", &o, Some(&s), &opts);
    assert_eq!(plan.to_json("gb")["steps"][0]["request"]["t"], 2);
}

#[test]
fn down_of_a_wide_fan_stops_every_leaf_then_the_hub_then_the_bases() {
    let n = 1000;
    let s = stack(&fan("fan", n));
    let plan = down(&s, &converged(&s), false);
    let mut hub_after = after(&plan, "stop fan-hub-1: down");
    hub_after.sort();
    let mut leaves: Vec<String> = (0..n)
        .map(|i| format!("stop fan-leaf{i}-1: down"))
        .collect();
    leaves.sort();
    assert_eq!(hub_after, leaves);
    for leaf in &leaves {
        assert_eq!(after(&plan, leaf), Vec::<String>::new());
    }
    for i in 0..3 {
        assert_eq!(
            after(&plan, &format!("stop fan-base{i}-1: down")),
            ["stop fan-hub-1: down"]
        );
    }
}
