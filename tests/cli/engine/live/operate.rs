//! Operating a running stack: `logs`, `exec`, `start`, `stop`, `restart`.

use crate::engine::*;

#[test]
fn logs_prefixes_each_service_padded_and_tail_limits_the_lines() {
    let p = Project::up("logs", &db_and_web("1"));
    let all = p.berth(&["logs"]).ok();
    let mut lines: Vec<&str> = all.stdout().lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 5, "{}", all.stdout());
    assert!(lines[0].starts_with("db-1  | db boot "), "{lines:?}");
    assert_eq!(
        &lines[1..],
        [
            "db-1  | db one",
            "db-1  | db three",
            "db-1  | db two",
            "web-1 | web hello"
        ]
    );

    let tail = p.berth(&["logs", "--tail", "1", "db"]).ok();
    assert_eq!(tail.stdout(), "db-1  | db three\n");

    let stamped = p.berth(&["logs", "-t", "--tail", "1", "web"]).ok();
    let line = stamped.stdout().trim_end();
    let (head, rest) = line.split_once(" | ").expect("prefix");
    assert_eq!(head, "web-1");
    let (stamp, text) = rest.split_once(' ').expect("timestamp");
    assert!(stamp.ends_with('Z') && stamp.contains('T'), "{line}");
    assert_eq!(text, "web hello");
}

fn boots(text: &str) -> usize {
    text.lines().filter(|l| l.contains("db boot")).count()
}

#[test]
fn logs_follow_joins_a_restarted_and_a_recreated_container() {
    let p = Project::up("logsf", &db_and_web("1"));
    let mut follow = p.spawn(&["logs", "-f", "db"]);
    let seen = |n: usize| {
        wait_until(Duration::from_secs(20), || {
            boots(&follow.stdout_so_far()) >= n
        })
    };
    assert!(seen(1), "first lines: {}", follow.stdout_so_far());

    docker(&["restart", "-t", "0", &p.container("db").id]);
    assert!(seen(2), "after restart: {}", follow.stdout_so_far());

    p.write("compose.yaml", &db_and_web("2"));
    p.berth(&["up"]).ok();
    assert!(seen(3), "after recreate: {}", follow.stdout_so_far());

    // Give a wrongly re-joined stream time to repeat what was shown.
    std::thread::sleep(Duration::from_millis(2500));
    follow.kill9();
    let out = follow.stdout_so_far();
    assert_eq!(boots(&out), 3, "{out}");
    assert_eq!(
        out.lines().filter(|l| *l == "db-1  | db one").count(),
        3,
        "each start's lines once: {out}"
    );
    assert!(out.lines().all(|l| l.starts_with("db-1  | ")), "{out}");
}

#[test]
fn exec_passes_stdin_prints_the_commands_output_and_exits_with_its_code() {
    let p = Project::up("exec", &db_and_web("1"));
    let run = p
        .berth(&[
            "exec",
            "-T",
            "web",
            "sh",
            "-c",
            "echo hi; echo oops >&2; exit 3",
        ])
        .code_is(3);
    assert_eq!(run.stdout(), "hi\n");
    assert!(run.stderr().contains("oops"), "{}", run.stderr());

    let run = p
        .berth(&[
            "exec",
            "-T",
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "web",
            "sh",
            "-c",
            "echo $FOO; pwd; id -u",
        ])
        .ok();
    assert_eq!(run.stdout(), "bar\n/tmp\n1000\n");

    // Without a terminal, berth's stdin is the command's, to its end.
    let run = p
        .command(
            &["compose.yaml"],
            &["exec", "-T", "web", "tr", "a-z", "A-Z"],
        )
        .stdin("one\ntwo\n")
        .run()
        .ok();
    assert_eq!(run.stdout(), "ONE\nTWO\n");
}

#[test]
fn exec_in_a_service_without_a_running_container_says_so() {
    let p = Project::up("exec-none", &db_and_web("1"));
    p.berth(&["stop", "-t", "0", "web"]).ok();
    p.berth(&["exec", "-T", "web", "true"])
        .code_is(1)
        .says("service `web` has no running container");
    p.berth(&["exec", "-T", "nope", "true"])
        .code_is(1)
        .says("no service `nope`");
}

#[test]
fn stop_goes_dependents_first_and_start_dependencies_first() {
    let p = Project::up("stopstart", &db_and_web("1"));

    p.berth(&["stop", "-t", "1"]).ok();
    let (db, web) = (p.container("db"), p.container("web"));
    assert!(!db.running() && !web.running());
    let finished = |c: &Container| rfc3339_secs(c.json["State"]["FinishedAt"].as_str().unwrap());
    assert!(finished(&web) <= finished(&db), "web stops before db");

    p.berth(&["start"]).ok();
    let (db, web) = (p.container("db"), p.container("web"));
    assert!(db.running() && web.running());
    assert!(
        db.started_secs() <= web.started_secs(),
        "db starts before web"
    );
}

#[test]
fn restart_starts_the_containers_anew() {
    let p = Project::up("restart", &db_and_web("1"));
    let before = p.container("web");
    let db_before = p.container("db");
    p.berth(&["restart", "-t", "0", "web"]).ok();
    let after = p.container("web");
    assert_eq!(before.id, after.id, "the same container");
    assert!(after.running());
    assert_ne!(before.started_at(), after.started_at());
    assert_eq!(
        p.container("db").started_at(),
        db_before.started_at(),
        "only the named service restarts"
    );
}

#[test]
fn start_without_containers_points_at_up() {
    let p = Project::with_stack("start-none", &db_and_web("1"));
    p.berth(&["start"]).code_is(1).says("run `berth up`");
}
