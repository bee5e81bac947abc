//! `ps --swarm` and `logs --swarm` on a one-node swarm: a two-service stack
//! by service (mode, replicas, image, ports) and task, in a table and as
//! JSON, and a service's output prefixed with its task.
//!
//! Like `swarm.rs`, the stack uses `endpoint_mode: dnsrr` and a port in
//! `host` mode: the kernel here has no IPVS, so virtual IPs and the ingress
//! mesh do not route (and `ps --swarm` would add a note saying so).

use crate::engine::*;

use serde_json::Value;
use std::time::Duration;

/// db (no port) and web (a host-mode port), both printing a line when they
/// start, then serving.
fn stack(port: u16) -> String {
    format!(
        r#"
services:
  db:
    image: {{IMAGE}}
    command: [sh, -c, "trap 'exit 0' TERM; echo db ready; mkdir -p /www; httpd -f -p 7000 -h /www & wait"]
    deploy:
      endpoint_mode: dnsrr
  web:
    image: {{IMAGE}}
    command: [sh, -c, "trap 'exit 0' TERM; echo web says hello to {{P}}; mkdir -p /www; httpd -f -p 8080 -h /www & wait"]
    ports:
      - {{target: 8080, published: {port}, mode: host}}
    deploy:
      endpoint_mode: dnsrr
"#
    )
}

/// The whitespace-separated cells of the table line that starts with
/// `first`.
fn cells(table: &str, first: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no line for {first} in:\n{table}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn ps_and_logs_show_a_swarm_stack_by_service_and_task() {
    let _swarm = Swarm::join();
    let p = Project::new("swarm-ps");
    let port = free_port();
    let (db, web) = (format!("{}_db", p.name), format!("{}_web", p.name));
    p.write("compose.yaml", &stack(port));
    p.berth(&["up", "--swarm", "--wait"]).ok();
    let node = docker(&[
        "node",
        "inspect",
        "self",
        "--format",
        "{{.Description.Hostname}}",
    ])
    .trim()
    .to_string();

    // The table: a row per service, then a row per running task.
    let ps = p.berth(&["ps", "--swarm"]).ok();
    let table = ps.stdout();
    assert_eq!(
        table
            .lines()
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec![
            "SERVICE", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"
        ])
    );
    assert_eq!(cells(table, "db"), ["db", &db, "replicated", "1/1", IMAGE]);
    assert_eq!(
        cells(table, "web"),
        [
            "web",
            &web,
            "replicated",
            "1/1",
            IMAGE,
            &format!("{port}->8080/tcp"),
            "(host)"
        ]
    );
    for task in ["db.1", "web.1"] {
        let row = cells(table, task);
        assert_eq!(row[..4], [task, &node, "running", "for"], "{table}");
    }
    assert_eq!(
        table.lines().filter(|l| l.contains(".1 ")).count(),
        2,
        "one task each: {table}"
    );
    assert!(
        !table.contains("note:"),
        "dnsrr and host mode need no note: {table}"
    );

    // JSON: one object per service, its tasks inside.
    let json = p.berth(&["ps", "--swarm", "--format", "json"]).ok();
    let objects: Vec<Value> = json
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 2, "{}", json.stdout());
    let w = &objects[1];
    assert_eq!(objects[0]["Service"], "db");
    assert_eq!(w["Service"], "web");
    assert_eq!(w["Name"], web.as_str());
    assert_eq!(w["Mode"], "replicated");
    assert_eq!(w["Replicas"], "1/1");
    assert_eq!(
        (w["Running"].as_u64(), w["Desired"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(w["Image"], IMAGE);
    assert_eq!(w["Ports"], format!("{port}->8080/tcp (host)"));
    let tasks = w["Tasks"].as_array().expect("a Tasks array");
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t["Task"], "web.1");
    assert_eq!(t["Slot"], 1);
    assert_eq!(t["Node"], node.as_str());
    assert_eq!(t["State"], "running");
    assert_eq!(t["DesiredState"], "running");
    assert_eq!(t["Error"], "");
    assert!(t["ID"].as_str().is_some_and(|id| !id.is_empty()));

    // logs: web's line, prefixed with its task; nothing of db's.
    let want = format!("web.1 | web says hello to {}", p.name);
    let mut out = String::new();
    wait_until(Duration::from_secs(10), || {
        out = p
            .berth(&["logs", "--swarm", "web"])
            .ok()
            .stdout()
            .to_string();
        out.lines().any(|l| l == want)
    });
    assert!(out.lines().any(|l| l == want), "{out}");
    assert!(out.lines().all(|l| l.starts_with("web.1 | ")), "{out}");

    p.berth(&["down", "--swarm"]).ok();
    assert!(services_of(&p.name).is_empty());
}
