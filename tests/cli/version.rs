//! `berth version` in compose's three shapes, with no engine to reach.

use crate::support::*;

fn version(args: &[&str]) -> String {
    Berth::new()
        .arg("version")
        .args(args)
        // Nothing answers here: the command must not ask the engine.
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .ok()
        .stdout()
        .to_string()
}

#[test]
fn version_prints_pretty_json_and_short_without_an_engine() {
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(version(&[]), format!("berth version {v}\n"));
    assert_eq!(
        version(&["--format", "pretty"]),
        format!("berth version {v}\n")
    );
    let json: serde_json::Value = serde_json::from_str(&version(&["--format", "json"])).unwrap();
    assert_eq!(json, serde_json::json!({ "version": v }));
    assert_eq!(version(&["--short"]), format!("{v}\n"));
}
