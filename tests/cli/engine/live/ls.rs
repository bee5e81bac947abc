//! `berth ls` against `docker compose ls` on the same engine: a berth
//! project (two services) and a compose project (one), whose name starts
//! with the berth project's, so that one `--filter name=` takes both.

use crate::engine::*;

use serde_json::Value;

const COMPOSE: &str = "services:\n  c:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n";

#[test]
fn ls_lists_berths_and_composes_projects_as_compose_does() {
    let p = Project::up(
        "ls",
        &format!("services:\n{}{}", idle("a", ""), idle("b", "")),
    );
    let compose = Compose {
        name: format!("{}-compose", p.name),
        dir: p.path("compose"),
    };
    std::fs::create_dir_all(&compose.dir).unwrap();
    p.write("compose/compose.yaml", COMPOSE);
    compose.ok(&["up", "-d"]);
    let ls = |args: &[&str]| {
        p.command(&[], &[&["ls"][..], args].concat())
            .run()
            .ok()
            .stdout()
            .to_string()
    };
    let both = format!("name={}", p.name);
    let only_compose = format!("name={}", compose.name);

    let table = ls(&["--filter", &both]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let config_file = compose.dir.join("compose.yaml");
    assert_eq!(
        lines,
        vec![
            vec!["NAME", "STATUS", "CONFIG FILES"],
            vec![p.name.as_str(), "running(2)"],
            vec![
                compose.name.as_str(),
                "running(1)",
                config_file.to_str().unwrap()
            ],
        ],
        "{table}"
    );
    assert_eq!(
        ls(&["-q", "--filter", &only_compose]),
        format!("{}\n", compose.name)
    );

    compose.ok(&["stop", "--timeout", "1"]);
    assert_eq!(ls(&["-q", "--filter", &both]), format!("{}\n", p.name));
    assert_eq!(
        ls(&["-q", "-a", "--filter", &both]),
        format!("{}\n{}\n", p.name, compose.name)
    );

    let args = ["--format", "json", "-a", "--filter", &only_compose];
    let ours: Value = serde_json::from_str(&ls(&args)).unwrap();
    let theirs: Value = serde_json::from_str(&compose.ok(&[&["ls"][..], &args].concat())).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(ours[0]["Status"], "exited(1)", "{ours}");
    let keys = |v: &Value| {
        v[0].as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&ours),
        keys(&theirs),
        "the same keys in the same order"
    );
}
