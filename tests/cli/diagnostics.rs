//! How diagnostics are printed for hostile stack files: bounded in size, never
//! a panic, never the contents of a file that is not a regular text file.

use crate::support::*;

#[test]
fn an_included_procfs_file_is_named_but_its_contents_never_printed() {
    let run = Berth::new()
        .env("BERTH_TEST_SECRET", "hunter2-do-not-print")
        .file(
            "compose.yaml",
            "include:\n  - /proc/self/environ\nservices:\n  web:\n    image: nginx\n",
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(1);
    assert!(!run.output().contains("hunter2"), "{}", run.output());
    assert!(
        run.stderr().contains("/proc/self/environ"),
        "{}",
        run.stderr()
    );
}

#[test]
fn twenty_thousand_invalid_ports_print_twenty_then_a_count() {
    let ports: String = (0..20_000)
        .map(|n| format!("      - \"99999{n}\"\n"))
        .collect();
    let run = Berth::new()
        .file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx\n    ports:\n{ports}"),
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(1);
    let err = run.stderr();
    assert_eq!(err.matches("× invalid port").count(), 20, "{err}");
    assert!(
        err.contains("error: and 19980 more errors like this: invalid port `9999919`"),
        "{err}"
    );
    assert!(err.ends_with("20000 errors in the stack files\n"), "{err}");
}

#[test]
fn a_warning_past_column_65535_prints_a_window_of_the_line() {
    let value = "x".repeat(70_000);
    let run = Berth::new()
        .file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx\n    command: \"{value}${{UNSET_X}}\"\n"),
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(0);
    let err = run.stderr();
    assert!(err.contains("[compose.yaml:4:70015]"), "{err}");
    assert!(err.contains(" 4 │ …xxx"), "{err}");
    assert!(err.len() < 2_000, "{} bytes", err.len());
}
