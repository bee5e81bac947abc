//! Env files (`.env`, `--env-file`, `env_file:`) read as compose reads them,
//! with errors located at a line and column.
//!
//! compose's reader is compose-go's `dotenv` package (`dotenv/parser.go`);
//! this is a port of its behaviour, line based and without recursion:
//!
//! - `KEY=value`, `KEY = value`, `KEY: value` (yaml style) and `export KEY=value`;
//!   a name is letters, digits, `_ . - [ ]` (no spaces); blank lines and lines
//!   starting with `#` are skipped; a UTF-8 byte-order mark is dropped.
//! - A line with a name alone (`KEY`) takes the variable from the outer
//!   lookup (the process environment), and sets nothing when it is not there.
//! - Unquoted values run to the end of the line; ` #` starts a comment there
//!   (`a#b` is a value), and trailing blanks are dropped.
//! - `'single'` quotes keep their text verbatim but for `\'`.
//! - `"double"` quotes take the escapes `\a \b \f \n \r \t \v \\ \" \$` and
//!   octal `\0NNN`; other backslashes stay.
//! - Quoted values may span lines; whatever follows the closing quote on its
//!   line is read as the next statement (compose does the same: usually a
//!   `# comment`).
//! - Unquoted and double-quoted values are interpolated (`${VAR:-default}`,
//!   see [`super::interpolate`]): from the outer lookup first, then from the
//!   variables read so far. So the process environment wins over earlier
//!   lines, as in compose (checked with `docker compose config`): with `A=5`
//!   exported, `A=1` then `B=${A}` gives `B=5`, and
//!   `IMAGE_TAG="${IMAGE_TAG:-latest}"` keeps an exported `IMAGE_TAG`.
//!
//! Where it stops: reading the file is [`super::input`]'s; which files are
//! read, in which order and what wins over what is the caller's. Errors never
//! quote the line: env files hold secrets, and an error may end up in a CI
//! log.

use indexmap::IndexMap;

use super::budget::{self, Budget, Charge, Size};
use super::interpolate;

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

/// A variable a value used that had no value: compose warns and uses "".
#[derive(Debug, Clone, PartialEq)]
pub struct Unset {
    pub name: String,
    /// 1-based line and column of the reference (of the opening quote, for
    /// a quoted value, whose escapes move the text).
    pub at: (usize, usize),
}

/// compose-go's `isSpace`: blanks that are not a line break.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Line starts, to turn byte offsets into line and column on demand.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// 1-based line and character column of byte `at`.
    fn at(&self, at: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= at).max(1);
        let start = self.starts[line - 1];
        let col = self
            .text
            .get(start..at)
            .map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }
}

