//! The progress of a plan being applied: cargo-style status lines for
//! people, one JSON object per event for programs. The words come from the
//! plan ([`Words`]), so that a step reads the same in `berth plan`, in the
//! progress and in an error.
//!
//! In `tty` mode on a terminal, a step in flight is a spinner line in a live
//! area at the bottom (`⠋ Creating container gb-db-1`). When it ends, the
//! spinner goes and the line `plain` mode prints takes its place above the
//! area; everything else (warnings, errors, notes) is printed above it too.
//! The area is cleared when the [`Progress`] is dropped, or by [`Progress::clear`]
//! before a hard exit, so the terminal keeps only the finished lines. `plain`
//! mode, and `tty` mode when stderr is not a terminal, print only lines.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};
use serde_json::Value;

use crate::apply::{Event, EventKind, Output};
use crate::engine::images::PullEvent;
use crate::plan::text::Words;
use crate::plan::{Action, StepId};

/// How `up` and `down` report progress (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// One line per step start and end.
    Plain,
    /// For a terminal: the lines of `plain`, in colour, with a spinner for
    /// each step in flight.
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
/// the lock; clones print to the same place (the Ctrl-C handler holds one).
#[derive(Clone)]
pub struct Progress {
    mode: ProgressMode,
    color: bool,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    /// `tty` mode on a terminal: the spinners. All lines then go through it,
    /// so that they land above the spinners instead of through them.
    live: Option<Arc<Live>>,
    /// The bars of each pull step in flight (`tty` mode on a terminal).
    pulls: Arc<Mutex<HashMap<StepId, PullBars>>>,
    /// The last status shown of each layer of each pull step (`plain`).
    layers: Arc<Mutex<HashMap<(StepId, String), String>>>,
}

const GREEN: &str = "\x1b[1;32m";
const CYAN: &str = "\x1b[1;36m";
const YELLOW: &str = "\x1b[1;33m";
const RED: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

impl Progress {
    /// Progress on stderr; colour only in `tty` mode and without `NO_COLOR`.
    pub fn stderr(mode: ProgressMode) -> Progress {
        let tty = mode == ProgressMode::Tty && std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Progress {
            mode,
            color,
            out: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            live: tty.then(|| Live::new(color)).flatten().map(Arc::new),
            pulls: Arc::default(),
            layers: Arc::default(),
        }
    }

    #[cfg(test)]
    pub fn to_writer(mode: ProgressMode, out: Box<dyn Write + Send>) -> Progress {
        Progress {
            mode,
            color: false,
            out: Arc::new(Mutex::new(out)),
            live: None,
            pulls: Arc::default(),
            layers: Arc::default(),
        }
    }

    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    fn write(&self, text: &str) {
        if let Some(live) = &self.live {
            live.println(text.strip_suffix('\n').unwrap_or(text));
            return;
        }
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

    /// Clears the live area; for a hard exit, which skips the drop that
    /// would clear it.
    pub fn clear(&self) {
        if let Some(live) = &self.live {
            live.clear();
        }
    }

    /// Says that Ctrl-C was heard; shown in every mode but `quiet`. The
    /// spinners go (no new step starts after Ctrl-C); the steps in flight
    /// still print their finished lines.
    pub fn interrupted(&self) {
        if let Some(live) = &self.live {
            live.interrupted();
        }
        if self.mode != ProgressMode::Quiet {
            self.write(
                "Interrupted: letting the steps in flight finish (Ctrl-C again to quit at once)\n",
            );
        }
    }

    /// Bars for the layers of one image being pulled, on a terminal in
    /// `tty` mode; None elsewhere (the caller then prints lines as before).
    pub fn pull_bars(&self, image: &str) -> Option<PullBars> {
        let live = self.live.as_ref()?;
        let header = ProgressBar::new_spinner()
            .with_style(live.style.clone())
            .with_message(format!("Pulling {image}"));
        let header = live.area.add(header);
        header.enable_steady_tick(Duration::from_millis(80));
        Some(PullBars {
            live: Arc::clone(live),
            last: header.clone(),
            header,
            layers: HashMap::new(),
        })
    }

    /// Prints one event of `apply`.
    pub fn event(&self, ev: &Event<'_>) {
        if let EventKind::Output(out) = ev.kind {
            self.output(ev, out);
            return;
        }
        if let Some(live) = &self.live {
            if let EventKind::Started = ev.kind {
                let words = Words::of(&ev.step.action);
                let bars = match &ev.step.action {
                    Action::Pull { image, .. } => self.pull_bars(image),
                    _ => None,
                };
                match bars {
                    Some(bars) => {
                        self.lock_pulls().insert(ev.id, bars);
                    }
                    None => live.start(ev.id, &format!("{} {}", words.doing, words.doing_object)),
                }
                return;
            }
            // The bars go before the finished line takes their place.
            self.lock_pulls().remove(&ev.id);
            live.finish(ev.id);
        }
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Json => self.write(&format!("{}\n", event_json(ev))),
            ProgressMode::Plain | ProgressMode::Tty => {
                let words = Words::of(&ev.step.action);
                match ev.kind {
                    EventKind::Started => self.line(CYAN, words.doing, &words.doing_object),
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
                    EventKind::Skipped | EventKind::Output(_) => {}
                }
            }
        }
    }

