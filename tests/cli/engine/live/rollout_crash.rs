//! berth killed (SIGKILL, `BERTH_TEST_KILL_AFTER=N`: see src/apply) at a
//! step boundary of a rollout on one engine, then `up` again: it converges
//! to one container per replica, healthy and serving the stack's version,
//! and the service keeps answering the whole time (as recreate_crash.rs
//! does for a plain recreate). At every boundary of a start-first rollout
//! reached by the service's name, and of one whose published port its edge
//! holds; after the first step of the first rollout onto an edge; inside
//! the way back of a new version that never gets healthy; between the stop
//! and the new start of a stop-first rollout.
//!
//! The boundaries of one test run one after another on one project, each
//! a rollout to a new version from the converged state the one before
//! left: a project of its own per boundary would add a first `up` and a
//! cleanup to each, for no state the chain does not reach.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::rollout::{
    Load, OUTAGE_ALLOWED, START_FIRST, failures, longest_outage, published, quick, serves, stack,
    up_healthy, webs,
};
use crate::engine::*;

/// The hook that kills berth after its N-th step (debug builds only).
const KILL_AFTER: &str = "BERTH_TEST_KILL_AFTER";

/// A one-replica start-first rollout, its steps in the order they finish
/// (the way back runs only if the check fails).
const START_FIRST_STEPS: [&str; 8] = [
    "rename_container",
    "create_container",
    "start_container",
    "wait_rollout",
    "disconnect_network",
    "connect_network",
    "drain_container",
    "remove_container",
];

/// The way back of a one-replica rollout, as the check's fallbacks.
const WAY_BACK: [&str; 4] = [
    "stop_container",
    "remove_container",
    "rename_container",
    "start_container",
];

/// How the service is reached: by its name from `client`, or on a
/// published 127.0.0.1 port that its edge holds.
#[derive(Debug, Clone, Copy)]
enum Via {
    Name,
    Port(u16),
}

impl Via {
    /// The stack with web at `version`, start-first, health-checked on
    /// `check`.
    fn stack(self, version: &str, check: &str) -> String {
        quick(match self {
            Via::Name => stack(version, check, 1, START_FIRST),
            Via::Port(port) => published(version, check, port),
        })
    }

    /// What answers now (`FAIL` when nothing does).
    fn answer(self, p: &Project) -> String {
        match self {
            Via::Name => serves(p),
            Via::Port(port) => on_port(port),
        }
    }
}

/// What 127.0.0.1:`port` answers now (`FAIL` when nothing does).
fn on_port(port: u16) -> String {
    match http(port, "GET", "/index.html", None) {
        Ok((200, body)) => body.trim().to_string(),
        _ => "FAIL".to_string(),
    }
}

/// Requests to the service until stopped, a new connection each: by name
/// from `client` (see [`Load`]), or from this process to the port.
enum Traffic {
    Name(Load),
    Port {
        stop: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<Vec<(f64, String)>>,
    },
}

impl Traffic {
    /// Started, and given a moment to begin; never longer than a minute.
    fn start(p: &Project, via: Via) -> Traffic {
        let traffic = match via {
            Via::Name => Traffic::Name(Load::start(&p.container("client").id, 60)),
            Via::Port(port) => {
                let stop = Arc::new(AtomicBool::new(false));
                let flag = stop.clone();
                let thread = std::thread::spawn(move || {
                    let began = Instant::now();
                    let mut answers = Vec::new();
                    while !flag.load(Ordering::Relaxed) && began.elapsed().as_secs() < 60 {
                        let answer = on_port(port);
                        answers.push((began.elapsed().as_secs_f64(), answer));
                        // About as often as the client by name asks: a
                        // tight loop (hundreds a second, each a process
                        // in busybox httpd) would slow the other tests.
                        std::thread::sleep(Duration::from_millis(15));
                    }
                    answers
                });
                Traffic::Port { stop, thread }
            }
        };
        // `docker exec` takes a moment to begin.
        std::thread::sleep(Duration::from_millis(300));
        traffic
    }

    /// Each answer (or `FAIL`) with when it came, in seconds.
    fn stop(self) -> Vec<(f64, String)> {
        match self {
            Traffic::Name(load) => load.stop(),
            Traffic::Port { stop, thread } => {
                stop.store(true, Ordering::Relaxed);
                thread.join().expect("the port's load")
            }
        }
    }
}

/// The steps `berth plan` would carry out now, as their actions in the
/// order the plan lists them: the rollout's own steps, and its way back.
fn planned(p: &Project) -> (Vec<String>, Vec<String>) {
    let run = p.berth(&["plan", "--format", "json"]).code_is(3);
    let plan: Value = serde_json::from_str(run.stdout()).expect("plan JSON");
    let mut steps = Vec::new();
    let mut back = Vec::new();
    for s in plan["steps"].as_array().expect("steps") {
        let action = s["action"].as_str().unwrap_or_default().to_string();
        if s["on_failure_of"].is_null() {
            steps.push(action);
        } else {
            back.push(action);
        }
    }
    (steps, back)
}

fn healthy(name: &str) -> bool {
    Container::inspect(name).json["State"]["Health"]["Status"] == "healthy"
}

