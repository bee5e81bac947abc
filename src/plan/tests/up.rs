use super::*;

#[test]
fn an_empty_engine_gets_everything_created_in_dependency_order() {
    let s = stack(THREE_TIER);
    let mut o = Observed::default();
    for svc in s.services.values() {
        let image = image_ref(&s, svc);
        o.images.insert(image.clone(), Some(image_id(&image)));
    }
    let plan = up(&s, &o);
    assert_eq!(
        plan.to_string(),
        "\
create network gb_devapp-net: not found
create volume gb_mongo-data: not found
create container gb-mongodb-1: not found
start gb-mongodb-1: created
create container gb-backend-1: not found
start gb-backend-1: created
create container gb-frontend-1: not found
start gb-frontend-1: created
"
    );
    assert_eq!(
        after(&plan, "create container gb-mongodb-1: not found"),
        [
            "create network gb_devapp-net: not found",
            "create volume gb_mongo-data: not found"
        ]
    );
    assert_eq!(
        after(&plan, "start gb-backend-1: created"),
        [
            "start gb-mongodb-1: created",
            "create container gb-backend-1: not found",
            "wait for gb-mongodb-1 to be healthy: backend depends on it",
        ]
    );
    assert_eq!(
        after(
            &plan,
            "wait for gb-mongodb-1 to be healthy: backend depends on it"
        ),
        ["start gb-mongodb-1: created"]
    );
    // service_started needs no wait beyond the order.
    assert_eq!(
        after(&plan, "start gb-frontend-1: created"),
        [
            "start gb-backend-1: created",
            "create container gb-frontend-1: not found",
        ]
    );
    assert!(plan.warnings.is_empty());
}

#[test]
fn a_converged_stack_plans_nothing() {
    let s = stack(THREE_TIER);
    let plan = up(&s, &converged(&s));
    assert_eq!(plan.to_string(), "no changes\n");
    assert!(plan.is_empty());
    assert!(plan.steps.is_empty(), "not even waits: {:?}", plan.steps);
}

#[test]
fn a_new_image_id_recreates_and_waits_for_healthy_dependency() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.images
        .insert("gb/backend".into(), Some("sha256:newer".into()));
    let plan = up(&s, &o);
    assert_eq!(
        plan.to_string(),
        "\
rename gb-backend-1 to gbbackend100_gb-backend-1: recreate: image changed
create container gb-backend-1: recreate: image changed
stop gbbackend100_gb-backend-1: recreate: image changed
remove gbbackend100_gb-backend-1: recreate: image changed
start gb-backend-1: recreated
"
    );
    // Each step of the replacement waits for the one before it; the new
    // one starts once the old one is gone and the database is healthy.
    assert_eq!(
        after(
            &plan,
            "create container gb-backend-1: recreate: image changed"
        ),
        ["rename gb-backend-1 to gbbackend100_gb-backend-1: recreate: image changed"]
    );
    assert_eq!(
        after(
            &plan,
            "stop gbbackend100_gb-backend-1: recreate: image changed"
        ),
        ["create container gb-backend-1: recreate: image changed"]
    );
    assert_eq!(
        after(&plan, "start gb-backend-1: recreated"),
        [
            "create container gb-backend-1: recreate: image changed",
            "remove gbbackend100_gb-backend-1: recreate: image changed",
            "wait for gb-mongodb-1 to be healthy: backend depends on it",
        ]
    );
    let old = &o.containers[1].id;
    assert!(plan.steps.iter().any(|st| matches!(
        &st.action,
        Action::Remove { id, .. } if id == old
    )));
}

#[test]
fn a_changed_tag_and_environment_recreate_naming_the_keys() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace(
        "image: gb/frontend",
        "image: gb/frontend:2\n    environment: {API: http://backend}",
    ));
    let mut o = converged(&old);
    o.images
        .insert("gb/frontend:2".into(), Some("sha256:two".into()));
    assert_eq!(
        up(&new, &o).to_string(),
        "\
rename gb-frontend-1 to gbfrontend10_gb-frontend-1: recreate: config changed: environment, image
create container gb-frontend-1: recreate: config changed: environment, image
stop gbfrontend10_gb-frontend-1: recreate: config changed: environment, image
remove gbfrontend10_gb-frontend-1: recreate: config changed: environment, image
start gb-frontend-1: recreated
"
    );
}

