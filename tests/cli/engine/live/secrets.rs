//! Secrets and configs from `environment` and `content` on a plain engine:
//! copied into the container before it starts, with their modes and
//! owners, never printed; a changed value recreates the container, and
//! `down` leaves nothing behind.

use crate::engine::*;

const STACK: &str = r#"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    secrets:
      - db_pw
      - source: tok
        target: token
        uid: "1000"
        gid: "2000"
        mode: 0440
    configs:
      - source: conf
        target: /etc/app.conf
secrets:
  db_pw:
    environment: DB_PW
  tok:
    content: abc
configs:
  conf:
    content: "level=1"
"#;

fn berth(p: &Project, pw: &str, args: &[&str]) -> crate::support::Run {
    p.command(&["compose.yaml"], args).env("DB_PW", pw).run()
}

#[test]
fn secrets_from_environment_and_content_are_copied_in_with_modes_and_owners() {
    let p = Project::with_stack("secrets-copy", STACK);
    let plan = berth(&p, "hunter2-secret", &["plan", "--format", "json"]).code_is(3);
    assert!(
        !plan.stdout().contains("hunter2"),
        "the plan shows no secret: {}",
        plan.stdout()
    );
    assert!(plan.stdout().contains("copy_to_container"));
    berth(&p, "hunter2-secret", &["up"]).ok();
    let c = p.container("app");
    assert_eq!(
        c.exec("stat -c '%a %u %g %n' /run/secrets/db_pw /run/secrets/token /etc/app.conf"),
        "400 0 0 /run/secrets/db_pw\n440 1000 2000 /run/secrets/token\n444 0 0 /etc/app.conf\n"
    );
    assert_eq!(
        c.exec("cat /run/secrets/db_pw; echo; cat /run/secrets/token; echo; cat /etc/app.conf"),
        "hunter2-secret\nabc\nlevel=1"
    );
    let inspect = docker(&["inspect", &c.id]);
    assert!(!inspect.contains("hunter2"), "labels hold no secret");
    berth(&p, "hunter2-secret", &["plan"])
        .code_is(0)
        .says_nothing_changed();

    // A changed value recreates the container, with the new content.
    berth(&p, "other-value", &["up"]).ok();
    let new = p.container("app");
    assert_ne!(new.id, c.id, "recreated");
    assert_eq!(new.exec("cat /run/secrets/db_pw"), "other-value");

    berth(&p, "other-value", &["down"]).ok();
    assert!(p.containers().is_empty(), "down leaves no container");
    assert!(p.networks().is_empty(), "down leaves no network");
}

#[test]
fn an_unset_variable_stops_up_before_anything_is_created() {
    let p = Project::with_stack("secrets-unset", STACK);
    let run = p.command(&["compose.yaml"], &["up"]).run().code_is(1);
    assert!(
        run.stderr()
            .contains("secret `db_pw`: the variable DB_PW it reads is not set"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("compose.yaml:"),
        "located: {}",
        run.stderr()
    );
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
}
