//! Engine tests: `berth up/plan/down/ps` against a real Docker engine.
//!
//! Each test gets its own project (`bt-<test>-<pid>`), a temporary directory
//! for its stack files, and a [`Project`] guard whose `Drop` removes every
//! container, network and volume labelled with that project, and the images
//! its releases left (`berth-releases/<project>...`), even when the test
//! panics. Assertions go through the `docker` CLI, never through berth's
//! own code, so that they check what the engine really holds.
//!
//! There is no skipping: when no engine answers (or the test image is
//! missing) every engine test fails with a message saying what to do. CI gets
//! both from `scripts/test`. Tests run in parallel against one shared engine,
//! so nothing here looks at resources of other projects, and every berth run
//! has a time limit.

/// The tests proper, all of which need the engine. Their names start with
/// `engine::live::`, like the engine adapter's own tests in
/// `src/engine/live.rs`, so that `cargo test -- --skip engine::live` runs
/// every test that needs no engine, and `cargo test engine::live` only
/// those that do.
mod live {
    mod changes;
    mod contexts;
    mod crash;
    mod demo;
    mod down;
    mod dry_run;
    mod edge;
    mod edges;
    mod engine_killed;
    mod images;
    mod labs;
    mod ls;
    mod newer_keys;
    mod operate;
    mod order;
    mod ownership;
    mod plan_json;
    mod podman;
    mod ps_compose;
    mod reaching_changes;
    mod recreate_crash;
    mod releases;
    mod rollback;
    mod rollout;
    mod rollout_crash;
    mod secrets;
    mod ssh;
    mod swarm;
    mod swarm_demo;
    mod swarm_nodes;
    mod swarm_ps;
    mod swarm_releases;
    mod swarm_roll;
    mod swarm_secrets;
    mod up;
    mod watch;
    mod wordpress;
}

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Berth, Run, Spawned, repo};

pub const IMAGE: &str = "berth-test/busybox:latest";
pub const LABEL: &str = "io.berth.project";

/// A service `name` (YAML under `services:`) that runs the test image and
/// does nothing; `more` adds keys to it, as YAML lines indented by four.
pub fn idle(name: &str, more: &str) -> String {
    format!("  {name}:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"sleep 3600\"]\n{more}")
}

/// Two services, `web` after `db`. db logs four lines when it starts (the
/// first a different one each time) and keeps `/data` on the named volume
/// `data`; web logs one. A new `rev` changes db's environment, so that `up`
/// recreates db.
pub fn db_and_web(rev: &str) -> String {
    r#"
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db boot $$RANDOM$$RANDOM; echo db one; echo db two; echo db three; exec sleep 3600"]
    environment:
      REV: "{REV}"
    volumes:
      - data:/data
  web:
    image: {IMAGE}
    command: ["sh", "-c", "echo web hello; exec sleep 3600"]
    depends_on: [db]
volumes:
  data: {}
"#
    .replace("{REV}", rev)
}