#[test]
fn force_recreate_and_no_recreate() {
    let s = stack(THREE_TIER);
    let o = converged(&s);
    let opts = UpOptions {
        force_recreate: true,
        services: vec!["mongodb".into()],
        ..UpOptions::default()
    };
    assert_eq!(
        plan_up(&s, &o, &opts).unwrap().to_string(),
        "\
rename gb-mongodb-1 to gbmongodb100_gb-mongodb-1: recreate: --force-recreate
create container gb-mongodb-1: recreate: --force-recreate
stop gbmongodb100_gb-mongodb-1: recreate: --force-recreate
remove gbmongodb100_gb-mongodb-1: recreate: --force-recreate
start gb-mongodb-1: recreated
"
    );
    let mut o = converged(&s);
    o.images
        .insert("gb/mongo".into(), Some("sha256:new".into()));
    o.containers[2].status = Status::Exited;
    let opts = UpOptions {
        no_recreate: true,
        ..UpOptions::default()
    };
    assert_eq!(
        plan_up(&s, &o, &opts).unwrap().to_string(),
        "start gb-mongodb-1: stopped\n"
    );
}

#[test]
fn changed_cpus_and_memory_update_in_place() {
    let old = stack(THREE_TIER);
    let new = stack(
        &THREE_TIER
            .replace("cpus: 0.5", "cpus: 0.2")
            .replace("mem_limit: 200m", "mem_limit: 300m"),
    );
    let plan = up(&new, &converged(&old));
    assert_eq!(
        plan.to_string(),
        "update gb-backend-1 in place: cpus 0.5 -> 0.2, memory 200m -> 300m\n"
    );
    let Action::Update { request, id, .. } = &plan.steps[0].action else {
        panic!("{plan}")
    };
    assert_eq!(*id, converged(&old).containers[1].id);
    assert_eq!(request.nano_cpus, Some(200_000_000));
    assert_eq!(request.memory, Some(300 << 20));
    // Swap follows memory, as it would on a new container.
    assert_eq!(request.memory_swap, Some(600 << 20));
}

#[test]
fn restart_policy_and_pids_limit_update_in_place() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace(
        "image: gb/mongo",
        "image: gb/mongo\n    restart: on-failure:3\n    pids_limit: 100",
    ));
    assert_eq!(
        up(&new, &converged(&old)).to_string(),
        "update gb-mongodb-1 in place: pids_limit unset -> 100, restart no -> on-failure:3\n"
    );
}

#[test]
fn on_failure_0_is_converged_when_the_engine_reads_it_back_as_on_failure() {
    use bollard::models::{RestartPolicy, RestartPolicyNameEnum};
    let s = stack(&THREE_TIER.replace(
        "image: gb/mongo",
        "image: gb/mongo\n    restart: on-failure:0",
    ));
    let mut observed = converged(&s);
    let read_back = crate::observe::restart_of(&RestartPolicy {
        name: Some(RestartPolicyNameEnum::ON_FAILURE),
        maximum_retry_count: Some(0),
    });
    let mongo = observed
        .containers
        .iter_mut()
        .find(|c| c.service.as_deref() == Some("mongodb"))
        .unwrap();
    mongo.limits.restart = read_back;
    let plan = up(&s, &observed);
    assert!(plan.is_empty(), "{plan}");
}

#[test]
fn a_removed_limit_recreates_since_docker_update_cannot_unset_it() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace("    cpus: 0.5\n", ""));
    assert_eq!(
        up(&new, &converged(&old)).to_string(),
        "\
rename gb-backend-1 to gbbackend100_gb-backend-1: recreate: cpus 0.5 -> unset: a limit cannot be removed in place
create container gb-backend-1: recreate: cpus 0.5 -> unset: a limit cannot be removed in place
stop gbbackend100_gb-backend-1: recreate: cpus 0.5 -> unset: a limit cannot be removed in place
remove gbbackend100_gb-backend-1: recreate: cpus 0.5 -> unset: a limit cannot be removed in place
start gb-backend-1: recreated
"
    );
}

