//! The listeners and the connections: accept, take the target the state
//! file names at that moment, connect upstream, copy both ways until both
//! sides are done; on SIGTERM, stop accepting and let what is in flight
//! finish.
//!
//! Guarantees and caveats:
//!
//! - A connection keeps the upstream it was given at accept until it closes;
//!   a switch reaches only connections accepted after it (the drain).
//! - A host name is resolved when a connection needs it (by Docker's DNS or
//!   by the engine, [`super::resolve`]; one lookup at a time), and the
//!   answer is kept for [`RESOLVE_TTL`]; a connect that fails forgets it. So a
//!   container whose address changed (it was restarted, or dockerd was) is
//!   found again by its short id. Within the TTL after such a restart, a
//!   connect may reach the old address; that fails (nothing listens there)
//!   unless the engine gave the address to another container in that second,
//!   which Docker's sequential address allocation makes unlikely. A name
//!   with several addresses gives each connection the next one first
//!   ([`in_turn`]).
//! - A connect that fails is tried again, resolving again, with short pauses,
//!   for up to [`Options::patience`], and each try goes to the target named
//!   then: a client that arrives while its upstream restarts waits instead of
//!   being turned away, and one waiting on a container that is being replaced
//!   moves to its replacement. Only then is the client's connection closed
//!   (and a rate-limited line logged).
//! - Half-closes pass through: when one side stops sending, the other side's
//!   write half is shut down, and the other direction goes on.
//! - What the edge logs goes to stderr, at most one line per kind of trouble
//!   every [`LOG_EVERY`], with a count of what was left out.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::resolve::{EngineLookup, Resolver};
use super::status::Status;
use super::target::{self, Target, Watch};

/// How long one connect may take before the next try.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a resolved address is used without asking again.
pub const RESOLVE_TTL: Duration = Duration::from_secs(1);
/// The copy buffer of each direction of a connection, allocated for its
/// whole life: 16 KiB moves a large answer in few calls (with 64 KiB
/// buffers, the edge's CPU time per 64 KiB answer, against docker-proxy's on
/// the same run, measured the same: 0.85 against 0.84) while 10,000 idle
/// keep-alive clients hold 320 MiB, not 1.3 GiB.
const BUFFER: usize = 16 * 1024;
/// How often at most the status file is rewritten for connection counts
/// that changed (a new target is written at once).
pub const STATUS_EVERY: Duration = Duration::from_millis(100);
/// At most one log line per kind of trouble this often.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// One `--forward [IP:]LISTEN:TARGET`: the address and port the edge
/// listens on, and the port of the live container its connections go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The address to listen on; [`Options::listen_ip`] when none is given.
    pub ip: Option<IpAddr>,
    pub listen: u16,
    pub target: u16,
}

impl FromStr for Forward {
    type Err = String;

    /// `IP:LISTEN:TARGET` (an IPv6 address in brackets), `LISTEN:TARGET`,
    /// or one port for both.
    fn from_str(s: &str) -> Result<Forward, String> {
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{p:?} is not a port (1-65535)"))
        };
        let (ip, ports) = match s.rsplitn(3, ':').collect::<Vec<_>>()[..] {
            [target, listen, ip] => (Some(ip), format!("{listen}:{target}")),
            _ => (None, s.to_string()),
        };
        let ip = match ip {
            None => None,
            Some(ip) => {
                let bare = ip
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .unwrap_or(ip);
                Some(
                    bare.parse::<IpAddr>()
                        .map_err(|_| format!("{ip:?} is not an IP address"))?,
                )
            }
        };
        let (listen, target) = ports.split_once(':').unwrap_or((&ports, &ports));
        Ok(Forward {
            ip,
            listen: port(listen)?,
            target: port(target)?,
        })
    }
}

impl std::fmt::Display for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}:{}", self.listen, self.target),
            Some(ip) => write!(f, "{ip}:{}:{}", self.listen, self.target),
            None => write!(f, "{}:{}", self.listen, self.target),
        }
    }
}

/// The engine an edge in the host's network namespace asks for addresses
/// ([`super::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAt {
    /// The engine's unix socket, inside the edge's container.
    pub socket: PathBuf,
    /// The network on which the edge reaches the service's containers.
    pub network: String,
}

