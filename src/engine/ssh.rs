//! The engine behind `ssh://[user@]host[:port]`, reached as the docker CLI
//! reaches it (`cli/connhelper`): the system `ssh` runs
//! `docker system dial-stdio` on the host, and the engine's API is spoken
//! over that command's stdin and stdout. Using the `ssh` binary means the
//! user's `~/.ssh/config`, agent, keys and known hosts apply as they do
//! for `ssh` itself.
//!
//! # One handshake, shared
//!
//! Every ssh berth starts goes through a control socket named by the URL
//! (`ControlMaster=auto`, `ControlPath=<runtime dir>/<sha256 of the
//! URL>-0`): the first one does the handshake and becomes the master,
//! every later one is a session over that connection (a round trip, not a
//! handshake). The first session of a master is opened alone, and the
//! ones asked for meanwhile wait until its socket is there, so that calls
//! in parallel share it rather than each doing a handshake. The master
//! stays `BERTH_SSH_PERSIST` seconds (default 60) after its last session
//! (`ControlPersist`), so the next berth command within that time starts
//! without a handshake either. `BERTH_SSH_PERSIST=0` turns that off: the
//! run gets control sockets of its own (`<pid>-...`), so its connection is
//! still shared by all its calls, and ends a second after the run's last
//! session.
//!
//! The control sockets live in berth's private directory
//! (`crate::runtime_dir`: `$XDG_RUNTIME_DIR/berth`, else
//! `/tmp/berth-<uid>`, mode 0700, checked to be the user's own and not a
//! symlink): a control socket gives whoever can open it the user's ssh
//! login.
//!
//! Each HTTP connection to the engine is one `dial-stdio` session, and
//! berth keeps idle ones for reuse, so sequential calls share one session.
//! A session starts a `docker` process on the remote, which costs more
//! than waiting for a call in flight to finish, so a run opens 3 at once,
//! and a call past those waits for one to come back, up to 2 seconds
//! (then it opens one anyway: a long call or a log stream holds the
//! others). Measured here, a no-op `up` of 16 services went from 20
//! sessions and 4 s to 3 sessions and 0.7 s. sshd allows 10 sessions per
//! connection by default, and past that ssh falls back to a connection of
//! its own, a handshake per session; so a master takes at most 8, and the
//! ninth call in flight makes a second master (`...-1`), up to four. A run
//! with 16 calls in flight makes two handshakes, and the runs after it
//! none. Past 32 sessions at once, ssh falls back.
//!
//! Once the first master is there, berth also forwards the remote
//! engine's socket through it to `<id>.engine` beside the control socket
//! ([`Forward`]), and a connection to that is one round trip with nothing
//! started on the remote: once the engine has answered a ping through it,
//! new connections use it, in this run and (while the master is kept) the
//! next ones. Over a 50 ms link that took a no-op `up` of 10 services from
//! 0.71 s to about 0.13 s.

//! # Why not bollard's `ssh` feature
//!
//! bollard 0.21's `ssh` transport (through the `openssh` crate) starts a
//! new master, in a temporary directory, for every HTTP connection: a
//! handshake per connection, none kept between runs, and ssh's stderr is
//! lost, so its failures cannot be told apart. A private unix socket
//! that berth would serve and pipe to ssh would serve too, but bollard's
//! unix client keeps no idle connections (a session per call) and the
//! socket file would need cleaning up after a crash. So this module gives
//! bollard a transport of its own (`Docker::connect_with_custom_transport`
//! with hyper's pooling client) whose connector starts the ssh.
//!
//! # Failures
//!
//! ssh's stderr is kept, not shown: when a session ends in failure its
//! exit status and stderr are classified ([`Problem`]: host unreachable,
//! login refused, unknown host key, no `docker` on the remote, a user not
//! allowed to use the engine, an engine that is not running), and the
//! error quotes only the line that says so. The ssh processes run in a
//! process group of their own, so a Ctrl-C at the terminal reaches berth
//! (which stops at a safe point, still talking to the engine) and not
//! them; they run without a terminal (`BatchMode`), so a password or
//! passphrase prompt is a refused login, not a hang.
//!
//! Where it stops: paths and ports on the remote host are the plan's
//! business; this module only carries bytes.

use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStdin, ChildStdout};

/// The environment variable that sets how long the shared connection
/// outlives a run, in seconds; `0` (or `no`, `off`, `false`) turns that off.
pub const PERSIST_VAR: &str = "BERTH_SSH_PERSIST";

/// How long the shared connection stays after its last session, by default.
const DEFAULT_PERSIST: u32 = 60;

/// ssh's own `ConnectTimeout`: a host that drops packets fails in this
/// time rather than the system's minutes.
const CONNECT_TIMEOUT: u32 = 10;

