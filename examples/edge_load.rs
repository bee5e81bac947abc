//! The load generator of `bench/edge.sh` and `bench/rollout.sh`: the same
//! load against a service published directly and against the same service
//! behind its edge, in interleaved rounds, and what the extra hop costs;
//! or (`--watch`) a load on one port while its service is replaced.
//!
//!     edge_load --direct PORT --edge PORT [--mode http|echo] [--path /file]
//!               [--bytes N] [--clients N] [--rounds N] [--seconds S] [--warmup S]
//!
//! Modes:
//!
//! - `http`: every request on a new connection (busybox httpd closes after
//!   each answer, so there is no keep-alive to measure with it): connect,
//!   `GET PATH HTTP/1.0`, read the answer to its end, check the status (200)
//!   and, with `--bytes`, the body's length;
//! - `echo`: each client keeps one connection for the whole round and sends
//!   64-byte messages, waiting for each echo before the next: persistent
//!   connections, as keep-alive clients use them.
//!
//! `--clients` threads run closed loops for `--seconds` per round (so a
//! round ends by itself); a round measures one address. The rounds
//! alternate which address goes first, after one `--warmup` round each that
//! is not counted. Each round gives its requests per second and its p50 and
//! p99 latency; the summary is the median of the rounds for each, then
//! edge/direct for throughput and edge - direct for p99, against the
//! targets (throughput at most 5% lower, p99 at most 1 ms more), PASS or
//! FAIL. Errors (refused, reset, timed out, a wrong answer) are counted and
//! printed; a round with errors is marked. Loopback only.
//!
//! The other mode, for `bench/rollout.sh`, loads one port while the service
//! behind it is replaced, and says what failed and when:
//!
//!     edge_load --watch PORT [--mode http|echo] [--path /file] [--clients N]
//!               [--pace-ms MS] [--min-requests N] [--max-seconds S]
//!
//! It prints `started UNIX-SECONDS` once its clients run, then loads until
//! its stdin reaches its end *and* `--min-requests` requests were made, or
//! `--max-seconds` passed (so it ends by itself), and prints one line of
//! JSON: requests, failures by kind, the outage (from the start of the first
//! failed request to the end of the last), the longest wait between two
//! answers (any client), p50/p99/max latency, and each distinct answer body
//! (the app's version) with how many times and from when to when it came,
//! and how many answers took 0.5 s or more (`slow`).
//! `http` requests go on a new connection each; `echo` clients each keep one
//! connection, sending a message every `--pace-ms` (0: at once), and when
//! the server closes a connection that has served before, before any byte
//! of the echo, the message is sent again once on a new connection, as HTTP
//! clients do with an idempotent request on a kept-alive connection; those
//! are counted (`retried`), and only a message whose retry fails too is a
//! failure. Times are UNIX seconds.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TIMEOUT: Duration = Duration::from_secs(5);
const MESSAGE: usize = 64;
/// The most requests one `--watch` run makes, whatever it is told.
const MAX_REQUESTS: u64 = 5_000_000;
/// An answer this slow (in µs) is counted as slow by `--watch`.
const SLOW_MICROS: u32 = 500_000;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Http,
    Echo,
}