/// What an edge does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The state file ([`super::STATE_PATH`] in the container).
    pub state: PathBuf,
    /// Where to write the [`Status`], if anywhere.
    pub status: Option<PathBuf>,
    pub forwards: Vec<Forward>,
    /// The address to listen on when a forward names none: every address
    /// (in the edge's network namespace).
    pub listen_ip: IpAddr,
    /// Where addresses come from: the engine, or the system's resolver when
    /// this is None.
    pub engine: Option<EngineAt>,
    /// How long connections in flight may finish after SIGTERM.
    pub grace: Duration,
    /// How often the state file is read.
    pub poll: Duration,
    /// How long a client waits for its upstream to accept.
    pub patience: Duration,
}

impl Options {
    pub fn new(state: PathBuf, forwards: Vec<Forward>) -> Options {
        Options {
            state,
            status: None,
            forwards,
            listen_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            engine: None,
            grace: super::GRACE,
            poll: super::POLL,
            patience: Duration::from_secs(3),
        }
    }
}

/// Runs an edge until SIGTERM or SIGINT, then drains: the `berth edge`
/// command.
pub fn run(options: Options) -> io::Result<()> {
    // One thread: a connection's work is a few system calls, and on a
    // small machine the hand-offs between a pool's threads (futex wake-ups)
    // cost more than they spread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let edge = Edge::bind(options).await?;
        let ports: Vec<String> = edge
            .local_addrs()
            .iter()
            .zip(&edge.options.forwards)
            .map(|(a, f)| format!("{a} -> port {}", f.target))
            .collect();
        log(&format!("listening: {}", ports.join(", ")));
        edge.serve(stop_signal()).await
    });
    // A lookup still blocked in getaddrinfo must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// The listener of one forward. A forward that names no address listens
/// on every address: IPv6 and IPv4 on one socket where the namespace has
/// IPv6 (Docker publishes such a port on `0.0.0.0` and `::`), else on
/// `listen_ip`.
async fn listen(f: &Forward, listen_ip: IpAddr) -> io::Result<TcpListener> {
    let failed = |ip: IpAddr, e: io::Error| {
        io::Error::new(e.kind(), format!("cannot listen on {ip}:{}: {e}", f.listen))
    };
    if let Some(ip) = f.ip {
        return TcpListener::bind((ip, f.listen))
            .await
            .map_err(|e| failed(ip, e));
    }
    if listen_ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
        match dual_stack(f.listen) {
            Ok(l) => return Ok(l),
            // No IPv6 here (Docker turns it off in a container on a network
            // without it): IPv4 alone.
            Err(e) if no_ipv6(&e) => {}
            Err(e) => return Err(failed(IpAddr::V6(Ipv6Addr::UNSPECIFIED), e)),
        }
    }
    TcpListener::bind((listen_ip, f.listen))
        .await
        .map_err(|e| failed(listen_ip, e))
}

/// A listener on `[::]:port` that takes IPv4 too, whatever the system's
/// `bindv6only` says.
fn dual_stack(port: u16) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    s.set_only_v6(false)?;
    // What tokio's own bind does: a restarted edge rebinds at once.
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    s.listen(1024)?;
    TcpListener::from_std(s.into())
}

/// Whether an error says the namespace has no IPv6 (EAFNOSUPPORT, or no
/// address to bind).
fn no_ipv6(e: &io::Error) -> bool {
    const EAFNOSUPPORT: i32 = 97;
    e.raw_os_error() == Some(EAFNOSUPPORT) || e.kind() == io::ErrorKind::AddrNotAvailable
}

