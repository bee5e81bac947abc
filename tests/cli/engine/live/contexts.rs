//! Docker contexts (issue 19): berth finds the engine as the docker CLI
//! does, from `--context`, `DOCKER_HOST`, `DOCKER_CONTEXT` and the CLI's
//! `config.json`, in that order, reading the context store that
//! `docker context create` writes (made here by the real CLI, in a store of
//! the test's own).

use std::process::Command;

use crate::engine::*;

/// The engine the other tests use, as a host URL.
fn engine_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// `docker context create NAME --docker host=HOST` in the store `dir`.
fn create_context(dir: &std::path::Path, name: &str, host: &str) {
    let made = Command::new("docker")
        .env("DOCKER_CONFIG", dir)
        .args([
            "context",
            "create",
            name,
            "--docker",
            &format!("host={host}"),
        ])
        .output()
        .expect("docker context create");
    assert!(made.status.success(), "{made:?}");
}

#[test]
fn berth_follows_the_docker_clis_context_and_names_the_known_ones_for_an_unknown_one() {
    let p = Project::with_stack("ctx", &format!("services:\n{}", idle("app", "")));
    let store = tempfile::tempdir().expect("a context store");
    create_context(store.path(), "local", &engine_host());
    // Without DOCKER_HOST, whatever the test's environment has.
    let berth = |args: &[&str], vars: &[(&str, &str)]| {
        let mut b = Berth::new()
            .current_dir(p.dir.path())
            .args(["-p", &p.name])
            .args(args)
            .env("DOCKER_CONFIG", store.path());
        for (k, v) in vars {
            b = b.env(k, v);
        }
        b.run()
    };

    // Reached through a context, the engine is named before anything else.
    let host = engine_host();
    berth(&["up"], &[("DOCKER_CONTEXT", "local")])
        .ok()
        .says(&format!("Engine: {host} (context local)"));
    berth(&["--context", "local", "ps"], &[])
        .ok()
        .says(&format!("{}-app-1", p.name));
    // The flag wins over DOCKER_HOST.
    berth(
        &["--context", "local", "plan"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
    )
    .code_is(0)
    .says("no changes");
    // DOCKER_HOST wins over DOCKER_CONTEXT.
    let bogus = berth(
        &["ps"],
        &[
            ("DOCKER_HOST", "tcp://127.0.0.1:1"),
            ("DOCKER_CONTEXT", "local"),
        ],
    );
    assert!(!bogus.succeeded());
    bogus.says("tcp://127.0.0.1:1");
    // The CLI's current context, from config.json.
    std::fs::write(
        store.path().join("config.json"),
        r#"{"currentContext": "local"}"#,
    )
    .unwrap();
    berth(&["ps"], &[]).ok().says(&format!("{}-app-1", p.name));

    // A context whose engine does not answer is named in the help.
    create_context(store.path(), "away", "tcp://127.0.0.1:1");
    let away = berth(&["--context", "away", "ps"], &[]);
    assert!(!away.succeeded());
    away.says("tcp://127.0.0.1:1")
        .says("berth used the Docker context away");

    let unknown = berth(&["down"], &[("DOCKER_CONTEXT", "foo")]);
    assert!(!unknown.succeeded());
    unknown.says(r#"context "foo" does not exist; the contexts are: default, away, local"#);
    assert_eq!(
        p.containers().len(),
        1,
        "an unknown context changes nothing"
    );
    berth(&["down"], &[])
        .ok()
        .says(&format!("Engine: {host} (context local)"));
    assert!(p.containers().is_empty());
}
