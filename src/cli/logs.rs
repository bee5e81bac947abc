//! `berth logs`: the output of the stack's containers, interleaved as lines
//! arrive, each line prefixed with `service-n | `.
//!
//! With `--follow` it polls the project's container list every second and
//! joins any container it has no stream for: a new one from its first line,
//! a restarted one from the line after the last it printed (lines carry the
//! engine's timestamps, which is how a re-joined stream skips what was
//! already shown). Without `--follow` it prints what there is and ends.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::container::LogOutput;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::error::Error;
use super::session::{Needs, Replica, Session};
use super::{Global, Outcome};
use crate::engine::Engine;
use crate::engine::logs::LogRequest;
use crate::identity;

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Keep printing new lines; join restarted, recreated and new containers
    #[arg(long)]
    pub follow: bool,
    /// Lines from the end of each container's log (default: all)
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Show the engine's timestamp on each line
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Only lines since a time: Unix seconds, an RFC 3339 time
    /// (2024-05-01T10:00:00Z) or a duration before now (42s, 10m, 1h30m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

/// `berth logs -f` means follow, as in compose, although `-f` is also the
/// global `--file`: after the word `logs`, `-f` (alone or among other short
/// flags, `-ft`) is rewritten to `--follow` before clap sees it.
pub fn follow_shorthand(argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // Global options that take a value, so that their values are not taken
    // for the subcommand.
    const VALUED: [&str; 8] = [
        "-f",
        "--file",
        "-p",
        "--project-name",
        "--project-directory",
        "--env-file",
        "--profile",
        "--progress",
    ];
    let mut out = Vec::with_capacity(argv.len());
    let mut iter = argv.into_iter();
    out.extend(iter.next());
    let mut in_logs = false;
    let mut skip_value = false;
    for arg in iter.by_ref() {
        let Some(text) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if in_logs {
            if text == "--" {
                in_logs = false;
            } else if let Some(flags) = text.strip_prefix('-').filter(|f| {
                !f.starts_with('-') && f.contains('f') && f.chars().all(|c| c.is_ascii_alphabetic())
            }) {
                out.push("--follow".into());
                let rest: String = flags.chars().filter(|&c| c != 'f').collect();
                if !rest.is_empty() {
                    out.push(format!("-{rest}").into());
                }
                continue;
            }
        } else if skip_value {
            skip_value = false;
        } else if VALUED.contains(&text.as_str()) {
            skip_value = true;
        } else if !text.starts_with('-') {
            // The first word that is no option's value is the subcommand.
            in_logs = text == "logs";
            if !in_logs {
                out.push(arg);
                out.extend(iter);
                return out;
            }
        }
        out.push(arg);
    }
    out
}

/// How each line is prefixed: `service-n` padded to `width`, coloured when
/// `color`.
#[derive(Debug, Clone)]
struct Prefixer {
    width: usize,
    color: bool,
    services: Vec<String>,
}

/// Colours for the prefixes, as compose picks them: one per service, in
/// turn.
const PALETTE: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

impl Prefixer {
    fn prefix(&self, service: &str, number: u32) -> String {
        let label = format!("{service}-{number}");
        let padded = format!("{label:<w$} | ", w = self.width);
        if !self.color {
            return padded;
        }
        let index = self
            .services
            .iter()
            .position(|s| s == service)
            .unwrap_or_else(|| service.bytes().map(usize::from).sum());
        format!("\x1b[{}m{padded}\x1b[0m", PALETTE[index % PALETTE.len()])
    }
}

