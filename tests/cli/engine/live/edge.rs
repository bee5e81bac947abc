//! The edge (issue 18) on a real engine: the image made of berth's own
//! executable, a start-first service's edge container as berth creates it
//! (`berth edge-tool`, which sends what `spec::edge_container` makes), two
//! busybox httpd containers standing in for the old and the new replica, and
//! the switch between them through the state file.
//!
//! The shared dockerd is never restarted here (it would disturb every other
//! test on the machine): the last test kills and restarts a dockerd of its
//! own instead.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::engine::*;
use crate::support::Berth;

/// The edge image of the berth under test, imported once per test binary;
/// edge images of other builds that no container uses are removed then, so
/// that rebuilding berth does not pile them up.
fn edge_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        require_engine();
        let run = Berth::new().args(["edge-tool", "image"]).run().ok();
        let reference = run.stdout().trim().to_string();
        assert!(reference.starts_with("berth/edge:"), "{reference}");
        for other in docker_lines(&[
            "images",
            "berth/edge",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ]) {
            if other != reference {
                // Refused while a container (another test's) uses it.
                let _ = docker_try(&["image", "rm", &other]);
            }
        }
        reference
    })
}

/// A replica stand-in: busybox httpd serving `page` on port 80, labelled as
/// replica `number` of service `web`.
fn replica(p: &Project, number: u32, page: &str) -> String {
    replica_with(p, number, page, &[])
}

fn replica_with(p: &Project, number: u32, page: &str, more: &[&str]) -> String {
    let script =
        format!("mkdir -p /www && echo {page} > /www/index.html && exec httpd -f -p 80 -h /www");
    let name = format!("{}-web-{number}", p.name);
    let network = format!("{}_default", p.name);
    let project = format!("{LABEL}={}", p.name);
    let number = format!("io.berth.number={number}");
    let out = docker(
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            "--label",
            &project,
            "--label",
            "io.berth.service=web",
            "--label",
            &number,
        ]
        .into_iter()
        .chain(more.iter().copied())
        .chain([IMAGE, "sh", "-c", &script])
        .collect::<Vec<&str>>(),
    );
    out.trim().chars().take(12).collect()
}

/// The page at 127.0.0.1:`port`, or why not.
fn page(port: u16) -> Result<String, String> {
    match http(port, "GET", "/", None)? {
        (200, body) => Ok(body.trim().to_string()),
        (status, body) => Err(format!("status {status}: {body}")),
    }
}

/// Waits (at most `timeout`) until the page is `want`; how long that took.
#[track_caller]
fn page_becomes(port: u16, want: &str, timeout: Duration) -> Duration {
    let started = Instant::now();
    let mut last = Err(String::new());
    let ok = wait_until(timeout, || {
        last = page(port);
        last.as_deref() == Ok(want)
    });
    assert!(ok, "the page is not {want:?} after {timeout:?}: {last:?}");
    started.elapsed()
}

fn status(edge: &str) -> serde_json::Value {
    let run = Berth::new().args(["edge-tool", "status", edge]).run().ok();
    serde_json::from_str(run.stdout().trim()).expect("status JSON")
}

fn set_target(edge: &str, target: &str) {
    Berth::new()
        .args(["edge-tool", "target", edge, target])
        .run()
        .ok();
}

/// A connection to the edge opened now and left waiting: the edge gives it
/// its upstream at accept.
fn open_connection(port: u16) -> TcpStream {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to the edge");
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    s
}

/// Sends a GET on `s` and returns the body of the answer.
fn get_on(mut s: TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("answer");
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or(raw)
}

/// A project whose stack has the start-first service `web` publishing
/// 127.0.0.1:`port`, and its default network (labelled, as `up` makes it).
fn web_project(test: &str, port: u16) -> Project {
    let p = Project::with_stack(
        test,
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    ports: ['127.0.0.1:{port}:80']\n    \
             deploy: {{update_config: {{order: start-first}}}}\n"
        ),
    );
    docker(&[
        "network",
        "create",
        "--label",
        &format!("{LABEL}={}", p.name),
        "--label",
        "io.berth.network=default",
        &format!("{}_default", p.name),
    ]);
    p
}

