//! Releases: each `up` that changes something records one on the engine,
//! `berth releases` lists them, and the images of the last five stay.

use serde_json::Value;

use crate::engine::{IMAGE, Project, docker, docker_lines, docker_try, exists, now_secs};
use crate::support::Berth;

/// `db` and a service whose name is no repository name as it is (`Web`);
/// a new `rev` recreates db.
fn stack(rev: &str) -> String {
    format!(
        "services:\n  db:\n    image: {IMAGE}\n    command: [sleep, '3600']\n    \
         stop_signal: SIGKILL\n    environment:\n      REV: '{rev}'\n  Web:\n    image: {IMAGE}\n    \
         command: [sleep, '3600']\n    stop_signal: SIGKILL\n    depends_on: [db]\n"
    )
}

/// `berth releases --format json`, parsed.
fn releases(p: &Project) -> Vec<Value> {
    let run = p.berth(&["releases", "--format", "json"]).ok();
    let v: Value = serde_json::from_str(run.stdout()).expect("releases JSON");
    v.as_array().expect("an array").clone()
}

fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .trim()
        .to_string()
}

#[test]
fn each_up_that_changes_something_records_a_release_and_a_no_op_records_none() {
    let p = Project::with_stack("rel-up", &stack("1"));
    let n = &p.name;
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says(&format!("Recorded release 1 of {n}"));

    let list = releases(&p);
    assert_eq!(list.len(), 1, "{list:#?}");
    let first = &list[0];
    assert_eq!(first["number"], 1);
    assert_eq!(first["project"], n.as_str());
    assert_eq!(first["target"], "engine");
    assert_eq!(first["images"], "kept");
    assert!(
        first.get("stack").is_none(),
        "a listing leaves the stack out"
    );
    let changes: Vec<&str> = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        changes,
        [
            format!("create network {n}_default: not found"),
            format!("create container {n}-db-1: not found"),
            format!("create container {n}-Web-1: not found"),
        ]
    );
    let busybox = image_id(IMAGE);
    for svc in ["db", "Web"] {
        assert_eq!(first["services"][svc]["image"], IMAGE);
        assert_eq!(first["services"][svc]["id"], busybox.as_str());
        assert_eq!(first["services"][svc]["kept"], true);
    }
    // The keeping tags name the images the services run; `Web` is no
    // repository name, so it is lowercased and hashed.
    let web_tag = first["services"]["Web"]["tag"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        web_tag.starts_with(&format!("berth-releases/{n}/web-")) && web_tag.ends_with(":1"),
        "{web_tag}"
    );
    assert_eq!(image_id(&web_tag), busybox);
    assert_eq!(image_id(&format!("berth-releases/{n}/db:1")), busybox);
    let labels = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &format!("berth-releases/{n}:1"),
    ]);
    let labels: Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["io.berth.release.project"], n.as_str());
    assert_eq!(labels["io.berth.release.number"], "1");

    // Nothing to change, a plan, a dry run: no release, and not one call
    // about releases (no image event at all). The window starts in a
    // second of its own: in one full run release 1's events, made less
    // than a second before it, were listed in it (`--since` taken by
    // whole seconds, it seems).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t0 = now_secs() - 0.05;
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says_nothing_changed();
    p.write("compose.yaml", &stack("2"));
    p.berth(&["plan"]).code_is(3);
    p.berth(&["up", "--dry-run"]).ok();
    let t1 = now_secs() + 0.5;
    std::thread::sleep(std::time::Duration::from_millis(600));
    let events = docker_lines(&[
        "events",
        "--since",
        &format!("{t0:.3}"),
        "--until",
        &format!("{t1:.3}"),
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}",
    ]);
    let ours: Vec<&String> = events
        .iter()
        .filter(|e| e.contains(&format!("berth-releases/{n}")))
        .collect();
    assert!(ours.is_empty(), "{ours:#?}");
    assert_eq!(releases(&p).len(), 1);

    // A change: release 2, its causes in the plan's words.
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says(&format!("Recorded release 2 of {n}"));
    let list = releases(&p);
    let numbers: Vec<&Value> = list.iter().map(|r| &r["number"]).collect();
    assert_eq!(numbers, [2, 1], "newest first");
    assert_eq!(
        list[0]["changes"],
        serde_json::json!(["recreate db: config changed: environment"])
    );

    let table = p.berth(&["releases"]).ok();
    let lines: Vec<&str> = table.stdout().lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout());
    assert!(lines[0].starts_with("RELEASE   TIME"), "{}", lines[0]);
    assert!(lines[0].ends_with("IMAGES"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("2 ") && lines[1].contains("recreate db: config changed: environment")
    );
    assert!(lines[1].ends_with("kept"), "{}", lines[1]);
    assert!(
        lines[2].starts_with("1 ") && lines[2].contains("(and 2 more)"),
        "{}",
        lines[2]
    );
    table.says("2 of 2 releases keep their images (berth keeps those of the last 5)");

    // One release, with its stack: what `berth config` printed then, and
    // it loads back as that stack.
    let shown = p.berth(&["releases", "2", "--format", "json"]).ok();
    let two: Value = serde_json::from_str(shown.stdout()).unwrap();
    assert_eq!(two["number"], 2);
    assert_eq!(two["stack"]["services"]["db"]["environment"]["REV"], "2");
    let config = p.berth(&["config", "--format", "json"]).ok();
    let config: Value = serde_json::from_str(config.stdout()).unwrap();
    assert_eq!(two["stack"], config);
    std::fs::write(
        p.path("release-2.json"),
        serde_json::to_string(&two["stack"]).unwrap(),
    )
    .unwrap();
    let reloaded = p
        .berth_files(&["release-2.json"], &["config", "--format", "json"])
        .ok();
    assert_eq!(
        serde_json::from_str::<Value>(reloaded.stdout()).unwrap(),
        config
    );
    let yaml = p.berth(&["releases", "1"]).ok();
    yaml.says("number: 1")
        .says("REV: \"1\"")
        .says("images: kept");

    p.berth(&["releases", "9"])
        .code_is(1)
        .says(&format!("no release 9 of {n}; its releases are 1-2"));

    // The engine is the store: another berth, with no stack file, after
    // `down`, lists the same releases.
    p.berth(&["down"]).ok();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut other = Berth::new().current_dir(elsewhere.path()).args([
        "-p",
        n.as_str(),
        "releases",
        "--format",
        "json",
    ]);
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        other = other.env("DOCKER_HOST", host);
    }
    let other: Value = serde_json::from_str(other.run().ok().stdout()).unwrap();
    assert_eq!(other.as_array().unwrap().len(), 2);
    assert_eq!(other[0]["number"], 2);

    // The test's cleanup takes the records and tags, and only those.
    p.cleanup();
    assert!(p.release_images().is_empty(), "{:?}", p.release_images());
    assert!(exists("image", IMAGE));
}