/// Resolves at the first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let term = async {
        match &mut term {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    let int = async {
        match &mut int {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = term => log("SIGTERM: no new connections"),
        () = int => log("SIGINT: no new connections"),
    }
}

/// An edge whose ports are bound, not yet serving.
pub struct Edge {
    forwards: Vec<(TcpListener, Forward)>,
    options: Options,
    shared: Arc<Shared>,
    send: watch::Sender<Option<Target>>,
}

impl Edge {
    /// Listens on every forward's port.
    pub async fn bind(options: Options) -> io::Result<Edge> {
        let mut forwards = Vec::new();
        for f in &options.forwards {
            forwards.push((listen(f, options.listen_ip).await?, *f));
        }
        let resolver = match &options.engine {
            Some(at) => Resolver::Engine(EngineLookup::new(&at.socket, &at.network)?),
            None => Resolver::System,
        };
        let (send, receive) = watch::channel(None);
        Ok(Edge {
            forwards,
            shared: Arc::new(Shared {
                target: receive,
                open: Mutex::new(BTreeMap::new()),
                resolved: Mutex::new(HashMap::new()),
                resolver,
                resolving: tokio::sync::Mutex::new(()),
                refreshing: AtomicBool::new(false),
                log: RateLimited::default(),
                patience: options.patience,
                turn: AtomicUsize::new(0),
            }),
            options,
            send,
        })
    }

    /// The addresses it listens on, in the order of the forwards.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.forwards
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for
    /// the connections in flight, at most [`Options::grace`].
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Edge {
            forwards,
            options,
            shared,
            send,
        } = self;
        let stopping = Arc::new(AtomicBool::new(false));
        let mut state = StateReader {
            watch: Watch::new(),
            options: options.clone(),
            shared: shared.clone(),
            send,
            written: None,
            stopping: stopping.clone(),
            runtime: None,
        };
        // Read once before accepting, so that the first clients are not
        // turned away for want of a read.
        state.step();
        state.runtime = Some(tokio::runtime::Handle::current());
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let done = done.clone();
            let poll = options.poll;
            std::thread::Builder::new()
                .name("edge-state".into())
                .spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        std::thread::sleep(poll);
                        state.step();
                    }
                    state.step();
                })?
        };
        let accepting: Vec<_> = forwards
            .into_iter()
            .map(|(l, f)| tokio::spawn(accept(shared.clone(), l, f.target)))
            .collect();
        shutdown.await;
        for a in &accepting {
            a.abort();
        }
        for a in accepting {
            // Aborted: the listener is closed once its task is gone.
            let _ = a.await;
        }
        stopping.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + options.grace;
        let mut open = shared.open_total();
        if open > 0 {
            log(&format!(
                "waiting up to {:.1}s for {open} connection(s) in flight",
                options.grace.as_secs_f64()
            ));
        }
        while open > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            open = shared.open_total();
        }
        if open > 0 {
            log(&format!(
                "{open} connection(s) still open after the grace period: closing them"
            ));
        }
        done.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        Ok(())
    }
}

/// What the listeners, the connections and the state reader share.
struct Shared {
    target: watch::Receiver<Option<Target>>,
    /// Connections open now, by their upstream.
    open: Mutex<BTreeMap<Target, u64>>,
    /// Addresses of host names, and when they were resolved.
    resolved: Mutex<HashMap<String, (Vec<IpAddr>, Instant)>>,
    resolver: Resolver,
    /// Held while a lookup runs.
    resolving: tokio::sync::Mutex<()>,
    /// A lookup refreshes an answer in the background.
    refreshing: AtomicBool,
    log: RateLimited,
    patience: Duration,
    /// Counts connections, to rotate a name's addresses ([`in_turn`]).
    turn: AtomicUsize,
}