#[test]
fn the_edge_switches_new_connections_keeps_old_ones_and_outlives_restarts() {
    let image = edge_image();
    let port = free_port();
    let p = web_project("edge", port);
    let one = replica(&p, 1, "one");
    let two = replica(&p, 2, "two");

    let made = p
        .berth(&["edge-tool", "create", "web", "--image", image])
        .ok();
    let edge = format!("{}-web-edge", p.name);
    assert_eq!(made.stdout().trim(), edge);
    let inspected = Container::inspect(&edge);
    assert_eq!(inspected.host("RestartPolicy")["Name"], "always");
    // In the host's network namespace, in docker-proxy's place: it binds
    // the port itself and asks the engine where the service's containers
    // are on their network.
    assert_eq!(inspected.host("NetworkMode"), "host");
    let cmd = inspected.json["Config"]["Cmd"].to_string();
    assert!(
        cmd.contains(&format!("\"127.0.0.1:{port}:80\""))
            && cmd.contains(&format!("\"{}_default\"", p.name)),
        "{cmd}"
    );

    set_target(&edge, &one);
    docker(&["start", &edge]);
    page_becomes(port, "one", Duration::from_secs(10));
    let s = status(&edge);
    assert_eq!(s["target"], one.as_str(), "{s}");

    // Opened before the switch: it keeps going to one.
    let early = open_connection(port);
    assert!(wait_until(Duration::from_secs(2), || status(&edge)["open"]
        [&one]
        == 1));

    let switched = Instant::now();
    set_target(&edge, &two);
    let upload = switched.elapsed();
    let took = page_becomes(port, "two", Duration::from_secs(2));
    eprintln!(
        "the switch reached new connections {took:?} after the upload ({upload:?} for the upload)"
    );
    assert!(
        took < Duration::from_millis(500),
        "the switch took {took:?}"
    );
    let s = status(&edge);
    assert_eq!(s["target"], two.as_str(), "{s}");
    assert_eq!(
        s["open"][&one], 1,
        "the early connection drains on one: {s}"
    );
    assert_eq!(get_on(early), "one");
    assert!(
        wait_until(Duration::from_secs(2), || status(&edge)["open"]
            .get(&one)
            .is_none()),
        "one is drained: {}",
        status(&edge)
    );

    // The edge restarted: same state file, same target.
    docker(&["restart", &edge]);
    page_becomes(port, "two", Duration::from_secs(10));

    // The upstream restarted on a new address: found again by its short id.
    let ip = |id: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            id,
        ])
        .trim()
        .to_string()
    };
    let before = ip(&two);
    docker(&["stop", "-t", "1", &two]);
    // Takes the next address, so that two gets another one.
    docker(&[
        "run",
        "-d",
        "--name",
        &format!("{}-filler", p.name),
        "--network",
        &format!("{}_default", p.name),
        "--label",
        &format!("{LABEL}={}", p.name),
        IMAGE,
        "sleep",
        "3600",
    ]);
    docker(&["start", &two]);
    let after = ip(&two);
    eprintln!("two was at {before}, is at {after}");
    assert_ne!(
        before, after,
        "two kept its address; the test proves nothing"
    );
    page_becomes(port, "two", Duration::from_secs(10));

    // ps shows the edge with the service's port; down takes it away.
    let ps = p.berth(&["ps"]).ok();
    ps.says(&edge).says(&format!("127.0.0.1:{port}->80/tcp"));
    docker(&["rm", "-f", &format!("{}-filler", p.name)]);
    p.berth(&["down"]).ok();
    assert!(!exists("container", &edge), "down removes the edge");
    assert!(p.containers().is_empty());
}

#[test]
fn a_name_with_several_containers_spreads_the_connections_over_them() {
    let image = edge_image();
    let port = free_port();
    let p = web_project("edge-alias", port);
    // The service's alias, as admitted replicas carry it.
    replica_with(&p, 1, "one", &["--network-alias", "web"]);
    replica_with(&p, 2, "two", &["--network-alias", "web"]);
    let edge = p
        .berth(&["edge-tool", "create", "web", "--image", image])
        .ok()
        .stdout()
        .trim()
        .to_string();
    set_target(&edge, "web");
    docker(&["start", &edge]);
    page_becomes(port, "one", Duration::from_secs(10));
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..20 {
        *seen.entry(page(port).expect("a page")).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2, "both replicas answer: {seen:?}");
    assert!(seen.values().all(|n| *n >= 5), "in turn: {seen:?}");
}