pub fn run(global: &Global, args: LogsArgs) -> Result<Outcome, Error> {
    let session = Session::open(global, Needs::read())?;
    let since = match args.since.as_deref().map(|s| parse_since(s, now_secs())) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(message)) => return Err(Error::message(session.mode(), message)),
    };
    let s = &session;
    let loaded = s.loaded.as_ref();
    // Set by a pump that finds stdout closed (`berth logs | head`): the
    // command then ends as an ordinary outcome.
    let closed = Arc::new(AtomicBool::new(false));
    let ended_by_pipe = || {
        if closed.load(Ordering::Relaxed) {
            Err(Error::broken_pipe())
        } else {
            Ok(Outcome::Success)
        }
    };
    session.block_on(async {
        let engine = s.connect().await?;
        let found = s.replicas(&engine).await?;
        s.check_services(&found, &args.services)?;
        let selected = |r: &Replica| args.services.is_empty() || args.services.contains(&r.service);
        let mut labels: Vec<String> = found
            .iter()
            .map(|r| format!("{}-{}", r.service, r.number))
            .collect();
        let mut services: Vec<String> = found.iter().map(|r| r.service.clone()).collect();
        if let Some(l) = &loaded {
            services = l.stack.services.keys().cloned().collect();
            labels.extend(
                l.stack
                    .services
                    .values()
                    .map(|s| format!("{}-{}", s.name, identity::replicas(s))),
            );
        }
        services.dedup();
        let prefixer = Arc::new(Prefixer {
            width: labels.iter().map(String::len).max().unwrap_or(0),
            color: std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            services,
        });
        let first = LogRequest {
            follow: args.follow,
            tail: args.tail,
            since,
            timestamps: true,
        };
        let mut streams: HashMap<String, JoinHandle<Option<String>>> = HashMap::new();
        for r in found.iter().filter(|r| selected(r)) {
            let task = spawn_pump(
                &engine,
                r,
                &first,
                None,
                args.timestamps,
                &prefixer,
                &closed,
            );
            streams.insert(r.id.clone(), task);
        }
        if !args.follow {
            for (_, task) in streams {
                let _ = task.await;
            }
            return ended_by_pipe();
        }
        // The last timestamp printed of each container whose stream ended.
        let mut ended: HashMap<String, Option<String>> = HashMap::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if closed.load(Ordering::Relaxed) {
                return ended_by_pipe();
            }
            let finished: Vec<String> = streams
                .iter()
                .filter(|(_, t)| t.is_finished())
                .map(|(id, _)| id.clone())
                .collect();
            for id in finished {
                if let Some(task) = streams.remove(&id) {
                    ended.insert(id, task.await.ok().flatten());
                }
            }
            let now = s.replicas(&engine).await?;
            for r in now.iter().filter(|r| selected(r)) {
                if streams.contains_key(&r.id) {
                    continue;
                }
                let after = match ended.get(&r.id) {
                    // Seen before: join again only once it runs again.
                    Some(_) if !r.running => continue,
                    Some(last) => last.clone(),
                    None => None,
                };
                let req = LogRequest {
                    follow: true,
                    tail: None,
                    since: after.as_deref().and_then(timestamp_secs),
                    timestamps: true,
                };
                let task = spawn_pump(&engine, r, &req, after, args.timestamps, &prefixer, &closed);
                ended.remove(&r.id);
                streams.insert(r.id.clone(), task);
            }
        }
    })
}

/// Streams one container's log to stdout, whole lines at a time, skipping
/// lines stamped at or before `after`. Returns the last timestamp printed.
fn spawn_pump(
    engine: &Engine,
    r: &Replica,
    req: &LogRequest,
    after: Option<String>,
    show_timestamps: bool,
    prefixer: &Arc<Prefixer>,
    closed: &Arc<AtomicBool>,
) -> JoinHandle<Option<String>> {
    let mut stream = engine.container_logs(&r.id, req);
    let prefix = prefixer.prefix(&r.service, r.number);
    let closed = Arc::clone(closed);
    tokio::spawn(async move {
        let mut last = after;
        let mut out_buf: Vec<u8> = Vec::new();
        let mut err_buf: Vec<u8> = Vec::new();
        let emit = |line: &[u8], last: &mut Option<String>| {
            let text = String::from_utf8_lossy(line);
            let (stamp, rest) = split_timestamp(&text);
            if let Some(stamp) = stamp {
                let key = timestamp_key(stamp);
                if last.as_ref().is_some_and(|l| key <= *l) {
                    return;
                }
                *last = Some(key);
            }
            let shown = if show_timestamps { &text[..] } else { rest };
            if !write_line(&format!("{prefix}{shown}\n")) {
                closed.store(true, Ordering::Relaxed);
            }
        };
        while let Some(chunk) = stream.next().await {
            if closed.load(Ordering::Relaxed) {
                break;
            }
            let Ok(chunk) = chunk else { break };
            let (buf, bytes) = match chunk {
                LogOutput::StdErr { message } => (&mut err_buf, message),
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message } => (&mut out_buf, message),
            };
            buf.extend_from_slice(&bytes);
            while let Some(at) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=at).collect();
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                emit(line, &mut last);
            }
        }
        for buf in [out_buf, err_buf] {
            if !buf.is_empty() {
                emit(&buf, &mut last);
            }
        }
        last
    })
}

/// One whole line to stdout; false when stdout is closed (`berth logs |
/// head`).
fn write_line(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .is_ok()
}

/// The engine's `2024-05-01T10:11:12.123456789Z ` at the start of a line,
/// and the rest.
fn split_timestamp(line: &str) -> (Option<&str>, &str) {
    match line.split_once(' ') {
        Some((stamp, rest)) if stamp.len() >= 20 && stamp.ends_with('Z') && stamp.contains('T') => {
            (Some(stamp), rest)
        }
        _ => (None, line),
    }
}

