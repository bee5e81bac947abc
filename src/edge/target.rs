//! The state file, read and judged: which upstream new connections go to.
//!
//! The file holds one line: a host name (berth writes the live container's
//! 12-character short id, which Docker's embedded DNS resolves) or an IP
//! address, ended by a newline. A name with several addresses works too (a
//! service's alias, one address per admitted replica): each connection then
//! takes them in turn.
//!
//! The engine's archive API replaces a file by removing it and writing a new
//! one, so a reader can find the file missing, empty or half-written for a
//! moment in the middle of a switch. None of those means "no target": taking
//! it so would refuse connections exactly while the service is being
//! switched, which is what the edge is there to prevent. So [`Watch`] keeps
//! the last target it took until a new one is whole: a line that ends with
//! a newline at once, text without one (written by hand) once two reads in a
//! row find it unchanged. Only before any target was ever read is there none;
//! the edge then refuses connections (closes them at once) and says so once.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

/// The most of the state file that is read: a target is a host name (at most
/// 253 characters) or an address.
const MAX_READ: u64 = 4096;

/// Where new connections go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Ip(IpAddr),
    /// Resolved when a connection is made (Docker's DNS, `/etc/hosts`).
    Host(String),
}

impl Target {
    /// The text of one line (surrounding whitespace ignored) as a target;
    /// why it is none, otherwise.
    pub fn parse(text: &str) -> Result<Target, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("the line is empty".into());
        }
        let bare = t
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(t);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Target::Ip(ip));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if t.len() > 253 || !t.split('.').all(label_ok) {
            return Err("it is neither a host name nor an IP address".into());
        }
        Ok(Target::Host(t.to_string()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Ip(ip) => write!(f, "{ip}"),
            Target::Host(h) => f.write_str(h),
        }
    }
}

/// The state file's content for `target`: the line berth writes.
pub fn line(target: &str) -> String {
    format!("{}\n", target.trim())
}

/// The state file's first [`MAX_READ`] bytes; None when there is no file.
pub fn read_file(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut out = Vec::new();
            f.take(MAX_READ).read_to_end(&mut out)?;
            Ok(Some(out))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the reads of the state file have established: the target new
/// connections go to, and what was last said about the file.
#[derive(Debug, Default)]
pub struct Watch {
    current: Option<Target>,
    /// Text without a final newline found by the last read.
    partial: Option<String>,
    /// The last line logged, so that a condition that lasts is logged once.
    noted: Option<String>,
}

/// What one read of the state file changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Judged {
    /// The new target, when new connections must go elsewhere from now on.
    pub switch: Option<Target>,
    /// A line for the log, if there is something new to say.
    pub note: Option<String>,
}

impl Watch {
    pub fn new() -> Watch {
        Watch::default()
    }

    /// Where new connections go now; None before any target was read.
    pub fn current(&self) -> Option<&Target> {
        self.current.as_ref()
    }

    /// Judges one read of the file: its content, None when it is missing.
    pub fn read(&mut self, content: Option<&[u8]>) -> Judged {
        let text = content
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default();
        if text.trim().is_empty() {
            self.partial = None;
            return match &self.current {
                // Being rewritten: the next read finds the new target.
                Some(_) => Judged::default(),
                None => self.note(
                    "no target yet (the state file is missing or empty): refusing connections",
                ),
            };
        }
        let whole = match text.strip_suffix('\n') {
            Some(line) => line.to_string(),
            None if self.partial.as_deref() == Some(text.as_str()) => text,
            None => {
                self.partial = Some(text);
                return Judged::default();
            }
        };
        self.partial = None;
        match Target::parse(&whole) {
            Ok(t) if Some(&t) == self.current.as_ref() => Judged::default(),
            Ok(t) => {
                let note = match &self.current {
                    Some(old) => format!("new connections go to {t} (were going to {old})"),
                    None => format!("new connections go to {t}"),
                };
                self.current = Some(t.clone());
                self.noted = None;
                Judged {
                    switch: Some(t),
                    note: Some(note),
                }
            }
            Err(why) => {
                let shown: String = whole.chars().take(80).collect();
                let still = match &self.current {
                    Some(t) => format!("new connections still go to {t}"),
                    None => "refusing connections".to_string(),
                };
                self.note(format!(
                    "ignoring the state file ({shown:?}): {why}; {still}"
                ))
            }
        }
    }

    /// Judges a read that failed (not a missing file: that is a read of
    /// nothing).
    pub fn unreadable(&mut self, error: &std::io::Error) -> Judged {
        let still = match &self.current {
            Some(t) => format!("new connections still go to {t}"),
            None => "refusing connections".to_string(),
        };
        self.note(format!("cannot read the state file: {error}; {still}"))
    }

