//! Changes that reach beyond their own resource: a network whose settings
//! changed is recreated under its running containers, a container that
//! joins another's network namespace follows it when it is recreated, and a
//! host port someone else holds is reported at the `ports` entry.

use crate::engine::*;

/// A container the test made outside any project, removed when dropped
/// (declare it after the [`Project`], so that it goes first and the
/// project's network can be removed).
struct Foreign(String);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = docker_try(&["rm", "-f", &self.0]);
    }
}

fn two_on_back(back: &str) -> String {
    format!(
        "services:\n{}{}networks:\n  back: {back}\n",
        idle(
            "app",
            "    networks:\n      back:\n        aliases: [api]\n"
        ),
        idle("peer", "    networks: [back]\n"),
    )
}

#[test]
fn a_changed_network_is_recreated_and_its_running_containers_stay_reachable() {
    let p = Project::up("netchange", &two_on_back("{}"));
    let net = format!("{}_back", p.name);
    let net_before = docker(&["network", "inspect", "-f", "{{.Id}}", &net]);
    let app = p.container("app");
    let peer = p.container("peer");

    p.write("compose.yaml", &two_on_back("{internal: true}"));
    p.berth(&["plan"])
        .code_is(3)
        .says(&format!(
            "remove network {net}: recreate network {net}: internal false -> true"
        ))
        .says(&format!("connect {}-app-1 to {net}", p.name));
    p.berth(&["up"]).ok();

    let net_after = docker(&["network", "inspect", "-f", "{{.Id}} {{.Internal}}", &net]);
    assert_ne!(net_before.trim(), net_after.split(' ').next().unwrap());
    assert!(net_after.trim().ends_with("true"), "{net_after}");
    for (before, service) in [(&app, "app"), (&peer, "peer")] {
        let after = p.container(service);
        assert_eq!(before.id, after.id, "{service} kept");
        assert_eq!(
            before.started_at(),
            after.started_at(),
            "{service} not restarted"
        );
        assert!(after.running());
        assert_eq!(after.networks(), [net.as_str()]);
    }
    // The alias came back with the reconnect.
    p.container("peer").exec("ping -c 1 -W 2 api >/dev/null");
    p.container("peer").exec("ping -c 1 -W 2 app >/dev/null");
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}

#[test]
fn a_changed_network_that_a_foreign_container_uses_is_left_alone() {
    let p = Project::up("netforeign", &two_on_back("{}"));
    let net = format!("{}_back", p.name);
    let foreign = Foreign(format!("{}-foreign", p.name));
    docker(&[
        "run",
        "-d",
        "--name",
        &foreign.0,
        "--network",
        &net,
        IMAGE,
        "sleep",
        "3600",
    ]);
    let net_before = docker(&["network", "inspect", "-f", "{{.Id}}", &net]);
    let app = p.container("app");

    p.write("compose.yaml", &two_on_back("{internal: true}"));
    let run = p.berth(&["up"]).code_is(1);
    run.says_wrapped(&format!(
            "network {net} must be recreated (internal false -> true), but containers outside project {} use it: {}",
            p.name, foreign.0
        ),
    );
    run.says_wrapped(&format!("docker network disconnect {net} {}", foreign.0));
    run.says_wrapped("compose.yaml:13:3");
    assert_eq!(
        net_before,
        docker(&["network", "inspect", "-f", "{{.Id}}", &net]),
        "network untouched"
    );
    let after = p.container("app");
    assert_eq!(app.id, after.id);
    assert_eq!(app.started_at(), after.started_at());
    assert_eq!(after.networks(), [net.as_str()], "still connected");
}

fn shared_namespace(mode: &str) -> String {
    format!(
        "services:\n{}{}{}",
        idle(
            "x",
            &format!("    environment: {{MODE: {mode}}}\n    volumes: [/shared]\n")
        ),
        idle("ns", "    network_mode: service:x\n    depends_on: [x]\n"),
        idle("vols", "    volumes_from: [x]\n"),
    )
}