#[test]
fn an_added_network_is_connected_in_place() {
    let old = stack(THREE_TIER);
    let new = stack(
        &THREE_TIER
            .replace(
                "    depends_on: [backend]\n    networks: [devapp-net]",
                "    depends_on: [backend]\n    networks: [devapp-net, edge]",
            )
            .replace("  devapp-net: {}", "  devapp-net: {}\n  edge: {}"),
    );
    let plan = up(&new, &converged(&old));
    assert_eq!(
        plan.to_string(),
        "\
create network gb_edge: not found
connect gb-frontend-1 to gb_edge: network added
"
    );
    assert_eq!(
        after(&plan, "connect gb-frontend-1 to gb_edge: network added"),
        ["create network gb_edge: not found"]
    );
    assert!(matches!(
        &plan.steps[1].action,
        Action::Connect { endpoint, .. } if endpoint.aliases.as_deref() == Some(&["frontend".to_string()][..])
    ));
    // And taken away again: disconnected, the network left for `down`.
    assert_eq!(
        up(&old, &converged(&new)).to_string(),
        "disconnect gb-frontend-1 from gb_edge: network removed\n"
    );
}

#[test]
fn changed_aliases_reconnect() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace(
            "    image: gb/mongo\n    volumes: [mongo-data:/data/db]\n    networks: [devapp-net]",
            "    image: gb/mongo\n    volumes: [mongo-data:/data/db]\n    networks:\n      devapp-net:\n        aliases: [db]",
        ));
    let plan = up(&new, &converged(&old));
    assert_eq!(
        plan.to_string(),
        "\
disconnect gb-mongodb-1 from gb_devapp-net: aliases changed
connect gb-mongodb-1 to gb_devapp-net: aliases changed
"
    );
    assert_eq!(
        after(
            &plan,
            "connect gb-mongodb-1 to gb_devapp-net: aliases changed"
        ),
        ["disconnect gb-mongodb-1 from gb_devapp-net: aliases changed"]
    );
}

#[test]
fn stopped_and_created_containers_are_started_after_their_dependencies() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[0].status = Status::Exited;
    o.containers[0].exit_code = Some(137);
    o.containers[1].status = Status::Created;
    let plan = up(&s, &o);
    assert_eq!(
        plan.to_string(),
        "\
start gb-backend-1: created
start gb-frontend-1: stopped
"
    );
    assert_eq!(
        after(&plan, "start gb-frontend-1: stopped"),
        ["start gb-backend-1: created"]
    );
    // mongodb is running and unchanged: only its health is waited for.
    assert_eq!(
        after(&plan, "start gb-backend-1: created"),
        ["wait for gb-mongodb-1 to be healthy: backend depends on it"]
    );
    assert_eq!(
        after(
            &plan,
            "wait for gb-mongodb-1 to be healthy: backend depends on it"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_one_shot_that_completed_is_done_not_stopped() {
    let s = stack(
        r#"
name: app
services:
  migrate:
    image: app/migrate
  web:
    image: app/web
    depends_on:
      migrate: {condition: service_completed_successfully}
"#,
    );
    let mut o = converged(&s);
    o.containers[0].status = Status::Exited;
    o.containers[0].exit_code = Some(0);
    assert_eq!(up(&s, &o).to_string(), "no changes\n");
    o.containers[0].exit_code = Some(1);
    let plan = up(&s, &o);
    assert_eq!(plan.to_string(), "start app-migrate-1: stopped\n");
}

#[test]
fn orphans_are_reported_or_removed_with_remove_orphans() {
    let old = stack(
        &THREE_TIER
            .replace(
                "volumes:\n  mongo-data: {}",
                "volumes:\n  mongo-data: {}\nx-unused: 1",
            )
            .replace(
                "services:\n",
                "services:\n  cache:\n    image: gb/cache\n    scale: 2\n",
            ),
    );
    let new = stack(THREE_TIER);
    let o = converged(&old);
    let plan = up(&new, &o);
    assert_eq!(plan.to_string(), "no changes\n");
    assert_eq!(
        plan.warnings,
        [
            "service cache is no longer in the stack file: 2 container(s) left running; remove with --remove-orphans"
        ]
    );
    let opts = UpOptions {
        remove_orphans: true,
        ..UpOptions::default()
    };
    let plan = plan_up(&new, &o, &opts).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
stop gb-cache-1: orphan: service cache is no longer in the stack file
remove gb-cache-1: orphan: service cache is no longer in the stack file
stop gb-cache-2: orphan: service cache is no longer in the stack file
remove gb-cache-2: orphan: service cache is no longer in the stack file
"
    );
    assert!(plan.warnings.is_empty());
}

#[test]
fn scaling_down_removes_the_highest_numbers() {
    let old = stack(&THREE_TIER.replace("image: gb/frontend", "image: gb/frontend\n    scale: 3"));
    let new = stack(&THREE_TIER.replace("image: gb/frontend", "image: gb/frontend\n    scale: 2"));
    let mut o = converged(&old);
    o.containers[2].status = Status::Exited;
    assert_eq!(
        up(&new, &o).to_string(),
        "\
remove gb-frontend-3: scaled down
"
    );
    let o = converged(&old);
    assert_eq!(
        up(&new, &o).to_string(),
        "\
stop gb-frontend-3: scaled down
remove gb-frontend-3: scaled down
"
    );
}

#[test]
fn a_same_named_network_without_the_label_is_refused() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers.clear();
    o.networks[0].project = None;
    let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "network gb_devapp-net exists and is not managed by berth (project gb)\n  \
              help: declare it `external: true` to use it, or remove it (`docker network rm gb_devapp-net`)"
        ]
    );
    o.networks[0].project = Some("other".into());
    let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
    assert_eq!(
        errors[0].message,
        "network gb_devapp-net belongs to berth project other, not to gb"
    );
}

