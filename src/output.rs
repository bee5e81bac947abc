//! Printing for people and programs: the canonical JSON that
//! `docker compose config` prints, YAML of the same, and the progress lines
//! of `up` and `down` ([`Progress`]).

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::apply::{Event, EventKind};
use crate::model::stack::{Condition, Stack};
use crate::plan::Action;

/// The stack as compose prints it. Strings have `$` doubled, as compose does,
/// so that the output can be read back without interpolating anything twice.
pub fn canonical_json(stack: &Stack) -> Value {
    let mut v = serde_json::to_value(stack).unwrap_or(Value::Null);
    escape_dollars(&mut v);
    v
}

fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(a) => a.iter_mut().for_each(escape_dollars),
        Value::Object(o) => o.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// YAML of a JSON value; `null` commands and entrypoints are left out, as
/// compose's YAML output does.
pub fn to_yaml(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(services) = v.get_mut("services").and_then(Value::as_object_mut) {
        for svc in services.values_mut() {
            if let Some(o) = svc.as_object_mut() {
                o.retain(|k, val| {
                    !(matches!(k.as_str(), "command" | "entrypoint") && val.is_null())
                });
            }
        }
    }
    serde_saphyr::to_string(&v).unwrap_or_default()
}

/// Writes the canonical JSON straight from the stack, without building a
/// JSON tree first: for a large stack that tree would be the largest thing
/// berth ever holds. `$` is doubled on the way out, as [`canonical_json`] does.
pub fn write_json(stack: &Stack, out: impl Write) -> std::io::Result<()> {
    let mut w = DollarEscaper(std::io::BufWriter::with_capacity(1 << 16, out));
    serde_json::to_writer_pretty(&mut w, stack)?;
    w.0.write_all(b"\n")?;
    w.0.flush()
}

/// In JSON text a `$` can only stand inside a string, so doubling it in the
/// byte stream is the same as doubling it in every string.
struct DollarEscaper<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for DollarEscaper<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'$') {
            self.0.write_all(&rest[..i])?;
            self.0.write_all(b"$$")?;
            rest = &rest[i + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// How `up` and `down` report progress (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// One line per step start and end.
    Plain,
    /// For a terminal. For now the same lines as `plain`, in colour; a live
    /// view that rewrites lines in place is still to come.
    Tty,
    /// One JSON object per event per line, for programs.
    Json,
    /// Nothing but errors.
    Quiet,
}

impl ProgressMode {
    /// `tty` when stderr is a terminal, else `plain`.
    pub fn detect() -> ProgressMode {
        if std::io::stderr().is_terminal() {
            ProgressMode::Tty
        } else {
            ProgressMode::Plain
        }
    }
}

/// Cargo-style status lines (`    Created container gb-db-1`: a verb
/// right-aligned in 12 columns, then its object), written to stderr or, in
/// tests, to any writer. Shared between the tasks that report events, hence
/// the lock.
pub struct Progress {
    mode: ProgressMode,
    color: bool,
    out: std::sync::Mutex<Box<dyn Write + Send>>,
}

const GREEN: &str = "\x1b[1;32m";
const CYAN: &str = "\x1b[1;36m";
const YELLOW: &str = "\x1b[1;33m";
const RED: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

impl Progress {
    /// Progress on stderr; colour only in `tty` mode and without `NO_COLOR`.
    pub fn stderr(mode: ProgressMode) -> Progress {
        let color = mode == ProgressMode::Tty
            && std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Progress {
            mode,
            color,
            out: std::sync::Mutex::new(Box::new(std::io::stderr())),
        }
    }

    pub fn to_writer(mode: ProgressMode, out: Box<dyn Write + Send>) -> Progress {
        Progress {
            mode,
            color: false,
            out: std::sync::Mutex::new(out),
        }
    }

    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A closed stderr must not stop an apply half-way.
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }

    fn line(&self, color: &str, verb: &str, rest: &str) {
        let verb = if self.color {
            format!("{color}{verb:>12}{RESET}")
        } else {
            format!("{verb:>12}")
        };
        // Continuation lines (log tails) are indented under the object.
        let rest = rest.replace('\n', "\n             ");
        self.write(&format!("{verb} {rest}\n"));
    }

    /// A status line of berth's own, outside any step (`Waiting for
    /// another berth ...`); not shown in `quiet` or `json` mode.
    pub fn status(&self, verb: &str, rest: &str) {
        if matches!(self.mode, ProgressMode::Plain | ProgressMode::Tty) {
            self.line(GREEN, verb, rest);
        }
    }