/// Fails the test (with what to do) unless an engine answers and the test
/// image exists. Checked once per test binary.
pub fn require_engine() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECK.get_or_init(|| {
        let info = Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .stdin(Stdio::null())
            .output();
        match info {
            Err(e) => return Err(format!("cannot run `docker`: {e}")),
            Ok(o) if !o.status.success() => {
                return Err(format!(
                    "no Docker engine answers{}: {}",
                    std::env::var("DOCKER_HOST")
                        .map(|h| format!(" at {h}"))
                        .unwrap_or_default(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Ok(_) => {}
        }
        let image = Command::new("docker")
            .args(["image", "inspect", IMAGE])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match image {
            Ok(s) if s.success() => Ok(()),
            _ => Err(format!("the test image {IMAGE} is missing")),
        }
    });
    if let Err(e) = result {
        panic!(
            "engine tests need a Docker engine and the test image: {e}.\n\
             Run `scripts/test` (it installs docker.io, starts dockerd and builds the image), \
             or start dockerd and run `scripts/test-image`."
        );
    }
}

/// One test's project: a unique name, a directory for its stack files, and
/// cleanup of everything carrying its label when dropped.
pub struct Project {
    pub name: String,
    pub dir: tempfile::TempDir,
    /// Unlabelled resources the test made itself, removed on drop as well.
    pub extra_networks: Vec<String>,
    pub extra_images: Vec<String>,
}

impl Project {
    pub fn new(test: &str) -> Project {
        require_engine();
        let name = format!("bt-{test}-{}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .expect("temp dir");
        let p = Project {
            name,
            dir,
            extra_networks: Vec::new(),
            extra_images: Vec::new(),
        };
        // Leftovers of an earlier run with the same pid would confuse the test.
        p.cleanup();
        p
    }

    /// A project whose `compose.yaml` is `yaml`, written as
    /// [`Project::write`] writes it.
    pub fn with_stack(test: &str, yaml: &str) -> Project {
        let p = Project::new(test);
        p.write("compose.yaml", yaml);
        p
    }

    /// A project whose `compose.yaml` is `yaml`, brought up (`berth up`
    /// must succeed).
    #[track_caller]
    pub fn up(test: &str, yaml: &str) -> Project {
        let p = Project::with_stack(test, yaml);
        p.berth(&["up"]).ok();
        p
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Writes `compose.yaml` (or another file) with `{P}` replaced by the
    /// project name and `{IMAGE}` by the test image.
    pub fn write(&self, file: &str, yaml: &str) {
        let text = yaml.replace("{P}", &self.name).replace("{IMAGE}", IMAGE);
        std::fs::write(self.path(file), text).expect("write stack file");
    }

    /// A build context `app/` whose image only sleeps, for `service`; its
    /// tag `<project>-<service>` is removed when the test ends.
    pub fn sleeper_context(&mut self, service: &str) -> String {
        let tag = format!("{}-{service}", self.name);
        self.extra_images.push(tag.clone());
        std::fs::create_dir_all(self.path("app")).unwrap();
        self.write(
            "app/Dockerfile",
            "FROM {IMAGE}\nCMD [\"sleep\", \"3600\"]\n",
        );
        tag
    }

    /// `berth -f compose.yaml -p <name> ARGS`, run to the end.
    pub fn berth(&self, args: &[&str]) -> Run {
        self.berth_files(&["compose.yaml"], args)
    }

    pub fn berth_files(&self, files: &[&str], args: &[&str]) -> Run {
        self.command(files, args).run()
    }

    /// Starts `berth -f compose.yaml -p <name> ARGS` without waiting.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        self.command(&["compose.yaml"], args).spawn()
    }

    /// `berth -f FILE... -p <name> ARGS` in the project's directory, talking
    /// to the engine the tests use.
    pub fn command(&self, files: &[&str], args: &[&str]) -> Berth {
        let mut berth = Berth::new().current_dir(self.dir.path());
        for f in files {
            berth = berth.args(["-f", f]);
        }
        berth = berth.args(["-p", &self.name]).args(args);
        for key in ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] {
            if let Some(v) = std::env::var_os(key) {
                berth = berth.env(key, v);
            }
        }
        berth
    }

    /// Removes everything labelled with this project, its release images,
    /// and the test's extras.
    pub fn cleanup(&self) {
        let filter = format!("label={LABEL}={}", self.name);
        // Swarm services first (there are none without a swarm), then their
        // tasks' containers, before the networks they use.
        let services = docker_lines(&["service", "ls", "-q", "--filter", &filter]);
        let tasks = format!("label=com.docker.stack.namespace={}", self.name);
        if !services.is_empty() {
            let mut args = vec!["service", "rm"];
            args.extend(services.iter().map(String::as_str));
            let _ = docker_try(&args);
            wait_until(Duration::from_secs(30), || {
                docker_lines(&["ps", "-q", "--filter", &tasks]).is_empty()
            });
        }
        // The stopped ones too: Docker 20.10 keeps a completed job's
        // container after its service is removed. Also when no service is
        // left: a task's container outlives a service that `down --swarm`
        // removed (for a moment, or for ever when the down failed), holds
        // its volumes, and carries no project label.
        let stopped = docker_lines(&["ps", "-aq", "--filter", &tasks]);
        if !stopped.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(stopped.iter().map(String::as_str));
            let _ = docker_try(&args);
        }
        // Secrets and configs once no service uses them (none without a
        // swarm: the list fails and is empty).
        for kind in ["secret", "config"] {
            for id in docker_lines(&[kind, "ls", "-q", "--filter", &filter]) {
                let _ = docker_try(&[kind, "rm", &id]);
            }
        }
        let ids = docker_lines(&["ps", "-aq", "--filter", &filter]);
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            let _ = docker_try(&args);
        }
        let mut nets = docker_lines(&["network", "ls", "-q", "--filter", &filter]);
        nets.extend(self.extra_networks.iter().cloned());
        for n in nets {
            let _ = docker_try(&["network", "rm", &n]);
        }
        for v in docker_lines(&["volume", "ls", "-q", "--filter", &filter]) {
            let _ = docker_try(&["volume", "rm", "-f", &v]);
        }
        for r in self.release_images() {
            let _ = docker_try(&["image", "rm", &r]);
        }
        for i in &self.extra_images {
            let _ = docker_try(&["image", "rm", i]);
        }
    }

    /// The project's release records (`berth-releases/<project>:<N>`) and
    /// the tags that keep its releases' images
    /// (`berth-releases/<project>/<service>:<N>`), as `repo:tag`, sorted.
    /// Removed by these references, never by id: a tag on the shared test
    /// image goes, the image stays.
    pub fn release_images(&self) -> Vec<String> {
        let repo = format!("berth-releases/{}", self.name);
        let mut v = docker_lines(&[
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &format!("reference={repo}"),
            "--filter",
            &format!("reference={repo}/*"),
        ]);
        v.sort();
        v
    }

    /// The project's containers (all states), by name.
    pub fn containers(&self) -> Vec<Container> {
        let filter = format!("label={LABEL}={}", self.name);
        let ids = docker_lines(&["ps", "-aq", "--filter", &filter]);
        // A container can vanish between the list and the inspect: the engine
        // finishes a remove that a killed berth had asked for.
        let mut out: Vec<Container> = ids
            .iter()
            .filter(|id| exists("container", id))
            .map(|id| Container::inspect(id))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn container(&self, service: &str) -> Container {
        let mut of: Vec<Container> = self
            .containers()
            .into_iter()
            .filter(|c| c.service() == service)
            .collect();
        assert_eq!(
            of.len(),
            1,
            "expected one container of service {service}, found {:?}",
            of.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
        of.remove(0)
    }

    /// Names of the project's networks (by label), sorted.
    pub fn networks(&self) -> Vec<String> {
        let filter = format!("label={LABEL}={}", self.name);
        let mut v = docker_lines(&[
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}}",
        ]);
        v.sort();
        v
    }

    /// Names of the project's volumes (by label), sorted.
    pub fn volumes(&self) -> Vec<String> {
        let filter = format!("label={LABEL}={}", self.name);
        let mut v = docker_lines(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]);
        v.sort();
        v
    }

    /// Engine events about this project's resources between two instants.
    pub fn events_between(&self, since: f64, until: f64) -> Vec<String> {
        let since = format!("{since:.3}");
        let until = format!("{until:.3}");
        docker_lines(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}",
        ])
        .into_iter()
        .filter(|l| {
            l.contains(&format!("{}-", self.name)) || l.contains(&format!("{}_", self.name))
        })
        // Health probes run as execs; they are the engine's doing, not berth's.
        .filter(|l| !l.contains("exec_"))
        .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A container as `docker inspect` shows it.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub json: Value,
}

