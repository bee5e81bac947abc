//! `berth logs`: the output of the stack's containers, interleaved as lines
//! arrive, each line prefixed with `service-n | ` (the prefixes, colours and
//! line framing are [`crate::output::log_lines`]'s).
//!
//! With `--follow` it polls the project's container list every second and
//! joins any container it has no stream for: a new one from its first line,
//! a restarted one from the line after the last it printed (lines carry the
//! engine's timestamps, which is how a re-joined stream skips what was
//! already shown). Without `--follow` it prints what there is and ends.
//!
//! `--swarm`: the project's Swarm services' output, through Docker's service
//! logs API (`/services/{id}/logs`, what `docker service logs` reads; one
//! stream per service, with the lines of every task the swarm keeps, on any
//! node). Each line is prefixed `service.slot | ` (`service.node | ` for a
//! global service): the engine names each line's task in the line's details,
//! and the task list gives its slot. With `--follow` the engine adds the
//! lines of tasks started later (a restart, an update), and the service list
//! is polled every second for services deployed later.

use crate::output::ps::{service_key, task_label};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::error::Error;
use super::session::{Needs, Replica, Session};
use super::{Global, Outcome};
use crate::engine::Engine;
use crate::engine::clock::{now_secs, timestamp_secs};
use crate::engine::logs::LogRequest;
use crate::identity;
use crate::observe::{self, SwarmService};
use crate::output::log_lines::{
    Lines, Prefixer, framed, split_details, split_timestamp, timestamp_key,
};

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
    /// The project's Swarm services (deployed with `up --swarm`), each line
    /// prefixed `service.slot`
    #[arg(long)]
    pub swarm: bool,
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

pub fn run(global: &Global, args: LogsArgs) -> Result<Outcome, Error> {
    let session = Session::open(global, Needs::read())?;
    let since = match args.since.as_deref().map(|s| parse_since(s, now_secs())) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(message)) => return Err(Error::message(message)),
    };
    if args.swarm {
        return swarm(&session, &args, since);
    }
    let s = &session;
    let loaded = s.loaded.as_ref();
    // Set by a pump that finds stdout closed (`berth logs | head`): the
    // command then ends as an ordinary outcome.
    let closed = Arc::new(AtomicBool::new(false));
    let ended_by_pipe = || ended(&closed);
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
            color: colored(),
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
        let mut lines = Lines::default();
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
            let stamp = stamp.filter(|_| show_timestamps);
            if !write_line(&framed(&prefix, stamp, rest)) {
                closed.store(true, Ordering::Relaxed);
            }
        };
        while let Some(chunk) = stream.next().await {
            if closed.load(Ordering::Relaxed) {
                break;
            }
            let Ok(chunk) = chunk else { break };
            for line in lines.push(chunk) {
                emit(&line, &mut last);
            }
        }
        for line in lines.rest() {
            emit(&line, &mut last);
        }
        last
    })
}

/// `logs --swarm`.
fn swarm(s: &Session, args: &LogsArgs, since: Option<i64>) -> Result<Outcome, Error> {
    let closed = Arc::new(AtomicBool::new(false));
    let ended_by_pipe = || ended(&closed);
    s.block_on(async {
        let engine = s.swarm_manager().await?;
        let found = observe::observe_swarm_tasks(&engine, &s.project)
            .await
            .map_err(|e| Error::engine(&e))?;
        let mut keys: Vec<String> = found
            .iter()
            .map(|svc| service_key(&svc.state, &s.project))
            .collect();
        let errors = match s.stack() {
            Some(stack) => crate::plan::unknown_services(stack, &args.services),
            None => {
                let known: Vec<&str> = keys.iter().map(String::as_str).collect();
                crate::plan::unknown_among(&known, &args.services)
            }
        };
        if !errors.is_empty() {
            return Err(s.plan_errors(&errors));
        }
        let names = Arc::new(TaskNames::default());
        names.learn(&found, &s.project);
        if let Some(stack) = s.stack() {
            keys = stack.services.keys().cloned().collect();
        }
        let prefixer = Arc::new(Prefixer {
            width: names.width(),
            color: colored(),
            services: keys,
        });
        let pump = ServicePump {
            engine: engine.clone(),
            project: s.project.clone(),
            show_timestamps: args.timestamps,
            prefixer,
            names,
            closed: Arc::clone(&closed),
        };
        let selected =
            |key: &str| args.services.is_empty() || args.services.iter().any(|n| n == key);
        let first = LogRequest {
            follow: args.follow,
            tail: args.tail,
            since,
            timestamps: true,
        };
        let mut streams: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut by_key: Vec<&SwarmService> = found.iter().collect();
        by_key.sort_by_key(|svc| service_key(&svc.state, &s.project));
        for svc in by_key {
            let key = service_key(&svc.state, &s.project);
            if selected(&key) {
                let task = pump.spawn(&svc.state.id, key, &first);
                streams.insert(svc.state.id.clone(), task);
            }
        }
        if !args.follow {
            for (_, task) in streams {
                let _ = task.await;
            }
            return ended_by_pipe();
        }
        // Services deployed later: joined from their first line.
        let later = LogRequest {
            follow: true,
            tail: None,
            since: None,
            timestamps: true,
        };
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if closed.load(Ordering::Relaxed) {
                return ended_by_pipe();
            }
            let now = engine
                .list_services(&s.project)
                .await
                .map_err(|e| Error::engine(&e))?;
            for svc in now.iter().map(observe::service_state) {
                let key = service_key(&svc, &s.project);
                if selected(&key) && !streams.contains_key(&svc.id) {
                    let task = pump.spawn(&svc.id, key, &later);
                    streams.insert(svc.id.clone(), task);
                }
            }
        }
    })
}

