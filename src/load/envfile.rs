//! Env files (`.env`, `--env-file`, `env_file:`) parsed with their errors
//! located at a line and column.
//!
//! The parsing itself is dotenvy's; this module only feeds it the text one
//! physical line per read, so that when dotenvy fails (it names the failing
//! text and a byte index inside it, not the line) the line it was reading is
//! known. Errors never quote the line: env files hold secrets, and an error
//! may end up in a CI log.

use std::cell::{Cell, RefCell};
use std::io::Read;

/// Why an env file could not be read, and where in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// 1-based line and column (in characters).
    pub at: Option<(usize, usize)>,
    pub reason: String,
    /// What to do, when the reader knows better than [`Error::help`]'s
    /// default (a file refused before it was read).
    pub advice: Option<String>,
}

impl Error {
    /// `shown:LINE:COL` where the place is known, else `shown`.
    pub fn located(&self, shown: &str) -> String {
        match self.at {
            Some((line, col)) => format!("{shown}:{line}:{col}"),
            None => shown.to_string(),
        }
    }
}

impl Error {
    /// What to do about it.
    pub fn help(&self) -> String {
        if let Some(a) = &self.advice {
            a.clone()
        } else if self.at.is_some() {
            "write one `KEY=VALUE` per line; quote a value with spaces or `#` in it: `KEY=\"a b\"`"
                .into()
        } else {
            "check that the file exists and holds KEY=VALUE lines".into()
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Hands out `text` at most one line per `read`, recording where each line
/// starts and how far reading got. dotenvy's BufReader then never holds
/// more than the line it is parsing, so the position is that line's end.
struct Lines<'a> {
    text: &'a [u8],
    pos: &'a Cell<usize>,
    starts: &'a RefCell<Vec<usize>>,
}

impl Read for Lines<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.pos.get();
        let rest = &self.text[pos..];
        if rest.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        if pos == 0 || self.text[pos - 1] == b'\n' {
            self.starts.borrow_mut().push(pos);
        }
        let line = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let n = line.min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos.set(pos + n);
        Ok(n)
    }
}

/// Parses env-file bytes, calling `add` for each variable in file order.
pub fn parse(bytes: &[u8], mut add: impl FnMut(String, String)) -> Result<(), Error> {
    // A UTF-8 byte-order mark is not part of the first name.
    let skip = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let pos = Cell::new(skip);
    let starts = RefCell::new(Vec::new());
    let lines = Lines {
        text: bytes,
        pos: &pos,
        starts: &starts,
    };
    for item in dotenvy::from_read_iter(lines) {
        let err = match item {
            Ok((k, v)) => {
                add(k, v);
                continue;
            }
            Err(e) => e,
        };
        let starts = starts.borrow();
        let end = pos.get();
        let last = starts.last().copied().unwrap_or(skip);
        return Err(match err {
            dotenvy::Error::LineParse(failing, index) => {
                let at = locate(bytes, &starts, end, &failing).map_or(last, |s| s + index);
                Error {
                    at: Some(line_col(bytes, at.min(end))),
                    reason: "this line is not `KEY=VALUE` (an unclosed quote or a character not allowed here)".into(),
                    advice: None,
                }
            }
            dotenvy::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => Error {
                at: Some(line_col(bytes, last)),
                reason: "this line is not UTF-8 text".into(),
                advice: None,
            },
            other => Error {
                at: None,
                reason: other.to_string(),
                advice: None,
            },
        });
    }
    Ok(())
}

/// Where `failing` (the text dotenvy could not parse: the logical line, or
/// the value part of it) begins in the lines read so far. A logical line
/// may run over several physical lines (a quoted value with newlines), so
/// line starts are tried from the last one back until one holds it.
fn locate(bytes: &[u8], starts: &[usize], end: usize, failing: &str) -> Option<usize> {
    let needle = failing.as_bytes();
    for &s in starts.iter().rev() {
        let group = &bytes[s..end];
        // Too short to hold it: the logical line starts further back.
        if group.len() < needle.len() {
            continue;
        }
        if group.starts_with(needle) {
            return Some(s);
        }
        if let Some(i) = group
            .windows(needle.len().max(1))
            .rposition(|w| w == needle)
        {
            return Some(s + i);
        }
    }
    None
}

/// 1-based line and character column of byte `at`.
fn line_col(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Result<Vec<(String, String)>, Error> {
        let mut out = Vec::new();
        parse(text.as_bytes(), |k, v| out.push((k, v)))?;
        Ok(out)
    }

    fn at(text: &[u8]) -> Option<(usize, usize)> {
        parse(text, |_, _| {}).unwrap_err().at
    }

    #[test]
    fn variables_are_read_in_order() {
        let v = vars("\u{feff}A=1\n# comment\n\nB=\"two\nlines\"\nexport C='3'\n").unwrap();
        assert_eq!(
            v,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two\nlines".to_string()),
                ("C".to_string(), "3".to_string()),
            ]
        );
    }

    #[test]
    fn a_bad_value_is_located_at_its_line_and_column() {
        // dotenvy stops at the `2` after a space in an unquoted value.
        assert_eq!(at(b"A=1\n# c\nB=\"x\ny\"\nC=1 2 3\nD=ok\n"), Some((5, 5)));
        assert_eq!(at(b"A=1\nB=2\nA=1 2\n"), Some((3, 5)));
    }

    #[test]
    fn a_bad_name_is_located_at_its_line() {
        assert_eq!(at(b"A=1\n  bad-name=1\n"), Some((2, 6)));
    }

    #[test]
    fn an_unclosed_quote_points_at_the_end_of_the_file() {
        let e = parse(b"A=1\nB=\"open\nmore\n", |_, _| {}).unwrap_err();
        assert_eq!(e.at.map(|(l, _)| l), Some(4));
    }

    #[test]
    fn invalid_utf8_is_located_at_its_line() {
        assert_eq!(at(b"A=1\nB=\xff\xfe\n"), Some((2, 1)));
    }

    #[test]
    fn errors_do_not_quote_the_file() {
        let e = parse(b"SECRET=hunter2 oops\n", |_, _| {}).unwrap_err();
        assert!(!e.reason.contains("hunter2"), "{}", e.reason);
        assert_eq!(e.located("x.env"), "x.env:1:16");
    }
}
