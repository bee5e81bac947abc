//! Operating a running stack: `logs`, `exec`, `start`, `stop`, `restart`.

use super::*;

const TWO: &str = r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db boot $$RANDOM$$RANDOM; echo db one; echo db two; echo db three; exec sleep 3600"]
    environment:
      REV: "{REV}"
  web:
    image: {IMAGE}
    command: ["sh", "-c", "echo web hello; exec sleep 3600"]
    depends_on: [db]
"#;

fn two(rev: &str) -> String {
    TWO.replace("{REV}", rev)
}

#[test]
fn logs_prefixes_each_service_padded_and_tail_limits_the_lines() {
    let p = Project::new("logs");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();
    let all = p.berth(&["logs"]).ok();
    let mut lines: Vec<&str> = all.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 5, "{}", all.stdout);
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
    assert_eq!(tail.stdout, "db-1  | db three\n");

    let stamped = p.berth(&["logs", "-t", "--tail", "1", "web"]).ok();
    let line = stamped.stdout.trim_end();
    let (head, rest) = line.split_once(" | ").expect("prefix");
    assert_eq!(head, "web-1");
    let (stamp, text) = rest.split_once(' ').expect("timestamp");
    assert!(stamp.ends_with('Z') && stamp.contains('T'), "{line}");
    assert_eq!(text, "web hello");
}

/// The lines of `s`'s stdout file so far.
fn output_so_far(s: &Spawned) -> String {
    std::fs::read_to_string(&s.out_path).unwrap_or_default()
}

fn boots(text: &str) -> usize {
    text.lines().filter(|l| l.contains("db boot")).count()
}

#[test]
fn logs_follow_joins_a_restarted_and_a_recreated_container() {
    let p = Project::new("logsf");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();
    let mut follow = p.spawn(&["logs", "-f", "db"]);
    let seen = |n: usize| {
        wait_until(Duration::from_secs(20), || {
            boots(&output_so_far(&follow)) >= n
        })
    };
    assert!(seen(1), "first lines: {}", output_so_far(&follow));

    docker(&["restart", "-t", "0", &p.container("db").id]);
    assert!(seen(2), "after restart: {}", output_so_far(&follow));

    p.write("compose.yaml", &two("2"));
    p.berth(&["up"]).ok();
    assert!(seen(3), "after recreate: {}", output_so_far(&follow));

    // Give a wrongly re-joined stream time to repeat what was shown.
    std::thread::sleep(Duration::from_millis(2500));
    follow.kill9();
    let out = output_so_far(&follow);
    assert_eq!(boots(&out), 3, "{out}");
    assert_eq!(
        out.lines().filter(|l| *l == "db-1  | db one").count(),
        3,
        "each start's lines once: {out}"
    );
    assert!(out.lines().all(|l| l.starts_with("db-1  | ")), "{out}");
}

#[test]
fn exec_prints_the_commands_output_and_exits_with_its_code() {
    let p = Project::new("exec");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();
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
    assert_eq!(run.stdout, "hi\n");
    assert!(run.stderr.contains("oops"), "{}", run.stderr);

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
    assert_eq!(run.stdout, "bar\n/tmp\n1000\n");
}

#[test]
fn exec_in_a_service_without_a_running_container_says_so() {
    let p = Project::new("exec-none");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();
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
    let p = Project::new("stopstart");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();

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
    let p = Project::new("restart");
    p.write("compose.yaml", &two("1"));
    p.berth(&["up"]).ok();
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
    let p = Project::new("start-none");
    p.write("compose.yaml", &two("1"));
    p.berth(&["start"]).code_is(1).says("run `berth up`");
}
