//! `berth up` on an empty engine, and again on a converged stack.

use crate::engine::*;

/// Two tiers on two networks, a named volume, an alias, a published port and
/// a healthcheck.
const TWO_TIER: &str = r#"
services:
  web:
    image: {IMAGE}
    command: ["sh", "-c", "echo web > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    networks: [front, back]
    ports: ["127.0.0.1::8080"]
    depends_on: [api]
  api:
    image: {IMAGE}
    command: ["sh", "-c", "echo api > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    environment:
      GREETING: hello
    networks:
      back:
        aliases: [backend]
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 20
networks:
  front: {}
  back: {}
volumes:
  data: {}
"#;

#[test]
fn up_creates_networks_volumes_and_running_containers() {
    let p = Project::up("create", TWO_TIER);

    let names: Vec<String> = p.containers().iter().map(|c| c.name.clone()).collect();
    let n = &p.name;
    assert_eq!(names, [format!("{n}-api-1"), format!("{n}-web-1")]);
    assert_eq!(p.networks(), [format!("{n}_back"), format!("{n}_front")]);
    assert_eq!(p.volumes(), [format!("{n}_data")]);

    let web = p.container("web");
    let api = p.container("api");
    assert!(web.running() && api.running(), "both run: {web:?} {api:?}");
    assert_eq!(web.networks(), [format!("{n}_back"), format!("{n}_front")]);
    assert_eq!(api.networks(), [format!("{n}_back")]);
    assert_eq!(
        api.json["Config"]["Labels"]["io.berth.project"].as_str(),
        Some(n.as_str())
    );
    assert!(
        api.json["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hello"),
        "env set: {}",
        api.json["Config"]["Env"]
    );
    let mounts = &api.json["Mounts"];
    assert!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == format!("{n}_data").as_str() && m["Destination"] == "/data"),
        "volume mounted: {mounts}"
    );
    // The service name and the alias resolve on the shared network.
    assert_eq!(web.exec("wget -q -O- http://api:8080/").trim(), "api");
    assert_eq!(web.exec("wget -q -O- http://backend:8080/").trim(), "api");
    // The published port answers on loopback.
    let port = docker(&["port", &web.id, "8080/tcp"]);
    let addr = port
        .lines()
        .next()
        .expect("a published port")
        .trim()
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "published on loopback: {addr}"
    );
    let mut s = std::net::TcpStream::connect(&addr).expect("connect to the published port");
    use std::io::{Read, Write};
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.ends_with("web\n"), "served by web: {body:?}");
}

#[test]
fn second_up_changes_nothing() {
    let p = Project::up("noop", TWO_TIER);
    // Each container's name, id and start, and the networks' ids.
    let snapshot = |p: &Project| {
        let containers: Vec<(String, String, String)> = p
            .containers()
            .iter()
            .map(|c| (c.name.clone(), c.id.clone(), c.started_at().to_string()))
            .collect();
        let filter = format!("label={LABEL}={}", p.name);
        let networks = docker_lines(&["network", "ls", "-q", "--filter", &filter]);
        (containers, networks)
    };
    let (before, nets) = snapshot(&p);

    let t0 = now_secs();
    p.berth(&["up"]).ok().says_nothing_changed();
    let t1 = now_secs() + 0.5;
    std::thread::sleep(std::time::Duration::from_millis(600));

    let (after, nets_after) = snapshot(&p);
    assert_eq!(before, after, "same containers, not restarted");
    assert_eq!(nets, nets_after);
    let events: Vec<String> = p
        .events_between(t0, t1)
        .into_iter()
        .filter(|e| !e.contains("health_status"))
        .collect();
    assert!(
        events.is_empty(),
        "the second up changed something: {events:#?}"
    );

    p.berth(&["plan"]).code_is(0).says_nothing_changed();
}

#[test]
fn plan_lists_the_steps_and_exits_3_until_up() {
    let p = Project::with_stack("plan", TWO_TIER);
    let plan = p.berth(&["plan"]).code_is(3);
    let n = &p.name;
    plan.says(&format!("{n}_front"))
        .says(&format!("{n}_data"))
        .says(&format!("{n}-web-1"))
        .says("not found");
    assert!(p.containers().is_empty(), "plan changes nothing");
    assert!(p.networks().is_empty() && p.volumes().is_empty());
}

#[test]
fn ps_json_lists_each_service_container() {
    let p = Project::up("ps", TWO_TIER);
    let ps = p.berth(&["ps", "--format", "json"]).ok();
    let text = ps.stdout().trim();
    // One JSON document (an array) or one object per line, as compose does.
    let rows: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a,
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect(),
    };
    assert_eq!(rows.len(), 2, "one row per container: {text}");
    for svc in ["api", "web"] {
        let row = rows
            .iter()
            .find(|r| r.to_string().contains(&format!("{}-{svc}-1", p.name)))
            .unwrap_or_else(|| panic!("no row for {svc}: {text}"));
        let s = row.to_string().to_lowercase();
        assert!(
            s.contains(&format!("\"{svc}\"")),
            "row names its service: {row}"
        );
        assert!(s.contains("running"), "row gives the state: {row}");
    }
}

/// `bench/slowlink.py` in front of the test engine: 100 ms each way (long
/// enough that a busy machine sends a wave's requests well within it), and
/// a count of the sequential round trips ("waves") of what goes through it.
struct SlowLink {
    child: std::process::Child,
    dir: tempfile::TempDir,
    host: String,
}

impl SlowLink {
    fn start() -> SlowLink {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        let socket = engine
            .strip_prefix("unix://")
            .expect("the test engine is on a unix socket");
        let mut child = std::process::Command::new("python3")
            .arg(crate::support::repo().join("bench/slowlink.py"))
            .args(["serve", "--delay-ms", "100", "--lifetime", "120"])
            .arg("--target")
            .arg(format!("unix:{socket}"))
            .arg("--control")
            .arg(dir.path().join("control"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs bench/slowlink.py");
        let mut port = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .expect("the proxy prints its port");
        SlowLink {
            child,
            dir,
            host: format!("tcp://127.0.0.1:{}", port.trim()),
        }
    }

    /// The waves since the last call, and the count set to zero.
    fn waves(&self) -> u64 {
        use std::io::{BufRead, Write};
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut s = std::os::unix::net::UnixStream::connect(self.dir.path().join("control"))
            .expect("the proxy's control socket");
        s.write_all(b"reset\n").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(s).read_line(&mut line).unwrap();
        let stats: Value = serde_json::from_str(&line).expect("the proxy's stats");
        stats["waves"].as_u64().expect("a wave count")
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn no_op_up_plan_and_ps_are_one_round_trip_each_over_a_slow_link() {
    let p = Project::up("slowlink", TWO_TIER);
    let link = SlowLink::start();
    let over = |args: &[&str]| {
        p.command(&["compose.yaml"], args)
            .env("DOCKER_HOST", &link.host)
            .run()
    };
    link.waves();
    over(&["up"]).ok().says_nothing_changed();
    assert_eq!(link.waves(), 1, "no-op up");
    over(&["plan"]).code_is(0).says_nothing_changed();
    assert_eq!(link.waves(), 1, "plan");
    over(&["ps"]).ok().says(&format!("{}-web-1", p.name));
    assert_eq!(link.waves(), 1, "ps");
}
