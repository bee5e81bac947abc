//! Crashes and races: `up` killed half-way, two `up`s at once.

use crate::engine::*;

use std::collections::BTreeMap;
use std::time::Duration;

/// Services s1..s6 behind a dependency that turns healthy after 3 s, so an
/// `up` is still in progress when it gets killed.
fn slow_stack() -> String {
    let mut y = String::from(
        r#"
services:
  gate:
    image: {IMAGE}
    command: ["sh", "-c", "rm -f /tmp/ready; sleep 3; touch /tmp/ready; exec sleep 3600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
    networks: [net]
"#,
    );
    for i in 1..=6 {
        let dep = if i % 2 == 0 {
            "    depends_on:\n      gate:\n        condition: service_healthy\n"
        } else {
            ""
        };
        y.push_str(&format!(
            "  s{i}:\n    image: {{IMAGE}}\n    command: [\"sh\", \"-c\", \"sleep 3600\"]\n    networks: [net]\n    volumes: [data:/data]\n{dep}"
        ));
    }
    y.push_str("networks:\n  net: {}\nvolumes:\n  data: {}\n");
    y
}

/// Exactly one running container per service, named `<project>-<service>-1`,
/// one network and one volume.
fn assert_converged(p: &Project) {
    let mut by_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in p.containers() {
        by_service
            .entry(c.service().to_string())
            .or_default()
            .push(format!("{} ({})", c.name, c.status()));
    }
    let services = ["gate", "s1", "s2", "s3", "s4", "s5", "s6"];
    assert_eq!(
        by_service.keys().map(String::as_str).collect::<Vec<_>>(),
        services,
        "{by_service:#?}"
    );
    for (svc, cs) in &by_service {
        assert_eq!(
            cs,
            &[format!("{}-{svc}-1 (running)", p.name)],
            "one running container for {svc}"
        );
    }
    assert_eq!(p.networks(), [format!("{}_net", p.name)], "one network");
    assert_eq!(p.volumes(), [format!("{}_data", p.name)], "one volume");
}

#[test]
fn up_killed_with_sigkill_then_up_again_converges_without_duplicates() {
    let p = Project::with_stack("sigkill", &slow_stack());
    let mut up = p.spawn(&["up"]);
    // Kill once something exists but before the gated services could start.
    let started = wait_until(Duration::from_secs(30), || !p.containers().is_empty());
    assert!(started, "berth up created nothing within 30 s");
    std::thread::sleep(Duration::from_millis(300));
    let finished_early = up.has_exited();
    up.kill9();
    assert!(!finished_early, "up finished before it could be killed");

    p.berth(&["up"]).ok();
    assert_converged(&p);
    p.berth(&["plan"]).code_is(0);
}

#[test]
fn two_concurrent_ups_create_one_set_of_containers() {
    let p = Project::with_stack("race", &slow_stack());
    let a = p.spawn(&["up"]);
    let b = p.spawn(&["up"]);
    let ra = a.wait();
    let rb = b.wait();
    assert_converged(&p);
    ra.ok();
    rb.ok();
    p.berth(&["plan"]).code_is(0);
}
