//! `berth watch` on the guestbook demo, copied into the test's directory (its
//! files are edited): a page edit is synced into the running container, a
//! Dockerfile edit rebuilds the image and recreates that service's
//! container, each with one line of output, and Ctrl-C leaves the stack
//! running.

use std::path::Path;

use crate::engine::*;
use crate::support::Spawned;

/// Copies the directory `from` into `to` (made), files and directories only.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The `watch: ...` lines berth has printed so far.
fn watch_lines(w: &Spawned) -> Vec<String> {
    w.stdout_so_far()
        .lines()
        .filter(|l| l.starts_with("watch: "))
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn wait_for(w: &mut Spawned, what: &str, secs: u64, mut f: impl FnMut(&mut Spawned) -> bool) {
    let ok = wait_until(Duration::from_secs(secs), || !w.has_exited() && f(w));
    assert!(
        ok,
        "{what} (within {secs}s)\n--- stdout\n{}\n--- stderr\n{}",
        w.stdout_so_far(),
        w.stderr_so_far()
    );
}

#[test]
fn watch_syncs_a_page_without_a_rebuild_and_rebuilds_once_on_a_dockerfile_change() {
    let mut p = Project::new("watch-gb");
    copy_dir(&repo().join("stacks/demo/guestbook"), p.dir.path());
    for svc in ["frontend", "backend", "db"] {
        p.extra_images.push(format!("{}-{svc}", p.name));
    }
    let port = free_port();
    std::fs::write(p.path("demo.env"), format!("GUESTBOOK_PORT={port}\n")).unwrap();
    let mut w = p
        .command(
            &["compose.yaml"],
            &["--env-file", "demo.env", "watch", "--progress", "plain"],
        )
        .spawn();
    wait_for(
        &mut w,
        "berth watch brings the stack up and watches",
        60,
        |w| {
            w.stderr_so_far()
                .contains("Watching backend, db, frontend for changes")
        },
    );
    wait_for(&mut w, "the page is served", 15, |_| {
        http(port, "GET", "/", None).is_ok_and(|(status, _)| status == 200)
    });
    let frontend = p.container("frontend").id;
    let backend = p.container("backend").id;
    assert!(
        watch_lines(&w).is_empty(),
        "no action before a change: {:?}",
        watch_lines(&w)
    );

    // A page: copied into the running container, served at once.
    let page = p.path("frontend/www/index.html");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("<h1>Guestbook</h1>"));
    std::fs::write(
        &page,
        text.replace("<h1>Guestbook</h1>", "<h1>Guestbook, watched</h1>"),
    )
    .unwrap();
    wait_for(&mut w, "the edited page is served", 15, |_| {
        http(port, "GET", "/", None).is_ok_and(|(_, body)| body.contains("Guestbook, watched"))
    });
    wait_for(&mut w, "the sync is reported", 5, |w| {
        !watch_lines(w).is_empty()
    });
    assert_eq!(
        watch_lines(&w),
        vec!["watch: frontend: synced 1 file (index.html)"]
    );
    assert_eq!(
        p.container("frontend").id,
        frontend,
        "a sync keeps the container"
    );

    // The Dockerfile: one rebuild, one recreate of the frontend alone.
    let dockerfile = p.path("frontend/Dockerfile");
    let mut text = std::fs::read_to_string(&dockerfile).unwrap();
    text.push_str("LABEL io.berth.test.watched=\"yes\"\n");
    std::fs::write(&dockerfile, text).unwrap();
    wait_for(&mut w, "the rebuild is reported", 45, |w| {
        watch_lines(w).len() >= 2
    });
    assert_eq!(
        watch_lines(&w),
        vec![
            "watch: frontend: synced 1 file (index.html)",
            "watch: frontend: rebuilt and recreated (Dockerfile changed)",
        ]
    );
    let recreated = p.container("frontend");
    assert_ne!(recreated.id, frontend, "a rebuild recreates the container");
    assert_eq!(
        recreated.json["Config"]["Labels"]["io.berth.test.watched"],
        "yes"
    );
    assert_eq!(
        p.container("backend").id,
        backend,
        "other services are left alone"
    );
    wait_for(
        &mut w,
        "the recreated frontend serves the edited page",
        15,
        |_| http(port, "GET", "/", None).is_ok_and(|(_, body)| body.contains("Guestbook, watched")),
    );

    // Ctrl-C: watching stops, the stack keeps running.
    w.interrupt();
    let run = w.wait().ok();
    run.says("Stopped watching");
    assert_eq!(watch_lines_of(run.stdout()).len(), 2, "{}", run.output());
    let containers = p.containers();
    assert_eq!(containers.len(), 3);
    for c in &containers {
        assert!(c.running(), "{} still runs after Ctrl-C", c.name);
    }
    p.berth_files(
        &["compose.yaml"],
        &["--env-file", "demo.env", "down", "--volumes"],
    )
    .ok();
}

