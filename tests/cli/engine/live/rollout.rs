//! Rollouts on one engine (`deploy.update_config`): start-first replaces a
//! service's containers while a client keeps reaching it by its name, a
//! new version that fails its health check is rolled back (or paused, or
//! let through). berth killed at a step of a rollout: `rollout_crash.rs`.
//!
//! The service is busybox httpd serving its version, after a 2 s boot; its
//! health check fetches `${CHECK}` (a missing page never passes).

use std::process::{Command, Stdio};

use crate::engine::*;

/// `web` at `version`, health-checked on `check`, with the rollout
/// settings `update` (YAML under `update_config:`); and `client`, which
/// reaches it by name.
pub(super) fn stack(version: &str, check: &str, replicas: u32, update: &str) -> String {
    format!(
        r#"
services:
  web:
    image: {{IMAGE}}
    command: ["sh", "-c", "echo {version} > /tmp/index.html; sleep 2; exec httpd -f -p 80 -h /tmp"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/{check}"]
      interval: 1s
      retries: 2
    stop_grace_period: 3s
    deploy:
      replicas: {replicas}
      update_config:
{update}
  client:
    image: {{IMAGE}}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
"#
    )
}

pub(super) const START_FIRST: &str =
    "        order: start-first\n        failure_action: rollback\n";

/// `yaml` (of [`stack`]) with a web that boots in 1 s and
/// stops at once on SIGTERM: its first health check may fail, never two in
/// a row (retries: 2), and a drain takes no grace period. That makes each
/// boundary a few seconds shorter; what is tested here is where a killed
/// run leaves the containers, not how long they take.
pub(super) fn quick(yaml: String) -> String {
    let boot = "sleep 2; exec httpd -f -p 80 -h /tmp";
    let shell = "[\"sh\", \"-c\", \"echo ";
    assert!(yaml.contains(boot) && yaml.contains(shell), "{yaml}");
    yaml.replace(shell, "[\"sh\", \"-c\", \"trap 'exit 0' TERM; echo ")
        .replace(boot, "sleep 1; httpd -f -p 80 -h /tmp & wait")
}

/// Requests from `client` to `http://web/`, one connection each, for
/// `secs` seconds (it stops by itself) or until [`Load::stop`]: when each
/// ended (the container's uptime, in seconds) and its answer, or `FAIL`.
pub(super) struct Load {
    child: std::process::Child,
    client: String,
    /// The file whose presence in `client` ends the requests.
    stop: String,
}

impl Load {
    pub(super) fn start(client: &str, secs: u32) -> Load {
        let stop = format!(
            "/tmp/load-stop-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let script = format!(
            "end=$(( $(date +%s) + {secs} )); while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do \
             a=$(timeout 1 wget -q -O - http://web/index.html 2>/dev/null) || a=FAIL; \
             echo \"$(cut -d' ' -f1 /proc/uptime) $a\"; done"
        );
        let child = Command::new("docker")
            .args(["exec", client, "sh", "-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker exec starts");
        Load {
            child,
            client: client.to_string(),
            stop,
        }
    }

    /// Ends the requests now (the one in flight finishes): the answers.
    pub(super) fn stop(self) -> Vec<(f64, String)> {
        docker(&["exec", &self.client, "touch", &self.stop]);
        self.answers()
    }

    /// The answers, in order, with when each ended.
    pub(super) fn answers(self) -> Vec<(f64, String)> {
        let out = self.child.wait_with_output().expect("load ends");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (t, a) = l.split_once(' ')?;
                Some((t.parse().ok()?, a.to_string()))
            })
            .collect()
    }
}

/// What `web` answers a client now (`FAIL` when nothing answers).
pub(super) fn serves(p: &Project) -> String {
    let client = p.container("client");
    docker_try(&[
        "exec",
        &client.id,
        "wget",
        "-q",
        "-O",
        "-",
        "http://web/index.html",
    ])
    .map_or_else(|_| "FAIL".to_string(), |s| s.trim().to_string())
}