/// A lock that a panic elsewhere did not make unusable: the data behind
/// these locks are counters and caches, always whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn current(&self) -> Option<Target> {
        self.target.borrow().clone()
    }

    fn open_total(&self) -> u64 {
        lock(&self.open).values().sum()
    }

    fn status(&self, target: Option<&Target>, stopping: bool) -> Status {
        Status {
            target: target.map(Target::to_string),
            open: lock(&self.open)
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(t, n)| (t.to_string(), *n))
                .collect(),
            stopping,
        }
    }

    /// The addresses of `target`. An answer older than [`RESOLVE_TTL`] is
    /// still given while one lookup in the background refreshes it, so a
    /// connection does not wait for the engine (or the DNS) once its target
    /// has an answer; a connect that fails forgets the answer, and the next
    /// try waits for a new one.
    async fn resolve(self: &Arc<Self>, target: &Target) -> io::Result<Vec<IpAddr>> {
        let host = match target {
            Target::Ip(ip) => return Ok(vec![*ip]),
            Target::Host(h) => h,
        };
        let cached = lock(&self.resolved)
            .get(host)
            .map(|(ips, at)| (ips.clone(), at.elapsed() < RESOLVE_TTL));
        match cached {
            Some((ips, true)) => Ok(ips),
            Some((ips, false)) => {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let shared = self.clone();
                    let host = host.clone();
                    tokio::spawn(async move {
                        // Gone, or no longer there: the next connection
                        // waits for a lookup of its own.
                        if shared.look_up(&host).await.is_err() {
                            lock(&shared.resolved).remove(&host);
                        }
                        shared.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(ips)
            }
            None => self.look_up(host).await,
        }
    }

    /// Asks where `host` is and keeps the answer. One lookup at a time: the
    /// connections that arrive while it runs (a burst) take its answer
    /// instead of each asking again.
    async fn look_up(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        let asked = Instant::now();
        let _one = self.resolving.lock().await;
        if let Some((ips, at)) = lock(&self.resolved).get(host)
            && *at >= asked
        {
            return Ok(ips.clone());
        }
        let ips = self.resolver.lookup(host).await?;
        lock(&self.resolved).insert(host.to_string(), (ips.clone(), Instant::now()));
        Ok(ips)
    }

    fn forget(&self, target: &Target) {
        if let Target::Host(h) = target {
            lock(&self.resolved).remove(h);
        }
    }
}

/// One connection counted against its upstream, from accept to close.
struct Open {
    shared: Arc<Shared>,
    target: Target,
}

impl Open {
    fn new(shared: &Arc<Shared>, target: Target) -> Open {
        *lock(&shared.open).entry(target.clone()).or_default() += 1;
        Open {
            shared: shared.clone(),
            target,
        }
    }

    /// Counts the connection against another upstream.
    fn move_to(&mut self, target: Target) {
        let mut open = lock(&self.shared.open);
        release(&mut open, &self.target);
        *open.entry(target.clone()).or_default() += 1;
        self.target = target;
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        release(&mut lock(&self.shared.open), &self.target);
    }
}

fn release(open: &mut BTreeMap<Target, u64>, target: &Target) {
    if let Some(n) = open.get_mut(target) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            open.remove(target);
        }
    }
}

/// Accepts connections on one listener until its task is aborted.
async fn accept(shared: Arc<Shared>, listener: TcpListener, port: u16) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => match shared.current() {
                Some(t) => {
                    let open = Open::new(&shared, t);
                    tokio::spawn(connection(client, open, port));
                }
                // Dropped: the client sees the connection closed.
                None => shared.log.note("no target", || {
                    "no target yet: closing a new connection".to_string()
                }),
            },
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to close.
                shared
                    .log
                    .note("accept", || format!("cannot accept a connection: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One client's connection: upstream, then copying until both sides end.
async fn connection(mut client: TcpStream, mut open: Open, port: u16) {
    let _ = client.set_nodelay(true);
    let Some(mut upstream) = connect(&mut open, port).await else {
        return;
    };
    let _ = upstream.set_nodelay(true);
    // A reset on either side ends both; there is no one to tell.
    let _ =
        tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, BUFFER, BUFFER).await;
}

/// A connection to `open`'s target, tried again (and moved to a new target,
/// if the state file names one meanwhile) until the patience runs out.
async fn connect(open: &mut Open, port: u16) -> Option<TcpStream> {
    let shared = open.shared.clone();
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let target = open.target.clone();
        let error = match attempt(&shared, &target, port).await {
            Ok(s) => return Some(s),
            Err(e) => e,
        };
        shared.forget(&target);
        let left = shared.patience.saturating_sub(started.elapsed());
        if left.is_zero() {
            shared.log.note("connect", || {
                format!(
                    "cannot reach {target} port {port} within {:.1}s ({error}): closing the client's connection",
                    shared.patience.as_secs_f64()
                )
            });
            return None;
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_millis(200));
        if let Some(now) = shared.current()
            && now != target
        {
            open.move_to(now);
        }
    }
}

