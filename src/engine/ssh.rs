//! The engine behind `ssh://[user@]host[:port]`, reached as the docker CLI
//! reaches it (`cli/connhelper`): the system `ssh` runs
//! `docker system dial-stdio` on the host, and the engine's API is spoken
//! over that command's stdin and stdout. Using the `ssh` binary means the
//! user's `~/.ssh/config`, agent, keys and known hosts apply as they do
//! for `ssh` itself.
//!
//! # One handshake, shared
//!
//! Every ssh berth starts uses one control socket per remote
//! (`ControlMaster=auto`, `ControlPath=<runtime dir>/%C`): the first one
//! does the handshake and becomes the master, every later one is a
//! session over that connection (a round trip, not a handshake). The
//! master stays `BERTH_SSH_PERSIST` seconds (default 60) after its last
//! session (`ControlPersist`), so the next berth command within that time
//! starts without a handshake either. `BERTH_SSH_PERSIST=0` turns that
//! off: the run gets a control socket of its own (`<pid>-%C`), so its
//! connection is still shared by all its calls, and ends a second after
//! the run's last session.
//!
//! The control sockets live in berth's private directory
//! (`crate::runtime_dir`: `$XDG_RUNTIME_DIR/berth`, else
//! `/tmp/berth-<uid>`, mode 0700, checked to be the user's own and not a
//! symlink): a control socket gives whoever can open it the user's ssh
//! login.
//!
//! Each HTTP connection to the engine is one `dial-stdio` session, and
//! berth keeps idle ones for reuse, so sequential calls share one session
//! and calls in parallel each get their own, over the same master.
//!
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
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
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
    args: Vec<OsString>,
    failure: Mutex<Option<Failure>>,
    failed: tokio::sync::Notify,
}

impl Tunnel {
    /// A tunnel to `target`, with its control socket in `runtime_dir`,
    /// kept `persist` seconds after its last session.
    /// Errors when the directory's path is too long for a socket.
    pub fn new(target: Target, runtime_dir: &Path, persist: u32) -> Result<Tunnel, String> {
        // A unix socket's path holds 107 bytes, and ssh adds `/` and 40 hex
        // digits for %C, then a 17-byte temporary suffix while it binds.
        // With persistence off, the socket is this run's own (`<pid>-%C`).
        if runtime_dir.as_os_str().len() + 1 + 11 + 40 + 17 > 107 {
            return Err(format!(
                "berth's directory {} is too long a path for ssh's control socket; set \
                 XDG_RUNTIME_DIR to a shorter one",
                runtime_dir.display()
            ));
        }
        // ssh expands % in ControlPath; the directory's own are literal.
        let dir = runtime_dir.display().to_string().replace('%', "%%");
        // Off: a socket no later run finds, and the least persistence (0
        // would mean for ever), so the master ends a second after the
        // run's last session.
        let (socket, persist) = match persist {
            0 => (format!("{}-%C", std::process::id()), 1),
            n => ("%C".to_string(), n),
        };
        let mut args: Vec<OsString> = [
            "-T".to_string(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={CONNECT_TIMEOUT}"),
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={dir}/{socket}"),
            "-o".into(),
            format!("ControlPersist={persist}"),
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        if let Some(user) = &target.user {
            args.extend(["-l".into(), user.into()]);
        }
        if let Some(port) = target.port {
            args.extend(["-p".into(), port.to_string().into()]);
        }
        args.extend(
            ["--", &target.host, "docker", "system", "dial-stdio"]
                .into_iter()
                .map(OsString::from),
        );
        Ok(Tunnel {
            target,
            args,
            failure: Mutex::new(None),
            failed: tokio::sync::Notify::new(),
        })
    }

    /// The arguments given to `ssh`.
    #[cfg(test)]
    fn args(&self) -> &[OsString] {
        &self.args
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

    /// Starts one `ssh ... docker system dial-stdio` session.
    fn open(self: &Arc<Self>) -> io::Result<Session> {
        let mut child = tokio::process::Command::new("ssh")
            .args(&self.args)
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
            let Ok(status) = status else { return };
            if !status.success() {
                let text = String::from_utf8_lossy(&text);
                tunnel.record(classify(&tunnel.target, status.code(), &text));
            }
        });
        Ok(Session {
            stdin: Some(TokioIo::new(stdin)),
            stdout: TokioIo::new(stdout),
        })
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
        let opened = self.tunnel.open();
        Box::pin(async move { opened })
    }
}

/// One `docker system dial-stdio` session: its stdout is read, its stdin
/// written.
struct Session {
    stdin: Option<TokioIo<ChildStdin>>,
    stdout: TokioIo<ChildStdout>,
}

impl Session {
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
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Session {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stdin()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().stdin()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
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
    fn the_ssh_command_shares_one_control_socket_and_runs_dial_stdio() {
        let t = Tunnel::new(
            target("ssh://root@srv:2222"),
            Path::new("/run/user/1/berth"),
            60,
        )
        .unwrap();
        let args: Vec<String> = t
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-T -o BatchMode=yes -o ConnectTimeout=10 -o ControlMaster=auto \
             -o ControlPath=/run/user/1/berth/%C -o ControlPersist=60 -l root -p 2222 \
             -- srv docker system dial-stdio"
        );
        // Off still shares the connection within the run, a second at most after.
        let t = Tunnel::new(target("ssh://srv"), Path::new("/tmp/b%x"), 0).unwrap();
        let long = format!("/{}", "d".repeat(60));
        assert!(Tunnel::new(target("ssh://srv"), Path::new(&long), 0).is_err());
        let args: Vec<String> = t
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.contains(&"ControlPersist=1".to_string()), "{args:?}");
        assert!(
            args.contains(&format!("ControlPath=/tmp/b%%x/{}-%C", std::process::id())),
            "{args:?}"
        );
        assert!(args.ends_with(&[
            "--".into(),
            "srv".into(),
            "docker".into(),
            "system".into(),
            "dial-stdio".into()
        ]));
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