/// A timestamp that sorts as text: the fraction padded to nine digits (the
/// engine drops trailing zeros).
fn timestamp_key(stamp: &str) -> String {
    let stamp = stamp.trim_end_matches('Z');
    let (whole, frac) = stamp.split_once('.').unwrap_or((stamp, ""));
    format!("{whole}.{frac:0<9}Z")
}

/// Seconds since the epoch of a UTC RFC 3339 time (or a date alone).
fn timestamp_secs(stamp: &str) -> Option<i64> {
    let stamp = stamp.trim_end_matches('Z');
    let (date, time) = stamp.split_once('T').unwrap_or((stamp, "00:00:00"));
    let time = time.split('.').next()?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d[..].try_into().ok()?, t[..].try_into().ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146097 + doe - 719468) * 86400 + hh * 3600 + mm * 60 + ss)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `--since`: Unix seconds, a UTC RFC 3339 time or date, or a duration
/// before `now` (`90s`, `10m`, `1h30m`).
fn parse_since(text: &str, now: i64) -> Result<i64, String> {
    let bad = || {
        format!(
            "--since {text:?} is not a time: give Unix seconds, an RFC 3339 time \
             (2024-05-01T10:00:00Z) or a duration such as 10m or 1h30m"
        )
    };
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs.floor() as i64);
    }
    if text.contains('-') {
        return timestamp_secs(text).ok_or_else(bad);
    }
    let mut total = 0i64;
    let mut digits = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'h' | 'm' | 's' if !digits.is_empty() => {
                let n: i64 = digits.parse().map_err(|_| bad())?;
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                digits.clear();
            }
            _ => return Err(bad()),
        }
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(now - total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shorthand(args: &[&str]) -> Vec<String> {
        let argv = std::iter::once("berth")
            .chain(args.iter().copied())
            .map(std::ffi::OsString::from)
            .collect();
        follow_shorthand(argv)
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn dash_f_after_logs_means_follow_and_before_it_means_file() {
        assert_eq!(
            shorthand(&["-f", "logs", "logs", "-f", "web"]),
            ["-f", "logs", "logs", "--follow", "web"]
        );
        assert_eq!(
            shorthand(&["-p", "x", "logs", "-tf"]),
            ["-p", "x", "logs", "--follow", "-t"]
        );
        assert_eq!(
            shorthand(&["-f", "a.yaml", "up", "-f", "b.yaml"]),
            ["-f", "a.yaml", "up", "-f", "b.yaml"]
        );
        assert_eq!(shorthand(&["logs", "--", "-f"]), ["logs", "--", "-f"]);
    }

    #[test]
    fn prefixes_are_padded_to_a_common_width_and_plain_without_colour() {
        let p = Prefixer {
            width: 6,
            color: false,
            services: vec!["db".into(), "web".into()],
        };
        assert_eq!(p.prefix("db", 1), "db-1   | ");
        assert_eq!(p.prefix("web", 12), "web-12 | ");
    }

    #[test]
    fn coloured_prefixes_differ_per_service() {
        let p = Prefixer {
            width: 5,
            color: true,
            services: vec!["db".into(), "web".into()],
        };
        assert_eq!(p.prefix("db", 1), "\x1b[36mdb-1  | \x1b[0m");
        assert_eq!(p.prefix("web", 1), "\x1b[33mweb-1 | \x1b[0m");
    }

    #[test]
    fn timestamps_are_split_off_and_compare_as_text() {
        let line = "2024-05-01T10:11:12.5Z hello world";
        assert_eq!(
            split_timestamp(line),
            (Some("2024-05-01T10:11:12.5Z"), "hello world")
        );
        assert_eq!(split_timestamp("no stamp here"), (None, "no stamp here"));
        assert!(
            timestamp_key("2024-05-01T10:11:12.5Z") > timestamp_key("2024-05-01T10:11:12.123Z")
        );
        assert_eq!(timestamp_secs("1970-01-02T00:00:01.9Z"), Some(86401));
    }

    #[test]
    fn since_takes_seconds_times_and_durations() {
        assert_eq!(parse_since("1700000000", 0), Ok(1_700_000_000));
        assert_eq!(parse_since("1h30m", 10_000), Ok(10_000 - 5400));
        assert_eq!(parse_since("42s", 100), Ok(58));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Ok(60));
        assert!(parse_since("yesterday", 0).is_err());
        assert!(parse_since("10", 0).is_ok());
        assert!(parse_since("5x", 0).is_err());
    }
}
