//! `berth start`, `stop` and `restart`.

use super::*;

fn lifecycle(
    verb: Lifecycle,
    s: &Stack,
    o: &Observed,
    named: &[&str],
    timeout: Option<i64>,
) -> Result<Plan, Vec<PlanError>> {
    let named: Vec<String> = named.iter().map(|n| n.to_string()).collect();
    plan_lifecycle(verb, &s.name, o, Some(s), &named, timeout)
}

/// The 3-tier stack with every container in `status`.
fn all(s: &Stack, status: Status) -> Observed {
    let mut o = converged(s);
    for c in &mut o.containers {
        c.status = status;
    }
    o
}

fn errors(errors: Vec<PlanError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn start_starts_every_exited_container_after_its_dependencies() {
    let s = stack(THREE_TIER);
    let plan = lifecycle(Lifecycle::Start, &s, &all(&s, Status::Exited), &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
start gb-mongodb-1: berth start
start gb-backend-1: berth start
start gb-frontend-1: berth start
"
    );
    assert_eq!(
        after(&plan, "start gb-mongodb-1: berth start"),
        Vec::<String>::new()
    );
    assert_eq!(
        after(&plan, "start gb-backend-1: berth start"),
        [
            "start gb-mongodb-1: berth start",
            "wait for gb-mongodb-1 to be healthy: backend depends on it",
        ]
    );
    assert_eq!(
        after(
            &plan,
            "wait for gb-mongodb-1 to be healthy: backend depends on it"
        ),
        ["start gb-mongodb-1: berth start"]
    );
    // service_started: the order alone, no wait.
    assert_eq!(
        after(&plan, "start gb-frontend-1: berth start"),
        ["start gb-backend-1: berth start"]
    );
    assert_eq!(plan.steps.len(), 4, "{:?}", plan.steps);
    assert!(plan.warnings.is_empty());
}

#[test]
fn start_with_every_container_running_plans_nothing() {
    let s = stack(THREE_TIER);
    let plan = lifecycle(Lifecycle::Start, &s, &converged(&s), &[], None).unwrap();
    assert_eq!(plan.to_string(), "no changes\n");
    assert!(plan.steps.is_empty(), "not even waits: {:?}", plan.steps);
}

#[test]
fn start_starts_only_a_stopped_one_and_waits_for_the_running_dependency() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[1].status = Status::Created;
    let plan = lifecycle(Lifecycle::Start, &s, &o, &[], None).unwrap();
    assert_eq!(plan.to_string(), "start gb-backend-1: berth start\n");
    assert_eq!(
        after(&plan, "start gb-backend-1: berth start"),
        ["wait for gb-mongodb-1 to be healthy: backend depends on it"]
    );
}

#[test]
fn start_naming_a_service_starts_only_that_service() {
    let s = stack(THREE_TIER);
    let plan = lifecycle(
        Lifecycle::Start,
        &s,
        &all(&s, Status::Exited),
        &["frontend"],
        None,
    )
    .unwrap();
    assert_eq!(plan.to_string(), "start gb-frontend-1: berth start\n");
    assert_eq!(plan.steps.len(), 1, "{:?}", plan.steps);
    assert!(plan.steps[0].after.is_empty());
}

#[test]
fn stop_goes_dependents_first_with_the_timeout_given() {
    let s = stack(THREE_TIER);
    let plan = lifecycle(Lifecycle::Stop, &s, &converged(&s), &[], Some(7)).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: berth stop
stop gb-backend-1: berth stop
stop gb-mongodb-1: berth stop
"
    );
    assert_eq!(
        after(&plan, "stop gb-frontend-1: berth stop"),
        Vec::<String>::new()
    );
    assert_eq!(
        after(&plan, "stop gb-backend-1: berth stop"),
        ["stop gb-frontend-1: berth stop"]
    );
    assert_eq!(
        after(&plan, "stop gb-mongodb-1: berth stop"),
        ["stop gb-backend-1: berth stop"]
    );
    for st in &plan.steps {
        let Action::Stop { timeout, id, .. } = &st.action else {
            panic!("not a stop: {st}")
        };
        assert_eq!(*timeout, Some(7), "{st}");
        assert_eq!(id.len(), 64, "the container's id: {st}");
    }
    // Without one, each container's own grace period.
    let plan = lifecycle(Lifecycle::Stop, &s, &converged(&s), &[], None).unwrap();
    assert!(
        plan.steps
            .iter()
            .all(|st| matches!(st.action, Action::Stop { timeout: None, .. }))
    );
}