/// Parses env-file text into `vars` (later lines overwrite earlier ones and
/// whatever `vars` held). `outer` is looked up first for `${...}` and for a
/// name alone on a line; `vars` after it. Returns the unset variables that
/// values referred to. Each variable set is charged to `budget` (see
/// [`super::budget`]): a value past it is an error at its line, and once the
/// budget is spent elsewhere reading stops.
pub fn parse(
    text: &str,
    vars: &mut IndexMap<String, String>,
    outer: &dyn Fn(&str) -> Option<String>,
    budget: &Budget,
) -> Result<Vec<Unset>, Error> {
    let lines = Lines::new(text);
    let err = |at: usize, reason: String| Error {
        at: Some(lines.at(at)),
        reason,
        advice: None,
    };
    let mut unset = Vec::new();
    let mut pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
    loop {
        // The next statement: past blanks, line breaks and comment lines.
        let rest = &text[pos..];
        let Some(i) = rest.find(|c: char| !c.is_whitespace()) else {
            break;
        };
        pos += i;
        if text[pos..].starts_with('#') {
            match text[pos..].find('\n') {
                Some(nl) => {
                    pos += nl;
                    continue;
                }
                None => break,
            }
        }
        // `export` and at least one blank (or a line break) before the name.
        if let Some(after) = text[pos..].strip_prefix("export")
            && after.starts_with(['\t', '\n', '\u{c}', '\r', ' '])
        {
            pos += "export".len();
            pos += text[pos..]
                .find(|c| !is_blank(c))
                .unwrap_or(text.len() - pos);
        }

        // The name, up to `=`, `:` or the end of the line.
        let start = pos;
        let mut sep = None;
        for (i, c) in text[start..].char_indices() {
            if is_blank(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    sep = Some((start + i, c));
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphanumeric() => {}
                c => {
                    return Err(err(
                        start + i,
                        format!("unexpected character {c:?} in a variable name"),
                    )
                    .with_advice(
                        "a name has only letters, digits and `_ . - [ ]`; write `KEY=VALUE`, and quote a value that has spaces: `KEY=\"a b\"`",
                    ));
                }
            }
        }
        let (key, value_start, inherited) = match sep {
            Some((at, c)) => (text[start..at].trim_end(), at + c.len_utf8(), c == '\n'),
            // compose-go reads a last line without `=` or a line break as
            // the value of an empty name.
            None => ("", start, false),
        };
        if let Some(space) = key.find(' ') {
            return Err(err(start + space, "a variable name cannot contain a space".into()).with_advice(
                "write `KEY=VALUE` with the name in one word; quote a value that has spaces: `KEY=\"a b\"`",
            ));
        }
        let key = key.to_string();
        pos = value_start;
        if inherited {
            if let Some(v) = outer(&key) {
                vars.insert(key, v);
            }
            continue;
        }
        pos += text[pos..]
            .find(|c| !is_blank(c))
            .unwrap_or(text.len() - pos);

        let quote = text[pos..]
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'');
        let Some(quote) = quote else {
            // Unquoted: to the end of the line, less a ` #` comment.
            let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            let line = &text[pos..end];
            let line = line.find(" #").map_or(line, |i| &line[..i]);
            let raw = line.trim_end();
            let lookup = |name: &str| outer(name).or_else(|| vars.get(name).cloned());
            let value = expand(raw, pos, None, &lookup, &lines, &mut unset, budget)?;
            if !charge(budget, &key, &value, start, &lines)? {
                break;
            }
            vars.insert(key, value);
            pos = (end + 1).min(text.len());
            continue;
        };
        // Quoted: to the next quote not after a backslash. A backslash is
        // dropped only before that quote; other escapes are read after.
        let open = pos;
        let mut chars = String::new();
        let mut escaped = false;
        let mut close = None;
        for (i, c) in text[open + 1..].char_indices() {
            if c != quote {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                if escaped {
                    escaped = false;
                    chars.push('\\');
                }
                chars.push(c);
                continue;
            }
            if escaped {
                escaped = false;
                chars.push(c);
                continue;
            }
            close = Some(open + 1 + i);
            break;
        }
        let Some(close) = close else {
            return Err(err(open, format!("this value's {quote} quote is never closed"))
                .with_advice(format!(
                    "end the value with {quote} (a value may span lines until its closing quote); write \\{quote} for a quote inside it"
                )));
        };
        let value = if quote == '"' {
            let lookup = |name: &str| outer(name).or_else(|| vars.get(name).cloned());
            expand(
                &escapes(&chars),
                open,
                Some(open),
                &lookup,
                &lines,
                &mut unset,
                budget,
            )?
        } else {
            chars
        };
        if !charge(budget, &key, &value, start, &lines)? {
            break;
        }
        vars.insert(key, value);
        pos = close + 1;
    }
    Ok(unset)
}