/// The longest time requests kept failing, in seconds: from the answer
/// before a run of failures to the answer after it (0 when none failed).
pub(super) fn longest_outage(answers: &[(f64, String)]) -> f64 {
    let mut longest: f64 = 0.0;
    let mut last_ok: Option<f64> = None;
    let mut failing_since: Option<f64> = None;
    for (t, a) in answers {
        if a == "FAIL" {
            failing_since.get_or_insert(last_ok.unwrap_or(*t));
        } else {
            if let Some(since) = failing_since.take() {
                longest = longest.max(t - since);
            }
            last_ok = Some(*t);
        }
    }
    if let (Some(since), Some((t, _))) = (failing_since, answers.last()) {
        longest = longest.max(t - since);
    }
    longest
}

/// Requests by the service's name may fail only as an old container
/// stops: the engine's DNS answers with its address until it has stopped,
/// so a client that resolved it just before, and does not try the next
/// address (busybox wget, here), is refused, or waits out its 1 s timeout
/// on an address that is gone. That moment is the engine's container
/// teardown, a fraction of a second, plus that timeout; a stop-first
/// replacement refuses for the new container's 2 s boot and its first
/// health check, 3 s or more.
pub(super) const OUTAGE_ALLOWED: f64 = 2.0;

/// The stack up and healthy (`up --wait`), as a project.
pub(super) fn up_healthy(test: &str, yaml: &str) -> Project {
    let p = Project::with_stack(test, yaml);
    p.berth(&["up", "--wait"]).ok();
    p
}

/// How many answers failed, and a short picture of them for a message.
pub(super) fn failures(answers: &[(f64, String)]) -> (usize, String) {
    let failed = answers.iter().filter(|(_, a)| a == "FAIL").count();
    let first = answers.iter().position(|(_, a)| a == "FAIL");
    let shown: Vec<&str> = answers.iter().take(12).map(|(_, a)| a.as_str()).collect();
    (
        failed,
        format!(
            "{failed} of {} failed (first at #{first:?}), longest outage {:.2}s; the first answers: {shown:?}",
            answers.len(),
            longest_outage(answers)
        ),
    )
}

/// web's containers, not its edge: (name, running), sorted by name.
pub(super) fn webs(p: &Project) -> Vec<(String, bool)> {
    p.containers()
        .into_iter()
        .filter(|c| c.service() == "web" && c.json["Config"]["Labels"]["io.berth.edge"].is_null())
        .map(|c| (c.name.clone(), c.running()))
        .collect()
}

#[test]
fn start_first_replaces_a_service_reached_by_name_without_a_failed_request() {
    let p = up_healthy("ro-start", &stack("v1", "index.html", 2, START_FIRST));
    let old: Vec<String> = p
        .containers()
        .into_iter()
        .filter(|c| c.service() == "web")
        .map(|c| c.id)
        .collect();
    assert_eq!(serves(&p), "v1");
    p.write("compose.yaml", &stack("v2", "index.html", 2, START_FIRST));
    let plan = p.berth(&["plan"]).code_is(3);
    let web1 = format!("{}-web-1", p.name);
    assert!(
        plan.stdout()
            .contains(&format!("start {web1}: start-first, beside ")),
        "{}",
        plan.stdout()
    );
    assert!(plan.stdout().contains("drain "), "{}", plan.stdout());

    let load = Load::start(&p.container("client").id, 16);
    std::thread::sleep(Duration::from_millis(500));
    let started = now_secs();
    p.berth(&["up"]).ok();
    let took = now_secs() - started;
    let answers = load.answers();

    let (_, picture) = failures(&answers);
    assert!(
        answers.len() > 50,
        "the client made few requests: {picture}"
    );
    // Only the moment an old container stops can refuse a request (see
    // `OUTAGE_ALLOWED`).
    assert!(longest_outage(&answers) <= OUTAGE_ALLOWED, "{picture}");
    assert!(answers.iter().any(|(_, a)| a == "v1") && answers.iter().any(|(_, a)| a == "v2"));
    // Both answer for a moment; at the end, only v2.
    assert_eq!(serves(&p), "v2");
    for id in &old {
        assert!(!exists("container", id), "old container {id} removed");
    }
    assert_eq!(
        webs(&p),
        [(web1, true), (format!("{}-web-2", p.name), true)],
        "two replicas under their own names"
    );
    // Two batches of one: each about boot + first healthy check.
    assert!(took < 20.0, "the rollout took {took:.1}s");
    p.berth(&["plan"]).code_is(0).says("no changes");
}

