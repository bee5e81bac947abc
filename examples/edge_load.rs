//! The load generator of `bench/edge.sh`: the same load against a service
//! published directly and against the same service behind its edge, in
//! interleaved rounds, and what the extra hop costs.
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

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);
const MESSAGE: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Http,
    Echo,
}

struct Args {
    direct: u16,
    edge: u16,
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
    if a.direct == 0 || a.edge == 0 {
        return Err("--direct PORT and --edge PORT are required".into());
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
                    Ok(()) => micros.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(e) => note(e, &mut errors),
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
                        note(e, &mut errors);
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

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    Ok(s)
}

fn http_once(
    addr: SocketAddr,
    request: &str,
    buf: &mut Vec<u8>,
    bytes: Option<usize>,
) -> Result<(), String> {
    let mut s = connect(addr)?;
    s.write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    buf.clear();
    s.read_to_end(buf).map_err(|e| format!("read: {e}"))?;
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete answer ({} bytes)", buf.len()))?;
    let status_ok = buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200");
    if !status_ok {
        let line = String::from_utf8_lossy(&buf[..head_end.min(40)]).into_owned();
        return Err(format!("answer {line:?}"));
    }
    let body = buf.len() - head_end - 4;
    match bytes {
        Some(n) if n != body => Err(format!("a body of {body} bytes, not {n}")),
        _ => Ok(()),
    }
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