    fn note(&mut self, line: impl Into<String>) -> Judged {
        let line = line.into();
        if self.noted.as_deref() == Some(line.as_str()) {
            return Judged::default();
        }
        self.noted = Some(line.clone());
        Judged {
            switch: None,
            note: Some(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> Target {
        Target::Host(h.into())
    }

    #[test]
    fn a_line_names_a_host_or_an_address() {
        assert_eq!(Target::parse("0123456789ab"), Ok(host("0123456789ab")));
        assert_eq!(Target::parse(" web.local \n"), Ok(host("web.local")));
        assert_eq!(
            Target::parse("172.18.0.5"),
            Ok(Target::Ip("172.18.0.5".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("[fd00::5]"),
            Ok(Target::Ip("fd00::5".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("fd00::5"),
            Ok(Target::Ip("fd00::5".parse().unwrap()))
        );
        for bad in ["", "  ", "a b", "a\nb", "-a", "a..b", "a/b", "a:80", "é"] {
            assert!(Target::parse(bad).is_err(), "{bad:?} was taken");
        }
        assert!(Target::parse(&"a".repeat(64)).is_err());
        assert!(Target::parse(&["a"; 200].join(".")).is_err());
    }

    #[test]
    fn a_whole_line_switches_at_once_and_the_same_line_again_changes_nothing() {
        let mut w = Watch::new();
        let j = w.read(Some(b"aaaaaaaaaaaa\n"));
        assert_eq!(j.switch, Some(host("aaaaaaaaaaaa")));
        assert_eq!(
            j.note.as_deref(),
            Some("new connections go to aaaaaaaaaaaa")
        );
        assert_eq!(w.read(Some(b"aaaaaaaaaaaa\n")), Judged::default());
        let j = w.read(Some(b"bbbbbbbbbbbb\n"));
        assert_eq!(j.switch, Some(host("bbbbbbbbbbbb")));
        assert_eq!(
            j.note.as_deref(),
            Some("new connections go to bbbbbbbbbbbb (were going to aaaaaaaaaaaa)")
        );
        assert_eq!(w.current(), Some(&host("bbbbbbbbbbbb")));
    }

    #[test]
    fn a_file_caught_while_it_is_rewritten_keeps_the_old_target() {
        let mut w = Watch::new();
        w.read(Some(b"aaaaaaaaaaaa\n"));
        // The archive API removes the file, then writes the new one.
        for caught in [None, Some(&b""[..]), Some(&b"bbbb"[..])] {
            assert_eq!(w.read(caught), Judged::default(), "{caught:?}");
            assert_eq!(w.current(), Some(&host("aaaaaaaaaaaa")));
        }
        assert_eq!(
            w.read(Some(b"bbbbbbbbbbbb\n")).switch,
            Some(host("bbbbbbbbbbbb"))
        );
    }

    #[test]
    fn text_without_a_newline_is_taken_once_two_reads_agree() {
        let mut w = Watch::new();
        assert_eq!(w.read(Some(b"10.0.0.")), Judged::default());
        assert_eq!(w.read(Some(b"10.0.0.7")), Judged::default());
        assert_eq!(
            w.read(Some(b"10.0.0.7")).switch,
            Some(Target::Ip("10.0.0.7".parse().unwrap()))
        );
    }

    #[test]
    fn before_any_target_connections_are_refused_and_that_is_said_once() {
        let mut w = Watch::new();
        let j = w.read(None);
        assert_eq!(j.switch, None);
        assert!(j.note.unwrap().contains("refusing connections"));
        assert_eq!(w.read(None), Judged::default());
        assert_eq!(w.read(Some(b"\n")), Judged::default());
        assert_eq!(w.current(), None);
    }

    #[test]
    fn a_line_that_names_nothing_is_ignored_and_said_once() {
        let mut w = Watch::new();
        w.read(Some(b"aaaaaaaaaaaa\n"));
        let j = w.read(Some(b"not a host\n"));
        assert_eq!(j.switch, None);
        assert_eq!(
            j.note.as_deref(),
            Some(
                "ignoring the state file (\"not a host\"): it is neither a host name nor an IP \
                 address; new connections still go to aaaaaaaaaaaa"
            )
        );
        assert_eq!(w.read(Some(b"not a host\n")), Judged::default());
        assert_eq!(w.current(), Some(&host("aaaaaaaaaaaa")));
        // Binary junk is judged, not a panic.
        let j = w.read(Some(&[0xff, 0xfe, 0, b'\n']));
        assert!(j.note.is_some());
    }

    #[test]
    fn the_file_is_read_up_to_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target");
        assert_eq!(read_file(&path).unwrap(), None);
        std::fs::write(&path, "x".repeat(10_000)).unwrap();
        assert_eq!(read_file(&path).unwrap().unwrap().len(), MAX_READ as usize);
        assert_eq!(line(" abc "), "abc\n");
    }
}