struct Args {
    direct: u16,
    edge: u16,
    /// `--watch PORT`: the rollout mode.
    watch: Option<u16>,
    pace: Duration,
    min_requests: u64,
    max_seconds: f64,
    mode: Mode,
    path: String,
    bytes: Option<usize>,
    clients: usize,
    rounds: usize,
    seconds: f64,
    warmup: f64,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        direct: 0,
        edge: 0,
        watch: None,
        pace: Duration::ZERO,
        min_requests: 0,
        max_seconds: 60.0,
        mode: Mode::Http,
        path: "/".into(),
        bytes: None,
        clients: 8,
        rounds: 5,
        seconds: 3.0,
        warmup: 1.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |v: &str| format!("{flag}: bad value {v:?}");
        match flag.as_str() {
            "--direct" => a.direct = value()?.parse().map_err(|_| bad("port"))?,
            "--edge" => a.edge = value()?.parse().map_err(|_| bad("port"))?,
            "--watch" => a.watch = Some(value()?.parse().map_err(|_| bad("port"))?),
            "--pace-ms" => {
                let ms: u64 = value()?.parse().map_err(|_| bad("pace"))?;
                a.pace = Duration::from_millis(ms.min(60_000));
            }
            "--min-requests" => {
                a.min_requests = value()?.parse().map_err(|_| bad("min-requests"))?
            }
            "--max-seconds" => a.max_seconds = value()?.parse().map_err(|_| bad("max-seconds"))?,
            "--mode" => {
                a.mode = match value()?.as_str() {
                    "http" => Mode::Http,
                    "echo" => Mode::Echo,
                    v => return Err(bad(v)),
                }
            }
            "--path" => a.path = value()?,
            "--bytes" => a.bytes = Some(value()?.parse().map_err(|_| bad("bytes"))?),
            "--clients" => a.clients = value()?.parse().map_err(|_| bad("clients"))?,
            "--rounds" => a.rounds = value()?.parse().map_err(|_| bad("rounds"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|_| bad("seconds"))?,
            "--warmup" => a.warmup = value()?.parse().map_err(|_| bad("warmup"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.watch == Some(0) {
        return Err("--watch needs a port (1-65535)".into());
    }
    if a.watch.is_none() && (a.direct == 0 || a.edge == 0) {
        return Err("--direct PORT and --edge PORT (or --watch PORT) are required".into());
    }
    if !(a.max_seconds > 0.0 && a.max_seconds <= 3600.0) || a.min_requests > MAX_REQUESTS {
        return Err(format!(
            "--max-seconds must be in (0, 3600], --min-requests at most {MAX_REQUESTS}"
        ));
    }
    if !(1..=1024).contains(&a.clients) || !(1..=1000).contains(&a.rounds) {
        return Err("--clients must be in 1-1024, --rounds in 1-1000".into());
    }
    // Bounded: a run ends by itself, and Duration takes the value.
    let bounded = a.seconds > 0.0 && a.seconds <= 3600.0 && (0.0..=3600.0).contains(&a.warmup);
    if !bounded {
        return Err("--seconds must be in (0, 3600], --warmup in [0, 3600]".into());
    }
    Ok(a)
}

/// What one round measured.
struct Round {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn round(args: &Args, port: u16, seconds: f64) -> Round {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let results: Vec<(Vec<u32>, u64, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.clients)
            .map(|_| s.spawn(move || client(args, addr, deadline)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Vec::new(), 1, Some("a client panicked".into())))
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut micros: Vec<u32> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for (m, e, f) in results {
        micros.extend(m);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    micros.sort_unstable();
    let pct = |p: f64| -> f64 {
        if micros.is_empty() {
            return f64::NAN;
        }
        let i = ((micros.len() as f64 * p).ceil() as usize).clamp(1, micros.len()) - 1;
        f64::from(micros[i]) / 1000.0
    };
    Round {
        ok: micros.len() as u64,
        errors,
        first_error,
        per_second: micros.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// One client's closed loop until `deadline`: latencies in microseconds,
/// errors, and the first error's text.
fn client(args: &Args, addr: SocketAddr, deadline: Instant) -> (Vec<u32>, u64, Option<String>) {
    let mut micros = Vec::new();
    let mut errors = 0;
    let mut first = None;
    let mut note = |e: String, errors: &mut u64| {
        *errors += 1;
        if first.is_none() {
            first = Some(e);
        }
        // Do not spin on a refusing port.
        std::thread::sleep(Duration::from_millis(10));
    };
    match args.mode {
        Mode::Http => {
            let request = format!("GET {} HTTP/1.0\r\nHost: bench\r\n\r\n", args.path);
            let mut buf = Vec::with_capacity(128 * 1024);
            while Instant::now() < deadline {
                let t = Instant::now();
                match http_once(addr, &request, &mut buf, args.bytes) {
                    Ok(_) => micros.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(e) => note(e.text, &mut errors),
                }
            }
        }
        Mode::Echo => {
            let message = [b'x'; MESSAGE];
            let mut answer = [0u8; MESSAGE];
            'connect: while Instant::now() < deadline {
                let mut s = match connect(addr) {
                    Ok(s) => s,
                    Err(e) => {
                        note(e.text, &mut errors);
                        continue;
                    }
                };
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = s
                        .write_all(&message)
                        .and_then(|_| s.read_exact(&mut answer));
                    match r {
                        Ok(()) if answer == message => {
                            micros.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32)
                        }
                        Ok(()) => {
                            note("the echo differs".into(), &mut errors);
                            continue 'connect;
                        }
                        Err(e) => {
                            note(format!("echo: {e}"), &mut errors);
                            continue 'connect;
                        }
                    }
                }
            }
        }
    }
    (micros, errors, first)
}

/// Why a request failed: a kind to count (`refused`, `reset`, `timeout`,
/// `closed`, `status`, ...) and what happened, to print.
struct Failure {
    kind: &'static str,
    text: String,
}

impl Failure {
    fn new(kind: &'static str, text: String) -> Failure {
        Failure { kind, text }
    }

    fn io(stage: &str, e: &io::Error) -> Failure {
        use io::ErrorKind as K;
        let kind = match e.kind() {
            K::ConnectionRefused => "refused",
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => "reset",
            K::TimedOut | K::WouldBlock => "timeout",
            K::UnexpectedEof => "closed",
            _ => "other",
        };
        Failure::new(kind, format!("{stage}: {e}"))
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, Failure> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| Failure::io("connect", &e))?;
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    Ok(s)
}

/// One request on a new connection: where the body starts in `buf`.
fn http_once(
    addr: SocketAddr,
    request: &str,
    buf: &mut Vec<u8>,
    bytes: Option<usize>,
) -> Result<usize, Failure> {
    let mut s = connect(addr)?;
    s.write_all(request.as_bytes())
        .map_err(|e| Failure::io("send", &e))?;
    buf.clear();
    s.read_to_end(buf).map_err(|e| Failure::io("read", &e))?;
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            Failure::new(
                "closed",
                format!("no complete answer ({} bytes)", buf.len()),
            )
        })?;
    let status_ok = buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200");
    if !status_ok {
        let line = String::from_utf8_lossy(&buf[..head_end.min(40)]).into_owned();
        return Err(Failure::new("status", format!("answer {line:?}")));
    }
    let body = buf.len() - head_end - 4;
    match bytes {
        Some(n) if n != body => Err(Failure::new(
            "short",
            format!("a body of {body} bytes, not {n}"),
        )),
        _ => Ok(head_end + 4),
    }
}

/// When a `--watch` run stops: its stdin ended and it made enough
/// requests, or its time is up.
struct Stop {
    eof: AtomicBool,
    made: AtomicU64,
    min: u64,
    hard: Instant,
}

impl Stop {
    fn now(&self) -> bool {
        let made = self.made.load(Ordering::Relaxed);
        Instant::now() >= self.hard
            || made >= MAX_REQUESTS
            || (self.eof.load(Ordering::Relaxed) && made >= self.min)
    }
}

/// What one `--watch` client saw; times in seconds from the start.
#[derive(Default)]
struct Watched {
    micros: Vec<u32>,
    /// When each answer came.
    answered: Vec<f64>,
    /// Each failed request: start, end, kind.
    failed: Vec<(f64, f64, &'static str)>,
    first_error: Option<String>,
    /// Each distinct answer (the body's first line): count, first, last.
    answers: BTreeMap<String, (u64, f64, f64)>,
    retried: u64,
}

impl Watched {
    fn ok(&mut self, started: f64, ended: f64, answer: Option<&str>) {
        self.micros
            .push(((ended - started) * 1e6).clamp(0.0, u32::MAX as f64) as u32);
        self.answered.push(ended);
        if let Some(a) = answer {
            let e = self
                .answers
                .entry(a.to_string())
                .or_insert((0, ended, ended));
            e.0 += 1;
            e.2 = ended;
        }
    }

    fn fail(&mut self, started: f64, ended: f64, f: Failure) {
        self.failed.push((started, ended, f.kind));
        self.first_error.get_or_insert(f.text);
        // Do not spin on a refusing port.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One echo on `s`: Err with how many bytes of the echo came first.
fn echo_once(s: &mut TcpStream, message: &[u8]) -> Result<(), (usize, Failure)> {
    s.write_all(message)
        .map_err(|e| (0, Failure::io("send", &e)))?;
    let mut answer = [0u8; MESSAGE];
    let mut got = 0;
    while got < answer.len() {
        match s.read(&mut answer[got..]) {
            Ok(0) => {
                let f = Failure::new("closed", format!("closed after {got} bytes of the echo"));
                return Err((got, f));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((got, Failure::io("read", &e))),
        }
    }
    if answer[..] != message[..] {
        return Err((got, Failure::new("wrong", "the echo differs".into())));
    }
    Ok(())
}

/// One `--watch` client until `stop`.
fn watch_client(args: &Args, addr: SocketAddr, stop: &Stop, t0: Instant) -> Watched {
    let mut w = Watched::default();
    let at = || t0.elapsed().as_secs_f64();
    let request = format!("GET {} HTTP/1.0\r\nHost: bench\r\n\r\n", args.path);
    let message = [b'x'; MESSAGE];
    let mut buf = Vec::with_capacity(128 * 1024);
    // echo: the connection kept between messages; it has served before.
    let mut kept: Option<TcpStream> = None;
    while !stop.now() {
        stop.made.fetch_add(1, Ordering::Relaxed);
        let started = at();
        match args.mode {
            Mode::Http => match http_once(addr, &request, &mut buf, args.bytes) {
                Ok(body) => {
                    let text = String::from_utf8_lossy(&buf[body..]);
                    let first = text.lines().next().unwrap_or("").trim().to_string();
                    w.ok(started, at(), Some(&first));
                }
                Err(f) => w.fail(started, at(), f),
            },
            Mode::Echo => {
                let fresh = || -> Result<TcpStream, Failure> {
                    let mut s = connect(addr)?;
                    echo_once(&mut s, &message).map_err(|(_, f)| f)?;
                    Ok(s)
                };
                let result = match kept.take() {
                    Some(mut s) => match echo_once(&mut s, &message) {
                        Ok(()) => Ok(s),
                        // Closed before any byte of the echo: once more,
                        // on a new connection.
                        Err((0, _)) => {
                            w.retried += 1;
                            fresh()
                        }
                        Err((_, f)) => Err(f),
                    },
                    None => fresh(),
                };
                match result {
                    Ok(s) => {
                        kept = Some(s);
                        w.ok(started, at(), None);
                    }
                    Err(f) => w.fail(started, at(), f),
                }
            }
        }
        if !args.pace.is_zero() {
            std::thread::sleep(args.pace);
        }
    }
    w
}

/// `--watch PORT`: load one port until told to stop; one line of JSON.
fn watch(args: &Args, port: u16) -> ExitCode {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let t0 = Instant::now();
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let stop = Arc::new(Stop {
        eof: AtomicBool::new(false),
        made: AtomicU64::new(0),
        min: args.min_requests,
        hard: t0 + Duration::from_secs_f64(args.max_seconds),
    });
    // Not joined: a stdin that never ends must not keep the run waiting.
    let eof = stop.clone();
    std::thread::spawn(move || {
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        eof.eof.store(true, Ordering::Relaxed);
    });
    let results: Vec<Watched> = std::thread::scope(|s| {
        let stop = &*stop;
        let handles: Vec<_> = (0..args.clients)
            .map(|_| s.spawn(move || watch_client(args, addr, stop, t0)))
            .collect();
        println!("started {epoch:.6}");
        let _ = io::stdout().flush();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let mut micros = Vec::new();
    let mut answered = vec![0.0, elapsed];
    let mut failed = Vec::new();
    let mut answers: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    let mut retried = 0;
    let mut first_error = None;
    for w in results {
        micros.extend(w.micros);
        answered.extend(w.answered);
        failed.extend(w.failed);
        retried += w.retried;
        if first_error.is_none() {
            first_error = w.first_error;
        }
        for (a, (n, first, last)) in w.answers {
            let e = answers.entry(a).or_insert((0, first, last));
            e.0 += n;
            e.1 = e.1.min(first);
            e.2 = e.2.max(last);
        }
    }
    micros.sort_unstable();
    answered.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        let i = ((micros.len() as f64 * p).ceil() as usize).clamp(1, micros.len().max(1)) - 1;
        micros.get(i).map(|m| f64::from(*m) / 1000.0)
    };
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, _, k) in &failed {
        *kinds.entry(k).or_default() += 1;
    }
    let first_failure = failed.iter().map(|f| f.0).min_by(f64::total_cmp);
    let last_failure = failed.iter().map(|f| f.1).max_by(f64::total_cmp);
    let outage = match (first_failure, last_failure) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let (gap, gap_from) = answered
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
    let slow = micros.iter().filter(|m| **m >= SLOW_MICROS).count();
    let abs = |t: Option<f64>| t.map(|t| epoch + t);
    let report = serde_json::json!({
        "started": epoch,
        "seconds": elapsed,
        "requests": micros.len() + failed.len(),
        "ok": micros.len(),
        "failed": failed.len(),
        "kinds": kinds,
        "first_error": first_error,
        "first_failure": abs(first_failure),
        "last_failure": abs(last_failure),
        "outage": outage,
        "longest_gap": gap,
        "longest_gap_from": epoch + gap_from,
        "slow": slow,
        "retried": retried,
        "per_second": micros.len() as f64 / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": micros.last().map(|m| f64::from(*m) / 1000.0),
        "answers": answers
            .iter()
            .map(|(a, (n, first, last))| {
                (a.clone(), serde_json::json!({"n": n, "first": epoch + first, "last": epoch + last}))
            })
            .collect::<serde_json::Map<_, _>>(),
    });
    println!("{report}");
    ExitCode::SUCCESS
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("edge_load: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(port) = args.watch {
        return watch(&args, port);
    }
    let targets = [("direct", args.direct), ("edge", args.edge)];
    if args.warmup > 0.0 {
        for (_, port) in targets {
            round(&args, port, args.warmup);
        }
    }
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    println!(
        "  {:<5} {:<6} {:>10} {:>9} {:>9} {:>8}",
        "round", "path", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for r in 0..args.rounds {
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, port) = targets[i];
            let m = round(&args, port, args.seconds);
            let error = m
                .first_error
                .as_deref()
                .map(|e| format!("  first: {e}"))
                .unwrap_or_default();
            println!(
                "  {:<5} {:<6} {:>10.0} {:>9.3} {:>9.3} {:>8}{error}",
                r + 1,
                name,
                m.per_second,
                m.p50_ms,
                m.p99_ms,
                m.errors
            );
            rounds[i].push(m);
        }
    }
    let summary = |i: usize| {
        let r = &rounds[i];
        (
            median(r.iter().map(|m| m.per_second).collect()),
            median(r.iter().map(|m| m.p50_ms).collect()),
            median(r.iter().map(|m| m.p99_ms).collect()),
            r.iter().map(|m| m.errors).sum::<u64>(),
            r.iter().map(|m| m.ok).sum::<u64>(),
        )
    };
    let (d_rps, d_p50, d_p99, d_err, d_ok) = summary(0);
    let (e_rps, e_p50, e_p99, e_err, e_ok) = summary(1);
    println!("  median of {} rounds:", args.rounds);
    println!(
        "  {:<12} {:>10.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  ({d_ok} requests, {d_err} errors)",
        "direct", d_rps, d_p50, d_p99
    );
    println!(
        "  {:<12} {:>10.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  ({e_ok} requests, {e_err} errors)",
        "edge", e_rps, e_p50, e_p99
    );
    let ratio = e_rps / d_rps;
    let added = e_p99 - d_p99;
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "  throughput edge/direct {ratio:.3} (target >= 0.950) {}",
        verdict(ratio >= 0.95)
    );
    println!(
        "  p99 added by the edge {added:+.3} ms (target <= 1.000 ms) {}",
        verdict(added <= 1.0)
    );
    if d_err + e_err > 0 {
        println!("  note: errors above; their requests are not in the latencies");
    }
    ExitCode::SUCCESS
}