#[test]
fn a_new_version_that_never_gets_healthy_is_rolled_back_and_up_fails() {
    let p = up_healthy("ro-back", &stack("v1", "index.html", 1, START_FIRST));
    let old = p.container("web");
    p.write("compose.yaml", &stack("v2", "missing.html", 1, START_FIRST));
    let load = Load::start(&p.container("client").id, 10);
    let run = p.berth(&["up"]).code_is(1);
    let answers = load.answers();
    let err = run.stderr();
    assert!(
        err.contains("failed its rollout check: its health check reports unhealthy"),
        "{err}"
    );
    assert!(err.contains("last health check of"), "{err}");
    assert!(err.contains("404"), "the check's own output: {err}");
    assert!(err.contains("rolled back"), "{err}");
    let (failed, picture) = failures(&answers);
    assert_eq!(
        failed, 0,
        "the old container never stopped serving: {picture}"
    );
    assert!(answers.iter().all(|(_, a)| a == "v1"), "{picture}");
    // The old container is back under its name, and nothing else is left.
    let back = p.container("web");
    assert_eq!(back.id, old.id, "the same old container");
    assert_eq!(back.name, format!("{}-web-1", p.name));
    assert_eq!(webs(&p).len(), 1, "{:?}", webs(&p));
    assert_eq!(serves(&p), "v1");
}

#[test]
fn stop_first_with_rollback_brings_the_stopped_old_container_back() {
    let update = "        order: stop-first\n        failure_action: rollback\n";
    let p = up_healthy("ro-stopfirst", &stack("v1", "index.html", 1, update));
    let old = p.container("web");
    p.write("compose.yaml", &stack("v2", "missing.html", 1, update));
    let run = p.berth(&["up"]).code_is(1);
    let err = run.stderr();
    assert!(err.contains("rolled back"), "{err}");
    let back = p.container("web");
    assert_eq!(back.id, old.id);
    assert!(back.running(), "started again");
    assert!(
        wait_until(Duration::from_secs(10), || serves(&p) == "v1"),
        "v1 serves again"
    );
}

#[test]
fn pause_leaves_the_old_container_serving_and_continue_lets_the_new_one_through() {
    let pause = "        order: start-first\n        failure_action: pause\n";
    let p = up_healthy("ro-pause", &stack("v1", "index.html", 1, pause));
    let old = p.container("web");
    p.write("compose.yaml", &stack("v2", "missing.html", 1, pause));
    let run = p.berth(&["up"]).code_is(1);
    let err = run.stderr();
    assert!(!err.contains("rolled back"), "{err}");
    // Paused: the old one serves (parked), the new one is not admitted.
    assert!(Container::inspect(&old.id).running());
    assert_eq!(serves(&p), "v1");
    assert_eq!(webs(&p).len(), 2, "{:?}", webs(&p));

    let go_on = "        order: start-first\n        failure_action: continue\n";
    let q = up_healthy("ro-continue", &stack("v1", "index.html", 1, go_on));
    q.write("compose.yaml", &stack("v2", "missing.html", 1, go_on));
    let run = q.berth(&["up"]).ok();
    assert!(
        run.stderr().contains("failure_action: continue"),
        "{}",
        run.stderr()
    );
    assert_eq!(serves(&q), "v2", "let through");
    assert_eq!(webs(&q).len(), 1, "{:?}", webs(&q));
}