#[test]
fn stop_leaves_an_exited_container_alone_and_keeps_the_order_through_it() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[1].status = Status::Exited;
    let plan = lifecycle(Lifecycle::Stop, &s, &o, &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: berth stop
stop gb-mongodb-1: berth stop
"
    );
    assert_eq!(
        after(&plan, "stop gb-mongodb-1: berth stop"),
        ["stop gb-frontend-1: berth stop"]
    );
    let plan = lifecycle(Lifecycle::Stop, &s, &all(&s, Status::Exited), &[], None).unwrap();
    assert_eq!(plan.to_string(), "no changes\n");
}

#[test]
fn restart_restarts_every_container_in_any_state_dependencies_first() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[0].status = Status::Exited;
    o.containers[1].status = Status::Created;
    let plan = lifecycle(Lifecycle::Restart, &s, &o, &[], Some(3)).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
restart gb-mongodb-1: berth restart
restart gb-backend-1: berth restart
restart gb-frontend-1: berth restart
"
    );
    assert_eq!(
        after(&plan, "restart gb-mongodb-1: berth restart"),
        Vec::<String>::new()
    );
    assert_eq!(
        after(&plan, "restart gb-backend-1: berth restart"),
        [
            "restart gb-mongodb-1: berth restart",
            "wait for gb-mongodb-1 to be healthy: backend depends on it",
        ]
    );
    assert_eq!(
        after(&plan, "restart gb-frontend-1: berth restart"),
        ["restart gb-backend-1: berth restart"]
    );
    let restarts: Vec<_> = plan
        .steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::Restart {
                service, timeout, ..
            } => Some((service.clone(), *timeout)),
            _ => None,
        })
        .collect();
    assert_eq!(
        restarts,
        [
            (Some("mongodb".to_string()), Some(3)),
            (Some("backend".to_string()), Some(3)),
            (Some("frontend".to_string()), Some(3)),
        ]
    );
}

#[test]
fn without_a_stack_file_every_labelled_container_goes_at_once() {
    let s = stack(THREE_TIER);
    let o = all(&s, Status::Exited);
    let plan = plan_lifecycle(Lifecycle::Start, "gb", &o, None, &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
start gb-backend-1: berth start
start gb-frontend-1: berth start
start gb-mongodb-1: berth start
"
    );
    assert!(plan.steps.iter().all(|st| st.after.is_empty()), "{plan:?}");

    let plan = plan_lifecycle(Lifecycle::Stop, "gb", &converged(&s), None, &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
stop gb-backend-1: berth stop
stop gb-frontend-1: berth stop
stop gb-mongodb-1: berth stop
"
    );
    assert!(plan.steps.iter().all(|st| st.after.is_empty()), "{plan:?}");

    let plan = plan_lifecycle(Lifecycle::Restart, "gb", &o, None, &[], None).unwrap();
    assert_eq!(plan.steps.len(), 3, "{plan}");
    assert!(plan.steps.iter().all(|st| st.after.is_empty()), "{plan:?}");

    // A named service is one of the labels; other projects' containers
    // are not looked at.
    let mut o = o;
    let mut other = o.containers[0].clone();
    other.project = Some("other".into());
    other.service = Some("cache".into());
    other.name = "other-cache-1".into();
    o.containers.push(other);
    let plan = plan_lifecycle(Lifecycle::Start, "gb", &o, None, &["mongodb".into()], None).unwrap();
    assert_eq!(plan.to_string(), "start gb-mongodb-1: berth start\n");
    let err = plan_lifecycle(Lifecycle::Start, "gb", &o, None, &["cache".into()], None);
    assert_eq!(
        errors(err.unwrap_err()),
        ["no service `cache` in the stack\n  help: its services are: backend, frontend, mongodb"]
    );
}

