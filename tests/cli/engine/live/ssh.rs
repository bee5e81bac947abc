//! `DOCKER_HOST=ssh://...` and contexts whose host is `ssh://` (issue 19):
//! berth reaches the engine as the docker CLI does, through the system
//! `ssh` and `docker system dial-stdio`, with one handshake shared by a
//! run and by the runs that follow within `BERTH_SSH_PERSIST`.
//!
//! Each test starts its own sshd on 127.0.0.1 in front of this machine's
//! engine ([`Sshd`]), with generated keys, and gives berth an `ssh` on its
//! PATH that reads the test's client config (ssh reads `~/.ssh` from the
//! password database, not `$HOME`). Its sshd log counts the handshakes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::engine::*;

/// A remote user whose non-interactive shell has no `docker` on its PATH.
const NO_DOCKER_USER: &str = "berth-ssh-nodocker";
/// A remote user outside the docker group: the engine's socket refuses it.
const NOT_ALLOWED_USER: &str = "berth-ssh-noengine";

/// An sshd on 127.0.0.1 in front of the local engine, and a client config
/// for it; the sshd and every ssh master berth left are ended on drop.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

/// Makes a login-able (no password, not locked) user without a home, unless
/// there is one.
fn ensure_user(name: &str) {
    let exists = || {
        Command::new("id")
            .arg(name)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !exists() {
        let made = Command::new("useradd")
            .args(["-M", "-s", "/bin/sh", "-p", "*", name])
            .output()
            .expect("useradd");
        assert!(
            made.status.success() || exists(),
            "useradd {name}: {made:?}"
        );
    }
}

impl Sshd {
    fn start() -> Sshd {
        require_engine();
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "the ssh tests need Debian's openssh-server (scripts/test installs it)"
        );
        ensure_user(NO_DOCKER_USER);
        ensure_user(NOT_ALLOWED_USER);
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");

        let dir = tempfile::Builder::new()
            .prefix("berth-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        for key in ["host_key", "client_key", "stranger_key"] {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", ""])
                    .arg("-f")
                    .arg(d.join(key)),
            );
        }
        let client = std::fs::read_to_string(d.join("client_key.pub")).unwrap();
        // Every user but `daemon` (the refused login) accepts the client key.
        for user in ["root", NO_DOCKER_USER, NOT_ALLOWED_USER] {
            std::fs::write(d.join(format!("authorized_keys_{user}")), &client).unwrap();
        }
        // The files are read by sshd as the user logging in.
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            let mode = if entry.file_name().to_string_lossy().ends_with("_key") {
                0o600
            } else {
                0o644
            };
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        // The engine the other tests use, also for the remote root.
        let engine = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .map(|h| format!("  SetEnv DOCKER_HOST={h}\n"))
            .unwrap_or_default();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\n\
                 HostKey {d}/host_key\n\
                 AuthorizedKeysFile {d}/authorized_keys_%u\n\
                 StrictModes no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 PermitRootLogin prohibit-password\n\
                 PidFile none\n\
                 LogLevel VERBOSE\n\
                 Match User root\n{engine}\
                 Match User {NO_DOCKER_USER}\n  SetEnv PATH=/nonexistent\n",
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host {TEAM_SERVER}\n  HostName 127.0.0.1\n\
                 Host *\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking accept-new\n  \
                 PasswordAuthentication no\n",
                d = d.display()
            ),
        )
        .unwrap();
        // berth runs `ssh` from PATH: this one reads the test's config.
        let real = Command::new("sh")
            .args(["-c", "command -v ssh"])
            .output()
            .expect("sh");
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        assert!(!real.is_empty(), "the ssh tests need OpenSSH's ssh client");
        std::fs::create_dir(d.join("bin")).unwrap();
        std::fs::write(
            d.join("bin/ssh"),
            format!(
                "#!/bin/sh\nexec {real} -F {} \"$@\"\n",
                d.join("ssh_config").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(d.join("bin/ssh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();

        let port = free_port();
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .args(["-p", &port.to_string()])
            .stdin(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let s = Sshd { dir, port, child };
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "sshd did not listen on {port}: {}",
            s.log()
        );
        s
    }

    /// `ssh://USER@127.0.0.1:PORT`.
    fn url(&self, user: &str) -> String {
        format!("ssh://{user}@127.0.0.1:{}", self.port)
    }

    /// `ssh://USER@team-server:PORT`: this machine under another name (the
    /// test's ssh config), so that what berth says of the engine's host is
    /// told apart from what it says of loopback.
    fn team_server(&self, user: &str) -> String {
        format!("ssh://{user}@{TEAM_SERVER}:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// How many logins (handshakes) sshd has accepted.
    fn logins(&self) -> usize {
        self.log().matches("Accepted publickey").count()
    }

    /// A private runtime directory for berth's control sockets, inside the
    /// test's directory (XDG_RUNTIME_DIR/berth).
    fn runtime(&self, name: &str) -> PathBuf {
        let run = self.dir.path().join(name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        run
    }

    /// `berth ARGS` with the test's ssh first on PATH, control sockets in
    /// `runtime`, and `DOCKER_HOST=host` unless `host` is empty.
    fn berth(&self, p: &Project, runtime: &Path, host: &str, args: &[&str]) -> Berth {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut b = Berth::new()
            .current_dir(p.dir.path())
            .args(["-p", &p.name])
            .args(args)
            .env("PATH", path)
            .env("XDG_RUNTIME_DIR", runtime);
        if !host.is_empty() {
            b = b.env("DOCKER_HOST", host);
        }
        b
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // The masters berth left (ControlPersist) end with their sockets.
        let mut sockets = Vec::new();
        for run in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let berth = run.path().join("berth");
            // The control sockets, not the engine's forwarded socket
            // (`.engine`: ssh would speak its control protocol to dockerd).
            for entry in std::fs::read_dir(&berth).into_iter().flatten().flatten() {
                if !entry.file_name().to_string_lossy().contains(".engine") {
                    sockets.push(entry.path());
                }
            }
        }
        for socket in sockets {
            let _ = Command::new("ssh")
                .args(["-F", "/dev/null", "-o"])
                .arg(format!("ControlPath={}", socket.display()))
                .args(["-O", "exit", "berth-test"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The engine host's name in the test's ssh config.
const TEAM_SERVER: &str = "team-server";

/// Two services: `app` idles, `talk` says a line and idles.
fn stack() -> String {
    format!(
        "services:\n{}{}",
        idle("app", ""),
        format_args!(
            "  talk:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"echo over ssh; sleep 3600\"]\n"
        )
    )
}

#[test]
fn a_stack_goes_up_and_down_over_ssh_with_one_handshake_shared_across_runs() {
    let sshd = Sshd::start();
    // `talk` publishes a port on every address and binds a directory of
    // the project: both are the engine host's.
    let port = free_port();
    let p = Project::with_stack(
        "ssh",
        &format!(
            "{}    ports: [\"{port}:80\"]\n    volumes: [\"./site:/site\"]\n",
            stack()
        ),
    );
    let run = sshd.runtime("run");
    let host = sshd.team_server("root");
    let berth = |args: &[&str]| sshd.berth(&p, &run, &host, args).run();

    // The engine is named first; the bind source is said to be the
    // engine host's, once, and berth makes no directory for it.
    let bound = format!(
        "bind sources are paths on {TEAM_SERVER}, the engine's host, not on this machine: {}/site (talk)",
        p.dir.path().display()
    );
    let planned = berth(&["plan"]).code_is(3);
    planned.says(&format!("Engine: {host}")).says(&bound);
    assert!(
        !planned.stdout().contains("create directory"),
        "{}",
        planned.stdout()
    );
    let up = berth(&["up"]).ok();
    up.says(&format!("Engine: {host}")).says(&bound);
    assert_eq!(
        up.stderr().matches("bind sources are").count(),
        1,
        "{}",
        up.stderr()
    );
    assert_eq!(p.containers().len(), 2);
    assert_eq!(
        sshd.logins(),
        1,
        "one handshake for plan and up:\n{}",
        sshd.log()
    );
    berth(&["plan"]).code_is(0).says_nothing_changed();
    // A port on every address is open on the engine's host: ps says which.
    berth(&["ps"])
        .ok()
        .says(&format!("{}-app-1", p.name))
        .says(&format!("{}-talk-1", p.name))
        .says(&format!("{TEAM_SERVER}:{port}->80/tcp"));
    assert!(
        wait_until(Duration::from_secs(10), || {
            berth(&["logs", "talk"]).stdout().contains("over ssh")
        }),
        "logs over ssh"
    );
    let hi = berth(&["exec", "-T", "app", "echo", "hi from exec"]).ok();
    assert_eq!(hi.stdout(), "hi from exec\n");

    // The runs after the first used its connection: no handshake of their own.
    assert_eq!(
        sshd.logins(),
        1,
        "a handshake after the first run:\n{}",
        sshd.log()
    );
    // Its control socket is in berth's private directory.
    let dir = run.join("berth");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let mut sockets: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_type().is_ok_and(|t| {
                use std::os::unix::fs::FileTypeExt;
                t.is_socket()
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    sockets.sort();
    // The master's control socket, and the engine's socket forwarded
    // through it, which the runs after the first used: the engine
    // answered a ping through it (its marker).
    assert_eq!(sockets.len(), 2, "{sockets:?}");
    let [control, forward] = [&sockets[0], &sockets[1]];
    assert!(control.ends_with("-0"), "{sockets:?}");
    assert!(forward.ends_with(".engine"), "{sockets:?}");
    assert!(dir.join(format!("{forward}-ok")).exists(), "{sockets:?}");

    berth(&["down"]).ok();
    assert!(p.containers().is_empty());

    // BERTH_SSH_PERSIST=0: each run has its own handshake, and the
    // connection ends with the run.
    let off = sshd.runtime("off");
    let before = sshd.logins();
    for _ in 0..2 {
        sshd.berth(&p, &off, &host, &["ps"])
            .env("BERTH_SSH_PERSIST", "0")
            .run()
            .ok();
    }
    assert_eq!(sshd.logins() - before, 2, "{}", sshd.log());
    assert!(
        wait_until(Duration::from_secs(5), || {
            std::fs::read_dir(off.join("berth")).is_ok_and(|d| d.count() == 0)
        }),
        "the control socket outlived a run with BERTH_SSH_PERSIST=0"
    );
}

#[test]
fn a_context_whose_host_is_ssh_reaches_the_engine_through_ssh() {
    let sshd = Sshd::start();
    let p = Project::with_stack("sshctx", &format!("services:\n{}", idle("app", "")));
    let run = sshd.runtime("run");
    let store = tempfile::tempdir().expect("a context store");
    let made = Command::new("docker")
        .env("DOCKER_CONFIG", store.path())
        .args(["context", "create", "team", "--docker"])
        .arg(format!("host={}", sshd.url("root")))
        .output()
        .expect("docker context create");
    assert!(made.status.success(), "{made:?}");
    let berth = |args: &[&str]| {
        sshd.berth(&p, &run, "", &["--context", "team"])
            .args(args)
            .env("DOCKER_CONFIG", store.path())
            .run()
    };

    berth(&["up"]).ok();
    assert_eq!(p.containers().len(), 1);
    berth(&["ps"]).ok().says(&format!("{}-app-1", p.name));
    berth(&["down"]).ok();
    assert!(p.containers().is_empty());
    assert_eq!(sshd.logins(), 1, "{}", sshd.log());

    // A bad ssh URL in a context names the context.
    let bad = tempfile::tempdir().unwrap();
    let made = Command::new("docker")
        .env("DOCKER_CONFIG", bad.path())
        .args(["context", "create", "typo", "--docker"])
        .arg(format!("host={}/var/run", sshd.url("root")))
        .output()
        .expect("docker context create");
    assert!(made.status.success(), "{made:?}");
    let typo = sshd
        .berth(&p, &run, "", &["--context", "typo", "ps"])
        .env("DOCKER_CONFIG", bad.path())
        .run()
        .failed();
    typo.says("context \"typo\"")
        .says("\"/var/run\" after the host");
}

#[test]
fn ssh_failures_name_their_cause_and_the_host() {
    let sshd = Sshd::start();
    let p = Project::with_stack("sshfail", &format!("services:\n{}", idle("app", "")));
    let run = sshd.runtime("run");
    let fail = |host: &str| {
        let r = sshd.berth(&p, &run, host, &["ps"]).run().failed();
        // One error line and its help; nothing of ssh's besides the quote.
        assert_eq!(r.stderr().lines().count(), 2, "{}", r.stderr());
        assert!(r.stderr().starts_with("error: "), "{}", r.stderr());
        assert!(!r.stderr().contains("Permanently added"), "{}", r.stderr());
        assert!(!r.stderr().contains("Could not chdir"), "{}", r.stderr());
        r
    };

    let closed = format!("ssh://root@127.0.0.1:{}", free_port());
    fail(&closed)
        .says(&format!("cannot reach the ssh server of {closed}"))
        .says("Connection refused");

    let daemon = sshd.url("daemon");
    fail(&daemon)
        .says(&format!(
            "the ssh server of {daemon} refused the login as daemon"
        ))
        .says("Permission denied (publickey)")
        .says("ssh-add");

    let no_docker = sshd.url(NO_DOCKER_USER);
    fail(&no_docker)
        .says(&format!(
            "there is no docker command for {NO_DOCKER_USER} on {no_docker}"
        ))
        .says("docker: not found")
        .says("install the docker CLI");

    let not_allowed = sshd.url(NOT_ALLOWED_USER);
    fail(&not_allowed)
        .says(&format!(
            "{NOT_ALLOWED_USER} may not use the Docker engine on {not_allowed}"
        ))
        .says("permission denied")
        .says(&format!("usermod -aG docker {NOT_ALLOWED_USER}"));

    for (url, why) in [
        ("ssh://", "the host is empty"),
        ("ssh://root@127.0.0.1:99999", "the port \"99999\""),
        ("ssh://root@127.0.0.1/var/run/docker.sock", "after the host"),
    ] {
        sshd.berth(&p, &run, url, &["ps"])
            .run()
            .failed()
            .says(&format!(
                "the engine host \"{url}\" is not a usable ssh:// URL"
            ))
            .says(why);
    }
    assert!(p.containers().is_empty());
}

/// `watch` over ssh: the files go into the container through the API (an
/// archive upload), never as a path on the engine's host.
#[test]
fn watch_syncs_files_into_a_container_over_ssh() {
    let sshd = Sshd::start();
    let p = Project::with_stack(
        "sshwatch",
        &format!(
            "services:\n{}",
            idle(
                "web",
                "    develop:\n      watch:\n        - action: sync\n          path: ./app\n          target: /app\n",
            )
        ),
    );
    std::fs::create_dir(p.path("app")).unwrap();
    let run = sshd.runtime("run");
    let host = sshd.team_server("root");
    let mut w = sshd
        .berth(&p, &run, &host, &["up", "--watch", "--progress", "plain"])
        .spawn();
    let watching = wait_until(Duration::from_secs(60), || {
        !w.has_exited() && w.stderr_so_far().contains("Watching web for changes")
    });
    assert!(watching, "up --watch over ssh:\n{}", w.stderr_so_far());
    std::fs::write(p.path("app/page.txt"), "over ssh").unwrap();
    let synced = wait_until(Duration::from_secs(15), || {
        w.stdout_so_far()
            .contains("watch: web: synced 1 file (page.txt)")
    });
    assert!(
        synced,
        "the sync is reported\n--- stdout\n{}\n--- stderr\n{}",
        w.stdout_so_far(),
        w.stderr_so_far()
    );
    assert_eq!(p.container("web").exec("cat /app/page.txt"), "over ssh");
    w.interrupt();
    w.wait().ok();
    sshd.berth(&p, &run, &host, &["down", "-t", "0"]).run().ok();
    assert!(p.containers().is_empty());
}
