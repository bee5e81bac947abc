//! Loading what compose loads: env files, stacks without services, stack
//! files from standard input, and the other corners where berth reads a file
//! as `docker compose` does (expected output from docker compose v2.40 where
//! compose prints something).

use crate::support::*;

#[test]
fn up_refuses_a_stack_without_services_and_changes_nothing() {
    // compose: `no service selected`, exit 1. Nothing reaches the engine:
    // the check comes before berth looks at it.
    let run = Berth::new()
        .file("compose.yaml", "services: {}\nvolumes:\n  data: {}\n")
        .args(["-p", "berth-no-services", "up", "--dry-run"])
        .run()
        .code_is(1);
    assert_eq!(
        run.stderr(),
        "  × no service selected: the stack defines no services
   ╭─[compose.yaml:1:1]
 1 │ services: {}
   · ▲
   · ╰── no services in this stack
 2 │ volumes:
   ╰────
  help: define at least one service under `services:`; `berth config` shows what berth read
error: nothing was changed
"
    );
}

#[test]
fn config_prints_an_empty_services_map_as_compose_does() {
    let run = Berth::new()
        .file("compose.yaml", "name: empty\nservices: {}\n")
        .arg("config")
        .run()
        .ok();
    assert_eq!(run.stdout(), "name: empty\nservices: {}\n");
}

#[test]
fn a_dotenv_file_compose_reads_is_read_with_its_comments_and_interpolation() {
    let run = Berth::new()
        .file(
            ".env",
            "IMAGE_TAG=\"${IMAGE_TAG:-latest}\"\nREGISTRY = registry.local   # the mirror\nIMAGE=${REGISTRY}/app:${IMAGE_TAG}\n",
        )
        .file("compose.yaml", "services:\n  web:\n    image: ${IMAGE}\n")
        .env("IMAGE_TAG", "v2")
        .arg("config")
        .run()
        .ok();
    assert!(
        run.stdout().contains("    image: registry.local/app:v2\n"),
        "{}",
        run.stdout()
    );
}

#[test]
fn an_unset_variable_in_an_env_file_is_a_located_warning() {
    let run = Berth::new()
        .file(".env", "A=1\nB=x-$NOPE\n")
        .file("compose.yaml", "services:\n  web:\n    image: a:${B}\n")
        .args(["config", "-q"])
        .run()
        .ok();
    assert_eq!(
        run.stderr(),
        "  ⚠ env file `.env:2:5` uses the variable `NOPE`, which is not set; using an empty string
  help: set `NOPE` in the environment or on an earlier line, or give a default: `${NOPE:-value}`
"
    );
}
