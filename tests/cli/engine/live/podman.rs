//! podman's Docker-compatible API (issue 19): `up`, `plan`, `ps`, `logs`,
//! `exec`, `--wait` and `down` against Debian's podman 4.3
//! `podman system service`, on its own socket.
//!
//! `scripts/podman` (run by `scripts/test`) installs podman, starts the
//! service at `/run/berth-podman/podman.sock` (or `$BERTH_PODMAN_SOCK`) and
//! loads the test image into it. When nothing answers there these tests
//! fail, saying so: they are never skipped. Assertions about what podman
//! holds go through the `podman` CLI, which reads the same storage as the
//! service (both run as root).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::engine::*;
use crate::support::{Berth, Run};

/// Where the tests find podman's service.
fn socket() -> String {
    std::env::var("BERTH_PODMAN_SOCK")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/run/berth-podman/podman.sock".to_string())
}

/// `podman ARGS`, its stdout; empty when it fails.
fn podman(args: &[&str]) -> String {
    Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn podman_lines(args: &[&str]) -> Vec<String> {
    podman(args)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Fails the test, saying what to do, unless podman's service answers on
/// its socket and holds the test image.
fn require_podman() {
    let sock = socket();
    let url = format!("unix://{sock}");
    let ping = Command::new("timeout")
        .args(["10", "podman", "--remote", "--url", &url, "version"])
        .stdin(Stdio::null())
        .output();
    let answers = matches!(&ping, Ok(o) if o.status.success());
    assert!(
        answers,
        "the podman tests need `podman system service` at unix://{sock} (from \
         BERTH_PODMAN_SOCK, or the default): run `scripts/podman` (scripts/test does)"
    );
    assert!(
        !podman_lines(&["images", "-q", IMAGE]).is_empty(),
        "podman has no {IMAGE}: run `scripts/podman` (it loads the image from the Docker engine)"
    );
}

/// One test's project on podman, taken away on drop (`berth down
/// --volumes`, then whatever is left by its label, and its release images)
/// even when the test fails.
struct PodmanProject {
    name: String,
    dir: tempfile::TempDir,
}

impl PodmanProject {
    fn new(test: &str, yaml: &str) -> PodmanProject {
        require_podman();
        let name = format!("bt-pm-{test}-{}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .expect("temp dir");
        let p = PodmanProject { name, dir };
        p.cleanup();
        std::fs::write(
            p.dir.path().join("compose.yaml"),
            yaml.replace("{IMAGE}", IMAGE),
        )
        .expect("write stack file");
        p
    }

    /// `berth -p NAME ARGS` in the project's directory, on podman.
    fn berth(&self, args: &[&str]) -> Run {
        Berth::new()
            .current_dir(self.dir.path())
            .args(["-p", &self.name])
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket()))
            .run()
    }

    fn filter(&self) -> String {
        format!("label={LABEL}={}", self.name)
    }

    fn containers(&self) -> Vec<String> {
        podman_lines(&[
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &self.filter(),
        ])
    }

    fn cleanup(&self) {
        let _ = self.berth(&["down", "--volumes", "--remove-orphans"]);
        let filter = self.filter();
        for id in podman_lines(&["ps", "-aq", "--filter", &filter]) {
            podman(&["rm", "-f", "-v", &id]);
        }
        for n in podman_lines(&["network", "ls", "-q", "--filter", &filter]) {
            podman(&["network", "rm", "-f", &n]);
        }
        for v in podman_lines(&["volume", "ls", "-q", "--filter", &filter]) {
            podman(&["volume", "rm", "-f", &v]);
        }
        // Release records and the tags keeping their images: podman writes
        // them under `localhost/` or `docker.io/`. Removed by reference, so
        // the test image itself stays.
        let releases = format!("berth-releases/{}", self.name);
        for r in podman_lines(&["images", "--format", "{{.Repository}}:{{.Tag}}"]) {
            if r.contains(&format!("/{releases}:")) || r.contains(&format!("/{releases}/")) {
                podman(&["rmi", &r]);
            }
        }
    }
}

impl Drop for PodmanProject {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A web service serving a file from a named volume on a published port of
/// 127.0.0.1, on a network of the stack's own, with the limits podman reads
/// back in shapes of its own; and a database it depends on.
fn web_stack(port: u16) -> String {
    format!(
        r#"
services:
  db:
    image: {{IMAGE}}
    command: ["sh", "-c", "echo db ready; exec sleep 3600"]
    networks: [back]
  web:
    image: {{IMAGE}}
    command: ["sh", "-c", "echo served > /data/index.html; echo web up; exec httpd -f -p 8080 -h /data"]
    depends_on: [db]
    ports: ["127.0.0.1:{port}:8080"]
    volumes: [site:/data]
    networks: [back]
    cpus: 0.5
    mem_limit: 64m
    restart: unless-stopped
volumes:
  site: {{}}
networks:
  back: {{}}
"#
    )
}

#[test]
fn a_stack_goes_up_converges_and_comes_down_on_podman() {
    let port = free_port();
    let p = PodmanProject::new("web", &web_stack(port));
    // The ports preflight lists containers by `publish`, a filter podman
    // 4.3 does not know.
    p.berth(&["up"]).ok();
    let served = wait_until(
        Duration::from_secs(10),
        || matches!(http(port, "GET", "/index.html", None), Ok((200, ref b)) if b.trim() == "served"),
    );
    assert!(served, "{:?}", http(port, "GET", "/index.html", None));

    // Converged: limits, pids limit and the network's IPAM options as
    // podman reads them back are no change.
    p.berth(&["plan"]).code_is(0).says("no changes");
    p.berth(&["up", "--wait"]).ok().says_nothing_changed();
    // podman lists the release record and the tags keeping its images with
    // registry names of its own, and ANDs several reference filters.
    p.berth(&["releases"]).ok().says("kept");

    let ps = p.berth(&["ps"]).ok();
    ps.says(&format!("{}-web-1", p.name))
        .says(&format!("{}-db-1", p.name))
        .says(&format!("127.0.0.1:{port}->8080/tcp"));
    p.berth(&["logs", "web"]).ok().says("web up");

    // The ports preflight finds the holder of a port by listing containers
    // without `publish` and filtering in berth.
    let other = PodmanProject::new(
        "web-other",
        &format!("services:\n  web:\n    image: {{IMAGE}}\n    ports: [\"127.0.0.1:{port}:80\"]\n"),
    );
    let refused = other.berth(&["plan"]);
    assert!(!refused.succeeded(), "{}", refused.output());
    refused.says_wrapped(&format!(
        "is already published by container {}-web-1 (berth project {})",
        p.name, p.name
    ));
    drop(other);

    let exec = p
        .berth(&["exec", "-T", "web", "cat", "/data/index.html"])
        .ok();
    assert_eq!(exec.stdout().trim(), "served");

    p.berth(&["down", "--volumes"]).ok();
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    assert!(
        podman_lines(&["volume", "ls", "-q", "--filter", &p.filter()]).is_empty(),
        "down --volumes leaves no volume"
    );
}

#[test]
fn a_health_gated_stack_on_podman_fails_naming_systemd_instead_of_hanging() {
    let p = PodmanProject::new(
        "health",
        r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      timeout: 1s
      start_period: 1s
  web:
    image: {IMAGE}
    command: ["sh", "-c", "exec sleep 3600"]
    depends_on:
      db: {condition: service_healthy}
"#,
    );
    let started = Instant::now();
    let up = p.berth(&["up"]);
    let took = started.elapsed();
    assert!(!up.succeeded(), "{}", up.output());
    for needle in [
        "service db did not meet its condition service_healthy",
        "the engine has not run its health check once",
        "podman runs them from systemd timers",
        &format!("`podman healthcheck run {}-db-1`", p.name),
        "drop `condition: service_healthy`",
    ] {
        up.says_wrapped(needle);
    }
    // start_period 1 s + 3 intervals of 1 s + a timeout of 1 s, and polling.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let web = format!("{}-web-1", p.name);
    assert_ne!(
        podman(&["inspect", "--format", "{{.State.Running}}", &web]).trim(),
        "true",
        "web does not start before db is healthy"
    );

    // `--wait` on a stack without the condition says the same.
    let waited = p.berth(&["up", "--wait", "db"]);
    assert!(!waited.succeeded(), "{}", waited.output());
    waited.says_wrapped("podman runs them from systemd timers");
}

#[test]
fn a_start_first_service_with_a_published_port_rolls_through_its_edge_on_podman() {
    let port = free_port();
    let stack = |rev: &str| {
        format!(
            r#"
services:
  web:
    image: {{IMAGE}}
    command: ["sh", "-c", "echo v$$REV > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    environment: {{REV: "{rev}"}}
    ports: ["127.0.0.1:{port}:8080"]
    deploy:
      update_config: {{order: start-first, monitor: 1s}}
"#
        )
    };
    let p = PodmanProject::new("edge", &stack("1"));
    p.berth(&["up"]).ok();
    let serves = |want: &str| {
        wait_until(
            Duration::from_secs(10),
            || matches!(http(port, "GET", "/index.html", None), Ok((200, ref b)) if b.trim() == want),
        )
    };
    assert!(serves("v1"), "{:?}", http(port, "GET", "/index.html", None));
    // The edge holds the port, and reaches podman through the socket
    // DOCKER_HOST names.
    assert!(
        p.containers().contains(&format!("{}-web-edge", p.name)),
        "{:?}",
        p.containers()
    );

    std::fs::write(
        p.dir.path().join("compose.yaml"),
        stack("2").replace("{IMAGE}", IMAGE),
    )
    .expect("write stack file");
    p.berth(&["up"]).ok().says("Pointed");
    assert!(serves("v2"), "{:?}", http(port, "GET", "/index.html", None));
    p.berth(&["plan"]).code_is(0).says("no changes");
}