async fn attempt(shared: &Arc<Shared>, target: &Target, port: u16) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let ips = shared.resolve(target).await?;
    let turn = shared.turn.fetch_add(1, Ordering::Relaxed);
    for ip in in_turn(&ips, turn) {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((ip, port))).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        }
    }
    Err(last)
}

/// The addresses of a name in the order one connection tries them: IPv4
/// before IPv6, each family rotated by `turn`, so that a name with several
/// addresses (a service's alias, with one per replica) spreads the
/// connections over them and a refusing one is passed over.
fn in_turn(ips: &[IpAddr], turn: usize) -> Vec<IpAddr> {
    let rotated = |v: Vec<IpAddr>| {
        let n = v.len().max(1);
        let mut v = v;
        v.rotate_left(turn % n);
        v
    };
    let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = ips.iter().partition(|ip| ip.is_ipv4());
    let mut out = rotated(v4);
    out.extend(rotated(v6));
    out
}

/// Reads the state file, passes a new target on, and writes the status when
/// it changed: one step per poll, on a thread of its own.
struct StateReader {
    watch: Watch,
    options: Options,
    shared: Arc<Shared>,
    send: watch::Sender<Option<Target>>,
    /// The status last written, and when.
    written: Option<(Status, Instant)>,
    stopping: Arc<AtomicBool>,
    /// The edge's runtime, once the reader runs on its own thread: a new
    /// target is looked up on it before the switch.
    runtime: Option<tokio::runtime::Handle>,
}

impl StateReader {
    fn step(&mut self) {
        let judged = match target::read_file(&self.options.state) {
            Ok(content) => self.watch.read(content.as_deref()),
            Err(e) => self.watch.unreadable(&e),
        };
        if let Some(t) = judged.switch {
            // Where the new target is, first, while connections still go to
            // the old one (berth drains that only once the status names the
            // new one): the first connections to the new target do not
            // wait for a lookup. One that fails is tried again by them.
            if let (Some(runtime), Target::Host(host)) = (&self.runtime, &t) {
                let _ = runtime.block_on(self.shared.look_up(host));
            }
            self.send.send_replace(Some(t));
        }
        if let Some(note) = judged.note {
            log(&note);
        }
        // After the switch: a status that names the new target means new
        // connections go there.
        let Some(path) = &self.options.status else {
            return;
        };
        let status = self
            .shared
            .status(self.watch.current(), self.stopping.load(Ordering::Relaxed));
        // A new target or the stop is written at once; counts that moved,
        // at most every STATUS_EVERY (each write is a rename: not free).
        let due = match &self.written {
            None => true,
            Some((w, _)) if w.target != status.target || w.stopping != status.stopping => true,
            Some((w, at)) => w.open != status.open && at.elapsed() >= STATUS_EVERY,
        };
        if !due {
            return;
        }
        match status.write(path) {
            Ok(()) => self.written = Some((status, Instant::now())),
            Err(e) => self.shared.log.note("status", || {
                format!("cannot write the status file {}: {e}", path.display())
            }),
        }
    }
}

/// One line to stderr; a closed stderr loses it, nothing more.
fn log(line: &str) {
    let _ = writeln!(io::stderr().lock(), "berth edge: {line}");
}

/// Log lines by kind, at most one per kind every [`LOG_EVERY`].
#[derive(Default)]
struct RateLimited {
    last: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl RateLimited {
    fn note(&self, kind: &'static str, line: impl FnOnce() -> String) {
        let mut last = lock(&self.last);
        let now = Instant::now();
        match last.get_mut(kind) {
            Some((at, skipped)) if now.duration_since(*at) < LOG_EVERY => *skipped += 1,
            Some((at, skipped)) => {
                let more = std::mem::take(skipped);
                *at = now;
                match more {
                    0 => log(&line()),
                    n => log(&format!("{} ({n} more like it before)", line())),
                }
            }
            None => {
                last.insert(kind, (now, 0));
                log(&line());
            }
        }
    }
}

#[cfg(test)]
mod tests;
