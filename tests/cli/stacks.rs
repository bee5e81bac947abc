//! The stacks this project exists for load without a single error.

use crate::support::*;

#[test]
fn every_checked_in_stack_validates() {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("stacks")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() >= 7,
        "expected the wordpress, guestbook and lab stacks, found {files:?}"
    );
    for f in files {
        // An override (`compose.<what>.yaml` beside a `compose.yaml`) is
        // checked on top of the file it overrides, as it is used.
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let base = f.with_file_name("compose.yaml");
        let mut berth = Berth::new().current_dir(repo());
        if name.starts_with("compose.") && name != "compose.yaml" && base.is_file() {
            berth = berth.arg("-f").arg(&base).arg("-f").arg(&f).arg("validate");
        } else {
            berth = berth.arg("validate").arg(&f);
        }
        let run = berth.run().ok();
        assert_eq!(run.stderr(), "", "{} gives warnings", f.display());
    }
}

/// `berth config --format json` of a stack file, as data.
fn config(file: &str) -> serde_json::Value {
    let run = Berth::new()
        .current_dir(repo())
        .args(["-f", file, "config", "--format", "json"])
        .run()
        .ok();
    serde_json::from_str(run.stdout()).expect("config prints JSON")
}

/// The demo's WordPress (`stacks/demo/wordpress`, images made here from
/// Debian's packages) is the seed's `stacks/wordpress.yaml` (official
/// images) but for the images and what they need: the images and their
/// builds, Debian's place for `wp-content` (the official image keeps the
/// whole site under /var/www/html), and ports on 127.0.0.1 (the database's
/// not published) with a variable, so that tests and a local MySQL do not
/// collide. Anything else that differs fails here.
#[test]
fn the_demo_wordpress_differs_from_the_seeds_only_in_its_images_and_what_they_need() {
    let mut seed = config("stacks/wordpress.yaml");
    let mut demo = config("stacks/demo/wordpress/compose.yaml");
    for stack in [&mut seed, &mut demo] {
        let services = stack["services"].as_object_mut().expect("services");
        for svc in services.values_mut() {
            let svc = svc.as_object_mut().expect("a service");
            for key in ["image", "build", "ports"] {
                svc.remove(key);
            }
        }
        let wordpress = services["wordpress"].as_object_mut().expect("wordpress");
        let volumes = wordpress["volumes"].as_array_mut().expect("volumes");
        volumes.retain(|v| v["type"] != "volume");
        let top = stack["volumes"].as_object_mut().expect("volumes");
        top.remove("wp-html");
        top.remove("wp-content");
    }
    // Each file's directory is where its relative paths start; keys are
    // compared as maps, not in the order they print.
    let same_dirs = |v: &serde_json::Value| -> serde_json::Value {
        let text = serde_json::to_string(v)
            .unwrap()
            .replace(
                &repo().join("stacks/demo/wordpress").display().to_string(),
                "DIR",
            )
            .replace(&repo().join("stacks").display().to_string(), "DIR");
        serde_json::from_str(&text).unwrap()
    };
    let (demo, seed) = (same_dirs(&demo), same_dirs(&seed));
    assert!(demo == seed, "the demo:\n{demo:#}\nthe seed's:\n{seed:#}");
}

/// What `berth config --format json` prints loads back as the same stack:
/// a release keeps its stack so (`berth rollback`), and compose's own
/// output reads the same way. The guestbook has watch rules, whose empty
/// hooks both print as `exec: {command: null}`.
#[test]
fn the_config_of_a_demo_stack_loads_back_unchanged() {
    for file in [
        "stacks/demo/guestbook/compose.yaml",
        "stacks/demo/wordpress/compose.yaml",
    ] {
        let first = config(file);
        let dir = tempfile::tempdir().unwrap();
        let saved = dir.path().join("config.json");
        std::fs::write(&saved, serde_json::to_string_pretty(&first).unwrap()).unwrap();
        let saved = saved.to_string_lossy().into_owned();
        let again = config(&saved);
        assert_eq!(again, first, "{file}: its config, loaded again");
    }
}
