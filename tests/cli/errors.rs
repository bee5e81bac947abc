//! Every kind of invalid input gets a full, exact diagnostic.
//!
//! Each `tests/fixtures/invalid/NAME.yaml` is validated from that directory;
//! `NAME.stderr` holds the whole rendered output (no colour, 100 columns) and
//! the exit code must be 1. A case that needs other arguments (several `-f`
//! files, say) lists them in `NAME.args`, which then replaces `NAME.yaml`;
//! files that are not cases themselves live in `parts/`.
//! `BERTH_BLESS=1 cargo test` rewrites the `.stderr` files; review the diff
//! before committing.

use crate::support::*;

#[test]
fn every_invalid_fixture_renders_its_exact_diagnostic() {
    let dir = fixtures().join("invalid");
    let cases = cases(&dir, Some("yaml"));
    assert!(!cases.is_empty(), "no invalid fixtures found");
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.file_name().unwrap().to_string_lossy().into_owned();
        let args = match std::fs::read_to_string(case.with_extension("args")) {
            Ok(text) => text.split_whitespace().map(str::to_string).collect(),
            Err(_) => vec![file.clone()],
        };
        let run = Berth::new()
            .current_dir(&dir)
            .arg("validate")
            .args(&args)
            .run();
        let expected_path = case.with_extension("stderr");
        let actual = run.stderr();
        if run.code() != Some(1) {
            failures.push(format!(
                "{file}: exit code {:?}, expected 1\n{actual}",
                run.code()
            ));
            continue;
        }
        if bless() {
            std::fs::write(&expected_path, actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| format!("<missing {}>", expected_path.display()));
        if expected != actual {
            failures.push(format!(
                "{file}: stderr differs\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