/// The most of an ssh's stderr kept for the error message.
const MAX_STDERR: usize = 16 * 1024;

/// The longest a quoted reason gets.
const MAX_REASON: usize = 300;

/// The most sessions berth opens over one master at once: sshd's
/// `MaxSessions` is 10 by default, and a session past it makes ssh fall
/// back to a connection of its own, with a handshake.
const MUX_SESSIONS: usize = 8;

/// The most masters berth makes to one remote, each when the ones before
/// are full: a run with 9 to 16 calls in flight at once makes two
/// handshakes, not one per call past the server's limit.
const MASTERS: usize = 4;

/// Sessions a run opens without waiting: each starts a `docker` process on
/// the remote, which costs more than waiting for a call in flight to give
/// its connection back.
const EAGER_SESSIONS: usize = 3;

/// How long a connection past [`EAGER_SESSIONS`] waits before it opens a
/// session anyway (a long call or a log stream holds the others).
const EAGER_WAIT: Duration = Duration::from_secs(2);

/// Where the engine is: `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// Reads `ssh://[user@]host[:port]`, as the docker CLI does
    /// (`connhelper/ssh.ParseURL`): no password, path, query or fragment.
    /// The error says what is wrong with the URL.
    pub fn parse(url: &str) -> Result<Target, String> {
        let bad = |why: &str| format!("the engine host {url:?} is not a usable ssh:// URL: {why}");
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("it contains spaces or control characters"));
        }
        let Some(rest) = url.strip_prefix("ssh://") else {
            return Err(bad("it does not start with ssh://"));
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !path.is_empty() {
            return Err(bad(&format!(
                "{path:?} after the host: give only ssh://[user@]host[:port]"
            )));
        }
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => {
                if user.contains(':') {
                    return Err(bad(
                        "it holds a password, which berth does not send: use a key",
                    ));
                }
                if user.is_empty() {
                    return Err(bad("the user before @ is empty"));
                }
                (Some(user.to_string()), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            // An IPv6 address: [::1] or [::1]:2222.
            let Some((host, after)) = bracketed.split_once(']') else {
                return Err(bad("an IPv6 address without its closing ]"));
            };
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(bad("something other than :port after the address")),
                },
            }
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host.starts_with('-') || user.as_deref().is_some_and(|u| u.starts_with('-')) {
            return Err(bad("a host or user may not start with -"));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => {
                    return Err(bad(&format!(
                        "the port {p:?} is not a number from 1 to 65535"
                    )));
                }
            },
        };
        Ok(Target {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// `ssh://user@host:port`, as the user wrote it (the port only when given).
    pub fn url(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("ssh://{user}{host}{port}")
    }

    /// The ssh command a user can try by hand.
    fn ssh_command(&self) -> String {
        let port = self.port.map(|p| format!("-p {p} ")).unwrap_or_default();
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("ssh {port}{user}{} docker version", self.host)
    }
}

/// How long the shared connection outlives a run, from `value` (the
/// environment's `BERTH_SSH_PERSIST`): None or empty is the default.
pub fn persist_seconds(value: Option<&str>) -> Result<u32, String> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_PERSIST);
    };
    match v.to_ascii_lowercase().as_str() {
        "no" | "off" | "false" => return Ok(0),
        "yes" | "on" | "true" => return Ok(DEFAULT_PERSIST),
        _ => {}
    }
    v.parse::<u32>().map_err(|_| {
        format!(
            "{PERSIST_VAR}={v:?} is not a number of seconds: give how long the ssh connection \
             outlives a run (default {DEFAULT_PERSIST}), or 0 to close it with the run"
        )
    })
}

/// What went wrong on the way to the remote engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// No ssh server answered (refused, no route, unknown name, timeout).
    Unreachable,
    /// The ssh server refused the login.
    AuthRefused,
    /// The host's key is unknown or has changed.
    HostKey,
    /// The remote user's non-interactive shell has no `docker`.
    NoDocker,
    /// The remote user may not open the engine's socket.
    NotAllowed,
    /// The remote engine is not running.
    EngineDown,
    /// Something else; the reason says what.
    Other,
}

