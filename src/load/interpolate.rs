//! Compose-file variable interpolation: `$VAR`, `${VAR:-default}` and friends.
//!
//! This module turns one scalar string from a compose file into its
//! interpolated value. It follows the Compose Specification as implemented by
//! compose-go (`template/template.go`), the library `docker compose` v2 runs,
//! because the same file has to mean the same thing under berth as under
//! `docker compose`, including in the corners where compose-go's behaviour is
//! accidental rather than designed.
//!
//! Where it stops: it knows nothing about YAML, config paths, `.env` files or
//! the process environment. The caller walks the document, decides which
//! strings to interpolate, supplies `lookup`, puts the config path in front of
//! errors, and prints the warnings for [`Interpolated::unset`]. Nothing here
//! casts results to numbers or booleans.
//!
//! | form               | result                                                       |
//! |--------------------|--------------------------------------------------------------|
//! | `$$`               | a literal `$`                                                |
//! | `$VAR`, `${VAR}`   | the value; unset gives `""` and is reported in `unset`       |
//! | `${VAR:-default}`  | `default` when VAR is unset or empty                         |
//! | `${VAR-default}`   | `default` when VAR is unset                                  |
//! | `${VAR:?message}`  | error when VAR is unset or empty                             |
//! | `${VAR?message}`   | error when VAR is unset                                      |
//! | `${VAR:+replace}`  | `replace` when VAR is set and non-empty, else `""`           |
//! | `${VAR+replace}`   | `replace` when VAR is set, else `""`                         |
//!
//! Names are `[A-Za-z_][A-Za-z0-9_]*`. A `$` followed by anything other than
//! `$`, a name or `{` stays literal (`a $ b`, `^x$`, `$}`, `$1`). A `${` that
//! does not continue as one of the forms above is a syntax error.
//!
//! compose-go behaviours reproduced on purpose:
//!
//! - Defaults, replacements and messages are interpolated *before* the variable
//!   is looked at, whether or not they end up used. So `${SET:-${X:?no}}` fails
//!   when X is unset, and `${SET:-$UNSET}` reports UNSET.
//! - The text after the operator ends at the `}` that balances the opening
//!   `{`, counting every `{` and `}` byte, not only `${`, so JSON-ish defaults
//!   such as `${X:-{"a": 1}}` work. compose-go skips the byte right after each
//!   `{` it counts, so `{{` counts once and the `}` in `{}` is not counted. If
//!   no `}` balances, the text runs to the last `}` on the line.
//! - A reference never spans a line break, because `.` in compose-go's pattern
//!   does not match `\n`.
//! - `${name[...]}` (shell array syntax, `${arr[@]}`) is invalid: compose-go
//!   once read it as a "named mapping" and kept it, but current compose
//!   (v2.40) rejects it, so a `command:` using it needs `$${arr[@]}`.
//!
//! One deliberate difference: names here are ASCII. compose-go matches names
//! case-insensitively with Unicode folding, which also lets `ſ` and the Kelvin
//! sign `K` into names.

use std::fmt;
use std::ops::Range;

/// A variable referenced with no value and no default: the caller warns about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unset {
    pub name: String,
    /// Byte range in the input of the whole reference, e.g. `${FOO}` or `$FOO`.
    pub range: Range<usize>,
}