/// The source of `/shared` in container `c`: x's anonymous volume, which
/// `volumes_from` shares.
fn shared_source(c: &Container) -> String {
    c.json["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["Destination"] == "/shared")
        .and_then(|m| m["Name"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn namespace_and_volumes_dependents_are_recreated_with_their_container() {
    let p = Project::up("nsdep", &shared_namespace("a"));
    let ns = p.container("ns");
    let vols = p.container("vols");

    p.write("compose.yaml", &shared_namespace("b"));
    p.berth(&["plan"])
        .code_is(3)
        .says(&format!(
            "create container {}-ns-1: recreate: its network namespace's container {}-x-1 is recreated",
            p.name, p.name
        ))
        .says(&format!(
            "create container {}-vols-1: recreate: its volumes_from container {}-x-1 is recreated",
            p.name, p.name
        ));
    p.berth(&["up"]).ok();
    let x = p.container("x");
    let ns2 = p.container("ns");
    assert_ne!(ns.id, ns2.id, "ns recreated");
    assert!(ns2.running());
    assert_eq!(
        ns2.host("NetworkMode").as_str(),
        Some(format!("container:{}", x.id).as_str())
    );
    let vols2 = p.container("vols");
    assert_ne!(vols.id, vols2.id, "vols recreated");
    assert!(vols2.running());
    assert!(!shared_source(&x).is_empty());
    assert_eq!(
        shared_source(&vols2),
        shared_source(&x),
        "x's volume, as it is now"
    );
    p.berth(&["plan"]).code_is(0).says_nothing_changed();

    // x replaced by an `up x` alone leaves ns on the old namespace; the
    // next `up` sees it.
    p.write("compose.yaml", &shared_namespace("c"));
    p.berth(&["up", "x"]).ok();
    p.berth(&["plan"])
        .code_is(3)
        .says(&format!(
            "create container {}-ns-1: recreate: its network namespace's container {}-x-1 was recreated after it",
            p.name, p.name
        ))
        .says(&format!(
            "create container {}-vols-1: recreate: its volumes_from container {}-x-1 was recreated after it",
            p.name, p.name
        ));
    p.berth(&["up"]).ok();
    p.berth(&["plan"]).code_is(0).says_nothing_changed();
    let x = p.container("x");
    assert_eq!(
        p.container("ns").host("NetworkMode").as_str(),
        Some(format!("container:{}", x.id).as_str())
    );
}

fn publishing(service: &str, port: u16) -> String {
    format!(
        "services:\n{}",
        idle(
            service,
            &format!("    ports:\n      - \"127.0.0.1:{port}:80\"\n")
        )
    )
}

#[test]
fn a_port_held_by_a_host_process_is_reported_at_the_ports_entry() {
    let p = Project::with_stack("porthost", &publishing("web", free_port()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    p.write("compose.yaml", &publishing("web", port));
    let run = p.berth(&["up"]).code_is(1);
    run.says_wrapped("address already in use");
    run.says_wrapped(&format!(
        "host port 127.0.0.1:{port} is held by a process on the host: "
    ));
    run.says_wrapped(&format!("(pid {})", std::process::id()));
    run.says_wrapped("compose.yaml:6:9");
    run.says_wrapped(&format!("host port {port} is already taken"));
    drop(listener);
}

#[test]
fn a_port_held_by_a_container_is_reported_at_the_ports_entry() {
    let p = Project::new("portctr");
    let port = free_port();
    // Another project's container: known before anything changes.
    let foreign = Foreign(format!("{}-holder", p.name));
    docker(&[
        "run",
        "-d",
        "--name",
        &foreign.0,
        "-p",
        &format!("127.0.0.1:{port}:80"),
        IMAGE,
        "sleep",
        "3600",
    ]);
    p.write("compose.yaml", &publishing("web", port));
    let run = p.berth(&["up"]).code_is(1);
    run.says_wrapped(&format!(
        "host port 127.0.0.1:{port}/tcp of service `web` is already published by container {}",
        foreign.0
    ));
    run.says_wrapped("compose.yaml:6:9");
    run.says_wrapped(&format!("docker stop {}", foreign.0));
    assert!(p.containers().is_empty(), "nothing created");
    drop(foreign);

    // The project's own orphan holds it: only the engine's answer says so.
    p.write("compose.yaml", &publishing("old", port));
    p.berth(&["up"]).ok();
    p.write("compose.yaml", &publishing("web", port));
    let run = p.berth(&["up"]).code_is(1);
    run.says_wrapped("port is already allocated");
    run.says_wrapped(&format!(
        "host port 127.0.0.1:{port} is held by container {}-old-1 (berth project {})",
        p.name, p.name
    ));
    run.says_wrapped("compose.yaml:6:9");
    run.says_wrapped(&format!("host port {port} is already taken"));
}