/// A failed ssh session, classified from its exit status and stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub problem: Problem,
    pub target: Target,
    /// ssh's exit code; None when it was killed by a signal.
    pub code: Option<i32>,
    /// The line of ssh's stderr that says what happened, made printable.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.target.url();
        let user = self.target.user.as_deref().unwrap_or("the remote user");
        let reason = &self.reason;
        match self.problem {
            Problem::Unreachable => write!(f, "cannot reach the ssh server of {url}: {reason:?}"),
            Problem::AuthRefused => write!(
                f,
                "the ssh server of {url} refused the login as {user}: {reason:?}"
            ),
            Problem::HostKey => write!(
                f,
                "the ssh host key of {url} is not known, or has changed: {reason:?}"
            ),
            Problem::NoDocker => write!(
                f,
                "there is no docker command for {user} on {url}: {reason:?}"
            ),
            Problem::NotAllowed => write!(
                f,
                "{user} may not use the Docker engine on {url}: {reason:?}"
            ),
            Problem::EngineDown => {
                write!(f, "the Docker engine on {url} does not answer: {reason:?}")
            }
            Problem::Other => match self.code {
                Some(code) => write!(f, "ssh to {url} failed (exit {code}): {reason:?}"),
                None => write!(f, "ssh to {url} failed: {reason:?}"),
            },
        }
    }
}

impl Failure {
    /// What to do about it.
    pub fn help(&self) -> String {
        let try_it = self.target.ssh_command();
        let user = self.target.user.as_deref().unwrap_or("the remote user");
        match self.problem {
            Problem::Unreachable => format!(
                "is the host up, and its sshd listening on that port? `{try_it}` should work"
            ),
            Problem::AuthRefused => format!(
                "berth logs in as `ssh` does, but without a terminal to ask for a password: \
                 with a key from your ssh agent (`ssh-add`) or an IdentityFile in \
                 ~/.ssh/config, which the remote's authorized_keys must hold; \
                 `{try_it}` should work without a prompt"
            ),
            Problem::HostKey => format!(
                "berth cannot ask whether to trust a host key: connect once with `{try_it}` \
                 and check the key"
            ),
            Problem::NoDocker => format!(
                "berth runs `docker system dial-stdio` there, as the docker CLI does: install \
                 the docker CLI on the remote host, or put it on the PATH of {user}'s \
                 non-interactive ssh sessions"
            ),
            Problem::NotAllowed => format!(
                "on the remote host, add {user} to the docker group (`usermod -aG docker \
                 {user}`, then log in again), or connect as a user who may use the engine"
            ),
            Problem::EngineDown => {
                "start dockerd on the remote host (`systemctl start docker`)".to_string()
            }
            Problem::Other => format!("`{try_it}` shows what ssh says"),
        }
    }
}

/// Classifies a failed ssh session from its exit code and stderr.
pub fn classify(target: &Target, code: Option<i32>, stderr: &str) -> Failure {
    // Lines that say nothing about the failure.
    const NOISE: [&str; 3] = [
        "Warning: Permanently added",
        "Could not chdir to home directory",
        "** ",
    ];
    let lines: Vec<String> = stderr
        .lines()
        .map(printable)
        .filter(|l| !l.is_empty() && !NOISE.iter().any(|n| l.starts_with(n)))
        .collect();
    // The first problem, in this order, that a line says.
    let found = [
        Problem::NoDocker,
        Problem::NotAllowed,
        Problem::EngineDown,
        Problem::HostKey,
        Problem::AuthRefused,
        Problem::Unreachable,
    ]
    .into_iter()
    .find_map(|problem| {
        lines
            .iter()
            .find(|l| says(problem, &l.to_lowercase()))
            .map(|l| (problem, l.clone()))
    });
    let (problem, reason) = match (found, code) {
        (Some(found), _) => found,
        // The shell's "command not found", in a wording not matched above.
        (None, Some(127)) => (Problem::NoDocker, lines.last().cloned().unwrap_or_default()),
        (None, _) => (Problem::Other, lines.last().cloned().unwrap_or_default()),
    };
    let reason = if reason.is_empty() {
        "ssh said nothing".to_string()
    } else {
        reason
    };
    Failure {
        problem,
        target: target.clone(),
        code,
        reason,
    }
}

/// Whether `line` (lower case) is ssh, the remote shell or the docker
/// CLI saying `problem`, in the words they use.
fn says(problem: Problem, line: &str) -> bool {
    let any = |words: &[&str]| words.iter().any(|w| line.contains(w));
    match problem {
        Problem::NoDocker => {
            any(&["docker: not found", "docker: command not found"])
                || (line.contains("docker")
                    && line.contains("no such file or directory")
                    && !any(&["dial", ".sock"]))
        }
        Problem::NotAllowed => {
            line.contains("permission denied")
                && any(&[
                    "docker.sock",
                    "docker daemon socket",
                    "raw stream",
                    "dial unix",
                ])
        }
        Problem::EngineDown => {
            line.contains("cannot connect to the docker daemon")
                || (any(&["raw stream", "dial unix"])
                    && any(&["no such file", "connection refused"]))
        }
        Problem::HostKey => any(&[
            "host key verification failed",
            "remote host identification has changed",
        ]),
        Problem::AuthRefused => any(&[
            "permission denied (",
            "too many authentication failures",
            "authentication failed",
        ]),
        Problem::Unreachable => any(&[
            "could not resolve hostname",
            "connection refused",
            "connection timed out",
            "operation timed out",
            "no route to host",
            "network is unreachable",
            "connection closed by",
            "connection reset by",
            "kex_exchange_identification",
        ]),
        Problem::Other => false,
    }
}