#[test]
fn a_project_without_releases_says_so_and_lists_none() {
    let p = Project::new("rel-none");
    // No stack file: `-p` names the project.
    let releases = |args: &[&str]| p.command(&[], args).run();
    releases(&["releases"])
        .ok()
        .says(&format!("No releases of {}", p.name));
    assert_eq!(
        releases(&["releases", "--format", "json"]).ok().stdout(),
        "[]\n"
    );
    releases(&["releases", "1"])
        .code_is(1)
        .says("it has no releases yet");
    releases(&["releases", "0"]).code_is(2);
}

#[test]
fn only_the_last_five_releases_keep_their_images() {
    let mut p = Project::new("rel-keep");
    let tag = p.sleeper_context("app");
    let n = p.name.clone();
    p.write(
        "compose.yaml",
        "services:\n  app:\n    build: app\n    stop_signal: SIGKILL\n",
    );
    // Each release builds a new image under the same tag; only the release
    // tags keep the old ones.
    let mut ids = Vec::new();
    for rev in 1..=7 {
        p.write(
            "app/Dockerfile",
            &format!("FROM {{IMAGE}}\nLABEL rev={rev}\nCMD [\"sleep\", \"3600\"]\n"),
        );
        p.berth(&["up", "--build", "--progress", "plain"])
            .ok()
            .says(&format!("Recorded release {rev} of {n}"));
        ids.push(image_id(&tag));
    }
    let list = releases(&p);
    assert_eq!(list.len(), 7);
    for r in &list {
        let number = r["number"].as_u64().unwrap() as usize;
        assert_eq!(r["services"]["app"]["id"], ids[number - 1].as_str());
        let expected = if number >= 3 { "kept" } else { "pruned" };
        assert_eq!(r["images"], expected, "release {number}");
    }
    let tags: Vec<String> = (3..=7)
        .map(|r| format!("berth-releases/{n}/app:{r}"))
        .collect();
    let mut held: Vec<String> = p
        .release_images()
        .into_iter()
        .filter(|r| r.starts_with(&format!("berth-releases/{n}/")))
        .collect();
    held.sort();
    assert_eq!(held, tags);
    // Releases 1 and 2 held the only references to their images: gone.
    // The newest five are here, each the image its release ran.
    for (i, id) in ids.iter().enumerate() {
        let there = docker_try(&["image", "inspect", id]).is_ok();
        assert_eq!(there, i >= 2, "the image of release {}", i + 1);
    }
    p.berth(&["releases"])
        .ok()
        .says("5 of 7 releases keep their images");
}