fn watch_lines_of(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("watch: "))
        .collect()
}

#[test]
fn watch_refuses_services_without_develop_watch_and_changes_nothing() {
    let p = Project::with_stack("watch-none", &format!("services:\n{}", idle("web", "")));
    let run = p.berth(&["watch"]).code_is(1);
    run.says("none of the selected services is configured for watch, consider setting a 'develop' section");
    assert!(p.containers().is_empty(), "nothing is brought up");
}

#[test]
fn up_watch_syncs_initially_runs_exec_after_a_sync_and_deletes_what_was_deleted() {
    let p = Project::with_stack(
        "watch-exec",
        &format!(
            "services:\n{}",
            idle(
                "web",
                r#"    develop:
      watch:
        - action: sync+exec
          path: ./app
          target: /app
          initial_sync: true
          ignore: ["*.tmp"]
          exec:
            command: ["sh", "-c", "ls /app > /tmp/listing; echo $$MODE >> /tmp/listing"]
            environment: {MODE: reloaded}
"#,
            )
        ),
    );
    std::fs::create_dir(p.path("app")).unwrap();
    std::fs::write(p.path("app/a.txt"), "a").unwrap();
    let mut w = p.spawn(&["up", "--watch", "--progress", "plain"]);
    wait_for(
        &mut w,
        "up --watch brings the stack up and watches",
        60,
        |w| w.stderr_so_far().contains("Watching web for changes"),
    );
    assert_eq!(
        watch_lines(&w),
        vec!["watch: web: synced 1 file (initial sync of app)"]
    );
    let web = p.container("web");
    assert_eq!(web.exec("cat /app/a.txt"), "a");

    std::fs::write(p.path("app/b.txt"), "b").unwrap();
    std::fs::write(p.path("app/skip.tmp"), "ignored").unwrap();
    wait_for(&mut w, "the sync+exec is reported", 10, |w| {
        watch_lines(w).len() >= 2
    });
    assert_eq!(
        watch_lines(&w)[1],
        "watch: web: synced 1 file and ran `sh -c ls /app > /tmp/listing; echo $MODE >> /tmp/listing` (b.txt)"
    );
    assert_eq!(web.exec("cat /tmp/listing"), "a.txt\nb.txt\nreloaded\n");

    std::fs::remove_file(p.path("app/a.txt")).unwrap();
    wait_for(&mut w, "the delete is reported", 10, |w| {
        watch_lines(w).len() >= 3
    });
    assert!(
        watch_lines(&w)[2].starts_with("watch: web: deleted 1 file and ran `"),
        "{:?}",
        watch_lines(&w)
    );
    assert_eq!(web.exec("ls /app"), "b.txt\n");
    assert_eq!(p.container("web").id, web.id, "syncs keep the container");

    w.interrupt();
    w.wait().ok().says("Stopped watching");
    assert!(p.container("web").running());
}