/// `line` with control characters dropped and cut to [`MAX_REASON`]: it
/// comes from the remote host and is printed to the user's terminal.
fn printable(line: &str) -> String {
    let clean: String = line.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    match clean.char_indices().nth(MAX_REASON) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean.to_string(),
    }
}

/// The ssh sessions of one engine connection: how to start one, and the
/// first failure seen.
pub struct Tunnel {
    pub target: Target,
    /// ssh's options up to the control socket's.
    options: Vec<OsString>,
    /// After the control socket: user, port, host, command.
    command: Vec<OsString>,
    masters: Vec<Master>,
    /// The engine's socket forwarded through the first master, when the
    /// connection persists ([`Forward`]).
    forward: Option<Forward>,
    /// Sessions opened without waiting ([`EAGER_SESSIONS`]).
    eager: Arc<tokio::sync::Semaphore>,
    failure: Mutex<Option<Failure>>,
    failed: tokio::sync::Notify,
}

/// The remote engine's socket forwarded to a local one through the first
/// master (`ssh -O forward -L LOCAL:/var/run/docker.sock`): a connection
/// through it is a channel on the master, one round trip, with no process
/// started on the remote, where a `dial-stdio` session starts a `docker`
/// process there (measured here over a 50 ms link: a no-op `up` of 10
/// services 0.71 s with sessions alone). It is used only once a ping
/// through it was answered, by this run or, as its marker file says, by
/// an earlier one; a forward that does not connect (its master is gone)
/// or that was never answered leaves berth on `dial-stdio` sessions, which
/// say what went wrong when something does.
struct Forward {
    socket: PathBuf,
    /// Made once a ping through `socket` was answered.
    marker: PathBuf,
    /// Answered in this run, or trusted from the marker and connected.
    ready: AtomicBool,
    /// Found not to connect in this run: not tried again.
    broken: AtomicBool,
    /// Being set up (once per run).
    started: AtomicBool,
}

/// Where the engine's socket is on the remote: the docker CLI's default
/// there, which `dial-stdio` uses too unless the remote's environment says
/// otherwise. An engine elsewhere (rootless Docker) fails the forward's
/// ping, and berth stays on `dial-stdio`.
const REMOTE_SOCKET: &str = "/var/run/docker.sock";

/// One ssh master connection and its control socket.
struct Master {
    socket: PathBuf,
    /// Its sessions open now ([`MUX_SESSIONS`]).
    sessions: Arc<tokio::sync::Semaphore>,
    /// Whether its socket is there; held while the first session makes
    /// it, so that the sessions asked for meanwhile wait and share it
    /// rather than each doing a handshake of its own.
    made: tokio::sync::Mutex<bool>,
}