    /// What a step says while it runs: a build's lines (`web | Step 1/6`)
    /// and a pull's layers, in `plain` mode as lines (a layer's status only
    /// when it changes), on a terminal as the pull's bars.
    fn output(&self, ev: &Event<'_>, out: &Output) {
        match out {
            Output::Line(line) => {
                if self.mode == ProgressMode::Plain {
                    let who = ev.step.action.service().unwrap_or_default();
                    self.note(&format!("{who} | {line}"));
                }
            }
            Output::Pull(p) => {
                if let Some(bars) = self.lock_pulls().get_mut(&ev.id) {
                    bars.update(p);
                    return;
                }
                let (Some(layer), ProgressMode::Plain) = (&p.layer, self.mode) else {
                    return;
                };
                let mut last = self.layers.lock().unwrap_or_else(|e| e.into_inner());
                let key = (ev.id, layer.clone());
                // Only status changes, not every byte count of a download.
                if last.get(&key) == Some(&p.status) {
                    return;
                }
                last.insert(key, p.status.clone());
                drop(last);
                if p.status != "Downloading" && p.status != "Extracting" {
                    let image = match &ev.step.action {
                        Action::Pull { image, .. } => image.as_str(),
                        _ => "",
                    };
                    self.note(&format!("{image} | {layer}: {}", p.status));
                }
            }
        }
    }