/// `up` killed after its `n`-th step.
fn killed_up(p: &Project, n: usize) {
    p.command(&["compose.yaml"], &["up"])
        .env(KILL_AFTER, n.to_string())
        .run()
        .killed();
}

/// web's start-first rollout, reached `via`, killed after each step `n` of
/// `boundaries` in turn (a new version each), and `up` run again each time
/// while a client keeps making requests.
fn killed_rollouts(test: &str, via: Via, boundaries: RangeInclusive<usize>) {
    let p = up_healthy(test, &via.stack("v1", "index.html"));
    let web = format!("{}-web-1", p.name);
    let edge = format!("{}-web-edge", p.name);
    let mut steps = START_FIRST_STEPS.map(String::from).to_vec();
    if let Via::Port(_) = via {
        // Behind its edge, the edge is pointed at the admitted container
        // before the old one is drained.
        steps.insert(6, "point_edge".into());
    }
    let drain = 1 + steps
        .iter()
        .position(|s| s == "drain_container")
        .expect("a drain");
    for n in boundaries {
        let old = Container::inspect(&web);
        let version = format!("k{n}");
        p.write("compose.yaml", &via.stack(&version, "index.html"));
        // Every boundary of the rollout is one of these: a step more, and
        // the tests need a boundary more.
        assert_eq!(
            planned(&p),
            (steps.clone(), WAY_BACK.map(String::from).to_vec()),
            "the rollout's steps, for the kill after step {n}"
        );
        let traffic = Traffic::start(&p, via);
        killed_up(&p, n);
        if n < drain {
            assert!(
                Container::inspect(&old.id).running(),
                "the old container serves after a kill at step {n}"
            );
        }
        p.berth(&["up"]).ok();
        let answers = traffic.stop();
        let (failed, picture) = failures(&answers);
        assert!(
            answers.len() > 5,
            "kill at step {n}: the client made few requests: {picture}"
        );
        match via {
            // Only the moment the old container stops can fail a request
            // by name (see `OUTAGE_ALLOWED`), whichever run stopped it.
            Via::Name => assert!(
                longest_outage(&answers) <= OUTAGE_ALLOWED,
                "kill at step {n}: requests fail only as the old container stops: {picture}"
            ),
            // The edge retries a refused connection on the next address:
            // none fails.
            Via::Port(_) => assert_eq!(failed, 0, "kill at step {n}: {picture}"),
        }
        assert_eq!(via.answer(&p), version, "kill at step {n}");
        assert_eq!(
            webs(&p),
            [(web.clone(), true)],
            "kill at step {n}: one web container, under its name"
        );
        assert!(healthy(&web), "kill at step {n}: the new one is healthy");
        assert!(
            !exists("container", &old.id),
            "kill at step {n}: the old one is gone"
        );
        if let Via::Port(_) = via {
            assert!(
                Container::inspect(&edge).running(),
                "kill at step {n}: the edge runs"
            );
        }
        p.berth(&["plan"]).code_is(0).says("no changes");
    }
}

#[test]
fn a_start_first_rollout_killed_before_its_admission_is_finished_by_the_next_up() {
    killed_rollouts("ro-crash-a", Via::Name, 1..=4);
}

#[test]
fn a_start_first_rollout_killed_during_its_admission_or_drain_is_finished_by_the_next_up() {
    killed_rollouts("ro-crash-b", Via::Name, 5..=8);
}

#[test]
fn a_start_first_rollout_behind_its_edge_killed_before_its_admission_is_finished_by_the_next_up() {
    killed_rollouts("ro-crash-edge-a", Via::Port(free_port()), 1..=4);
}

#[test]
fn a_start_first_rollout_behind_its_edge_killed_during_its_admission_or_drain_is_finished_by_the_next_up()
 {
    killed_rollouts("ro-crash-edge-b", Via::Port(free_port()), 5..=9);
}

#[test]
fn a_failed_rollout_killed_in_its_way_back_fails_again_and_the_old_version_serves() {
    let p = up_healthy(
        "ro-crash-back",
        &quick(stack("v1", "index.html", 1, START_FIRST)),
    );
    let web = format!("{}-web-1", p.name);
    let old = Container::inspect(&web);
    let parked = format!("{}_{web}", &old.id[..12]);
    p.write(
        "compose.yaml",
        &quick(stack("v2", "missing.html", 1, START_FIRST)),
    );
    let plan = planned(&p);
    assert_eq!(
        plan,
        (
            START_FIRST_STEPS.map(String::from).to_vec(),
            WAY_BACK.map(String::from).to_vec()
        )
    );
    // The check fails after the third step: the way back's four are the
    // next done, and a kill after the 4th, 5th or 6th stops it halfway.
    for n in 4..=6 {
        let load = Load::start(&p.container("client").id, 60);
        std::thread::sleep(Duration::from_millis(300));
        killed_up(&p, n);
        let s = |name: &str, running| (name.to_string(), running);
        let mut left = match n {
            // The new one stopped; then removed; then the old one back
            // under its name (it never stopped).
            4 => vec![s(&parked, true), s(&web, false)],
            5 => vec![s(&parked, true)],
            _ => vec![s(&web, true)],
        };
        left.sort();
        assert_eq!(webs(&p), left, "after a kill at step {n}");

        let run = p.berth(&["up"]).code_is(1);
        let answers = load.stop();
        assert!(
            run.stderr().contains("rolled back"),
            "kill at step {n}: {}",
            run.stderr()
        );
        let (failed, picture) = failures(&answers);
        assert_eq!(
            failed, 0,
            "kill at step {n}: the old container never stopped serving: {picture}"
        );
        assert!(
            answers.iter().all(|(_, a)| a == "v1"),
            "kill at step {n}: {picture}"
        );
        assert_eq!(webs(&p), [(web.clone(), true)], "kill at step {n}");
        assert_eq!(
            Container::inspect(&web).id,
            old.id,
            "kill at step {n}: the same old container"
        );
        assert_eq!(serves(&p), "v1", "kill at step {n}");
        // Nothing left over: the next `up` tries the same rollout again.
        assert_eq!(planned(&p), plan, "kill at step {n}");
    }
}