impl Tunnel {
    /// A tunnel to `target`, with its control sockets in `runtime_dir`,
    /// kept `persist` seconds after their last session.
    /// Errors when the directory's path is too long for a socket.
    pub fn new(target: Target, runtime_dir: &Path, persist: u32) -> Result<Tunnel, String> {
        // Named by the URL, so that the next run to the same URL finds it.
        let id: String = Sha256::digest(target.url().as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        // Off: sockets no later run finds, and the least persistence (0
        // would mean for ever), so a master ends a second after the run's
        // last session.
        let (name, persist, forward) = match persist {
            0 => (format!("{}-{id}", std::process::id()), 1, None),
            n => {
                let forward = Forward {
                    socket: runtime_dir.join(format!("{id}.engine")),
                    marker: runtime_dir.join(format!("{id}.engine-ok")),
                    ready: AtomicBool::new(false),
                    broken: AtomicBool::new(false),
                    started: AtomicBool::new(false),
                };
                (id, n, Some(forward))
            }
        };
        // A unix socket's path holds 107 bytes, and ssh adds a 17-byte
        // temporary suffix while it binds.
        let longest = runtime_dir.join(format!("{name}-{}", MASTERS - 1));
        if longest.as_os_str().len() + 17 > 107 {
            return Err(format!(
                "berth's directory {} is too long a path for ssh's control socket; set \
                 XDG_RUNTIME_DIR to a shorter one",
                runtime_dir.display()
            ));
        }
        let options: Vec<OsString> = [
            "-T".to_string(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={CONNECT_TIMEOUT}"),
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPersist={persist}"),
            // A forward's local socket left by a master that is gone is
            // replaced by the next master's.
            "-o".into(),
            "StreamLocalBindUnlink=yes".into(),
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let mut command: Vec<OsString> = Vec::new();
        if let Some(user) = &target.user {
            command.extend(["-l".into(), user.into()]);
        }
        if let Some(port) = target.port {
            command.extend(["-p".into(), port.to_string().into()]);
        }
        command.extend(
            ["--", &target.host, "docker", "system", "dial-stdio"]
                .into_iter()
                .map(OsString::from),
        );
        let masters = (0..MASTERS)
            .map(|n| Master {
                socket: runtime_dir.join(format!("{name}-{n}")),
                sessions: Arc::new(tokio::sync::Semaphore::new(MUX_SESSIONS)),
                made: tokio::sync::Mutex::new(false),
            })
            .collect();
        Ok(Tunnel {
            target,
            options,
            command,
            masters,
            forward,
            eager: Arc::new(tokio::sync::Semaphore::new(EAGER_SESSIONS)),
            failure: Mutex::new(None),
            failed: tokio::sync::Notify::new(),
        })
    }

    /// The arguments given to `ssh` for a session over `master`.
    fn args(&self, master: &Master) -> Vec<OsString> {
        // ssh expands % in ControlPath; the directory's own are literal.
        let path = master.socket.display().to_string().replace('%', "%%");
        let mut args = self.options.clone();
        args.extend(["-o".into(), format!("ControlPath={path}").into()]);
        args.extend(self.command.iter().cloned());
        args
    }

    /// The first failed session, if one has ended.
    pub fn failure(&self) -> Option<Failure> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// The first failed session, waiting up to `wait` for one to end: a
    /// request fails as soon as ssh closes its stdout, a moment before ssh
    /// has exited and its stderr is read.
    pub async fn failure_within(&self, wait: Duration) -> Option<Failure> {
        let notified = self.failed.notified();
        if let Some(f) = self.failure() {
            return Some(f);
        }
        let _ = tokio::time::timeout(wait, notified).await;
        self.failure()
    }

    fn record(&self, failure: Failure) {
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(failure);
        }
        self.failed.notify_waiters();
    }

    /// A new session: over the first master with room (made by this
    /// session if it is not there yet); when all are full, over the last
    /// anyway, and ssh falls back to a connection of its own if the
    /// server refuses it.
    async fn connect(self: &Arc<Self>) -> io::Result<Session> {
        if let Some(session) = self.through_forward().await {
            return Ok(session);
        }
        // Meanwhile hyper gives the call any connection that comes back to
        // its pool; this one is then kept for later.
        let eager = match self.eager.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => tokio::time::timeout(EAGER_WAIT, self.eager.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        let (master, permit) = self
            .masters
            .iter()
            .find_map(|m| {
                let permit = m.sessions.clone().try_acquire_owned().ok()?;
                Some((m, Some(permit)))
            })
            .unwrap_or_else(|| (&self.masters[MASTERS - 1], None));
        let mut made = master.made.lock().await;
        if *made {
            drop(made);
            return self.open(master, permit, eager).map(|(session, _)| session);
        }
        let first = std::ptr::eq(master, &self.masters[0]);
        let (session, exited) = self.open(master, permit, eager)?;
        // Its ssh makes the socket once it has logged in, or gives up.
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(CONNECT_TIMEOUT as u64 + 5);
        loop {
            if is_socket(&master.socket) {
                *made = true;
                if first {
                    self.start_forward();
                }
                break;
            }
            if exited.load(Ordering::SeqCst) || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(session)
    }

    /// A connection through the forwarded engine socket, when it is known
    /// to answer; None: open a session instead.
    async fn through_forward(&self) -> Option<Session> {
        let fwd = self.forward.as_ref()?;
        if fwd.broken.load(Ordering::SeqCst) {
            return None;
        }
        if !fwd.ready.load(Ordering::SeqCst) && !fwd.marker.exists() {
            return None;
        }
        match tokio::net::UnixStream::connect(&fwd.socket).await {
            Ok(stream) => {
                fwd.ready.store(true, Ordering::SeqCst);
                Some(Session::socket(stream))
            }
            Err(_) => {
                // Its master is gone: the next master forwards again.
                fwd.broken.store(true, Ordering::SeqCst);
                None
            }
        }
    }

    /// Sets up the forward over the first master, once per run, in the
    /// background: the calls go on over sessions meanwhile.
    fn start_forward(self: &Arc<Self>) {
        let Some(fwd) = &self.forward else { return };
        if fwd.ready.load(Ordering::SeqCst) || fwd.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let tunnel = Arc::clone(self);
        tokio::spawn(async move {
            let Some(fwd) = &tunnel.forward else { return };
            if !tunnel.forward_answered().await {
                let requested = tunnel.control("forward").await;
                if !(requested && tunnel.forward_answered().await) {
                    let _ = std::fs::remove_file(&fwd.marker);
                    tunnel.control("cancel").await;
                    return;
                }
            }
            if std::fs::write(&fwd.marker, b"").is_ok() {
                fwd.broken.store(false, Ordering::SeqCst);
                fwd.ready.store(true, Ordering::SeqCst);
            }
        });
    }

    /// `ssh -O forward|cancel -L LOCAL:REMOTE` on the first master;
    /// whether ssh did it.
    async fn control(&self, op: &str) -> bool {
        let Some(fwd) = &self.forward else {
            return false;
        };
        let path = self.masters[0]
            .socket
            .display()
            .to_string()
            .replace('%', "%%");
        let mut args: Vec<OsString> = self.options.clone();
        args.extend(["-o".into(), format!("ControlPath={path}").into()]);
        args.extend(["-O".into(), op.into(), "-L".into()]);
        args.push(format!("{}:{REMOTE_SOCKET}", fwd.socket.display()).into());
        // The user, port and host, without the remote command.
        let until_host = self
            .command
            .iter()
            .position(|a| a == "--")
            .map_or(0, |i| i + 2);
        args.extend(self.command.iter().take(until_host).cloned());
        let run = tokio::process::Command::new("ssh")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .status();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), run).await,
            Ok(Ok(status)) if status.success()
        )
    }

    /// Whether the engine answers a ping through the forwarded socket.
    async fn forward_answered(&self) -> bool {
        use tokio::io::AsyncWriteExt;
        let Some(fwd) = &self.forward else {
            return false;
        };
        let ping = async {
            let mut stream = tokio::net::UnixStream::connect(&fwd.socket).await?;
            stream
                .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
                .await?;
            let mut answer = Vec::new();
            stream.take(64 * 1024).read_to_end(&mut answer).await?;
            io::Result::Ok(answer)
        };
        match tokio::time::timeout(Duration::from_secs(5), ping).await {
            Ok(Ok(answer)) => {
                answer.starts_with(b"HTTP/1.1 200") || answer.starts_with(b"HTTP/1.0 200")
            }
            _ => false,
        }
    }

    /// Starts one `ssh ... docker system dial-stdio` session over
    /// `master`; the flag says when its ssh has exited.
    fn open(
        self: &Arc<Self>,
        master: &Master,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
        eager: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> io::Result<(Session, Arc<AtomicBool>)> {
        let mut child = tokio::process::Command::new("ssh")
            .args(self.args(master))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // A Ctrl-C at the terminal is berth's to handle, not ssh's.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run ssh (is OpenSSH installed?): {e}"),
                )
            })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let tunnel = Arc::clone(self);
        let exited = Arc::new(AtomicBool::new(false));
        let exit_flag = Arc::clone(&exited);
        tokio::spawn(async move {
            let mut text = Vec::new();
            let read = async {
                let mut buf = [0u8; 4096];
                loop {
                    match stderr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) if text.len() < MAX_STDERR => text.extend_from_slice(&buf[..n]),
                        Ok(_) => {}
                    }
                }
            };
            let status = async {
                let status = child.wait().await;
                // The last of stderr arrives with the exit, or just after.
                tokio::time::sleep(Duration::from_millis(100)).await;
                status
            };
            // stderr can stay open after ssh exits (a process it left
            // behind holds it), so the exit decides when to stop reading.
            tokio::pin!(read);
            tokio::pin!(status);
            let status = tokio::select! {
                s = &mut status => s,
                () = &mut read => status.await,
            };
            exit_flag.store(true, Ordering::SeqCst);
            let Ok(status) = status else { return };
            if !status.success() {
                let text = String::from_utf8_lossy(&text);
                tunnel.record(classify(&tunnel.target, status.code(), &text));
            }
        });
        let session = Session {
            _permit: permit,
            _eager: eager,
            stdin: Some(TokioIo::new(stdin)),
            stdout: Some(TokioIo::new(stdout)),
            socket: None,
        };
        Ok((session, exited))
    }
}

