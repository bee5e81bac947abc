//! Start order gated by `depends_on` conditions, and how a failing
//! dependency is reported.

use crate::engine::*;

use std::time::{Duration, Instant};

/// A stack of the service `db` (its YAML, as under `services:`) and an
/// idle `app` that waits for db to be healthy.
fn app_after_healthy(db: &str) -> String {
    let app = idle(
        "app",
        "    depends_on:\n      db:\n        condition: service_healthy\n",
    );
    format!("services:\n{db}{app}")
}

/// A stack of `dependency` (a service's YAML, as under `services:`) and
/// `app`, which waits for the service `name` to meet `condition`, then runs
/// `probe` and idles. Both may use the named volume `shared`.
fn app_probing_after(dependency: &str, name: &str, condition: &str, probe: &str) -> String {
    format!(
        r#"services:
{dependency}  app:
    image: {IMAGE}
    command: ["sh", "-c", "{probe}; exec sleep 3600"]
    volumes: [shared:/shared]
    depends_on:
      {name}:
        condition: {condition}
volumes:
  shared: {{}}
"#
    )
}

/// Runs `berth up`, which must fail, and within `secs` seconds.
#[track_caller]
fn up_fails_within(p: &Project, secs: u64) -> Run {
    let t0 = Instant::now();
    let up = p.berth(&["up"]).failed();
    assert!(
        t0.elapsed() < Duration::from_secs(secs),
        "`up` fails fast (took {:?})",
        t0.elapsed()
    );
    up
}

#[test]
fn dependent_starts_only_after_its_dependency_is_healthy() {
    let p = Project::up(
        "healthy",
        &app_probing_after(
            r#"  db:
    image: {IMAGE}
    command: ["sh", "-c", "rm -f /shared/ready; sleep 3; touch /shared/ready; exec sleep 3600"]
    volumes: [shared:/shared]
    healthcheck:
      test: ["CMD", "test", "-f", "/shared/ready"]
      interval: 1s
      timeout: 2s
      retries: 30
"#,
            "db",
            "service_healthy",
            "if [ -f /shared/ready ]; then echo saw-ready; else echo too-early; fi > /shared/app",
        ),
    );
    let db = p.container("db");
    let app = p.container("app");
    assert_eq!(db.json["State"]["Health"]["Status"], "healthy");
    assert!(app.running());
    assert_eq!(app.exec("cat /shared/app"), "saw-ready\n");
    let gap = app.started_secs() - db.started_secs();
    assert!(
        gap >= 3.0,
        "app started {gap:.2}s after db, before db could be healthy"
    );
}

#[test]
fn dependent_starts_after_a_one_shot_migration_completes() {
    let p = Project::up(
        "migrate",
        &app_probing_after(
            r#"  migrate:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 2; echo schema-v2 > /shared/schema"]
    volumes: [shared:/shared]
"#,
            "migrate",
            "service_completed_successfully",
            "cat /shared/schema > /shared/app-saw 2>&1 || echo missing > /shared/app-saw",
        ),
    );
    let migrate = p.container("migrate");
    assert_eq!(migrate.status(), "exited");
    assert_eq!(migrate.json["State"]["ExitCode"], 0);
    let app = p.container("app");
    assert!(app.running());
    assert_eq!(app.exec("cat /shared/app-saw"), "schema-v2\n");
    // A completed one-shot is converged, not something to start again.
    p.berth(&["plan"]).code_is(0);
}

#[test]
fn unhealthy_dependency_fails_up_with_its_log_lines() {
    let p = Project::with_stack(
        "unhealthy",
        &app_after_healthy(
            r#"  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db-is-broken-marker; echo second-log-line; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 1s
      retries: 2
"#,
        ),
    );
    let up = up_fails_within(&p, 60);
    up.says("db").says("unhealthy").says("db-is-broken-marker");
    let app: Vec<Container> = p
        .containers()
        .into_iter()
        .filter(|c| c.service() == "app")
        .collect();
    assert!(
        app.iter()
            .all(|c| !c.running() && c.started_at().starts_with("0001")),
        "app never started: {:?}",
        app.iter().map(|c| c.status()).collect::<Vec<_>>()
    );
}

#[test]
fn dependency_that_exits_fails_up_fast_with_its_log_lines() {
    let p = Project::with_stack(
        "exits",
        &app_after_healthy(
            r#"  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db-crash-marker; exit 3"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
"#,
        ),
    );
    let up = up_fails_within(&p, 30);
    up.says("db").says("db-crash-marker");
}

#[test]
fn optional_dependency_failure_is_only_a_warning() {
    let extra = r#"
services:
  extra:
    image: {IMAGE}
    command: ["sh", "-c", "echo extra-failed-marker; exit 1"]
"#;
    let app = idle(
        "app",
        "    depends_on:\n      extra:\n        condition: service_completed_successfully\n        required: false\n",
    );
    let p = Project::with_stack("optional", &format!("{extra}{app}"));
    let up = p.berth(&["up"]).ok();
    up.says("extra");
    assert!(p.container("app").running());
}