/// web's stop-first rollout to `version`, health-checked on `check`,
/// killed between its stop and its new start; what it left, checked.
fn stop_first_killed(p: &Project, update: &str, version: &str, check: &str) {
    let web = format!("{}-web-1", p.name);
    let old = Container::inspect(&web);
    let parked = format!("{}_{web}", &old.id[..12]);
    p.write("compose.yaml", &quick(stack(version, check, 1, update)));
    assert_eq!(
        planned(p),
        (
            [
                "rename_container",
                "stop_container",
                "create_container",
                "start_container",
                "wait_rollout",
                "remove_container"
            ]
            .map(String::from)
            .to_vec(),
            WAY_BACK.map(String::from).to_vec()
        ),
        "{version}"
    );
    // The stop and the create both wait for the rename only: after three
    // steps both are done, and the start is next.
    killed_up(p, 3);
    let mut left = vec![(parked, false), (web, false)];
    left.sort();
    assert_eq!(
        webs(p),
        left,
        "{version}: the old one stopped, the new one created"
    );
}

#[test]
fn a_stop_first_rollout_killed_between_its_stop_and_the_new_start_is_finished_by_the_next_up() {
    let update = "        order: stop-first\n        failure_action: rollback\n";
    let p = up_healthy(
        "ro-crash-stop",
        &quick(stack("v1", "index.html", 1, update)),
    );
    let web = format!("{}-web-1", p.name);
    let v1 = Container::inspect(&web);
    stop_first_killed(&p, update, "v2", "index.html");
    // The next `up` starts the new one and checks it before it removes
    // the old one: healthy when `up` returns.
    p.berth(&["up"]).ok();
    assert_eq!(webs(&p), [(web.clone(), true)], "one web container");
    assert!(healthy(&web), "v2 passed its check");
    assert!(
        wait_until(Duration::from_secs(5), || serves(&p) == "v2"),
        "v2 serves: {}",
        serves(&p)
    );
    assert!(!exists("container", &v1.id), "v1 is gone");
    p.berth(&["plan"]).code_is(0).says("no changes");

    // A version that never gets healthy, killed at the same boundary: the
    // next `up` still has the old one to come back to, and does, as the
    // whole rollout would have.
    let v2 = Container::inspect(&web);
    stop_first_killed(&p, update, "v3", "missing.html");
    let run = p.berth(&["up"]).code_is(1);
    assert!(run.stderr().contains("rolled back"), "{}", run.stderr());
    assert_eq!(webs(&p), [(web.clone(), true)], "one web container");
    assert_eq!(Container::inspect(&web).id, v2.id, "v2 is back");
    assert!(
        wait_until(Duration::from_secs(10), || serves(&p) == "v2"),
        "v2 serves again: {}",
        serves(&p)
    );
}

#[test]
fn the_first_rollout_onto_an_edge_killed_after_its_first_step_is_finished_by_the_next_up() {
    let port = free_port();
    let p = up_healthy(
        "ro-crash-first-edge",
        &quick(published("v1", "index.html", port))
            .replace(&format!("      update_config:\n{START_FIRST}"), ""),
    );
    let web = format!("{}-web-1", p.name);
    let edge = format!("{}-web-edge", p.name);
    assert!(!exists("container", &edge), "v1 publishes its port itself");
    assert!(
        wait_until(Duration::from_secs(5), || on_port(port) == "v1"),
        "v1 answers"
    );
    p.write("compose.yaml", &quick(published("v2", "index.html", port)));
    // The rename and the edge's create both begin the run: the kill comes
    // after the first of them to finish, the rename, and the engine
    // finishes the create, leaving an edge without its target.
    killed_up(&p, 1);
    p.berth(&["up"]).ok();
    assert!(
        wait_until(Duration::from_secs(5), || on_port(port) == "v2"),
        "v2 answers through the edge: {}",
        on_port(port)
    );
    assert_eq!(webs(&p), [(web, true)], "one web container");
    assert!(Container::inspect(&edge).running(), "the edge runs");
    p.berth(&["plan"]).code_is(0).says("no changes");
}