/// Connects bollard to the engine behind `target`: a client whose every
/// new connection is an ssh session ([`Tunnel`]).
pub fn docker(
    tunnel: Arc<Tunnel>,
    timeout_secs: u64,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let client = Client::builder(TokioExecutor::new())
        // dockerd keeps a connection open; an idle session costs the remote
        // a `docker` process, so one not used for a while is closed.
        .pool_idle_timeout(Duration::from_secs(30))
        .build(Connector { tunnel });
    bollard::Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let client = client.clone();
            async move {
                client
                    .request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        // The Host header and pool key; dial-stdio ignores it.
        Some("http://docker"),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

/// hyper's connector: each connection is a new ssh session.
#[derive(Clone)]
struct Connector {
    tunnel: Arc<Tunnel>,
}

impl tower_service::Service<hyper::Uri> for Connector {
    type Response = Session;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Session>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let tunnel = Arc::clone(&self.tunnel);
        Box::pin(async move { tunnel.connect().await })
    }
}

/// Whether `path` is a unix socket.
fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// One connection to the engine: a `docker system dial-stdio` session
/// (its stdout is read, its stdin written), or a connection to the
/// forwarded socket ([`Forward`]).
struct Session {
    /// Its place among the master's sessions, while it is open.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Its place among the sessions opened without waiting.
    _eager: Option<tokio::sync::OwnedSemaphorePermit>,
    stdin: Option<TokioIo<ChildStdin>>,
    stdout: Option<TokioIo<ChildStdout>>,
    socket: Option<TokioIo<tokio::net::UnixStream>>,
}

impl Session {
    fn socket(stream: tokio::net::UnixStream) -> Session {
        Session {
            _permit: None,
            _eager: None,
            stdin: None,
            stdout: None,
            socket: Some(TokioIo::new(stream)),
        }
    }

    fn stdin(&mut self) -> io::Result<Pin<&mut TokioIo<ChildStdin>>> {
        self.stdin
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::BrokenPipe.into())
    }
}

