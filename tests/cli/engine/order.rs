//! Start order gated by `depends_on` conditions, and how a failing
//! dependency is reported.

use super::*;

#[test]
fn dependent_starts_only_after_its_dependency_is_healthy() {
    let p = Project::new("healthy");
    p.write(
        "compose.yaml",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "rm -f /shared/ready; sleep 3; touch /shared/ready; exec sleep 3600"]
    volumes: [shared:/shared]
    healthcheck:
      test: ["CMD", "test", "-f", "/shared/ready"]
      interval: 1s
      timeout: 2s
      retries: 30
  app:
    image: {IMAGE}
    command: ["sh", "-c", "if [ -f /shared/ready ]; then echo saw-ready; else echo too-early; fi > /shared/app; exec sleep 3600"]
    volumes: [shared:/shared]
    depends_on:
      db:
        condition: service_healthy
volumes:
  shared: {}
"#,
    );
    p.berth(&["up"]).ok();
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
    let p = Project::new("migrate");
    p.write(
        "compose.yaml",
        r#"
services:
  migrate:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 2; echo schema-v2 > /data/schema"]
    volumes: [data:/data]
  app:
    image: {IMAGE}
    command: ["sh", "-c", "cat /data/schema > /data/app-saw 2>&1 || echo missing > /data/app-saw; exec sleep 3600"]
    volumes: [data:/data]
    depends_on:
      migrate:
        condition: service_completed_successfully
volumes:
  data: {}
"#,
    );
    p.berth(&["up"]).ok();
    let migrate = p.container("migrate");
    assert_eq!(migrate.status(), "exited");
    assert_eq!(migrate.json["State"]["ExitCode"], 0);
    let app = p.container("app");
    assert!(app.running());
    assert_eq!(app.exec("cat /data/app-saw"), "schema-v2\n");
    // A completed one-shot is converged, not something to start again.
    p.berth(&["plan"]).code_is(0);
}

#[test]
fn unhealthy_dependency_fails_up_with_its_log_lines() {
    let p = Project::new("unhealthy");
    p.write(
        "compose.yaml",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db-is-broken-marker; echo second-log-line; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 1s
      retries: 2
  app:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    depends_on:
      db:
        condition: service_healthy
"#,
    );
    let t0 = std::time::Instant::now();
    let up = p.berth(&["up"]).failed();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(60),
        "fails fast once db is unhealthy"
    );
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
    let p = Project::new("exits");
    p.write(
        "compose.yaml",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db-crash-marker; exit 3"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
  app:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    depends_on:
      db:
        condition: service_healthy
"#,
    );
    let t0 = std::time::Instant::now();
    let up = p.berth(&["up"]).failed();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(30),
        "fails fast"
    );
    up.says("db").says("db-crash-marker");
}

#[test]
fn optional_dependency_failure_is_only_a_warning() {
    let p = Project::new("optional");
    p.write(
        "compose.yaml",
        r#"
services:
  extra:
    image: {IMAGE}
    command: ["sh", "-c", "echo extra-failed-marker; exit 1"]
  app:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    depends_on:
      extra:
        condition: service_completed_successfully
        required: false
"#,
    );
    let up = p.berth(&["up"]).ok();
    up.says("extra");
    assert!(p.container("app").running());
}