/// Parses an env file of `format: raw`, as compose reads it (docker's
/// `--env-file` parser): one `KEY=VALUE` per line, the value verbatim (no
/// quotes, escapes, comments or interpolation); leading blanks dropped;
/// blank lines and lines starting with `#` skipped; a name alone takes the
/// variable from `outer`, or nothing.
pub fn parse_raw(
    text: &str,
    vars: &mut IndexMap<String, String>,
    outer: &dyn Fn(&str) -> Option<String>,
    budget: &Budget,
) -> Result<(), Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = Lines::new(text);
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        let col = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = |c: usize| Some((n + 1, line[..c].chars().count() + 1));
        let (key, value) = match trimmed.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (trimmed, None),
        };
        if key.is_empty() {
            return Err(Error {
                at: at(col),
                reason: "a line without a variable name".into(),
                advice: Some("write `KEY=VALUE`".into()),
            });
        }
        if let Some(i) = key.find([' ', '\t']) {
            return Err(Error {
                at: at(col + i),
                reason: "a variable name cannot contain a space".into(),
                advice: Some(
                    "in a `format: raw` env file write `KEY=VALUE` with nothing around `=`; the value is taken as written".into(),
                ),
            });
        }
        let Some(value) = value.map(str::to_string).or_else(|| outer(key)) else {
            continue;
        };
        let line_start = lines.starts[n];
        if !charge(budget, key, &value, line_start + col, &lines)? {
            break;
        }
        vars.insert(key.to_string(), value);
    }
    Ok(())
}

/// Charges the variable `key`, set at byte `at` of the file, to `budget`:
/// false when the budget was already spent (reading stops), an error when
/// this value spends it.
fn charge(
    budget: &Budget,
    key: &str,
    value: &str,
    at: usize,
    lines: &Lines,
) -> Result<bool, Error> {
    let size = Size::new(2, (key.len() + value.len()) as u64);
    match budget.try_charge(size) {
        Charge::Ok => Ok(true),
        Charge::Spent => Ok(false),
        // The value is not quoted: env files hold secrets.
        Charge::Over(e) => Err(Error {
            at: Some(lines.at(at)),
            reason: e.message(&format!(
                "`{key}` is set to a value of {}, after {} of the budget were used",
                budget::mib(value.len() as u64),
                e.before
            )),
            advice: Some(budget::HELP.to_string()),
        }),
    }
}

impl Error {
    fn with_advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }
}

/// Interpolates a value found at byte `at` of the file, looking variables up
/// in the outer lookup, then in the file's lines before it. `fixed`: where to
/// locate what it finds when offsets in `value` do not map onto the file
/// (a quoted value, after its escapes).
fn expand(
    value: &str,
    at: usize,
    fixed: Option<usize>,
    lookup: &dyn Fn(&str) -> Option<String>,
    lines: &Lines,
    unset: &mut Vec<Unset>,
    budget: &Budget,
) -> Result<String, Error> {
    let place = |offset: usize| lines.at(fixed.unwrap_or(at + offset));
    match interpolate::interpolate_within(value, lookup, budget.bytes_left()) {
        Ok(done) => {
            unset.extend(done.unset.into_iter().map(|u| Unset {
                at: place(u.range.start),
                name: u.name,
            }));
            Ok(done.value)
        }
        Err(e) => {
            let (range, advice) = match &e {
                interpolate::InterpolationError::Required { name, range, .. } => (
                    range,
                    format!("set `{name}` in the environment or earlier in this file"),
                ),
                interpolate::InterpolationError::Syntax { range, .. } => (
                    range,
                    "write `${VAR}`, `${VAR:-default}`, or `$$` for a literal `$`; in a value that is not interpolated, use single quotes".to_string(),
                ),
                interpolate::InterpolationError::TooLong { limit, range } => {
                    // What is left of the budget is the limit: one byte more
                    // spends it, and names it.
                    let reason = match budget.try_charge(Size::new(0, *limit as u64 + 1)) {
                        Charge::Over(over) => over.message(&format!(
                            "a value here would take in more than the {} left with its variables",
                            budget::mib(*limit as u64)
                        )),
                        _ => e.to_string(),
                    };
                    return Err(Error {
                        at: Some(place(range.start)),
                        reason,
                        advice: Some(budget::HELP.to_string()),
                    });
                }
            };
            Err(Error {
                at: Some(place(range.start)),
                reason: e.unquoted(),
                advice: Some(advice),
            })
        }
    }
}