#[test]
fn an_unknown_named_service_is_an_error_listing_the_services() {
    let s = stack(THREE_TIER);
    let o = converged(&s);
    for verb in [Lifecycle::Start, Lifecycle::Stop, Lifecycle::Restart] {
        // Without a stack, the services are those of the labels.
        let err = plan_lifecycle(verb, "gb", &o, None, &["x".into()], None).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].message, "no service `x` in the stack");
        assert_eq!(err[0].help, "its services are: backend, frontend, mongodb");
        assert_eq!(err[0].span, None);
        // With one, those of the stack, in file order.
        let err = lifecycle(verb, &s, &o, &["x", "frontend", "y"], None).unwrap_err();
        assert_eq!(
            errors(err),
            [
                "no service `x` in the stack\n  help: its services are: frontend, backend, mongodb",
                "no service `y` in the stack\n  help: its services are: frontend, backend, mongodb",
            ]
        );
    }
}

#[test]
fn a_selected_service_without_a_container_points_at_up() {
    let s = stack(THREE_TIER);
    let mut o = all(&s, Status::Exited);
    o.containers.remove(1); // backend
    let err = lifecycle(Lifecycle::Start, &s, &o, &[], None).unwrap_err();
    assert_eq!(
        errors(err),
        ["no container for backend: nothing was started\n  help: run `berth up` to create it"]
    );
    let err = lifecycle(Lifecycle::Restart, &s, &o, &["backend"], None).unwrap_err();
    assert_eq!(
        errors(err),
        ["no container for backend: nothing was restarted\n  help: run `berth up` to create it"]
    );
    // Not selected: not a concern of this command.
    let plan = lifecycle(Lifecycle::Start, &s, &o, &["frontend"], None).unwrap();
    assert_eq!(plan.to_string(), "start gb-frontend-1: berth start\n");

    o.containers.remove(0); // frontend
    let err = lifecycle(Lifecycle::Start, &s, &o, &[], None).unwrap_err();
    assert_eq!(
        errors(err),
        [
            "no container for frontend, backend: nothing was started\n  help: run `berth up` to create them"
        ]
    );

    // Stopping what is not there is no error.
    let mut o = converged(&s);
    o.containers.remove(1);
    let plan = lifecycle(Lifecycle::Stop, &s, &o, &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
stop gb-frontend-1: berth stop
stop gb-mongodb-1: berth stop
"
    );
    assert_eq!(
        after(&plan, "stop gb-mongodb-1: berth stop"),
        ["stop gb-frontend-1: berth stop"]
    );
    let plan = lifecycle(Lifecycle::Stop, &s, &o, &["backend"], None).unwrap();
    assert_eq!(plan.to_string(), "no changes\n");
}

#[test]
fn replicas_are_each_started_and_each_waited_for() {
    let s = stack(&THREE_TIER.replace("image: gb/mongo", "image: gb/mongo\n    scale: 2"));
    let plan = lifecycle(Lifecycle::Start, &s, &all(&s, Status::Exited), &[], None).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
start gb-mongodb-1: berth start
start gb-mongodb-2: berth start
start gb-backend-1: berth start
start gb-frontend-1: berth start
"
    );
    assert_eq!(
        after(&plan, "start gb-backend-1: berth start"),
        [
            "start gb-mongodb-1: berth start",
            "start gb-mongodb-2: berth start",
            "wait for gb-mongodb-1 to be healthy: backend depends on it",
            "wait for gb-mongodb-2 to be healthy: backend depends on it",
        ]
    );
}

#[test]
fn a_service_scaled_to_zero_has_nothing_to_start_and_is_no_error() {
    let s = stack(&THREE_TIER.replace(
        "    image: gb/frontend\n",
        "    image: gb/frontend\n    scale: 0\n",
    ));
    let o = all(&s, Status::Exited); // no frontend container: replicas 0
    for verb in [Lifecycle::Start, Lifecycle::Restart] {
        let plan = lifecycle(verb, &s, &o, &[], None);
        assert!(plan.is_ok(), "{verb:?}: {:?}", plan.unwrap_err());
        assert_eq!(
            plan.unwrap()
                .steps
                .iter()
                .filter(|s| s.action.mutates())
                .count(),
            2
        );
    }
}