#[test]
fn the_longest_outage_runs_from_the_answer_before_to_the_answer_after() {
    let a = |v: &[(f64, &str)]| -> Vec<(f64, String)> {
        v.iter().map(|(t, s)| (*t, s.to_string())).collect()
    };
    assert_eq!(longest_outage(&a(&[(1.0, "v1"), (2.0, "v2")])), 0.0);
    let one = a(&[
        (1.0, "v1"),
        (1.1, "FAIL"),
        (1.2, "FAIL"),
        (1.5, "v2"),
        (1.6, "v2"),
        (1.7, "FAIL"),
        (1.8, "v2"),
    ]);
    assert!((longest_outage(&one) - 0.5).abs() < 1e-9);
    let unended = a(&[(1.0, "v1"), (1.1, "FAIL"), (4.0, "FAIL")]);
    assert!((longest_outage(&unended) - 3.0).abs() < 1e-9);
}

/// `web` publishing `port` on 127.0.0.1, start-first: its edge holds the
/// port.
pub(super) fn published(version: &str, check: &str, port: u16) -> String {
    stack(version, check, 1, START_FIRST).replace(
        "    healthcheck:\n",
        &format!("    ports: [\"127.0.0.1:{port}:80\"]\n    healthcheck:\n"),
    )
}

/// Requests to 127.0.0.1:`port`, a new connection each, from this process
/// for `secs` seconds (bounded), 5 ms apart (about 150 a second: dense
/// enough to meet every moment of a switch, light enough for the tests
/// running beside it): each answer's body, or `FAIL`.
fn load_port(port: u16, secs: u64) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        let mut answers = Vec::new();
        while std::time::Instant::now() < end {
            answers.push(match http(port, "GET", "/index.html", None) {
                Ok((200, body)) => body.trim().to_string(),
                _ => "FAIL".to_string(),
            });
            std::thread::sleep(Duration::from_millis(5));
        }
        answers
    })
}

/// `ps` lists 127.0.0.1:`port` (the edge's), and `version` answers there.
fn edge_answers(p: &Project, port: u16, version: &str) {
    p.berth(&["ps"])
        .ok()
        .says(&format!("127.0.0.1:{port}->80/tcp"));
    assert!(
        wait_until(Duration::from_secs(10), || http(
            port,
            "GET",
            "/index.html",
            None
        )
        .is_ok_and(|(s, b)| s == 200 && b.trim() == version)),
        "{version} answers through the edge on {port}"
    );
}

#[test]
fn start_first_with_a_published_port_goes_through_the_edge_without_a_failed_request() {
    let port = free_port();
    let p = up_healthy("ro-edge", &published("v1", "index.html", port));
    // The edge is a container of the service too (`ps` shows it).
    let web = Container::inspect(&format!("{}-web-1", p.name));
    assert!(
        web.host("PortBindings")
            .as_object()
            .is_none_or(|b| b.is_empty()),
        "the service's container publishes nothing: {}",
        web.host("PortBindings")
    );
    let edge = Container::inspect(&format!("{}-web-edge", p.name));
    assert!(edge.running(), "the edge runs");
    // It listens on the port itself, in the host's network namespace.
    assert_eq!(edge.host("NetworkMode"), "host");
    assert!(
        edge.json["Config"]["Cmd"]
            .to_string()
            .contains(&format!(":{port}:80\"")),
        "{}",
        edge.json["Config"]["Cmd"]
    );
    edge_answers(&p, port, "v1");

    // v2 under load: not one request fails.
    p.write("compose.yaml", &published("v2", "index.html", port));
    let load = load_port(port, 12);
    std::thread::sleep(Duration::from_millis(500));
    p.berth(&["up"]).ok();
    let answers = load.join().expect("load");
    let failed = answers.iter().filter(|a| *a == "FAIL").count();
    let first: Vec<&String> = answers.iter().take(5).collect();
    assert!(answers.len() > 50, "few requests: {first:?}");
    assert_eq!(
        failed,
        0,
        "{failed} of {} failed; first: {first:?}",
        answers.len()
    );
    assert!(answers.iter().any(|a| a == "v1") && answers.iter().any(|a| a == "v2"));
    assert_eq!(answers.last().map(String::as_str), Some("v2"));
    assert_eq!(
        Container::inspect(&format!("{}-web-edge", p.name)).id,
        edge.id,
        "the edge stayed"
    );

    // v3 never gets healthy: rolled back, and still not one request fails.
    p.write("compose.yaml", &published("v3", "missing.html", port));
    let load = load_port(port, 10);
    let run = p.berth(&["up"]).code_is(1);
    let answers = load.join().expect("load");
    assert!(run.stderr().contains("rolled back"), "{}", run.stderr());
    let failed = answers.iter().filter(|a| *a == "FAIL").count();
    assert_eq!(failed, 0, "{failed} of {} failed", answers.len());
    assert!(answers.iter().all(|a| a == "v2"), "v2 kept serving");

    // down removes the edge with the rest.
    p.berth(&["down"]).ok();
    assert!(
        !exists("container", &edge.id),
        "the edge is gone after down"
    );
}