impl Container {
    pub fn inspect(id: &str) -> Container {
        let text = docker(&["inspect", "--type", "container", id]);
        let v: Value = serde_json::from_str(&text).expect("inspect json");
        let json = v[0].clone();
        Container {
            id: json["Id"].as_str().unwrap_or_default().to_string(),
            name: json["Name"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            json,
        }
    }

    pub fn service(&self) -> &str {
        self.json["Config"]["Labels"]["io.berth.service"]
            .as_str()
            .unwrap_or("")
    }

    pub fn started_at(&self) -> &str {
        self.json["State"]["StartedAt"].as_str().unwrap_or("")
    }

    pub fn started_secs(&self) -> f64 {
        rfc3339_secs(self.started_at())
    }

    /// `Config.Env`, as the engine holds it.
    pub fn env(&self) -> Vec<String> {
        self.json["Config"]["Env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn finished_secs(&self) -> f64 {
        rfc3339_secs(self.json["State"]["FinishedAt"].as_str().unwrap_or(""))
    }

    pub fn status(&self) -> &str {
        self.json["State"]["Status"].as_str().unwrap_or("")
    }

    pub fn running(&self) -> bool {
        self.json["State"]["Running"].as_bool() == Some(true)
    }

    pub fn host(&self, key: &str) -> &Value {
        &self.json["HostConfig"][key]
    }

    pub fn host_i64(&self, key: &str) -> i64 {
        self.host(key).as_i64().unwrap_or(0)
    }

    /// Names of the networks the container is attached to, sorted.
    pub fn networks(&self) -> Vec<String> {
        let mut v: Vec<String> = self.json["NetworkSettings"]["Networks"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn exec(&self, script: &str) -> String {
        docker(&["exec", &self.id, "sh", "-c", script])
    }
}

/// A `docker compose` project beside a berth one, for comparing the two:
/// `docker compose down -v` when dropped, so that it goes even when the
/// test fails.
pub struct Compose {
    pub name: String,
    /// Holds its `compose.yaml`.
    pub dir: PathBuf,
}

impl Compose {
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("compose")
            .args(["-p", &self.name, "-f", "compose.yaml"])
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run docker compose")
    }

    /// Runs it and returns its stdout; fails the test if it fails.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "docker compose {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "--timeout", "1"]);
    }
}

/// Runs `docker ARGS`; panics with its stderr when it fails.
#[track_caller]
pub fn docker(args: &[&str]) -> String {
    match docker_try(args) {
        Ok(out) => out,
        Err(e) => panic!("docker {} failed: {e}", args.join(" ")),
    }
}

pub fn docker_try(args: &[&str]) -> Result<String, String> {
    let o = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
    }
}

pub fn docker_lines(args: &[&str]) -> Vec<String> {
    docker_try(args)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn exists(kind: &str, name: &str) -> bool {
    docker_try(&[kind, "inspect", name]).is_ok()
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Parses Docker's UTC RFC 3339 timestamps (`2024-05-01T10:11:12.123456789Z`).
pub fn rfc3339_secs(s: &str) -> f64 {
    let bad = || -> ! { panic!("not an RFC 3339 UTC timestamp: {s:?}") };
    let (date, time) = s.split_once('T').unwrap_or_else(|| bad());
    let time = time.strip_suffix('Z').unwrap_or_else(|| bad());
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let frac: f64 = format!("0.{frac}").parse().unwrap();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0], d[1], d[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    (days * 86400 + t[0] * 3600 + t[1] * 60 + t[2]) as f64 + frac
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rfc3339_parses_docker_timestamps() {
    assert_eq!(rfc3339_secs("1970-01-01T00:00:00Z"), 0.0);
    assert_eq!(rfc3339_secs("2000-03-01T00:00:01.5Z"), 951868801.5);
}

/// A one-node swarm on loopback for the tests that need one: the first
/// test to join makes it (`docker swarm init`) unless the engine is in a
/// swarm already, and the last to leave, if one of them made it, leaves it
/// (`docker swarm leave --force`), also when a test fails (on drop). The
/// other tests run beside it: a plain engine in a swarm is still a plain
/// engine.
///
/// Swarm tests share the swarm ([`Swarm::join`]), except the one that adds a
/// second node to it ([`Swarm::alone`], live/swarm_nodes.rs): while that node
/// is in the swarm, Swarm may put any service's tasks on it, where the other
/// tests' images and expectations are not. So `alone` waits until no other
/// swarm test runs and keeps them out until it is dropped: in this process
/// (a `RwLock`) and in other test processes on this machine (`flock` on a
/// file in the temporary directory), since they share the engine.
pub struct Swarm {
    _here: SwarmLock,
    _machine: Option<std::fs::File>,
}

enum SwarmLock {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// Tests in the swarm now, and whether they made it.
static SWARM: std::sync::Mutex<(usize, bool)> = std::sync::Mutex::new((0, false));
/// Read by each swarm test, written by the one that adds a node.
static NODES: RwLock<()> = RwLock::new(());

impl Swarm {
    /// The swarm, shared with the other swarm tests.
    pub fn join() -> Swarm {
        let here = SwarmLock::Shared(NODES.read().unwrap_or_else(|e| e.into_inner()));
        Swarm::enter(here, false)
    }

    /// The swarm, with no other swarm test running until this is dropped.
    pub fn alone() -> Swarm {
        let here = SwarmLock::Alone(NODES.write().unwrap_or_else(|e| e.into_inner()));
        Swarm::enter(here, true)
    }

    fn enter(here: SwarmLock, alone: bool) -> Swarm {
        require_engine();
        // Without the file (an unwritable temporary directory) the lock in
        // this process still holds.
        let machine = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join("berth-swarm-tests.lock"))
            .ok()
            .filter(|f| if alone { f.lock() } else { f.lock_shared() }.is_ok());
        let mut state = SWARM.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 {
            let active =
                docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]).trim() == "active";
            if !active {
                docker(&[
                    "swarm",
                    "init",
                    "--advertise-addr",
                    "127.0.0.1",
                    "--listen-addr",
                    "127.0.0.1:2377",
                ]);
            }
            state.1 = !active;
        }
        state.0 += 1;
        Swarm {
            _here: here,
            _machine: machine,
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        // The locks (fields) are released after this.
        let mut state = SWARM.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 == 0 && state.1 {
            let _ = docker_try(&["swarm", "leave", "--force"]);
            state.1 = false;
        }
    }
}

/// The worker node: `scripts/swarm-worker` with a name and addresses of this
/// test process's own; `down` (leave, remove the node, stop the daemon,
/// remove the namespace and data) when dropped, also when the test fails.
pub struct Worker {
    pub name: String,
    net: String,
}

impl Worker {
    /// Starts the worker's dockerd, not yet in the swarm. `prefix` (two
    /// letters) and `slot` (0, 1 or 2) keep the tests of one process apart.
    pub fn start(prefix: &str, slot: u32) -> Worker {
        let pid = std::process::id();
        let w = Worker {
            name: format!("{prefix}{pid}"),
            // The script refuses a /30 that is in use on this machine.
            net: ((pid % 80) * 3 + 1 + slot).to_string(),
        };
        // Leftovers of an earlier run with the same pid.
        w.script(&["down"]);
        w.script_ok(&["up", "--no-join"]);
        w
    }

    /// Its address on the veth pair, which the host reaches (10.213.N.2).
    pub fn address(&self) -> String {
        format!("10.213.{}.2", self.net)
    }

    pub fn join(&self) {
        self.script_ok(&["up"]);
    }

    /// Its DOCKER_HOST; also its hostname, which is its swarm node's name.
    pub fn host(&self) -> String {
        format!("unix:///run/{}/docker.sock", self.name)
    }

    pub fn script(&self, args: &[&str]) -> std::process::Output {
        Command::new("bash")
            .arg(repo().join("scripts/swarm-worker"))
            .args(args)
            .env("BERTH_WORKER_NAME", &self.name)
            .env("BERTH_WORKER_NET", &self.net)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/swarm-worker")
    }

    #[track_caller]
    pub fn script_ok(&self, args: &[&str]) {
        let out = self.script(args);
        assert!(
            out.status.success(),
            "scripts/swarm-worker {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `docker ARGS` against the worker.
    pub fn docker(&self, args: &[&str]) -> String {
        let o = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run docker");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let out = self.script(&["down"]);
        if !out.status.success() {
            eprintln!(
                "scripts/swarm-worker down failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A host port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// `application/x-www-form-urlencoded`, as a browser sends a form field.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One HTTP/1.0 request to 127.0.0.1:`port`; returns the status and body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let what = format!("{method} http://{addr}{path}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{what}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes())
        .map_err(|e| format!("{what}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("{what}: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{what}: no complete HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{what}: no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// A Swarm service's field, as `docker service inspect --format` prints it.
pub fn service_inspect(service: &str, format: &str) -> String {
    docker(&["service", "inspect", "--format", format, service])
        .trim()
        .to_string()
}

/// The ids of the project's Swarm services.
pub fn services_of(project: &str) -> Vec<String> {
    docker_lines(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label={LABEL}={project}"),
    ])
}
