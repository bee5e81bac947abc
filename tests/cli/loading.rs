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
fn an_unset_variable_in_an_env_file_is_a_located_warning_that_quotes_nothing_of_the_value() {
    let run = Berth::new()
        .file(".env", "A=1\nB=x-$NOPE\n")
        .file("compose.yaml", "services:\n  web:\n    image: a:${B}\n")
        .args(["config", "-q"])
        .run()
        .ok();
    assert_eq!(
        run.stderr(),
        "  ⚠ env file `.env:2:5` uses a variable that is not set; using an empty string
  help: a `$` in a value starts a variable: set it in the environment or on an earlier line, give
        a default (`${NAME:-value}`), or write `$$` for a literal `$`
"
    );
}

#[test]
fn a_stack_read_from_standard_input_has_the_working_directory_as_project_directory() {
    // compose, in a directory named `proj`: the project is `proj` and `./d`
    // is `<cwd>/d`.
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    let run = Berth::new()
        .current_dir(&proj)
        .stdin("services:\n  web:\n    image: busybox\n    volumes: [\"./d:/d\"]\n")
        .args(["-f", "-", "config", "--format", "json"])
        .run()
        .ok();
    let v: serde_json::Value = serde_json::from_str(run.stdout()).unwrap();
    assert_eq!(v["name"], "proj");
    assert_eq!(
        v["services"]["web"]["volumes"][0]["source"],
        proj.join("d").display().to_string()
    );
}

#[test]
fn a_stack_from_standard_input_merges_with_other_files_in_order() {
    let run = Berth::new()
        .file("over.yaml", "services:\n  web:\n    image: over\n")
        .stdin("services:\n  web:\n    image: base\n    command: [\"true\"]\n")
        .args(["-p", "p", "-f", "-", "-f", "over.yaml", "config"])
        .run()
        .ok();
    assert!(
        run.stdout().contains("    image: over\n"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("    - \"true\"\n"),
        "{}",
        run.stdout()
    );
}

#[test]
fn errors_in_a_stack_from_standard_input_name_it_stdin() {
    let run = Berth::new()
        .stdin("services:\n  web:\n    image: busybox\n    foo: 1\n")
        .args(["-p", "p", "-f", "-", "config", "-q"])
        .run()
        .code_is(1);
    assert!(
        run.stderr()
            .contains("  × unknown key `foo`\n   ╭─[<stdin>:4:5]\n"),
        "{}",
        run.stderr()
    );
}

#[test]
fn standard_input_is_read_once_bounded_and_not_twice() {
    let run = Berth::new()
        .stdin("services: {}\n")
        .args(["-p", "p", "-f", "-", "-f", "-", "config"])
        .run()
        .code_is(1);
    assert_eq!(
        run.stderr(),
        "  × `-f -` is given more than once: standard input can be read only once
  help: pass one stack on standard input, and name the other files with -f
1 error in the stack files
"
    );
    let huge = format!("services: {{}}\n#{}\n", "x".repeat(17 << 20));
    let run = Berth::new()
        .stdin(&huge)
        .args(["-p", "p", "-f", "-", "config"])
        .run()
        .code_is(1);
    assert!(
        run.stderr()
            .contains("cannot read stack file `<stdin>`: it is larger than the limit of 16 MiB"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_windows_bind_source_is_refused_before_any_change() {
    // compose prints it as written, then the Linux engine refuses the
    // container ("invalid volume specification"); berth stops before.
    let run = Berth::new()
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: berth-test/busybox:latest\n    volumes:\n      - C:\\data:/data\n",
        )
        .args(["-p", "berth-loader-winbind", "up", "--dry-run"])
        .run()
        .code_is(1);
    assert!(
        run.stderr()
            .contains("× bind source `C:\\data` of service `web` is a Windows path"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("[compose.yaml:5:9]"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_build_key_the_classic_builder_cannot_honour_is_a_located_warning() {
    let run = Berth::new()
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: a\n    build:\n      context: .\n      entitlements: [network.host]\n",
        )
        .arg("validate")
        .run()
        .ok();
    assert_eq!(
        run.stderr(),
        "  ⚠ `build.entitlements` is not honoured: berth builds with the engine's classic builder (API
  │ 1.41): no entitlements
   ╭─[compose.yaml:6:21]
 5 │       context: .
 6 │       entitlements: [network.host]
   ·                     ───────┬──────
   ·                            ╰── not honoured
   ╰────
  help: remove it, or build the image with `docker buildx build` and name it in `image:`
"
    );
}

#[test]
fn every_build_key_of_the_specification_loads_and_those_not_honoured_warn_once_each() {
    let run = Berth::new()
        .current_dir(fixtures().join("config/svc-build-every-key"))
        .args(["-p", "x", "validate"])
        .run()
        .ok();
    let warned: Vec<&str> = run
        .stderr()
        .lines()
        .filter_map(|l| l.strip_prefix("  ⚠ `build."))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(
        warned,
        [
            "secrets",
            "additional_contexts",
            "entitlements",
            "provenance",
            "sbom",
            "ulimits",
            "cache_to",
            "platforms",
            "tags",
            "isolation",
            "additional_contexts"
        ]
    );
}