    /// A warning that is not tied to a step (plan warnings). Shown in every
    /// mode but `quiet`; in `json` mode as `{"event":"warning",...}`.
    pub fn warning(&self, message: &str) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Json => self.write(&format!(
                "{}\n",
                serde_json::json!({ "event": "warning", "message": message })
            )),
            ProgressMode::Plain | ProgressMode::Tty => {
                let label = if self.color {
                    format!("{YELLOW}warning{RESET}")
                } else {
                    "warning".into()
                };
                self.write(&format!("{label}: {message}\n"));
            }
        }
    }

    /// A sentence for the user outside any step ("Nothing to change: ...");
    /// not shown in `quiet` mode.
    pub fn note(&self, message: &str) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Json => self.write(&format!(
                "{}\n",
                serde_json::json!({ "event": "note", "message": message })
            )),
            ProgressMode::Plain | ProgressMode::Tty => self.write(&format!("{message}\n")),
        }
    }

    /// The command's error, printed once at the edge, in every mode: as
    /// `error: ...` or, in `json` mode, `{"event":"error",...}`.
    pub fn error(&self, message: &str) {
        if self.mode == ProgressMode::Json {
            self.write(&format!(
                "{}\n",
                serde_json::json!({ "event": "error", "message": message })
            ));
            return;
        }
        let label = if self.color {
            format!("{RED}error{RESET}")
        } else {
            "error".into()
        };
        self.write(&format!("{label}: {message}\n"));
    }

    /// Prints one event of `apply`.
    pub fn event(&self, ev: &Event<'_>) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Json => self.write(&format!("{}\n", event_json(ev))),
            ProgressMode::Plain | ProgressMode::Tty => {
                let words = Words::of(&ev.step.action);
                match ev.kind {
                    EventKind::Started => self.line(CYAN, words.doing, &words.object),
                    EventKind::Done(note) => {
                        let mut rest = words.done_object;
                        if let Some(note) = note {
                            rest.push_str(&format!(" ({note})"));
                        }
                        self.line(GREEN, words.done, &rest)
                    }
                    // The why (with the log tail) is printed once, at the
                    // end, by the command.
                    EventKind::Failed(_) => self.line(RED, "Failed", &ev.step.action.describe()),
                    EventKind::Warning(message) => {
                        self.warning(&format!("{}: {message}", ev.step.action.describe()))
                    }
                    // The final error counts them; a line each would bury it.
                    EventKind::Skipped => {}
                }
            }
        }
    }
}

/// One event as a JSON object: `{"event":"done","step":3,"what":"create
/// container gb-db-1","cause":"not found"}`, plus `note` or `message`.
pub fn event_json(ev: &Event<'_>) -> serde_json::Value {
    let (kind, text_key, text) = match ev.kind {
        EventKind::Started => ("started", "", None),
        EventKind::Done(note) => ("done", "note", note),
        EventKind::Failed(m) => ("failed", "message", Some(m)),
        EventKind::Warning(m) => ("warning", "message", Some(m)),
        EventKind::Skipped => ("skipped", "", None),
    };
    let mut v = serde_json::json!({
        "event": kind,
        "step": ev.id,
        "what": ev.step.action.describe(),
        "cause": ev.step.cause,
    });
    if let Some(t) = text {
        v[text_key] = Value::String(t.to_string());
    }
    v
}

/// The words of a step's progress lines: `Creating` / `Created` and what.
struct Words {
    doing: &'static str,
    object: String,
    done: &'static str,
    done_object: String,
}