#[test]
fn a_missing_external_network_or_volume_is_an_error() {
    let s = stack(
        &THREE_TIER
            .replace(
                "  devapp-net: {}",
                "  devapp-net: {external: true, name: shared}",
            )
            .replace("  mongo-data: {}", "  mongo-data: {external: true}"),
    );
    let mut o = converged(&s);
    o.networks.clear();
    o.volumes.clear();
    let errors = plan_up(&s, &o, &UpOptions::default()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "external network shared does not exist\n  help: create it (`docker network create shared`), or drop `external: true` to let berth create it",
            "external volume mongo-data does not exist\n  help: create it (`docker volume create mongo-data`), or drop `external: true` to let berth create it",
        ]
    );
    // Present, unlabelled, and external: used as it is.
    assert_eq!(up(&s, &converged(&s)).to_string(), "no changes\n");
}

#[test]
fn a_changed_volume_driver_is_an_error_naming_the_volume() {
    let old = stack(THREE_TIER);
    let new = stack(&THREE_TIER.replace(
        "  mongo-data: {}",
        "  mongo-data:\n    driver_opts: {type: tmpfs, device: tmpfs}",
    ));
    let errors = plan_up(&new, &converged(&old), &UpOptions::default()).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "volume gb_mongo-data exists with driver local and options {}, but the stack asks for driver local and options {device=tmpfs, type=tmpfs}\n  \
              help: berth never deletes data implicitly; run `berth down --volumes` to recreate it, or change the stack back"
        ]
    );
    assert!(errors[0].span.is_some());
}

#[test]
fn a_recreate_stopped_after_any_step_converges_on_the_next_plan() {
    let s = stack(THREE_TIER);
    let old = container(&s, "backend", 1);
    let parked = identity::parked_name(&old.id, &old.name);
    // The new backend, as the recreate's create left it.
    let mut new = container(&s, "backend", 1);
    new.id = "f".repeat(64);
    new.status = Status::Created;
    for aliases in new.networks.values_mut() {
        // The engine's own alias, the short id, follows the id.
        *aliases.last_mut().unwrap() = "f".repeat(12);
    }

    // Stopped after the rename: the parked old one is alone, and is
    // recreated without being renamed again.
    let mut o = converged(&s);
    o.containers[1].name = parked.clone();
    assert_eq!(
        up(&s, &o).to_string(),
        format!(
            "\
create container gb-backend-1: recreate: left over from an interrupted recreate (named {parked})
stop {parked}: recreate: left over from an interrupted recreate (named {parked})
remove {parked}: recreate: left over from an interrupted recreate (named {parked})
start gb-backend-1: recreated
"
        )
    );

    // Stopped after the create (or the stop of the old one): the parked one
    // goes, and the new one starts once it has.
    for status in [Status::Running, Status::Exited] {
        let mut o = converged(&s);
        o.containers[1].name = parked.clone();
        o.containers[1].status = status;
        o.containers.push(new.clone());
        let plan = up(&s, &o);
        let stop = if status == Status::Running {
            format!("stop {parked}: left over from an interrupted recreate\n")
        } else {
            String::new()
        };
        assert_eq!(
            plan.to_string(),
            format!(
                "{stop}remove {parked}: left over from an interrupted recreate\nstart gb-backend-1: created\n"
            )
        );
        assert!(
            after(&plan, "start gb-backend-1: created").contains(&format!(
                "remove {parked}: left over from an interrupted recreate"
            ))
        );
    }

    // Stopped after the remove: only the start is left.
    let mut o = converged(&s);
    o.containers[1] = new.clone();
    assert_eq!(up(&s, &o).to_string(), "start gb-backend-1: created\n");
}