/// The escapes of a double-quoted value (compose-go's `expandEscapes`):
/// `\a \b \f \n \r \t \v \\ \"`, octal `\0NNN`, and `\$` as `$$` so that
/// interpolation leaves a literal `$`. Any other backslash stays.
fn escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&(_, next)) = it.peek() else {
            out.push(c);
            continue;
        };
        let simple = match next {
            'a' => Some("\u{7}"),
            'b' => Some("\u{8}"),
            'f' => Some("\u{c}"),
            'n' => Some("\n"),
            'r' => Some("\r"),
            't' => Some("\t"),
            'v' => Some("\u{b}"),
            '"' => Some("\""),
            '\\' => Some("\\"),
            '$' => Some("$$"),
            _ => None,
        };
        if let Some(r) = simple {
            out.push_str(r);
            it.next();
            continue;
        }
        if next != '0' {
            out.push(c);
            continue;
        }
        // `\0` and up to three digits: exactly three octal digits of at
        // most 0o377 make one character; otherwise the text stays as it is.
        it.next();
        let digits_start = i + 2;
        let digits: String = s[digits_start..]
            .chars()
            .take(3)
            .take_while(char::is_ascii_digit)
            .collect();
        for _ in 0..digits.len() {
            it.next();
        }
        let octal = (digits.len() == 3)
            .then(|| u32::from_str_radix(&digits, 8).ok())
            .flatten()
            .filter(|v| *v <= 0o377)
            .and_then(char::from_u32);
        match octal {
            Some(ch) => out.push(ch),
            None => {
                out.push_str("\\0");
                out.push_str(&digits);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn vars_with(text: &str, outer: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
        let mut vars = IndexMap::new();
        parse(text, &mut vars, outer, &Budget::default())
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        vars.into_iter().collect()
    }

    fn vars(text: &str) -> Vec<(String, String)> {
        vars_with(text, &none)
    }

    /// compose-go's `parseAndCompare`: `text` sets `key` to `value`.
    #[track_caller]
    fn parses(text: &str, key: &str, value: &str) {
        let v = vars(text);
        let found = v.iter().find(|(k, _)| k == key);
        assert_eq!(
            found.map(|(_, v)| v.as_str()),
            Some(value),
            "{text:?} gave {v:?}"
        );
    }

    fn error(text: &str) -> Error {
        parse(text, &mut IndexMap::new(), &none, &Budget::default()).unwrap_err()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_are_read_in_order() {
        let v = vars("\u{feff}A=1\n# comment\n\nB=\"two\nlines\"\nexport C='3'\n");
        assert_eq!(v, pairs(&[("A", "1"), ("B", "two\nlines"), ("C", "3")]));
    }

    // compose-go's TestParsing, case by case.
    #[test]
    fn compose_go_parsing_cases() {
        parses("FOO=bar", "FOO", "bar");
        parses("FOO =bar", "FOO", "bar");
        parses("FOO= bar", "FOO", "bar");
        parses(r#"FOO="bar""#, "FOO", "bar");
        parses("FOO='bar'", "FOO", "bar");
        parses(r#"FOO="escaped\"bar""#, "FOO", r#"escaped"bar"#);
        parses(r#"FOO="\"quoted\"""#, "FOO", r#""quoted""#);
        parses(r#"FOO="'d'""#, "FOO", "'d'");
        parses("OPTION_A: 1", "OPTION_A", "1");
        parses("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar");
        parses("OPTION_A=1:B", "OPTION_A", "1:B");
        parses("export OPTION_A=2", "OPTION_A", "2");
        parses(r"export OPTION_B='\n'", "OPTION_B", r"\n");
        parses("export exportFoo=2", "exportFoo", "2");
        parses("exportFOO=2", "exportFOO", "2");
        parses("export_FOO =2", "export_FOO", "2");
        parses("export.FOO= 2", "export.FOO", "2");
        parses("export\tOPTION_A=2", "OPTION_A", "2");
        parses("  export OPTION_A=2", "OPTION_A", "2");
        parses("\texport OPTION_A=2", "OPTION_A", "2");
        parses(r#"export OPTION_A="export A""#, "OPTION_A", "export A");
        parses(r#"FOO="bar\nbaz""#, "FOO", "bar\nbaz");
        parses(r"FOO=a\tb", "FOO", r"a\tb");
        parses(r#"FOO="a\tb""#, "FOO", "a\tb");
        parses(
            r#"KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z""#,
            "KEY",
            "Z\u{7}Z\u{8}Z\u{c}Z\nZ\rZ\tZ\u{b}Z\\ZSZ",
        );
        parses("FOO.BAR=foobar", "FOO.BAR", "foobar");
        parses("FOO=foobar=", "FOO", "foobar=");
        parses("FOO=bar ", "FOO", "bar");
        parses("FOO=bar # this is foo", "FOO", "bar");
        parses("FOO=bar #this is foo", "FOO", "bar");
        parses("FOO=bar #", "FOO", "bar");
        parses(
            "FOO=123#not-an-inline-comment",
            "FOO",
            "123#not-an-inline-comment",
        );
        parses(r#"FOO="bar#baz""#, "FOO", "bar#baz");
        parses(r##"FOO="bar#baz"#"##, "FOO", "bar#baz");
        parses(r#"FOO="bar#baz" # comment"#, "FOO", "bar#baz");
        parses("FOO='bar#baz' # comment", "FOO", "bar#baz");
        parses(r#"FOO="bar#baz#bang" # comment"#, "FOO", "bar#baz#bang");
        parses(r#"FOO="ba#r""#, "FOO", "ba#r");
        parses("FOO='ba#r'", "FOO", "ba#r");
        parses(r#"FOO="bar\n\ b\az""#, "FOO", "bar\n\\ b\u{7}z");
        parses(r#"FOO="bar\\\n\ b\az""#, "FOO", "bar\\\n\\ b\u{7}z");
        parses(r#"FOO="bar\\r\ b\az""#, "FOO", "bar\\r\\ b\u{7}z");
        parses(r#"FOO="bar\nbaz\\""#, "FOO", "bar\nbaz\\");
        parses(r#"="value""#, "", "value");
        parses(" KEY =value", "KEY", "value");
        parses("   KEY=value", "KEY", "value");
        parses("\tKEY=value", "KEY", "value");
        parses(r#"KEY="\0123""#, "KEY", "S");
        parses(r#"KEY="\x07""#, "KEY", r"\x07");
        parses(r#"KEY="\u12e4""#, "KEY", r"\u12e4");
        parses(r#"KEY="\U00101234""#, "KEY", r"\U00101234");
        assert!(error("lol$wut").reason.contains("'$'"));
    }

    #[test]
    fn octal_escapes_need_three_digits_of_at_most_0377() {
        parses(r#"K="\0""#, "K", r"\0");
        parses(r#"K="\012x""#, "K", r"\012x");
        parses(r#"K="\0101""#, "K", "A");
        parses(r#"K="\0400""#, "K", r"\0400");
        parses(r#"K="\0089""#, "K", r"\0089");
    }

    #[test]
    fn names_may_hold_unicode_letters_brackets_and_dots() {
        let v =
            vars("a=b\na[1]=c\na.propertyKey=d\nárvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n");
        assert_eq!(
            v,
            pairs(&[
                ("a", "b"),
                ("a[1]", "c"),
                ("a.propertyKey", "d"),
                ("árvíztűrő-TÜKÖRFÚRÓGÉP", "ÁRVÍZTŰRŐ-tükörfúrógép"),
            ])
        );
    }

    #[test]
    fn compose_go_fixtures() {
        // fixtures/plain.env: `456` is a name like any other to compose.
        let plain = "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n";
        assert_eq!(
            vars(plain),
            pairs(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", "3"),
                ("OPTION_D", "4"),
                ("OPTION_E", "5"),
                ("456", "ABC"),
                ("OPTION_F", ""),
                ("OPTION_G", ""),
                ("OPTION_H", "my string"),
            ])
        );
        // fixtures/quoted.env
        let quoted = "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\nOPTION_I = \"echo 'asd'\" # Inline comment\nOPTION_J = 'first line\nsecond line\nthird line\nand so on'\nOPTION_K='Let\\'s go!'\nOPTION_Z = \"last value\"\n";
        assert_eq!(
            vars(quoted),
            pairs(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", ""),
                ("OPTION_D", "\\n"),
                ("OPTION_E", "1"),
                ("OPTION_F", "2"),
                ("OPTION_G", ""),
                ("OPTION_H", "\n"),
                ("OPTION_I", "echo 'asd'"),
                ("OPTION_J", "first line\nsecond line\nthird line\nand so on"),
                ("OPTION_K", "Let's go!"),
                ("OPTION_Z", "last value"),
            ])
        );
        // fixtures/unquoted.env
        let unquoted = "OPTION_A = \"some quoted phrase\"\nOPTION_B=first one with an unquoted phrase\nOPTION_C = then another one with an unquoted phrase\nOPTION_D = then another one with an unquoted phrase special è char\nOPTION_E = \"then another one quoted phrase\"\n";
        assert_eq!(
            vars(unquoted),
            pairs(&[
                ("OPTION_A", "some quoted phrase"),
                ("OPTION_B", "first one with an unquoted phrase"),
                ("OPTION_C", "then another one with an unquoted phrase"),
                (
                    "OPTION_D",
                    "then another one with an unquoted phrase special è char"
                ),
                ("OPTION_E", "then another one quoted phrase"),
            ])
        );
        // fixtures/special.env
        assert_eq!(
            vars("VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\nVAR-WITH-DASHES=dashes\n"),
            pairs(&[
                ("VAR.WITH.DOTS", "dots"),
                ("VAR_WITH_UNDERSCORES", "underscores"),
                ("VAR-WITH-DASHES", "dashes"),
            ])
        );
        // fixtures/equals.env
        parses(
            "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n",
            "OPTION_A",
            "postgres://localhost:5432/database?sslmode=disable",
        );
        // TestVariableStringValueSeparator
        parses(
            "TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443\"",
            "TEST_URLS",
            "stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443",
        );
    }

    #[test]
    fn lines_with_nothing_to_read_set_nothing() {
        for text in [
            "\n",
            "\r\n",
            "\t\t ",
            "# Comment",
            "\t # comment",
            "export \n",
        ] {
            assert_eq!(vars(text), [], "{text:?}");
        }
    }

    #[test]
    fn a_name_alone_takes_the_outer_value_or_nothing() {
        let outer = |k: &str| (k == "VAR_FROM_OS").then(|| "os".to_string());
        assert_eq!(
            vars_with("foo=bar\nVAR_FROM_OS\nNOT_FOUND\nbar=baz\n", &outer),
            pairs(&[("foo", "bar"), ("VAR_FROM_OS", "os"), ("bar", "baz")])
        );
        // Without a line break after it, compose-go reads it as the value
        // of an empty name.
        assert_eq!(vars("A=1\nD"), pairs(&[("A", "1"), ("", "D")]));
    }

    #[test]
    fn what_follows_a_closing_quote_is_the_next_statement() {
        assert_eq!(
            vars("B=\"x\" C=2\nD=3"),
            pairs(&[("B", "x"), ("C", "2"), ("D", "3")])
        );
    }

    // compose-go's TestExpanding and the substitutions fixtures.
    #[test]
    fn values_are_interpolated_from_outer_then_earlier_lines() {
        assert_eq!(
            vars("FOO=test\nBAR=$FOO"),
            pairs(&[("FOO", "test"), ("BAR", "test")])
        );
        parses("FOO=test\nBAR=${FOO}bar", "BAR", "testbar");
        parses("BAR=$FOO", "BAR", "");
        parses("FOO=test\nBAR=\"quote $FOO\"", "BAR", "quote test");
        parses("BAR='quote $FOO'", "BAR", "quote $FOO");
        parses(r#"FOO="foo\$BAR""#, "FOO", "foo$BAR");
        parses(r#"FOO="foo\${BAR}""#, "FOO", "foo${BAR}");
        parses(
            "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
            "BAR",
            "foo${FOO} test",
        );
        let subs = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
        let expect = |a: &str, b: &str| {
            pairs(&[
                ("OPTION_A", a),
                ("OPTION_B", b),
                ("OPTION_C", b),
                ("OPTION_D", &format!("{b}_{b}")),
                ("OPTION_E", ""),
            ])
        };
        assert_eq!(vars(subs), expect("1", "1"));
        // The process environment wins over the file's own earlier line.
        let os = |k: &str| (k == "OPTION_A").then(|| "5".to_string());
        assert_eq!(vars_with(subs, &os), expect("1", "5"));
        let defaults = subs.replace("OPTION_A=1", "OPTION_A=${OPTION_A:-1}");
        assert_eq!(vars_with(&defaults, &os), expect("5", "5"));
        assert_eq!(vars(&defaults), expect("1", "1"));
        let tag = |k: &str| (k == "IMAGE_TAG").then(|| "v2".to_string());
        parses("IMAGE_TAG=\"${IMAGE_TAG:-latest}\"", "IMAGE_TAG", "latest");
        assert_eq!(
            vars_with("IMAGE_TAG=\"${IMAGE_TAG:-latest}\"", &tag),
            pairs(&[("IMAGE_TAG", "v2")])
        );
    }

    #[test]
    fn unset_variables_are_reported_where_they_are_used() {
        let mut v = IndexMap::new();
        let unset = parse(
            "A=1\nB=x $NOPE\nC=\"${ALSO}\"\n",
            &mut v,
            &none,
            &Budget::default(),
        )
        .unwrap();
        assert_eq!(
            unset,
            [
                Unset {
                    name: "NOPE".into(),
                    at: (2, 5)
                },
                Unset {
                    name: "ALSO".into(),
                    at: (3, 3)
                },
            ]
        );
    }

    #[test]
    fn real_world_lines_that_dotenvy_refused() {
        assert_eq!(
            vars("KEY = value   # comment\nURL=http://x/#frag\nPASS='a b#c'  # c\n"),
            pairs(&[
                ("KEY", "value"),
                ("URL", "http://x/#frag"),
                ("PASS", "a b#c")
            ])
        );
    }

    #[test]
    fn unterminated_quotes_are_located_at_the_opening_quote() {
        for text in [
            r#"KEY=""#,
            r#"KEY="value"#,
            r#"KEY="value\""#,
            r#"KEY="value'"#,
            "KEY='",
            "KEY='value",
            r"KEY='value\'",
            r#"KEY='value""#,
        ] {
            let e = error(text);
            assert!(e.reason.contains("never closed"), "{text}: {e:?}");
            assert_eq!(e.at, Some((1, 5)), "{text}");
        }
        assert_eq!(error("A=1\nB = \"open\nmore\n").at, Some((2, 5)));
    }

    #[test]
    fn a_name_with_a_space_is_located_at_its_line() {
        // compose-go's fixtures/invalid1.env
        let e =
            error("# some comments\nfoo=\"\n  a\n  multine\n  value\n\"\nINVALID LINE\nzot=qix");
        assert_eq!(e.at, Some((7, 8)));
        assert_eq!(e.reason, "a variable name cannot contain a space");
        assert_eq!(error("A=1\n  B C=1\n").at, Some((2, 4)));
    }

    #[test]
    fn a_bad_character_in_a_name_is_located_at_it() {
        let e = error("A=1\n  bad/name=1\n");
        assert_eq!(e.at, Some((2, 6)));
        assert_eq!(e.reason, "unexpected character '/' in a variable name");
        assert_eq!(error("%!(EXTRA string)=foo").at, Some((1, 1)));
    }

    #[test]
    fn lines_that_double_the_one_before_stop_at_the_line_that_spends_the_budget() {
        let mut text = String::from("A0=xxxxxxxx\n");
        for i in 1..40 {
            text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
        }
        let budget = Budget::new(1000, 1 << 20);
        let e = parse(&text, &mut IndexMap::new(), &none, &budget).unwrap_err();
        // A16 would hold 512 KiB: the values before it hold about as much.
        assert_eq!(e.at, Some((17, 11)), "the second reference");
        assert_eq!(
            e.reason,
            "the stack expands past berth's budget of 1 MiB: a value here would take in more than the 511 KiB left with its variables"
        );
        assert!(budget.is_spent());
    }

    #[test]
    fn a_raw_env_file_is_charged_by_its_variables() {
        let budget = Budget::new(5, 1 << 20);
        let e = parse_raw("A=1\nB=2\n  C=3\n", &mut IndexMap::new(), &none, &budget).unwrap_err();
        assert_eq!(e.at, Some((3, 3)));
        assert_eq!(
            e.reason,
            "the stack expands past berth's budget of 5 nodes: `C` is set to a value of 1 byte, after 4 nodes of the budget were used"
        );
    }

    #[test]
    fn interpolation_errors_are_located() {
        let e = error("A=1\nB=x ${A:?needs A}\nC=${C:?set C}\n");
        assert_eq!(e.at, Some((3, 3)));
        assert_eq!(e.reason, "required variable C is missing a value: set C");
        assert_eq!(error("A=${arr[@]}").at, Some((1, 3)));
    }

    #[test]
    fn errors_do_not_quote_the_file() {
        let e = error("SECRET=\"hunter2\nrest");
        assert!(!e.reason.contains("hunter2"), "{}", e.reason);
        assert!(!e.help().contains("hunter2"));
        assert_eq!(e.located("x.env"), "x.env:1:8");
    }

    #[test]
    fn raw_files_take_values_verbatim_as_compose_does() {
        let outer = |k: &str| (k == "K").then(|| "fromk".to_string());
        let mut v = IndexMap::new();
        parse_raw(
            "A=\"quoted $X\" # c\r\n# comment\n\n  C=x\nD= x \nK\nNOT_SET\nE=a=b\n",
            &mut v,
            &outer,
            &Budget::default(),
        )
        .unwrap();
        let got: Vec<(String, String)> = v.into_iter().collect();
        assert_eq!(
            got,
            pairs(&[
                ("A", "\"quoted $X\" # c"),
                ("C", "x"),
                ("D", " x "),
                ("K", "fromk"),
                ("E", "a=b"),
            ])
        );
        let err =
            |t: &str| parse_raw(t, &mut IndexMap::new(), &outer, &Budget::default()).unwrap_err();
        assert_eq!(err("A=1\nC =x\n").at, Some((2, 2)));
        assert_eq!(
            err("export F=1").reason,
            "a variable name cannot contain a space"
        );
        assert_eq!(err("A=1\n  =v").at, Some((2, 3)));
    }

    #[test]
    fn a_large_file_parses_in_linear_time() {
        let text: String = (0..20_000).map(|i| format!("KEY{i}=VALUE{i}\n")).collect();
        let start = std::time::Instant::now();
        assert_eq!(vars(&text).len(), 20_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}

/// The parser reads files from cloned repositories: whatever the text, it
/// returns (no panic, no slicing inside a character), and an error's place
/// is inside the text.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Pieces that steer the parser into each of its paths: quotes,
    /// escapes (octal ones too), comments, `export`, `:` and `=`,
    /// interpolation, line ends, multi-byte characters and a BOM.
    fn soup() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "A", "b_2", "=", " = ", ":", " ", "\t", "#", " # c", "'", "\"", "\\", "\\0", "\\01",
            "\\0377", "\\n", "\\'", "\\\"", "$", "${", "}", "${A:-x}", "${B?e}", "${", "export ",
            "\n", "\r\n", "\r", "é", "😀", "\u{feff}", ".", "-", "[", "]", "\\u", "7",
        ]);
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn any_text_parses_or_fails_at_a_place_inside_it(text in soup()) {
            let lines = text.split('\n').count();
            let outer = |n: &str| (n == "A").then(|| "1".to_string());
            for result in [
                parse(&text, &mut IndexMap::new(), &outer, &Budget::default()).map(|_| ()),
                parse_raw(&text, &mut IndexMap::new(), &outer, &Budget::default()),
            ] {
                if let Err(Error { at: Some((line, col)), .. }) = &result {
                    prop_assert!(*line >= 1 && *line <= lines, "{result:?} in {text:?}");
                    prop_assert!(*col >= 1, "{result:?} in {text:?}");
                }
            }
        }
    }
}
