//! Warnings are printed in full but never make a valid stack invalid: the
//! command still succeeds (exit 0).

use crate::support::*;

/// Validates `yaml` as `compose.yaml` in a fresh directory.
fn validate(yaml: &str) -> Run {
    Berth::new()
        .file("compose.yaml", yaml)
        .arg("validate")
        .run()
}

#[test]
fn an_unset_variable_warns_and_the_stack_stays_valid() {
    let run = validate("services:\n  web:\n    image: \"nginx:${TAG}\"\n");
    assert_eq!(
        run.stderr(),
        "  ⚠ the variable `TAG` is not set; using an empty string
   ╭─[compose.yaml:3:19]
 2 │   web:
 3 │     image: \"nginx:${TAG}\"
   ·                   ───┬──
   ·                      ╰── not set
   ╰────
  help: set `TAG` in the environment or in .env, or give a default: `${TAG:-value}`
"
    );
    run.code_is(0);
}

#[test]
fn an_obsolete_version_key_warns_and_the_stack_stays_valid() {
    let run = validate("version: \"3.8\"\nservices:\n  web:\n    image: nginx\n");
    assert_eq!(
        run.stderr(),
        "  ⚠ the `version` key is obsolete and ignored
   ╭─[compose.yaml:1:1]
 1 │ version: \"3.8\"
   · ───┬───
   ·    ╰── obsolete
 2 │ services:
   ╰────
  help: remove it; the Compose Specification needs no version
"
    );
    run.code_is(0);
}

#[test]
fn warnings_and_errors_come_out_in_file_order() {
    let run = validate(
        "version: \"3\"\nservices:\n  web:\n    image: \"nginx:${TAG}\"\n    restart: sometimes\n",
    );
    let err = run.stderr();
    let version = err
        .find("`version` key is obsolete")
        .expect("version warning");
    let tag = err.find("`TAG` is not set").expect("TAG warning");
    let restart = err.find("invalid restart policy").expect("restart error");
    assert!(version < tag && tag < restart, "{err}");
    assert!(err.ends_with("1 error in the stack files\n"), "{err}");
    run.code_is(1);
}