#[test]
fn naming_services_brings_up_those_and_their_dependencies() {
    let s = stack(THREE_TIER);
    let mut o = Observed::default();
    for svc in s.services.values() {
        let image = image_ref(&s, svc);
        o.images.insert(image.clone(), Some(image_id(&image)));
    }
    let opts = UpOptions {
        services: vec!["backend".into()],
        ..UpOptions::default()
    };
    assert_eq!(
        plan_up(&s, &o, &opts).unwrap().to_string(),
        "\
create network gb_devapp-net: not found
create volume gb_mongo-data: not found
create container gb-mongodb-1: not found
start gb-mongodb-1: created
create container gb-backend-1: not found
start gb-backend-1: created
"
    );
    let opts = UpOptions {
        services: vec!["nope".into()],
        ..UpOptions::default()
    };
    assert_eq!(
        plan_up(&s, &o, &opts).unwrap_err()[0].to_string(),
        "no service `nope` in the stack\n  help: its services are: frontend, backend, mongodb"
    );
}

#[test]
fn volumes_from_waits_for_the_other_containers_create() {
    let s = stack(
        r#"
name: app
services:
  data:
    image: app/data
  web:
    image: app/web
    volumes_from: [data]
"#,
    );
    let mut o = converged(&s);
    o.containers.clear();
    let plan = up(&s, &o);
    assert_eq!(
        after(&plan, "create container app-web-1: not found"),
        ["create container app-data-1: not found"]
    );
}

#[test]
fn a_container_with_a_stale_task_is_replaced_keeping_its_volumes() {
    let s = stack(THREE_TIER);
    let mut o = converged(&s);
    o.containers[1].status = Status::Created;
    let name = o.containers[1].name.clone();
    let opts = UpOptions {
        stale_tasks: [name.clone()].into(),
        ..UpOptions::default()
    };
    let plan = plan_up(&s, &o, &opts).unwrap();
    let cause =
        "recreate: the engine has a stale task for it (dockerd restarted while starting it)";
    let text = plan.to_string();
    assert!(
        text.contains(&format!("create container {name}: {cause}")),
        "{text}"
    );
    assert!(
        !text.contains("remove volume"),
        "named volumes are kept: {text}"
    );
    // Without the mark, the same container is only started.
    assert_eq!(up(&s, &o).to_string(), format!("start {name}: created\n"));
}

#[test]
fn a_start_that_found_a_stale_task_is_recognised() {
    use crate::plan::rules::stale_task;
    let start = Action::Start {
        service: "db".into(),
        name: "gb-db-1".into(),
    };
    let msg = "task 3f2a…: already exists: unknown";
    assert_eq!(stale_task(&start, msg), Some("gb-db-1".into()));
    assert_eq!(
        stale_task(&start, "id already in use"),
        Some("gb-db-1".into()),
        "containerd still holds the container"
    );
    let shim = "failed to start shim: mkdir /run/containerd/daemon/\
        io.containerd.runtime.v2.task/moby/9e61…: file exists: unknown";
    assert_eq!(
        stale_task(&start, shim),
        Some("gb-db-1".into()),
        "containerd still holds the task's directory"
    );
    assert_eq!(stale_task(&start, "port is already allocated"), None);
    assert_eq!(
        stale_task(&start, "failed to start shim: exec: no such file"),
        None
    );
    let remove = Action::RemoveNetwork { name: "n".into() };
    assert_eq!(stale_task(&remove, msg), None);
}