    fn lock_pulls(&self) -> std::sync::MutexGuard<'_, HashMap<StepId, PullBars>> {
        self.pulls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The spinners of the steps in flight, at the bottom of the terminal.
struct Live {
    area: MultiProgress,
    style: ProgressStyle,
    /// A layer's bar in a pull.
    layer_style: ProgressStyle,
    running: Mutex<HashMap<StepId, ProgressBar>>,
}

/// The widest `elapsed_label` worth leaving room for (` 59m59s`).
const ELAPSED_ROOM: usize = 7;

impl Live {
    /// None when indicatif would draw nothing (it found no terminal).
    fn new(color: bool) -> Option<Live> {
        let area = MultiProgress::new();
        if area.is_hidden() {
            return None;
        }
        let template = if color {
            "{spinner:.cyan.bold} {msg}{elapsed_label:.dim}"
        } else {
            "{spinner} {msg}{elapsed_label}"
        };
        let style = ProgressStyle::with_template(template)
            .ok()?
            .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", " "])
            .with_key(
                "elapsed_label",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&elapsed_label(state.elapsed()));
                },
            );
        let layer_template = if color {
            "  {prefix:.dim} {msg:<18} [{bar:30.cyan/blue}]{size}"
        } else {
            "  {prefix} {msg:<18} [{bar:30}]{size}"
        };
        let layer_style = ProgressStyle::with_template(layer_template)
            .ok()?
            .progress_chars("=> ")
            // The byte count only once there is one: a layer that already
            // exists has a bar of length 1 and no count.
            .with_key(
                "size",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some(len) = state.len().filter(|&l| l > 1) {
                        let _ = write!(
                            w,
                            " {}/{}",
                            indicatif::HumanBytes(state.pos()),
                            indicatif::HumanBytes(len)
                        );
                    }
                },
            );
        Some(Live {
            area,
            style,
            layer_style,
            running: Mutex::new(HashMap::new()),
        })
    }

    fn start(&self, id: StepId, text: &str) {
        // Cut to the terminal's width now, so that a long name never wraps:
        // a wrapped spinner line is redrawn as garbage if the terminal is
        // resized. `- 1` keeps clear of the last column, where some terminals
        // wrap early.
        let width = console::Term::stderr()
            .size_checked()
            .map_or(80, |(_, cols)| usize::from(cols));
        let room = width.saturating_sub(1 + 2 + ELAPSED_ROOM);
        let bar = ProgressBar::new_spinner()
            .with_style(self.style.clone())
            .with_message(fit(text, room));
        let bar = self.area.add(bar);
        bar.enable_steady_tick(Duration::from_millis(80));
        let old = self.lock().insert(id, bar);
        // A step id seen twice (a second apply in the same run) must not
        // leave an orphan spinner behind.
        if let Some(old) = old {
            self.drop_bar(&old);
        }
    }

    fn finish(&self, id: StepId) {
        let bar = self.lock().remove(&id);
        if let Some(bar) = bar {
            self.drop_bar(&bar);
        }
    }

    fn drop_bar(&self, bar: &ProgressBar) {
        bar.finish_and_clear();
        self.area.remove(bar);
    }

    fn println(&self, text: &str) {
        // A closed stderr must not stop an apply half-way.
        let _ = self.area.println(text);
    }

    fn clear(&self) {
        let bars: Vec<ProgressBar> = self.lock().drain().map(|(_, bar)| bar).collect();
        for bar in &bars {
            self.drop_bar(bar);
        }
        let _ = self.area.clear();
    }

    /// indicatif leaves the cursor at the right edge of its last line, so
    /// the terminal's echo of Ctrl-C (`^C`, as Linux and macOS terminals
    /// echo it by default) wraps onto a line of its own that indicatif does
    /// not know of; it would then clear one line too few and leave a spinner
    /// behind. Erasing the echo, and going back up to the last spinner when
    /// there is one, puts the cursor where indicatif thinks it is.
    fn interrupted(&self) {
        let spinners = !self.lock().is_empty();
        let fix = if spinners {
            "\r\x1b[2K\x1b[1A"
        } else {
            "\r\x1b[2K"
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(fix.as_bytes()).and_then(|_| err.flush());
        drop(err);
        self.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StepId, ProgressBar>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The live bars of one image's pull: a spinner for the image and, under
/// it, a bar per layer. Dropping it clears them all.
pub struct PullBars {
    live: Arc<Live>,
    header: ProgressBar,
    /// The lowest bar of this image, under which a new layer's bar goes, so
    /// that the bars of images pulled side by side stay grouped.
    last: ProgressBar,
    layers: HashMap<String, ProgressBar>,
}

impl PullBars {
    /// Moves the bar of the event's layer (made on its first event).
    pub fn update(&mut self, ev: &PullEvent) {
        // `latest: Pulling from busybox` names the tag, not a layer.
        let Some(layer) = ev
            .layer
            .as_ref()
            .filter(|_| !ev.status.starts_with("Pulling from"))
        else {
            return;
        };
        let bar = match self.layers.get(layer) {
            Some(bar) => bar.clone(),
            None => {
                let bar = ProgressBar::no_length()
                    .with_style(self.live.layer_style.clone())
                    .with_prefix(layer.clone());
                let bar = self.live.area.insert_after(&self.last, bar);
                self.last = bar.clone();
                self.layers.insert(layer.clone(), bar.clone());
                bar
            }
        };
        if let Some((pos, len)) = layer_bar(&ev.status, ev.current, ev.total, bar.length()) {
            bar.set_length(len);
            bar.set_position(pos);
        }
        bar.set_message(ev.status.clone());
    }
}

impl Drop for PullBars {
    fn drop(&mut self) {
        for bar in self.layers.values().chain([&self.header]) {
            self.live.drop_bar(bar);
        }
    }
}

/// Where a layer's bar stands after a status line, as (position, length):
/// the byte count of `Downloading` and `Extracting` lines (which restarts
/// the bar for extraction), a full bar once the layer is downloaded or done,
/// and None for a line that moves nothing (`Waiting`, `Pulling fs layer`).
fn layer_bar(
    status: &str,
    current: Option<i64>,
    total: Option<i64>,
    len: Option<u64>,
) -> Option<(u64, u64)> {
    if let Some(total) = total.and_then(|t| u64::try_from(t).ok()).filter(|&t| t > 0) {
        let current = current.and_then(|c| u64::try_from(c).ok()).unwrap_or(0);
        return Some((current.min(total), total));
    }
    match status {
        "Download complete" | "Verifying Checksum" | "Pull complete" | "Already exists" => {
            let len = len.filter(|&l| l > 0).unwrap_or(1);
            Some((len, len))
        }
        _ => None,
    }
}

/// What a spinner shows after its text: nothing in the first second (most
/// steps are over by then), then ` 3s`, ` 1m05s`.
fn elapsed_label(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0 => String::new(),
        1..60 => format!(" {secs}s"),
        _ => format!(" {}m{:02}s", secs / 60, secs % 60),
    }
}

/// `text` cut to `room` characters, its end replaced by `…` when cut.
fn fit(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
    if room > 0 {
        cut.push('…');
    }
    cut
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
        EventKind::Output(_) => ("output", "", None),
    };
    let mut v = serde_json::json!({
        "event": kind,
        "step": ev.id,
        "what": ev.step.action.describe(),
        "cause": ev.step.cause.to_string(),
    });
    if let Some(t) = text {
        v[text_key] = Value::String(t.to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::Condition;

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
            cause: crate::plan::Cause::NotFound,
            after: vec![],
            on_failure_of: None,
        }
    }

    #[test]
    fn plain_progress_has_cargo_style_right_aligned_verbs() {
        let out = Captured::default();
        let p = Progress::to_writer(ProgressMode::Plain, Box::new(out.clone()));
        let create = step(Action::CreateNetwork {
            name: "gb_devapp-net".into(),
            request: Box::default(),
        });
        let update = step(Action::Update {
            service: "backend".into(),
            name: "gb-backend-1".into(),
            id: "abc".into(),
            request: Box::default(),
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

    #[test]
    fn spinner_shows_elapsed_time_only_after_the_first_second() {
        assert_eq!(elapsed_label(Duration::from_millis(999)), "");
        assert_eq!(elapsed_label(Duration::from_millis(3400)), " 3s");
        assert_eq!(elapsed_label(Duration::from_secs(59)), " 59s");
        assert_eq!(elapsed_label(Duration::from_secs(65)), " 1m05s");
        assert_eq!(elapsed_label(Duration::from_secs(3599)).len(), ELAPSED_ROOM);
    }

    #[test]
    fn spinner_text_is_cut_to_the_room_left_with_an_ellipsis() {
        assert_eq!(fit("Creating container a", 20), "Creating container a");
        assert_eq!(fit("Creating container ab", 20), "Creating container …");
        assert_eq!(fit("Creating", 1), "…");
        assert_eq!(fit("Creating", 0), "");
    }

    #[test]
    fn layer_bar_follows_byte_counts_and_fills_when_done() {
        let bar = |s, c, t, l| layer_bar(s, c, t, l);
        assert_eq!(bar("Waiting", None, None, None), None);
        assert_eq!(bar("Pulling fs layer", None, None, None), None);
        assert_eq!(
            bar("Downloading", Some(512), Some(2048), None),
            Some((512, 2048))
        );
        // Extraction restarts the bar with its own count.
        assert_eq!(
            bar("Extracting", Some(32), Some(4096), Some(2048)),
            Some((32, 4096))
        );
        // A count past the total (or a bogus one) stays inside the bar.
        assert_eq!(
            bar("Downloading", Some(9000), Some(2048), None),
            Some((2048, 2048))
        );
        assert_eq!(
            bar("Downloading", Some(-1), Some(2048), None),
            Some((0, 2048))
        );
        assert_eq!(bar("Downloading", Some(5), Some(0), None), None);
        assert_eq!(
            bar("Download complete", None, None, Some(2048)),
            Some((2048, 2048))
        );
        assert_eq!(
            bar("Pull complete", None, None, Some(4096)),
            Some((4096, 4096))
        );
        assert_eq!(bar("Already exists", None, None, None), Some((1, 1)));
    }

    #[test]
    fn no_pull_bars_without_a_terminal() {
        let p = Progress::to_writer(ProgressMode::Tty, Box::new(Captured::default()));
        assert!(p.pull_bars("busybox:latest").is_none());
    }

    #[test]
    fn tty_progress_to_a_writer_prints_the_plain_lines() {
        let out = Captured::default();
        let p = Progress::to_writer(ProgressMode::Tty, Box::new(out.clone()));
        let s = step(Action::RemoveNetwork { name: "n".into() });
        for kind in [EventKind::Started, EventKind::Done(None)] {
            p.event(&Event {
                id: 0,
                step: &s,
                kind,
            });
        }
        p.clear();
        assert_eq!(
            out.text(),
            "    Removing network n\n     Removed network n\n"
        );
    }
}