#[test]
fn the_edge_image_runs_berth_itself() {
    let image = edge_image();
    let out = docker(&["run", "--rm", image, "/berth", "--version"]);
    assert!(out.starts_with("berth "), "{out}");
    // No registry, no base image: one layer, the executable and its libraries.
    let layers = docker(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", image]);
    assert_eq!(layers.trim(), "1");
}

/// GET / at `ip:port`: the body, or why not.
fn page_at(ip: &str, port: u16) -> Result<String, String> {
    let addr: SocketAddr = format!("{ip}:{port}").parse().map_err(|e| format!("{e}"))?;
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    match raw.split_once("\r\n\r\n") {
        Some((head, body)) if head.split_whitespace().nth(1) == Some("200") => {
            Ok(body.trim().to_string())
        }
        _ => Err(format!("not a 200: {raw:?}")),
    }
}

/// A dockerd of the test's own (`scripts/swarm-worker up --no-join`: its own
/// network namespace and data) is killed and started again, as a crash or a
/// host reboot would; the edge and the app come back by their restart
/// policies, the app perhaps on another address, and the edge serves it
/// again with the state it had. No berth runs meanwhile: berth is not in the
/// path, so a SIGKILL of berth changes nothing here.
#[test]
fn the_edge_serves_again_after_its_dockerd_is_killed_and_restarted() {
    let engine = Worker::start("be", 2);
    let on_worker = |args: &[&str]| engine.docker(args);
    let image = Berth::new()
        .args(["edge-tool", "image"])
        .env("DOCKER_HOST", engine.host())
        .run()
        .ok()
        .stdout()
        .trim()
        .to_string();
    let ip = engine.address();
    let port = free_port();
    let p = Project::with_stack(
        "edge-dockerd",
        &format!(
            "services:\n  web:\n    image: {IMAGE}\n    ports: ['{ip}:{port}:80']\n    \
             deploy: {{update_config: {{order: start-first}}}}\n"
        ),
    );
    let net = format!("{}_default", p.name);
    on_worker(&["network", "create", &net]);
    let app = on_worker(&[
        "run",
        "-d",
        // What a service that must outlive a dockerd crash needs:
        // `unless-stopped` containers stay stopped after one.
        "--restart",
        "always",
        "--network",
        &net,
        IMAGE,
        "sh",
        "-c",
        "mkdir -p /www && echo one > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let short: String = app.trim().chars().take(12).collect();
    assert_eq!(short.len(), 12, "docker run printed {app:?}");
    let berth = |args: &[&str]| {
        p.command(&["compose.yaml"], args)
            .env("DOCKER_HOST", engine.host())
            .run()
            .ok()
    };
    let edge = berth(&["edge-tool", "create", "web", "--image", &image])
        .stdout()
        .trim()
        .to_string();
    berth(&["edge-tool", "target", &edge, &short]);
    on_worker(&["start", &edge]);
    let mut last = Err(String::new());
    assert!(
        wait_until(Duration::from_secs(10), || {
            last = page_at(&ip, port);
            last.as_deref() == Ok("one")
        }),
        "the edge serves before the kill: {last:?}"
    );
    let started = on_worker(&["inspect", "-f", "{{.State.StartedAt}}", &edge]);

    let pid = std::fs::read_to_string(format!("/run/{}/dockerd.pid", engine.name))
        .expect("the worker's pid file");
    let _ = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status();
    engine.script_ok(&["up", "--no-join"]);
    assert!(
        wait_until(Duration::from_secs(60), || {
            last = page_at(&ip, port);
            last.as_deref() == Ok("one")
        }),
        "the edge serves after dockerd came back: {last:?}"
    );
    let restarted = on_worker(&["inspect", "-f", "{{.State.StartedAt}}", &edge]);
    assert_ne!(started, restarted, "the edge went through the restart");
}
