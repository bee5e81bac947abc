//! Secrets and configs from `environment` or `content`, copied into a
//! plain engine's containers between create and start.

use super::*;
use crate::testutil::dir;

const STACK: &str = r#"
name: sc
services:
  db:
    image: db
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
    content: "x=1"
"#;

/// `STACK` with `DB_PW` from its `.env`.
fn with_pw(pw: &str) -> Stack {
    let env = format!("DB_PW={pw}\n");
    let d = dir(&[("compose.yaml", STACK), (".env", &env)]);
    d.loaded().stack
}

#[test]
fn copies_go_between_create_and_start_with_modes_owners_and_targets() {
    let s = with_pw("hunter2");
    let plan = up(&s, &Observed::default());
    assert_eq!(
        plan.to_string(),
        "\
create network sc_default: not found
create container sc-db-1: not found
copy secret db_pw into sc-db-1: created
copy secret tok into sc-db-1: created
copy config conf into sc-db-1: created
start sc-db-1: created
"
    );
    assert_eq!(
        after(&plan, "copy secret db_pw into sc-db-1: created"),
        ["create container sc-db-1: not found"]
    );
    let start = after(&plan, "start sc-db-1: created");
    assert_eq!(start.len(), 4, "{start:?}");
    let files: Vec<(String, u32, u64, u64, Vec<u8>)> = plan
        .steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::CopyFile { file, .. } => Some((
                file.target.clone(),
                file.mode,
                file.uid,
                file.gid,
                file.data.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        files,
        [
            (
                "/run/secrets/db_pw".into(),
                0o400,
                0,
                0,
                b"hunter2".to_vec()
            ),
            (
                "/run/secrets/token".into(),
                0o440,
                1000,
                2000,
                b"abc".to_vec()
            ),
            ("/etc/app.conf".into(), 0o444, 0, 0, b"x=1".to_vec()),
        ]
    );
}

#[test]
fn the_plan_never_shows_the_content_only_its_size_and_hash() {
    let s = with_pw("hunter2-very-secret");
    let plan = up(&s, &Observed::default());
    let json = serde_json::to_string(&plan.to_json("sc")).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    let labels = serde_json::to_string(&identity::recreate_config(&s.services["db"])).unwrap();
    assert!(!labels.contains("hunter2"), "{labels}");
    let v = plan.to_json("sc");
    let copy = &v["steps"][2];
    assert_eq!(copy["action"], "copy_to_container");
    assert_eq!(copy["request"]["file"]["path"], "/run/secrets/db_pw");
    assert_eq!(copy["request"]["file"]["mode"], "0400");
    assert_eq!(copy["request"]["file"]["size"], 19);
}

#[test]
fn a_changed_value_recreates_and_the_same_value_changes_nothing() {
    let old = with_pw("one");
    let o = converged(&old);
    assert_eq!(up(&with_pw("one"), &o).to_string(), "no changes\n");
    let plan = up(&with_pw("two"), &o);
    let text = plan.to_string();
    assert!(
        text.contains("create container sc-db-1: recreate: config changed: secrets"),
        "{text}"
    );
    assert!(
        text.contains("copy secret db_pw into sc-db-1: recreate: config changed: secrets"),
        "{text}"
    );
}

#[test]
fn a_created_container_never_started_gets_its_files_before_its_start() {
    let s = with_pw("one");
    let mut o = converged(&s);
    o.containers[0].status = Status::Created;
    assert_eq!(
        up(&s, &o).to_string(),
        "\
copy secret db_pw into sc-db-1: created
copy secret tok into sc-db-1: created
copy config conf into sc-db-1: created
start sc-db-1: created
"
    );
}

#[test]
fn an_unset_variable_a_bad_uid_or_a_read_only_service_is_refused_before_any_change() {
    let unset = stack(STACK);
    let errs = plan_up(&unset, &Observed::default(), &UpOptions::default()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].message,
        "secret `db_pw`: the variable DB_PW it reads is not set"
    );
    assert!(errs[0].span.is_some(), "located at the secret's key");

    let bad = STACK.replace("uid: \"1000\"", "uid: alice");
    let d = dir(&[("compose.yaml", &bad), (".env", "DB_PW=x\n")]);
    let errs = plan_up(
        &d.loaded().stack,
        &Observed::default(),
        &UpOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        errs[0].message,
        "uid `alice` of secret `tok` in service `db` is not a number"
    );

    let ro = STACK.replace("    image: db\n", "    image: db\n    read_only: true\n");
    let d = dir(&[("compose.yaml", &ro), (".env", "DB_PW=x\n")]);
    let errs = plan_up(
        &d.loaded().stack,
        &Observed::default(),
        &UpOptions::default(),
    )
    .unwrap_err();
    assert!(
        errs[0].message.contains("read-only root filesystem"),
        "{}",
        errs[0].message
    );
}

#[test]
fn a_file_secret_stays_a_bind_mount_and_is_not_copied() {
    let d = dir(&[
        ("pw.txt", "x"),
        (
            "compose.yaml",
            "services:\n  a:\n    image: a\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n",
        ),
    ]);
    let s = d.loaded().stack;
    let plan = up(&s, &Observed::default());
    assert!(!plan.to_string().contains("copy"), "{plan}");
}