/// A random host port (`127.0.0.1::80`) is one the edge cannot bind on the
/// host's network by itself (Docker picks it), so the edge stays on the
/// service's network and publishes it, behind docker-proxy: the same
/// rollout drops no request there either, and the port Docker picked stays.
#[test]
fn an_edge_on_the_services_network_publishes_a_random_port_and_drops_nothing() {
    let random = |version: &str| {
        stack(version, "index.html", 1, START_FIRST).replace(
            "    healthcheck:\n",
            "    ports: [\"127.0.0.1::80\"]\n    healthcheck:\n",
        )
    };
    let p = up_healthy("ro-edge-bridge", &random("v1"));
    let edge = Container::inspect(&format!("{}-web-edge", p.name));
    assert_eq!(
        edge.host("NetworkMode"),
        format!("{}_default", p.name).as_str(),
        "on the service's network"
    );
    let port: u16 = edge.json["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("docker published a port for the edge");
    edge_answers(&p, port, "v1");

    p.write("compose.yaml", &random("v2"));
    let load = load_port(port, 10);
    std::thread::sleep(Duration::from_millis(500));
    p.berth(&["up"]).ok();
    let answers = load.join().expect("load");
    let failed = answers.iter().filter(|a| *a == "FAIL").count();
    assert!(answers.len() > 50, "few requests: {}", answers.len());
    assert_eq!(failed, 0, "{failed} of {} failed", answers.len());
    assert_eq!(answers.last().map(String::as_str), Some("v2"));
    assert_eq!(
        Container::inspect(&format!("{}-web-edge", p.name)).id,
        edge.id,
        "the edge stayed, and with it the port"
    );
    p.berth(&["down"]).ok();
}

#[test]
fn an_edge_stopped_while_its_service_rolls_out_forwards_to_the_new_container_once_started() {
    let port = free_port();
    let p = up_healthy(
        "ro-edge-stopped",
        &quick(published("v1", "index.html", port)),
    );
    // A rollout points the running edge at the new container, by its id.
    p.write("compose.yaml", &quick(published("v2", "index.html", port)));
    p.berth(&["up"]).ok();
    let answers = |v: &str| {
        wait_until(Duration::from_secs(5), || {
            http(port, "GET", "/index.html", None).is_ok_and(|(s, b)| s == 200 && b.trim() == v)
        })
    };
    assert!(answers("v2"), "v2 answers");
    // Stopped, the edge is not pointed at v3; it starts after the rollout,
    // and forwards to v3, not to v2, which is gone.
    p.berth(&["stop"]).ok();
    p.write("compose.yaml", &quick(published("v3", "index.html", port)));
    p.berth(&["up"]).ok();
    assert!(answers("v3"), "v3 answers");
    p.berth(&["plan"]).code_is(0).says("no changes");
}
