//! Command lines (`command`, `entrypoint`, a watch rule's `exec.command`)
//! split into words as compose splits them, with the warning for a line cut
//! short at a shell operator. Nothing here runs a shell or expands a
//! variable.

use crate::diag::Diagnostic;
use crate::load::resolve::context::Context;
use crate::model::Spanned;
use crate::model::raw;

/// Splits a command line into words exactly as compose does, with Go's
/// go-shellwords (no variable or backtick expansion), which is not POSIX: a
/// backslash escapes any character even inside double quotes (`"\n"` is `n`),
/// `#` starts no comment, and the line ends at the first unquoted `;`, `&`,
/// `|`, `<` or `>` (with a `2>` the `2` goes too). A bare `(` is an error unless
/// it follows `$`. `None` for an unbalanced quote, escape or parenthesis.
#[cfg(test)]
pub fn shell_split(line: &str) -> Option<Vec<String>> {
    split_words(line).map(|(words, _)| words)
}

/// [`shell_split`], also giving the byte offset where the line was cut short.
fn split_words(line: &str) -> Option<(Vec<String>, Option<usize>)> {
    #[derive(PartialEq)]
    enum Got {
        Nothing,
        Word,
        Quoted,
    }
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut double, mut single, mut backtick, mut dollar) =
        (false, false, false, false, false);
    let mut got = Got::Nothing;
    let mut cut = None;
    let mut word_start = 0;
    for (at, r) in line.char_indices() {
        if got == Got::Nothing && buf.is_empty() {
            word_start = at;
        }
        if escaped {
            buf.push(r);
            escaped = false;
            got = Got::Word;
            continue;
        }
        if r == '\\' {
            if single {
                buf.push(r);
            } else {
                escaped = true;
            }
            continue;
        }
        if matches!(r, ' ' | '\t' | '\r' | '\n') {
            if single || double || backtick || dollar {
                buf.push(r);
            } else if got != Got::Nothing {
                args.push(std::mem::take(&mut buf));
                got = Got::Nothing;
            }
            continue;
        }
        match r {
            '`' if !single && !double && !dollar => backtick = !backtick,
            ')' if !single && !double && !backtick => dollar = !dollar,
            '(' if !single && !double && !backtick => {
                if dollar || !buf.ends_with('$') {
                    return None;
                }
                dollar = true;
                buf.push(r);
                continue;
            }
            '"' if !single && !dollar => {
                if double {
                    got = Got::Quoted;
                }
                double = !double;
                continue;
            }
            '\'' if !double && !dollar => {
                if single {
                    got = Got::Quoted;
                }
                single = !single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double || backtick || dollar) => {
                // `2>`: the word before is a file descriptor and goes too.
                if r == '>' && buf.starts_with(|c: char| c.is_ascii_digit()) {
                    got = Got::Nothing;
                    cut = Some(word_start);
                } else {
                    cut = Some(at);
                }
                break;
            }
            _ => {}
        }
        got = Got::Word;
        buf.push(r);
    }
    if got != Got::Nothing {
        args.push(buf);
    }
    if escaped || single || double || backtick || dollar {
        return None;
    }
    Some((args, cut))
}

pub(super) fn split_command(
    cx: &mut Context,
    c: &Option<Spanned<raw::Command>>,
    key: &str,
) -> Option<Vec<String>> {
    let c = c.as_ref()?;
    let span = c.span;
    match &c.value {
        raw::Command::Exec(v) => Some(v.iter().map(|t| t.0.clone()).collect()),
        raw::Command::Shell(s) => match split_words(s) {
            Some((words, cut)) => {
                // Valid, and what compose runs too, but rarely what was meant.
                if let Some(at) = cut {
                    // The operator, not what follows it: the line is
                    // interpolated, and may go on with a password.
                    let op: String = s[at..]
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || ";&|<>".contains(*c))
                        .take(4)
                        .collect();
                    cx.diagnostics.push(
                        Diagnostic::warning(format!(
                            "`{key}` stops at `{op}`; compose and berth ignore the rest of the line"
                        ))
                        .label(span, "split into words, not run by a shell")
                        .help(format!(
                            "to run a shell line, write `{key}: [\"sh\", \"-c\", \"...\"]`"
                        )),
                    );
                }
                Some(words)
            }
            None => {
                cx.error(
                    span,
                    format!("`{key}` cannot be split into words"),
                    "unbalanced quote, escape or parenthesis",
                    "close the quote (a `(` needs quotes or a `$` before it), or write the command as a list",
                );
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_split(line).unwrap_or_else(|| panic!("{line:?} should split"))
    }

    #[test]
    fn commands_split_like_go_shellwords() {
        assert_eq!(words("echo 'a b'  c"), ["echo", "a b", "c"]);
        assert_eq!(words(r#"echo 'a'"b"c"#), ["echo", "abc"]);
        // A backslash escapes anything outside single quotes, even in "".
        assert_eq!(
            words(r#"echo "\n\"" a\ b 'c\d'"#),
            ["echo", "n\"", "a b", r"c\d"]
        );
        assert_eq!(words("echo '' \"\""), ["echo", "", ""]);
        assert_eq!(words("echo #no-comment"), ["echo", "#no-comment"]);
        assert_eq!(words("echo a;b c"), ["echo", "a"]);
        assert_eq!(words("echo a|b"), ["echo", "a"]);
        assert_eq!(words("echo 'a;b'"), ["echo", "a;b"]);
        assert_eq!(words("echo x 2>/dev/null"), ["echo", "x"]);
        assert_eq!(words("echo x>out"), ["echo", "x"]);
        assert_eq!(
            words("echo $(date +%s) `id`"),
            ["echo", "$(date +%s)", "`id`"]
        );
        assert_eq!(words(" \t\n"), Vec::<String>::new());
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn where_a_command_is_cut_short_is_known() {
        assert_eq!(split_words("echo a").unwrap().1, None);
        assert_eq!(split_words("echo a;b").unwrap().1, Some(6));
        assert_eq!(split_words("echo 2>x").unwrap().1, Some(5));
        assert_eq!(split_words("echo 'a;b'").unwrap().1, None);
    }

    #[test]
    fn unbalanced_commands_do_not_split() {
        for bad in [
            "echo 'a", "echo \"a", "echo a\\", "echo (a)", "echo `a", "echo $(a",
        ] {
            assert_eq!(shell_split(bad), None, "{bad}");
        }
    }
}