/// The interpolated string and the unset variables it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// In order of appearance. A name shows up once per reference.
    pub unset: Vec<Unset>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${V:?msg}` / `${V?msg}` fired. range = byte range of the reference in the input.
    ///
    /// `message` is the interpolated text after `?`. If that text is empty,
    /// it is the generic `required variable V is missing a value`.
    Required {
        name: String,
        message: String,
        range: Range<usize>,
    },
    /// Malformed syntax. range = byte range of the offending `$...` text.
    ///
    /// The range runs from the `$` to the first `}` after it, or to the end
    /// of the line (or of the enclosing default) when there is no `}`.
    Syntax {
        message: String,
        /// What is wrong, in words that quote nothing of the value.
        problem: &'static str,
        range: Range<usize>,
    },
    /// The value would grow past `limit` bytes ([`interpolate_within`]).
    /// range = byte range of the reference whose value went past it.
    TooLong { limit: usize, range: Range<usize> },
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Same wording as compose-go, so users can search for it.
            Self::Required { name, message, .. } => {
                write!(f, "required variable {name} is missing a value")?;
                if is_generic_required(name, message) {
                    Ok(())
                } else {
                    write!(f, ": {message}")
                }
            }
            Self::Syntax { message, .. } => f.write_str(message),
            Self::TooLong { limit, .. } => {
                write!(f, "the value would grow past {limit} bytes")
            }
        }
    }
}

impl std::error::Error for InterpolationError {}

impl InterpolationError {
    /// What is wrong, without the text it was found in: the value may be a
    /// secret (an env file's, an `environment` value), so a diagnostic names
    /// its place instead. A required variable's message is the file
    /// author's own words for the user (`${DB:?set DB first}`) and is kept.
    pub fn unquoted(&self) -> String {
        match self {
            Self::Required { .. } | Self::TooLong { .. } => self.to_string(),
            Self::Syntax { problem, .. } => format!("invalid interpolation format: {problem}"),
        }
    }
}

/// Interpolates `input`, resolving variables through `lookup` (`None` = unset).
#[cfg(test)]
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolationError> {
    interpolate_within(input, lookup, usize::MAX)
}

/// [`interpolate`], stopping with [`InterpolationError::TooLong`] before
/// the value grows past `input.len() + limit` bytes with the variables'
/// values it takes in: a value referenced many times must not be built
/// before it is found too large.
pub fn interpolate_within(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    limit: usize,
) -> Result<Interpolated, InterpolationError> {
    if is_plain(input) {
        return Ok(Interpolated {
            value: input.to_owned(),
            unset: Vec::new(),
        });
    }
    Interpolator {
        input,
        lookup,
        out: String::with_capacity(input.len()),
        unset: Vec::new(),
        frames: Vec::new(),
        braces: None,
        limit: limit.saturating_add(input.len()),
    }
    .run()
}

/// True when the string contains no `$` at all (fast path for callers).
pub fn is_plain(input: &str) -> bool {
    !input.as_bytes().contains(&b'$')
}

/// "No position" in the brace tables. It compares greater than every real
/// position, so an `x < limit` check rejects it with no separate test.
const NONE: usize = usize::MAX;

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of the name starting at `from`, bounded by `end`.
fn name_end(bytes: &[u8], from: usize, end: usize) -> usize {
    let limit = end.min(bytes.len());
    bytes
        .get(from..limit)
        .and_then(|rest| rest.iter().position(|&b| !is_name_char(b)))
        .map_or(limit, |i| from + i)
}

fn is_generic_required(name: &str, message: &str) -> bool {
    message
        .strip_prefix("required variable ")
        .and_then(|rest| rest.strip_prefix(name))
        == Some(" is missing a value")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `:-`
    DefaultIfEmpty,
    /// `-`
    DefaultIfUnset,
    /// `:?`
    ErrorIfEmpty,
    /// `?`
    ErrorIfUnset,
    /// `:+`
    ReplaceIfNonEmpty,
    /// `+`
    ReplaceIfSet,
}

/// An operator reference whose argument is being interpolated. The argument's
/// output goes straight into the shared buffer from `out_start`. When the
/// argument ends, that text is either kept or swapped for the variable's value.
/// This avoids a buffer per nesting level, and an explicit stack means deep
/// nesting cannot overflow the call stack.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// The `$` of `${`.
    start: usize,
    name_start: usize,
    name_end: usize,
    op: Op,
    /// The `}` closing the reference; also the end of the argument region.
    close: usize,
    out_start: usize,
}

struct Interpolator<'a> {
    input: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    out: String,
    unset: Vec<Unset>,
    frames: Vec<Frame>,
    /// Built only when a line needs brace matching, then reused while
    /// processing stays on that line.
    braces: Option<BraceIndex>,
    /// The most bytes `out` may hold: the input and what values may add.
    limit: usize,
}

impl Interpolator<'_> {
    /// Checks that `value`, taken in for the reference at `range`, keeps
    /// the output within its limit.
    fn room(&self, value: &str, range: Range<usize>) -> Result<(), InterpolationError> {
        if self.out.len().saturating_add(value.len()) > self.limit {
            return Err(InterpolationError::TooLong {
                limit: self.limit - self.input.len(),
                range,
            });
        }
        Ok(())
    }

    fn run(mut self) -> Result<Interpolated, InterpolationError> {
        let bytes = self.input.as_bytes();
        let mut pos = 0;
        // End of the region being scanned: the input, or the argument of the
        // innermost open frame.
        let mut end = self.input.len();
        loop {
            let next = bytes
                .get(pos..end)
                .and_then(|region| region.iter().position(|&b| b == b'$'));
            if let Some(offset) = next {
                let dollar = pos + offset;
                self.out.push_str(&self.input[pos..dollar]);
                pos = self.dollar(dollar, &mut end)?;
                continue;
            }
            self.out.push_str(self.input.get(pos..end).unwrap_or(""));
            let Some(frame) = self.frames.pop() else {
                break;
            };
            self.finish(frame)?;
            pos = frame.close + 1;
            end = self.frames.last().map_or(self.input.len(), |f| f.close);
        }
        Ok(Interpolated {
            value: self.out,
            unset: self.unset,
        })
    }

    /// Handles the `$` at `p`. Returns where scanning resumes. When it opens
    /// an operator reference, `end` narrows to that reference's argument.
    fn dollar(&mut self, p: usize, end: &mut usize) -> Result<usize, InterpolationError> {
        let bytes = self.input.as_bytes();
        let next = if p + 1 < *end { bytes.get(p + 1) } else { None };
        match next.copied() {
            Some(b'$') => {
                self.out.push('$');
                Ok(p + 2)
            }
            Some(b'{') => self.braced(p, end),
            Some(c) if is_name_start(c) => {
                let stop = name_end(bytes, p + 1, *end);
                self.substitute(p, p + 1, stop, stop)?;
                Ok(stop)
            }
            // Nothing the pattern recognises: compose-go leaves the `$` alone.
            _ => {
                self.out.push('$');
                Ok(p + 1)
            }
        }
    }

    fn braced(&mut self, p: usize, end: &mut usize) -> Result<usize, InterpolationError> {
        let bytes = self.input.as_bytes();
        let region_end = *end;
        let at = |i: usize| {
            if i < region_end {
                bytes.get(i).copied()
            } else {
                None
            }
        };

        let name_start = p + 2;
        match at(name_start) {
            None => return Err(self.syntax(p, region_end, MISSING_CLOSE.into(), MISSING_CLOSE)),
            Some(b'}') => {
                return Err(self.syntax(
                    p,
                    region_end,
                    "empty variable name".into(),
                    "empty variable name",
                ));
            }
            Some(c) if !is_name_start(c) => {
                let found = self.char_at(name_start);
                let reason = format!("a variable name cannot start with {found:?}");
                return Err(self.syntax(
                    p,
                    region_end,
                    reason,
                    "a variable name starts with a letter or `_`",
                ));
            }
            Some(_) => {}
        }
        let stop = name_end(bytes, name_start, region_end);
        let (op, op_len) = match at(stop) {
            Some(b'}') => {
                self.substitute(p, name_start, stop, stop + 1)?;
                return Ok(stop + 1);
            }
            Some(b'-') => (Op::DefaultIfUnset, 1),
            Some(b'?') => (Op::ErrorIfUnset, 1),
            Some(b'+') => (Op::ReplaceIfSet, 1),
            Some(b':') => match at(stop + 1) {
                Some(b'-') => (Op::DefaultIfEmpty, 2),
                Some(b'?') => (Op::ErrorIfEmpty, 2),
                Some(b'+') => (Op::ReplaceIfNonEmpty, 2),
                _ => return Err(self.unexpected(p, name_start, stop, region_end)),
            },
            Some(_) => return Err(self.unexpected(p, name_start, stop, region_end)),
            None => return Err(self.syntax(p, region_end, MISSING_CLOSE.into(), MISSING_CLOSE)),
        };
        let arg_start = stop + op_len;
        let close = self.braces(p).closing(p + 1, arg_start, region_end);
        let Some(close) = close else {
            return Err(self.syntax(p, region_end, MISSING_CLOSE.into(), MISSING_CLOSE));
        };
        self.frames.push(Frame {
            start: p,
            name_start,
            name_end: stop,
            op,
            close,
            out_start: self.out.len(),
        });
        *end = close;
        Ok(arg_start)
    }

    /// Replaces or keeps a finished operator reference's argument text.
    fn finish(&mut self, frame: Frame) -> Result<(), InterpolationError> {
        let name = &self.input[frame.name_start..frame.name_end];
        let value = (self.lookup)(name);
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let use_value = match frame.op {
            Op::DefaultIfEmpty => non_empty,
            Op::DefaultIfUnset => value.is_some(),
            Op::ErrorIfEmpty | Op::ErrorIfUnset => {
                let ok = if frame.op == Op::ErrorIfEmpty {
                    non_empty
                } else {
                    value.is_some()
                };
                if !ok {
                    let text = self.out.get(frame.out_start..).unwrap_or("");
                    let message = if text.is_empty() {
                        format!("required variable {name} is missing a value")
                    } else {
                        text.to_owned()
                    };
                    return Err(InterpolationError::Required {
                        name: name.to_owned(),
                        message,
                        range: frame.start..frame.close + 1,
                    });
                }
                true
            }
            // Keep the replacement text when the condition holds. Otherwise
            // compose-go returns the variable's value, which is "" in both
            // remaining cases (unset, or set-but-empty for `:+`).
            Op::ReplaceIfNonEmpty => !non_empty,
            Op::ReplaceIfSet => value.is_none(),
        };
        if use_value {
            self.out.truncate(frame.out_start);
            let value = value.as_deref().unwrap_or("");
            self.room(value, frame.start..frame.close + 1)?;
            self.out.push_str(value);
        }
        Ok(())
    }

    /// Plain `$NAME` / `${NAME}` spanning `p..ref_end`.
    fn substitute(
        &mut self,
        p: usize,
        name_start: usize,
        name_end: usize,
        ref_end: usize,
    ) -> Result<(), InterpolationError> {
        let name = &self.input[name_start..name_end];
        match (self.lookup)(name) {
            Some(value) => {
                self.room(&value, p..ref_end)?;
                self.out.push_str(&value);
            }
            None => self.unset.push(Unset {
                name: name.to_owned(),
                range: p..ref_end,
            }),
        }
        Ok(())
    }

    fn braces(&mut self, p: usize) -> &mut BraceIndex {
        let bytes = self.input.as_bytes();
        let braces = self.braces.get_or_insert_with(BraceIndex::default);
        if !braces.covers(p) {
            braces.rebuild(bytes, p);
        }
        braces
    }

    fn char_at(&self, i: usize) -> char {
        self.input
            .get(i..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{fffd}')
    }

    fn unexpected(
        &self,
        p: usize,
        name_start: usize,
        at: usize,
        region_end: usize,
    ) -> InterpolationError {
        let found = self.char_at(at);
        let name = &self.input[name_start..at];
        let reason = format!("unexpected {found:?} after variable name {name:?}");
        self.syntax(
            p,
            region_end,
            reason,
            "an unexpected character after the variable name",
        )
    }

    fn syntax(
        &self,
        p: usize,
        region_end: usize,
        reason: String,
        problem: &'static str,
    ) -> InterpolationError {
        let bytes = self.input.as_bytes();
        let limit = region_end.min(bytes.len());
        let tail = bytes.get(p..limit).unwrap_or(&[]);
        let line = tail.iter().position(|&b| b == b'\n').unwrap_or(tail.len());
        let stop = tail[..line]
            .iter()
            .position(|&b| b == b'}')
            .map_or(p + line, |i| p + i + 1);
        let text = self.input.get(p..stop).unwrap_or("");
        InterpolationError::Syntax {
            message: format!("invalid interpolation format for {text:?}: {reason}"),
            problem,
            range: p..stop,
        }
    }
}

const MISSING_CLOSE: &str = "missing closing '}'";

/// Brace structure of one line (from the first `${` that needed it). compose-go
/// finds the end of a reference by rescanning from each `${`. That is quadratic
/// for nested defaults, so this computes every answer in one pass. All
/// positions are absolute byte offsets. Arrays are indexed by `pos - start`.
#[derive(Debug, Default)]
struct BraceIndex {
    start: usize,
    /// The `\n` ending the line, or the input length.
    line_end: usize,
    /// For each counted `{`: the `}` that balances it, or NONE.
    matching: Vec<usize>,
    /// `last_close[k]`: the last `}` before `start + k` on this line, or NONE.
    last_close: Vec<usize>,
    /// Scratch stack of open `{` offsets, kept to reuse its allocation.
    open: Vec<usize>,
}

impl BraceIndex {
    fn covers(&self, p: usize) -> bool {
        self.start <= p && p < self.line_end
    }

    fn rebuild(&mut self, bytes: &[u8], start: usize) {
        let start = start.min(bytes.len());
        let line_end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..line_end];
        self.start = start;
        self.line_end = line_end;
        self.matching.clear();
        self.matching.resize(line.len(), NONE);
        self.last_close.clear();
        self.last_close.reserve(line.len() + 1);
        self.open.clear();

        let mut last = NONE;
        // compose-go's scan does `i++` after every `{` it counts. So the next
        // byte is never examined, which we copy. Starting the pass at a `$` is
        // safe: the `{` after any `$` is always examined, as in compose-go's
        // own scan from that `$`.
        let mut skip = false;
        for (k, &b) in line.iter().enumerate() {
            self.last_close.push(last);
            if b == b'}' {
                last = start + k;
            }
            if skip {
                skip = false;
                continue;
            }
            match b {
                b'{' => {
                    self.open.push(k);
                    skip = true;
                }
                b'}' => {
                    if let Some(o) = self.open.pop() {
                        self.matching[o] = start + k;
                    }
                }
                _ => {}
            }
        }
        self.last_close.push(last);
    }

    /// The `}` ending the reference whose `{` is at `open`, within a region
    /// ending at `region_end`: the balancing `}` if there is one inside the
    /// region. If not, it is the last `}` of the region's line, which is where
    /// compose-go's greedy `(.*)}` stops. That `}` must come at or after
    /// `min`.
    fn closing(&self, open: usize, min: usize, region_end: usize) -> Option<usize> {
        let balanced = self
            .matching
            .get(open.wrapping_sub(self.start))
            .copied()
            .unwrap_or(NONE);
        if balanced < region_end {
            return Some(balanced);
        }
        let e = region_end.min(self.line_end);
        let last = self
            .last_close
            .get(e.wrapping_sub(self.start))
            .copied()
            .unwrap_or(NONE);
        (last != NONE && last >= min).then_some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// FOO=first, BAR set but empty, DOLLAR holds interpolation syntax that
    /// must come out verbatim. Everything else is unset.
    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("first".into()),
            "BAR" => Some(String::new()),
            "DOLLAR" => Some("$FOO ${BAR:-x} $$".into()),
            "Ü" => Some("never looked up".into()),
            _ => None,
        }
    }

    fn ok(input: &str) -> String {
        match interpolate(input, &env) {
            Ok(done) => done.value,
            Err(err) => panic!("{input:?} failed: {err}"),
        }
    }

    fn err(input: &str) -> InterpolationError {
        match interpolate(input, &env) {
            Ok(done) => panic!("{input:?} gave {:?}, expected an error", done.value),
            Err(err) => err,
        }
    }

    fn unset(input: &str) -> Vec<(String, Range<usize>)> {
        let done = interpolate(input, &env).expect("interpolates");
        done.unset.into_iter().map(|u| (u.name, u.range)).collect()
    }

    fn syntax_range(input: &str) -> Range<usize> {
        match err(input) {
            InterpolationError::Syntax { range, .. } => range,
            other => panic!("{input:?}: expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn plain_strings_pass_through() {
        for s in ["", "plain", "a { b } c", "é€ 😀", "{}:-?+[]"] {
            assert!(is_plain(s));
            assert_eq!(ok(s), s);
        }
        assert!(!is_plain("a$"));
    }

    #[test]
    fn escapes() {
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$${FOO}"), "${FOO}");
        assert_eq!(ok("$$FOO"), "$FOO");
        assert_eq!(ok("$$$FOO"), "$first");
        assert_eq!(ok("$$$$"), "$$");
        assert_eq!(ok("a$$"), "a$");
        assert!(unset("$${NOPE} $$NOPE").is_empty());
    }

    #[test]
    fn lone_dollar_is_literal() {
        for s in [
            "a $ string",
            "^REGEX$",
            "$}",
            "$",
            "$1",
            "$-x",
            "$ é",
            "$é",
            "€$€",
            "$:",
        ] {
            assert_eq!(ok(s), s, "{s:?}");
        }
    }

    #[test]
    fn named_and_braced() {
        assert_eq!(ok("$FOO"), "first");
        assert_eq!(ok("${FOO}"), "first");
        assert_eq!(ok("This $FOO var"), "This first var");
        assert_eq!(ok("This ${FOO} var"), "This first var");
        // docker/compose#8601: the name stops at the first non-name char.
        assert_eq!(ok("$FOO-bar"), "first-bar");
        assert_eq!(ok("$FOO{x}"), "first{x}");
        assert_eq!(ok("é$FOOé"), "éfirsté");
        assert_eq!(ok("${FOO}${FOO}$FOO"), "firstfirstfirst");
        assert_eq!(ok("This ${BAR} var"), "This  var");
        // Values are never interpolated again.
        assert_eq!(ok("$DOLLAR"), "$FOO ${BAR:-x} $$");
        assert_eq!(ok("${NOPE:-$DOLLAR}"), "$FOO ${BAR:-x} $$");
    }

    #[test]
    fn names_are_ascii_and_greedy() {
        assert_eq!(unset("$FOO_2x"), [("FOO_2x".into(), 0..7)]);
        assert_eq!(unset("$_"), [("_".into(), 0..2)]);
        // `Ü` is not a name char, so the `$` stays literal.
        assert_eq!(ok("$Ü"), "$Ü");
    }

    #[test]
    fn unset_is_reported_with_ranges() {
        assert_eq!(ok("This ${missing} var"), "This  var");
        assert_eq!(unset("This ${missing} var"), [("missing".into(), 5..15)]);
        assert_eq!(unset("a $NOPE b"), [("NOPE".into(), 2..7)]);
        assert_eq!(
            unset("é$A-${B}\n$C"),
            [("A".into(), 2..4), ("B".into(), 5..9), ("C".into(), 10..12)]
        );
        // Set-but-empty is not unset.
        assert!(unset("$BAR ${BAR}").is_empty());
        // Operator forms handle their own variable: nothing to report.
        assert!(unset("${A:-x}${A-x}${A:+x}${A+x}").is_empty());
        // Inside defaults, with absolute ranges.
        assert_eq!(unset("${A:-$B}"), [("B".into(), 5..7)]);
        assert_eq!(unset("x ${A:-${B}}"), [("B".into(), 7..11)]);
        // Repeated references are each reported.
        assert_eq!(unset("$B$B"), [("B".into(), 0..2), ("B".into(), 2..4)]);
    }

    #[test]
    fn default_when_unset_or_empty() {
        assert_eq!(ok("ok ${missing:-def}"), "ok def");
        assert_eq!(ok("ok ${BAR:-def}"), "ok def");
        assert_eq!(ok("ok ${FOO:-def}"), "ok first");
        assert_eq!(ok("${missing:-}"), "");
        assert_eq!(ok("ok ${BAR:-/non:-alphanumeric}"), "ok /non:-alphanumeric");
    }

    #[test]
    fn default_when_unset() {
        assert_eq!(ok("ok ${missing-def}"), "ok def");
        assert_eq!(ok("ok ${BAR-def}"), "ok ");
        assert_eq!(ok("ok ${FOO-def}"), "ok first");
        assert_eq!(ok("${missing-}"), "");
        // compose-go's precedence test: the first operator wins.
        assert_eq!(ok("${UNSET_VAR-myerror?msg}"), "myerror?msg");
    }

    #[test]
    fn replacement() {
        assert_eq!(ok("ok ${UNSET_VAR:+presence_value}"), "ok ");
        assert_eq!(ok("ok ${UNSET_VAR+presence_value}"), "ok ");
        assert_eq!(ok("ok ${FOO:+presence_value}"), "ok presence_value");
        assert_eq!(ok("ok ${FOO+presence_value}"), "ok presence_value");
        assert_eq!(ok("ok ${BAR+presence_value}"), "ok presence_value");
        assert_eq!(ok("ok ${BAR:+presence_value}"), "ok ");
        assert_eq!(ok("${FOO:+}"), "");
    }

    #[test]
    fn required_passes_when_satisfied() {
        assert_eq!(ok("ok ${FOO:?err}"), "ok first");
        assert_eq!(ok("ok ${FOO?err}"), "ok first");
        assert_eq!(ok("ok ${BAR?err}"), "ok ");
        assert_eq!(ok("${FOO?bar-baz}"), "first");
    }

    #[test]
    fn required_errors() {
        let cases = [
            (
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                "UNSET_VAR",
                "Mandatory Variable Unset",
                7..45,
            ),
            (
                "not ok ${BAR:?Mandatory Variable Empty}",
                "BAR",
                "Mandatory Variable Empty",
                7..39,
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                "UNSET_VAR",
                "Mandatory Variable Unset",
                7..44,
            ),
            ("${UNSET_VAR?bar-baz}", "UNSET_VAR", "bar-baz", 0..20),
            (
                "é ${U:?${FOO} is needed} tail",
                "U",
                "first is needed",
                3..25,
            ),
        ];
        for (input, name, message, range) in cases {
            let e = err(input);
            assert_eq!(
                e,
                InterpolationError::Required {
                    name: name.into(),
                    message: message.into(),
                    range,
                },
                "{input:?}"
            );
            assert_eq!(
                e.to_string(),
                format!("required variable {name} is missing a value: {message}")
            );
        }
    }

    #[test]
    fn required_without_message() {
        for input in ["not ok ${UNSET_VAR:?}", "not ok ${UNSET_VAR?}"] {
            let e = err(input);
            let InterpolationError::Required {
                name,
                message,
                range,
            } = &e
            else {
                panic!("{e:?}");
            };
            assert_eq!(name, "UNSET_VAR");
            assert_eq!(message, "required variable UNSET_VAR is missing a value");
            assert_eq!(*range, 7..input.len());
            assert_eq!(
                e.to_string(),
                "required variable UNSET_VAR is missing a value"
            );
        }
        // Only the text after `?` counts: a message that merely expands to
        // nothing also falls back to the generic one.
        let e = err("${U:?$BAR}");
        assert_eq!(e.to_string(), "required variable U is missing a value");
    }

    #[test]
    fn nested_defaults() {
        let cases = [
            ("${A:-${B:-x}}", "x"),
            ("${A:-${FOO:-x}}", "first"),
            ("${A:-$B}", ""),
            ("${A:-$FOO}", "first"),
            ("${A:-$$literal}", "$literal"),
            ("${A:-$${B}}", "${B}"),
            ("ok ${UNSET_VAR-$FOO}", "ok first"),
            ("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR+$FOO}", "ok first"),
            ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
            ("${A:-${B:-${C:-${FOO}}}}!", "first!"),
            ("${FOO:+[${A:-x}]}", "[x]"),
            ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), want, "{input:?}");
        }
    }

    #[test]
    fn outer_text_does_not_change_the_operator() {
        let cases = [
            ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ("-ok ${FOO:-defaultValue}", "-ok first"),
            (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            (":-ok ${BAR-defaultValue}", ":-ok "),
            (":?ok ${BAR-defaultValue}", ":?ok "),
            (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ("+ok ${BAR-defaultValue}", "+ok "),
            ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            ("${A-x} ${B:-y} ${C:?z}", ""),
        ];
        for (input, want) in &cases[..cases.len() - 1] {
            assert_eq!(ok(input), *want, "{input:?}");
        }
        let e = err(cases[cases.len() - 1].0);
        assert!(matches!(e, InterpolationError::Required { ref name, .. } if name == "C"));
    }

    #[test]
    fn arguments_are_evaluated_eagerly() {
        // compose-go interpolates the default before looking at the variable.
        let e = err("${FOO:-${U:?boom}}");
        assert_eq!(
            e,
            InterpolationError::Required {
                name: "U".into(),
                message: "boom".into(),
                range: 7..17,
            }
        );
        assert!(matches!(
            err("${FOO:+${A B}}"),
            InterpolationError::Syntax { .. }
        ));
        let done = interpolate("${FOO:-$U}", &env).unwrap();
        assert_eq!(done.value, "first");
        assert_eq!(
            done.unset,
            [Unset {
                name: "U".into(),
                range: 7..9
            }]
        );
    }

    #[test]
    fn brace_matching_follows_compose_go() {
        let cases = [
            (r#"${X:-{"a": 1}}"#, r#"{"a": 1}"#),
            ("${FMT:-{{.Name}}}", "{{.Name}}"),
            // No balancing `}`: the argument runs to the last `}` on the line.
            ("${A:-{}", "{"),
            ("${A:-{}}", "{}"),
            ("${A:-a{b}", "a{b"),
            // compose-go's scan skips the byte after each `{`, so `{{` counts
            // once and the default here ends at the first `}}`.
            ("${X:-{{a}}b}", "{{a}b}"),
            ("${A:-x}}", "x}"),
            ("${A:-x} and ${B:-y}", "x and y"),
            ("${A:-x}\n${B:-y}", "x\ny"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), want, "{input:?}");
        }
        // Unbalanced, so the default runs to the last `}` and is `{x} ${FOO`:
        // compose-go rejects this too.
        assert_eq!(syntax_range("${A:-{x} ${FOO}"), 9..14);
    }

    #[test]
    fn shell_array_syntax_is_invalid_as_in_compose() {
        assert_eq!(syntax_range("${arr[@]}"), 0..9);
        assert_eq!(syntax_range("echo ${arr[0]} $FOO"), 5..14);
        assert_eq!(syntax_range("${a[b]:-x} ${FOO}"), 0..10);
        assert_eq!(
            err("${arr[@]}").to_string(),
            "invalid interpolation format for \"${arr[@]}\": unexpected '[' after variable name \"arr\""
        );
        // Escaped, it is kept for the shell.
        assert_eq!(ok("$${arr[@]}"), "${arr[@]}");
    }

    #[test]
    fn syntax_errors_with_ranges() {
        let cases = [
            ("${", 0..2),
            ("${}", 0..3),
            ("${ }", 0..4),
            ("${ foo}", 0..7),
            ("${foo }", 0..7),
            ("${foo!}", 0..7),
            ("x ${1A} y", 2..7),
            ("${A B}", 0..6),
            ("${A:}", 0..5),
            ("${A:x}", 0..6),
            ("${A:=x}", 0..7),
            ("${A", 0..3),
            ("${A:-x", 0..6),
            ("é${é}", 2..7),
            // A reference cannot continue on the next line.
            ("${A:-x\n}", 0..6),
            ("a\nb ${A\n}", 4..7),
            // Inside a default, the range is the nested reference.
            ("${A:-${B C}}", 5..11),
            // Unbalanced: the default is `${B`, as in compose-go.
            ("${A:-${B}", 5..8),
        ];
        for (input, range) in cases {
            assert_eq!(syntax_range(input), range, "{input:?}");
        }
    }

    #[test]
    fn an_unquoted_syntax_error_holds_none_of_the_value() {
        for input in [
            "pa${ss hunter2",
            "pa${hunter2",
            "x${1hunter2}",
            "${hunter2[@]}",
        ] {
            let e = err(input);
            // compose's wording quotes the value.
            assert!(e.to_string().contains("hunter2"), "{input}: {e}");
            let unquoted = e.unquoted();
            assert!(!unquoted.contains("hunter2"), "{input}: {unquoted}");
            assert!(
                unquoted.starts_with("invalid interpolation format: "),
                "{unquoted}"
            );
        }
    }

    #[test]
    fn syntax_error_messages() {
        let e = err("x ${A B}");
        assert_eq!(
            e.to_string(),
            "invalid interpolation format for \"${A B}\": unexpected ' ' after variable name \"A\""
        );
        assert!(err("${}").to_string().contains("empty variable name"));
        assert!(err("${1}").to_string().contains("cannot start with '1'"));
        assert!(err("${A:-x").to_string().contains("missing closing '}'"));
        // The first error in reading order wins.
        assert!(err("${A B} ${U:?x}").to_string().contains("\"${A B}\""));
    }

    #[test]
    fn pathological_inputs_stay_linear() {
        let n = 100_000;
        let nested = format!("{}x{}", "${A:-".repeat(n), "}".repeat(n));
        assert_eq!(ok(&nested), "x");
        let nested_set = format!("{}x{}", "${FOO:-".repeat(n), "}".repeat(n));
        assert_eq!(ok(&nested_set), "first");
        let unbalanced = format!("{}{}", "${A:-{".repeat(n), "}");
        assert!(interpolate(&unbalanced, &env).is_err());
        let mappings = format!("{}]}}", "${a[}".repeat(n));
        assert!(interpolate(&mappings, &env).is_err());
        let flat = "${A:-x}$FOO$$".repeat(n);
        assert_eq!(ok(&flat), "xfirst$".repeat(n));
        let lines = "${A:-{x}\n".repeat(n);
        assert_eq!(ok(&lines), "{x\n".repeat(n));
    }

    /// A transliteration of compose-go's `template.go` (regex pattern,
    /// `getFirstBraceClosingIndex`, `partition`, recursion on defaults and on
    /// the rest of each match). It is quadratic and recursive, so only usable
    /// as a test oracle.
    mod reference {
        #[derive(Debug, PartialEq, Eq)]
        pub enum Failure {
            Syntax,
            Required { name: String, reason: String },
        }

        enum Group {
            Escaped,
            Named(String),
            Braced(String),
            Invalid,
        }

        fn name_start(b: u8) -> bool {
            b.is_ascii_alphabetic() || b == b'_'
        }

        fn name_end(b: &[u8], from: usize) -> usize {
            let mut i = from;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            i
        }

        /// The leftmost-first match of
        /// `\$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:(braced)}|()))` at `i`.
        fn match_at(t: &str, i: usize) -> Option<(usize, Group)> {
            let b = t.as_bytes();
            let c = *b.get(i + 1)?;
            if c == b'$' {
                return Some((i + 2, Group::Escaped));
            }
            if name_start(c) {
                let e = name_end(b, i + 1);
                return Some((e, Group::Named(t[i + 1..e].to_string())));
            }
            if c != b'{' {
                return None;
            }
            let line_end = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |k| i + k);
            // `(.*)}` greedy: the last `}` at or after `from` on this line.
            let last_close = |from: usize| (from..line_end).rev().find(|&k| b[k] == b'}');
            let n = i + 2;
            if n < b.len() && name_start(b[n]) {
                let q = name_end(b, n);
                let at = |k: usize| b.get(k).copied();
                // braced: name (:?[-+?](.*))? }, trying `:` first, then no `:`,
                // then no operator at all, as the regex engine would.
                let op = |k: usize| matches!(at(k), Some(b'-' | b'+' | b'?'));
                let with_colon = at(q) == Some(b':') && op(q + 1);
                let arg_start = if with_colon { q + 2 } else { q + 1 };
                let braced_end = last_close(arg_start).filter(|_| with_colon || op(q));
                if let Some(l) = braced_end {
                    return Some((l + 1, Group::Braced(t[n..l].to_string())));
                }
                if at(q) == Some(b'}') {
                    return Some((q + 1, Group::Braced(t[n..q].to_string())));
                }
            }
            Some((i + 2, Group::Invalid))
        }

        fn first_brace_closing_index(s: &[u8]) -> Option<usize> {
            let mut open = 0i64;
            let mut i = 0;
            while i < s.len() {
                if s[i] == b'}' {
                    open -= 1;
                    if open == 0 {
                        return Some(i);
                    }
                }
                if s[i] == b'{' {
                    open += 1;
                    i += 1;
                }
                i += 1;
            }
            None
        }

        type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

        pub fn substitute(
            t: &str,
            lookup: Lookup,
            unset: &mut Vec<String>,
        ) -> Result<String, Failure> {
            let b = t.as_bytes();
            let mut out = String::new();
            let (mut i, mut last) = (0, 0);
            while i < b.len() {
                let found = if b[i] == b'$' { match_at(t, i) } else { None };
                let Some((e, _)) = found else {
                    i += 1;
                    continue;
                };
                out.push_str(&t[last..i]);
                out.push_str(&replace(&t[i..e], lookup, unset)?);
                i = e;
                last = e;
            }
            out.push_str(&t[last..]);
            Ok(out)
        }

        fn replace(
            template: &str,
            lookup: Lookup,
            unset: &mut Vec<String>,
        ) -> Result<String, Failure> {
            let (cut, rest) = match first_brace_closing_index(template.as_bytes()) {
                Some(c) => (&template[..=c], &template[c + 1..]),
                None => (template, ""),
            };
            let (_, group) = match_at(cut, 0).expect("a match starts with a match");
            let mut value = match group {
                Group::Escaped => "$".to_string(),
                Group::Named(name) => plain(&name, lookup, unset),
                Group::Braced(sub) => match operator(template) {
                    None => plain(&sub, lookup, unset),
                    Some(sep) => apply(&sub, sep, lookup, unset)?,
                },
                Group::Invalid => return Err(Failure::Syntax),
            };
            if !rest.is_empty() {
                value.push_str(&substitute(rest, lookup, unset)?);
            }
            Ok(value)
        }

        fn plain(name: &str, lookup: Lookup, unset: &mut Vec<String>) -> String {
            lookup(name).unwrap_or_else(|| {
                unset.push(name.to_string());
                String::new()
            })
        }

        /// getSubstitutionFunctionForTemplate: the earliest separator anywhere in the match.
        fn operator(template: &str) -> Option<&'static str> {
            [":?", "?", ":-", "-", ":+", "+"]
                .into_iter()
                .filter_map(|sep| template.find(sep).map(|at| (at, sep)))
                .min()
                .map(|(_, sep)| sep)
        }

        fn apply(
            sub: &str,
            sep: &str,
            lookup: Lookup,
            unset: &mut Vec<String>,
        ) -> Result<String, Failure> {
            let (name, arg) = sub.split_once(sep).expect("separator present");
            let arg = substitute(arg, lookup, unset)?;
            let value = lookup(name);
            let set = value.is_some();
            let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
            let value = value.unwrap_or_default();
            Ok(match sep {
                ":-" => {
                    if non_empty {
                        value
                    } else {
                        arg
                    }
                }
                "-" => {
                    if set {
                        value
                    } else {
                        arg
                    }
                }
                ":+" => {
                    if non_empty {
                        arg
                    } else {
                        value
                    }
                }
                "+" => {
                    if set {
                        arg
                    } else {
                        value
                    }
                }
                ":?" | "?" => {
                    let valid = if sep == ":?" { non_empty } else { set };
                    if !valid {
                        return Err(Failure::Required {
                            name: name.to_string(),
                            reason: arg,
                        });
                    }
                    value
                }
                _ => unreachable!(),
            })
        }
    }

    fn tokens() -> impl Strategy<Value = String> {
        const TOKENS: &[&str] = &[
            "$", "$", "$", "{", "{", "}", "}", "}", ":", "-", "?", "+", ":-", ":?", ":+", "[", "]",
            "A", "FOO", "BAR", "U", "_", "1", " ", "\n", "é", "$$", "${", "${A", "${FOO", "${BAR",
            "x",
        ];
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..24).prop_map(|t| t.concat())
    }

    /// Mostly well-formed templates with nested operators, so the comparison
    /// with compose-go reaches past the first syntax error.
    fn structured() -> impl Strategy<Value = String> {
        use proptest::collection::vec;
        use proptest::sample::select;
        const NAMES: &[&str] = &["FOO", "BAR", "U", "A_1"];
        const OPS: &[&str] = &[":-", "-", ":?", "?", ":+", "+"];
        const TEXT: &[&str] = &[
            "x", " ", "é", "{", "}", "{}", "{{", "}}", "[", "]", ":", "-", "?", "+", "$", "$$",
            "\n",
        ];
        let leaf = prop_oneof![
            select(TEXT).prop_map(String::from),
            select(NAMES).prop_map(|n| format!("${n}")),
            select(NAMES).prop_map(|n| format!("${{{n}}}")),
        ];
        let tree = leaf.prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(|parts| parts.concat()),
                (select(NAMES), select(OPS), vec(inner.clone(), 0..3))
                    .prop_map(|(n, op, parts)| format!("${{{n}{op}{}}}", parts.concat())),
                (select(NAMES), vec(inner, 0..3))
                    .prop_map(|(n, parts)| format!("${{{n}[{}]}}", parts.concat())),
            ]
        });
        vec(tree, 0..4).prop_map(|parts| parts.concat())
    }

    fn assert_ranges_sane(input: &str, result: &Result<Interpolated, InterpolationError>) {
        let check = |r: &Range<usize>| {
            let text = input.get(r.clone()).expect("range on char boundaries");
            assert!(text.starts_with('$'), "{r:?} of {input:?}");
        };
        match result {
            Ok(done) => {
                for u in &done.unset {
                    check(&u.range);
                    assert!(input[u.range.clone()].contains(&u.name));
                }
            }
            Err(InterpolationError::Required { range, .. }) => check(range),
            Err(InterpolationError::Syntax { range, .. }) => {
                check(range);
                assert!(input[range.clone()].starts_with("${"));
            }
            Err(e @ InterpolationError::TooLong { .. }) => panic!("no limit was set: {e:?}"),
        }
    }

    #[test]
    fn a_value_that_would_grow_past_its_limit_stops_at_the_reference_that_goes_past_it() {
        let big = |name: &str| (name == "BIG").then(|| "x".repeat(1000));
        let done = interpolate_within("a${BIG}b", &big, 1000).expect("within the limit");
        assert_eq!(done.value.len(), 1002);
        // 12 bytes of input, 2,002 of output.
        assert!(interpolate_within("a${BIG}b$BIG", &big, 1990).is_ok());
        let e = interpolate_within("a${BIG}b$BIG", &big, 1989).unwrap_err();
        assert_eq!(
            e,
            InterpolationError::TooLong {
                limit: 1989,
                range: 8..12
            }
        );
        assert_eq!(e.to_string(), "the value would grow past 1989 bytes");
        let e = interpolate_within("${X:-${BIG}}", &big, 10).unwrap_err();
        assert!(matches!(e, InterpolationError::TooLong { range, .. } if range == (5..11)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_on_arbitrary_strings(s in any::<String>()) {
            let result = interpolate(&s, &env);
            assert_ranges_sane(&s, &result);
        }

        #[test]
        fn never_panics_on_syntax_soup(s in prop_oneof![tokens(), structured()]) {
            let result = interpolate(&s, &env);
            assert_ranges_sane(&s, &result);
        }

        #[test]
        fn strings_without_dollar_are_unchanged(s in "[^$]*") {
            prop_assert!(is_plain(&s));
            let done = interpolate(&s, &env).unwrap();
            prop_assert_eq!(done.value, s);
            prop_assert!(done.unset.is_empty());
        }

        #[test]
        fn escaping_round_trips(s in any::<String>(), t in tokens()) {
            for original in [s, t] {
                let escaped = original.replace('$', "$$");
                let done = interpolate(&escaped, &env).unwrap();
                prop_assert_eq!(done.value, original);
                prop_assert!(done.unset.is_empty());
            }
        }

        /// `\n` is excluded as well: compose-go rejects a default that spans lines.
        #[test]
        fn soft_default_applies_when_unset(d in "[^$}\n]*") {
            let input = format!("${{V:-{d}}}");
            let done = interpolate(&input, &|_: &str| None).unwrap();
            prop_assert_eq!(done.value, d);
            prop_assert!(done.unset.is_empty());
        }

        #[test]
        fn agrees_with_compose_go_transliteration(s in prop_oneof![tokens(), structured()]) {
            let ours = interpolate(&s, &env);
            let mut reference_unset = Vec::new();
            let theirs = reference::substitute(&s, &env, &mut reference_unset);
            match (ours, theirs) {
                (Ok(done), Ok(value)) => {
                    prop_assert_eq!(done.value, value, "{:?}", s);
                    let names: Vec<String> = done.unset.into_iter().map(|u| u.name).collect();
                    prop_assert_eq!(names, reference_unset, "{:?}", s);
                }
                (Err(InterpolationError::Syntax { .. }), Err(reference::Failure::Syntax)) => {}
                (
                    Err(InterpolationError::Required { name, message, .. }),
                    Err(reference::Failure::Required { name: their_name, reason }),
                ) => {
                    prop_assert_eq!(&name, &their_name, "{:?}", s);
                    if reason.is_empty() {
                        prop_assert!(is_generic_required(&name, &message), "{:?}", s);
                    } else {
                        prop_assert_eq!(message, reason, "{:?}", s);
                    }
                }
                (ours, theirs) => prop_assert!(false, "{:?}: ours {:?}, compose-go {:?}", s, ours, theirs),
            }
        }
    }
}