/// Task ids and their labels (`web.1`), learnt from the task list, again
/// when a line names a task not seen yet.
#[derive(Debug, Default)]
struct TaskNames(std::sync::Mutex<HashMap<String, String>>);

impl TaskNames {
    fn learn(&self, services: &[SwarmService], project: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for svc in services {
            let key = service_key(&svc.state, project);
            for t in &svc.tasks {
                map.insert(t.id.clone(), task_label(&key, t));
            }
        }
    }

    fn get(&self, task: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(task).cloned()
    }

    fn set(&self, task: &str, label: String) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(task.to_string(), label);
    }

    fn width(&self) -> usize {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(String::len).max().unwrap_or(0)
    }
}

/// What every service's stream shares.
#[derive(Clone)]
struct ServicePump {
    engine: Engine,
    project: String,
    show_timestamps: bool,
    prefixer: Arc<Prefixer>,
    names: Arc<TaskNames>,
    closed: Arc<AtomicBool>,
}

impl ServicePump {
    /// Streams service `id`'s log to stdout, whole lines at a time.
    fn spawn(&self, id: &str, key: String, req: &LogRequest) -> JoinHandle<()> {
        let mut stream = self.engine.service_logs(id, req);
        let pump = self.clone();
        tokio::spawn(async move {
            let mut lines = Lines::default();
            while let Some(chunk) = stream.next().await {
                if pump.closed.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(chunk) = chunk else { break };
                for line in lines.push(chunk) {
                    pump.emit(&key, &line).await;
                }
            }
            for line in lines.rest() {
                pump.emit(&key, &line).await;
            }
        })
    }

    async fn emit(&self, key: &str, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let (stamp, rest) = split_timestamp(&text);
        let (task, message) = split_details(rest);
        let label = match task {
            Some(task) => self.label(key, task).await,
            None => key.to_string(),
        };
        let stamp = stamp.filter(|_| self.show_timestamps);
        let prefix = self.prefixer.labelled(key, &label);
        if !write_line(&framed(&prefix, stamp, message)) {
            self.closed.store(true, Ordering::Relaxed);
        }
    }

    /// The label of task `task`: from what is known, else from a new task
    /// list (once: a task the list does not have is labelled by its
    /// service).
    async fn label(&self, key: &str, task: &str) -> String {
        if let Some(label) = self.names.get(task) {
            return label;
        }
        if let Ok(found) = observe::observe_swarm_tasks(&self.engine, &self.project).await {
            self.names.learn(&found, &self.project);
        }
        self.names.get(task).unwrap_or_else(|| {
            self.names.set(task, key.to_string());
            key.to_string()
        })
    }
}

/// One whole line to stdout; false when stdout is closed (`berth logs |
/// head`).
fn write_line(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .is_ok()
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

/// How the command ends once its streams do: an ordinary end, also when a
/// pump found stdout closed (`berth logs | head`), which is said with
/// [`Error::broken_pipe`].
fn ended(closed: &AtomicBool) -> Result<Outcome, Error> {
    if closed.load(Ordering::Relaxed) {
        Err(Error::broken_pipe())
    } else {
        Ok(Outcome::Success)
    }
}

/// Whether the prefixes are coloured: on a terminal, unless `NO_COLOR`.
fn colored() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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