impl hyper::rt::Read for Session {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match (&mut this.socket, &mut this.stdout) {
            (Some(socket), _) => Pin::new(socket).poll_read(cx, buf),
            (None, Some(stdout)) => Pin::new(stdout).poll_read(cx, buf),
            (None, None) => Poll::Ready(Ok(())),
        }
    }
}

impl hyper::rt::Write for Session {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(socket) = &mut this.socket {
            return Pin::new(socket).poll_write(cx, buf);
        }
        this.stdin()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(socket) = &mut this.socket {
            return Pin::new(socket).poll_flush(cx);
        }
        this.stdin()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(socket) = &mut this.socket {
            return Pin::new(socket).poll_shutdown(cx);
        }
        if this.stdin.is_some() {
            std::task::ready!(this.stdin()?.poll_shutdown(cx))?;
            // Closing the pipe is what ends the remote's input.
            this.stdin = None;
        }
        Poll::Ready(Ok(()))
    }
}

impl Connection for Session {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn an_ssh_url_is_read_as_the_docker_cli_reads_it() {
        assert_eq!(
            target("ssh://root@server"),
            Target {
                user: Some("root".into()),
                host: "server".into(),
                port: None
            }
        );
        assert_eq!(
            target("ssh://server:2222"),
            Target {
                user: None,
                host: "server".into(),
                port: Some(2222)
            }
        );
        let v6 = target("ssh://me@[::1]:22");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(22)));
        assert_eq!(v6.url(), "ssh://me@[::1]:22");
        assert_eq!(target("ssh://a@b:7").url(), "ssh://a@b:7");
    }

    #[test]
    fn a_bad_ssh_url_is_an_error_that_says_what_is_wrong() {
        for (url, why) in [
            ("ssh://", "the host is empty"),
            ("ssh://root@", "the host is empty"),
            ("ssh://@host", "the user before @ is empty"),
            ("ssh://root@host/var/run", "\"/var/run\" after the host"),
            ("ssh://host?x=1", "after the host"),
            ("ssh://host:0", "not a number from 1 to 65535"),
            ("ssh://host:65536", "not a number from 1 to 65535"),
            ("ssh://host:+22", "not a number from 1 to 65535"),
            ("ssh://host:", "not a number from 1 to 65535"),
            ("ssh://host:ab", "not a number from 1 to 65535"),
            ("ssh://u:pw@host", "password"),
            ("ssh://-oProxyCommand=x", "may not start with -"),
            ("ssh://-l@host", "may not start with -"),
            ("ssh://[::1", "closing ]"),
            ("ssh://[::1]x", "other than :port"),
            ("ssh://host name", "spaces"),
            ("ssh://ho\nst", "control"),
        ] {
            let e = Target::parse(url).unwrap_err();
            assert!(e.contains(why), "{url}: {e}");
            assert!(
                e.starts_with(&format!(
                    "the engine host {url:?} is not a usable ssh:// URL"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn the_ssh_command_shares_a_control_socket_and_runs_dial_stdio() {
        let args = |t: &Tunnel, n: usize| -> String {
            let args: Vec<String> = t
                .args(&t.masters[n])
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            args.join(" ")
        };
        let t = Tunnel::new(
            target("ssh://root@srv:2222"),
            Path::new("/run/user/1/berth"),
            60,
        )
        .unwrap();
        // The socket's name: the first 8 bytes of the URL's sha256.
        let id = "c4d43663e55794dc";
        assert_eq!(
            args(&t, 0),
            format!(
                "-T -o BatchMode=yes -o ConnectTimeout=10 -o ControlMaster=auto \
                 -o ControlPersist=60 -o StreamLocalBindUnlink=yes -o ControlPath=/run/user/1/berth/{id}-0 -l root -p 2222 \
                 -- srv docker system dial-stdio"
            )
        );
        assert!(args(&t, 3).contains(&format!("ControlPath=/run/user/1/berth/{id}-3 ")));

        // Off still shares the connection within the run, a second at most after.
        let t = Tunnel::new(target("ssh://srv"), Path::new("/tmp/b%x"), 0).unwrap();
        let off = args(&t, 0);
        assert!(off.contains("ControlPersist=1 "), "{off}");
        let pid = std::process::id();
        assert!(
            off.contains(&format!("ControlPath=/tmp/b%%x/{pid}-")),
            "{off}"
        );
        assert!(off.ends_with(" -- srv docker system dial-stdio"), "{off}");

        let long = format!("/{}", "d".repeat(70));
        assert!(Tunnel::new(target("ssh://srv"), Path::new(&long), 0).is_err());
    }

    #[test]
    fn persist_is_seconds_or_off() {
        assert_eq!(persist_seconds(None), Ok(60));
        assert_eq!(persist_seconds(Some("")), Ok(60));
        assert_eq!(persist_seconds(Some("0")), Ok(0));
        assert_eq!(persist_seconds(Some("off")), Ok(0));
        assert_eq!(persist_seconds(Some("300")), Ok(300));
        let e = persist_seconds(Some("1m")).unwrap_err();
        assert!(
            e.starts_with("BERTH_SSH_PERSIST=\"1m\" is not a number of seconds"),
            "{e}"
        );
    }

    #[test]
    fn ssh_failures_are_told_apart_by_what_ssh_says() {
        let t = target("ssh://root@127.0.0.1:2299");
        let cases = [
            (
                255,
                "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n",
                Problem::Unreachable,
            ),
            (
                255,
                "ssh: Could not resolve hostname nope.invalid: Name or service not known\n",
                Problem::Unreachable,
            ),
            (
                255,
                "Warning: Permanently added '[127.0.0.1]:2299' (ED25519) to the list of known hosts.\r\ndaemon@127.0.0.1: Permission denied (publickey).\r\n",
                Problem::AuthRefused,
            ),
            (255, "Host key verification failed.\r\n", Problem::HostKey),
            (
                127,
                "Could not chdir to home directory /home/x: No such file or directory\nsh: 1: docker: not found\n",
                Problem::NoDocker,
            ),
            (
                127,
                "bash: line 1: docker: command not found\n",
                Problem::NoDocker,
            ),
            (127, "zsh:1: no such command\n", Problem::NoDocker),
            (
                1,
                "failed to open the raw stream connection: dial unix /var/run/docker.sock: connect: permission denied\n",
                Problem::NotAllowed,
            ),
            (
                1,
                "failed to open the raw stream connection: dial unix /var/run/docker.sock: connect: no such file or directory\n",
                Problem::EngineDown,
            ),
            (1, "something new\n", Problem::Other),
        ];
        for (code, stderr, problem) in cases {
            let f = classify(&t, Some(code), stderr);
            assert_eq!(f.problem, problem, "{stderr}");
            assert!(
                !f.reason.contains('\r') && !f.reason.contains("Warning"),
                "{f:?}"
            );
            assert!(f.to_string().contains("ssh://root@127.0.0.1:2299"), "{f}");
        }
        let f = classify(
            &t,
            Some(255),
            "daemon@127.0.0.1: Permission denied (publickey).\r\n",
        );
        assert_eq!(
            f.to_string(),
            "the ssh server of ssh://root@127.0.0.1:2299 refused the login as root: \
             \"daemon@127.0.0.1: Permission denied (publickey).\""
        );
        // What the remote prints reaches the terminal only cleaned and cut.
        let f = classify(
            &t,
            Some(1),
            &format!("\x1b]0;owned\x07{}\n", "x".repeat(5000)),
        );
        assert!(
            !f.reason.contains('\x1b') && f.reason.len() < 400,
            "{}",
            f.reason.len()
        );
        assert_eq!(classify(&t, None, "").reason, "ssh said nothing");
    }
}