impl Words {
    fn of(action: &Action) -> Words {
        let same = |doing, done, object: String| Words {
            doing,
            done,
            done_object: object.clone(),
            object,
        };
        match action {
            Action::CreateNetwork { name, .. } => {
                same("Creating", "Created", format!("network {name}"))
            }
            Action::CreateVolume { name, .. } => {
                same("Creating", "Created", format!("volume {name}"))
            }
            Action::CreateContainer { name, .. } => {
                same("Creating", "Created", format!("container {name}"))
            }
            Action::Recreate { name, .. } => same("Recreating", "Recreated", name.clone()),
            Action::Start { name, .. } => same("Starting", "Started", name.clone()),
            Action::Update { name, changes, .. } => {
                let changes: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
                let object = if changes.is_empty() {
                    format!("{name} in place")
                } else {
                    format!("{name} in place ({})", changes.join(", "))
                };
                same("Updating", "Updated", object)
            }
            Action::Connect { name, network, .. } => {
                same("Connecting", "Connected", format!("{name} to {network}"))
            }
            Action::Disconnect { name, network, .. } => same(
                "Disconnecting",
                "Disconnected",
                format!("{name} from {network}"),
            ),
            Action::Wait {
                name, condition, ..
            } => {
                let (state, done) = match condition {
                    Condition::ServiceStarted => ("started", "Running"),
                    Condition::ServiceHealthy => ("healthy", "Healthy"),
                    Condition::ServiceCompletedSuccessfully => {
                        ("completed successfully", "Completed")
                    }
                };
                Words {
                    doing: "Waiting",
                    object: format!("for {name} to be {state}"),
                    done,
                    done_object: name.clone(),
                }
            }
            Action::Stop { name, .. } => same("Stopping", "Stopped", name.clone()),
            Action::Remove { name, .. } => same("Removing", "Removed", name.clone()),
            Action::RemoveNetwork { name } => {
                same("Removing", "Removed", format!("network {name}"))
            }
            Action::RemoveVolume { name } => same("Removing", "Removed", format!("volume {name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_equals_the_json_tree() {
        let mut stack = Stack {
            name: "p".into(),
            ..Stack::default()
        };
        stack.services.insert(
            "web".into(),
            crate::model::stack::Service {
                image: Some("a$b".into()),
                ..Default::default()
            },
        );
        let mut out = Vec::new();
        write_json(&stack, &mut out).unwrap();
        let streamed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(streamed, canonical_json(&stack));
        assert!(String::from_utf8(out).unwrap().contains("\"a$$b\""));
    }

    /// A writer the test can read back after `Progress` has taken it.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn step(action: Action) -> crate::plan::Step {
        crate::plan::Step {
            action,
            cause: "not found".into(),
            after: vec![],
        }
    }

    #[test]
    fn plain_progress_has_cargo_style_right_aligned_verbs() {
        let out = Captured::default();
        let p = Progress::to_writer(ProgressMode::Plain, Box::new(out.clone()));
        let create = step(Action::CreateNetwork {
            key: "devapp-net".into(),
            name: "gb_devapp-net".into(),
        });
        let update = step(Action::Update {
            service: "backend".into(),
            name: "gb-backend-1".into(),
            id: "abc".into(),
            limits: Box::default(),
            changes: vec![crate::limits::Change {
                field: "cpus",
                from: "0.5".into(),
                to: "0.2".into(),
            }],
        });
        let wait = step(Action::Wait {
            service: "db".into(),
            name: "gb-db-1".into(),
            condition: Condition::ServiceHealthy,
            required: true,
        });
        for (s, kind) in [
            (&create, EventKind::Started),
            (&create, EventKind::Done(None)),
            (&update, EventKind::Done(None)),
            (&wait, EventKind::Started),
            (&wait, EventKind::Skipped),
            (&wait, EventKind::Failed("exited")),
        ] {
            p.event(&Event {
                id: 0,
                step: s,
                kind,
            });
        }
        assert_eq!(
            out.text(),
            "    Creating network gb_devapp-net\n\
             \x20    Created network gb_devapp-net\n\
             \x20    Updated gb-backend-1 in place (cpus 0.5 -> 0.2)\n\
             \x20    Waiting for gb-db-1 to be healthy\n\
             \x20     Failed wait for gb-db-1 to be healthy\n"
        );
    }

    #[test]
    fn json_progress_is_one_object_per_event_per_line() {
        let out = Captured::default();
        let p = Progress::to_writer(ProgressMode::Json, Box::new(out.clone()));
        let s = step(Action::RemoveVolume {
            name: "gb_data".into(),
        });
        p.event(&Event {
            id: 4,
            step: &s,
            kind: EventKind::Done(Some("already gone")),
        });
        p.status("Waiting", "for the lock");
        assert_eq!(
            out.text(),
            "{\"event\":\"done\",\"step\":4,\"what\":\"remove volume gb_data\",\
             \"cause\":\"not found\",\"note\":\"already gone\"}\n"
        );
    }

    #[test]
    fn quiet_progress_prints_only_errors() {
        let out = Captured::default();
        let p = Progress::to_writer(ProgressMode::Quiet, Box::new(out.clone()));
        let s = step(Action::RemoveNetwork { name: "n".into() });
        p.event(&Event {
            id: 0,
            step: &s,
            kind: EventKind::Started,
        });
        p.warning("w");
        p.note("Nothing to change");
        p.error("it broke");
        assert_eq!(out.text(), "error: it broke\n");
    }
}
