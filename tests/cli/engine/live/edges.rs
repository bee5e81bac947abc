//! `berth start` and `berth stop` follow the dependency edges, not waves: a
//! service waits only for what it depends on (or, when stopping, for what
//! depends on it), never for a whole level of the graph.

use crate::engine::*;

/// `db` turns healthy about 2 s after it starts; `api` waits for that.
/// `cache` has no dependency and `worker` needs only `cache`: in waves,
/// worker would share api's level and wait for db's health check. api
/// ignores SIGTERM (so stopping it takes the whole timeout); the others exit
/// on it at once.
const STACK: &str = r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; rm -f /tmp/ready; sleep 2; touch /tmp/ready; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 30
  api:
    image: {IMAGE}
    command: ["sleep", "3600"]
    depends_on:
      db:
        condition: service_healthy
  cache:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
  worker:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on: [cache]
"#;

/// When db's health check first passed since db last started: the end of
/// the first successful probe in its health log.
fn healthy_since_start(db: &Container) -> f64 {
    let started = db.started_secs();
    let log = db.json["State"]["Health"]["Log"]
        .as_array()
        .expect("db has a health log");
    log.iter()
        .filter(|e| e["ExitCode"] == 0)
        .map(|e| {
            (
                rfc3339_secs(e["Start"].as_str().unwrap()),
                rfc3339_secs(e["End"].as_str().unwrap()),
            )
        })
        .filter(|&(start, _)| start >= started)
        .map(|(_, end)| end)
        .reduce(f64::min)
        .unwrap_or_else(|| panic!("no passing probe since db started: {log:#?}"))
}

#[test]
fn stop_and_start_follow_dependency_edges_not_waves() {
    let p = Project::up("edges", STACK);

    p.berth(&["stop", "-t", "2"]).ok();
    let [api, cache, db, worker] = ["api", "cache", "db", "worker"].map(|s| p.container(s));
    for c in [&api, &cache, &db, &worker] {
        assert!(!c.running(), "{} still runs", c.name);
    }
    let stopped = |c: &Container| c.finished_secs();
    assert!(
        stopped(&api) <= stopped(&db),
        "api stops before db: api {:.3}, db {:.3}",
        stopped(&api),
        stopped(&db)
    );
    assert!(
        stopped(&worker) <= stopped(&cache),
        "worker stops before cache: worker {:.3}, cache {:.3}",
        stopped(&worker),
        stopped(&cache)
    );
    assert!(
        stopped(&cache) < stopped(&api) - 1.0,
        "cache does not wait for api's slow stop: cache {:.3}, api {:.3}",
        stopped(&cache),
        stopped(&api)
    );

    p.berth(&["start"]).ok();
    let [api, cache, db, worker] = ["api", "cache", "db", "worker"].map(|s| p.container(s));
    for c in [&api, &cache, &db, &worker] {
        assert!(c.running(), "{} runs: {}", c.name, c.status());
    }
    assert_eq!(db.json["State"]["Health"]["Status"], "healthy");
    let healthy = healthy_since_start(&db);
    let at = |c: &Container| c.started_secs();
    assert!(
        at(&cache) < healthy,
        "cache starts before db is healthy: cache {:.3}, healthy {healthy:.3}",
        at(&cache)
    );
    assert!(
        at(&cache) <= at(&worker) && at(&worker) < healthy,
        "worker starts after cache, without waiting for db: cache {:.3}, worker {:.3}, healthy {healthy:.3}",
        at(&cache),
        at(&worker)
    );
    assert!(
        at(&api) > healthy,
        "api starts after db is healthy: api {:.3}, healthy {healthy:.3}",
        at(&api)
    );
    assert!(
        at(&cache) < at(&api) - 1.5,
        "cache {:.3}, api {:.3}",
        at(&cache),
        at(&api)
    );
}

/// A failed step stops only what depends on it: `bad` cannot start (its host
/// port is taken by a listener outside Docker), `web` waits on it and is
/// never started, `other` has nothing to do with it and comes up. `up`
/// still fails, naming the step, and the next `up` after the port is free
/// converges.
#[test]
fn a_failure_stops_only_what_depends_on_it() {
    let p = Project::new("keep-going");
    let taken = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    p.write(
        "compose.yaml",
        &format!(
            "services:\n{}{}{}",
            idle("bad", &format!("    ports: ['127.0.0.1:{port}:80']\n")),
            idle("web", "    depends_on: [bad]\n"),
            idle("other", ""),
        ),
    );
    p.berth(&["up"])
        .code_is(1)
        .says(&format!("start {}-bad-1 failed", p.name))
        .says("not started because they wait on what failed");
    let state = |name: &str| {
        p.containers()
            .into_iter()
            .find(|c| c.service() == name)
            .map(|c| c.running())
    };
    assert_eq!(state("other"), Some(true), "other came up");
    assert_eq!(state("bad"), Some(false), "bad was created, not started");
    assert_eq!(state("web"), Some(false), "web waits on bad");
    drop(taken);
    p.berth(&["up"]).ok();
    assert!(p.containers().iter().all(Container::running));
}
