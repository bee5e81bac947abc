//! Explicit YAML core tags (`!!int`, `!!map` ...) checked against what they
//! are put on.
//!
//! The tree ([`crate::load::yaml`]) keeps only compose's own tags (`!reset`,
//! `!override`) and types each value by the key it is under, so a tag that
//! contradicts its value (`image: !!int nginx`, `command: !!map [a]`) would
//! pass unseen; compose's YAML decoder refuses the first. This pass walks the
//! parser's events once more, only for files that hold a `!!` or a verbatim
//! core tag at all, and reports every such contradiction at its value.

use serde_saphyr::granit_parser::{self, Event, Parser};

use crate::diag::Diagnostic;
use crate::load::yaml::{Plain, resolve_plain};
use crate::source::{FileId, Span};

/// The contradicting core tags of a file that has parsed.
pub fn check(file: FileId, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !text.contains("!!") && !text.contains("tag:yaml.org,2002:") {
        return out;
    }
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    for item in Parser::new_from_str_with_options(text, options) {
        // The tree builder has reported parse errors already.
        let Ok((event, span)) = item else {
            break;
        };
        let range = span
            .byte_range()
            .unwrap_or_else(|| span.start.index()..span.end.index());
        let at = Span::new(file, range.start.min(text.len())..range.end.min(text.len()));
        let (tag, what, fits): (_, &str, fn(&str, &str) -> bool) = match &event {
            Event::Scalar(value, _, _, Some(tag)) => {
                let Some(core) = tag.core_suffix() else {
                    continue;
                };
                if scalar_fits(core, value) {
                    continue;
                }
                (core.to_string(), "this value", |_, _| false)
            }
            Event::SequenceStart(_, _, Some(tag)) => (
                tag.core_suffix().map(str::to_string).unwrap_or_default(),
                "a list",
                |t, _| t == "seq",
            ),
            Event::MappingStart(_, _, Some(tag)) => (
                tag.core_suffix().map(str::to_string).unwrap_or_default(),
                "a mapping",
                |t, _| t == "map",
            ),
            _ => continue,
        };
        // Local tags (`!reset`, `!custom`) are not core tags.
        if tag.is_empty() || fits(&tag, "") {
            continue;
        }
        out.push(
            Diagnostic::error(format!("the YAML tag `!!{tag}` does not fit {what}"))
                .label(at, format!("tagged `!!{tag}` here"))
                .help("remove the tag: berth reads each value as the key it is under expects, and a tag that says otherwise is a mistake"),
        );
    }
    out
}

/// Whether a scalar can be what its core tag says, as a YAML 1.2 core
/// schema decoder (compose's) would read it.
fn scalar_fits(tag: &str, value: &str) -> bool {
    match tag {
        "str" | "timestamp" => true,
        "null" => matches!(value, "" | "~" | "null" | "Null" | "NULL"),
        "bool" => matches!(resolve_plain(value), Plain::Bool(_)),
        "int" => {
            matches!(resolve_plain(value), Plain::Int(_))
                || crate::model::units::parse_go_int(value).is_some()
        }
        "float" => matches!(resolve_plain(value), Plain::Int(_) | Plain::Float(_)),
        // `!!seq`, `!!map`, `!!binary`, and anything else: not a plain value
        // berth can use.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        check(FileId(0), text)
            .iter()
            .map(|d| {
                let span = d.primary_span().unwrap();
                format!("{} @ {}", d.message, &text[span.range()])
            })
            .collect()
    }

    #[test]
    fn tags_that_contradict_their_value_are_errors_at_it() {
        assert_eq!(
            found("image: !!int nginx\ncommand: !!map [a]\nenv: !!seq {a: 1}\nx: !!map b\n"),
            [
                "the YAML tag `!!int` does not fit this value @ nginx",
                // A collection is pointed at where it opens.
                "the YAML tag `!!map` does not fit a list @ [",
                "the YAML tag `!!seq` does not fit a mapping @ {",
                "the YAML tag `!!map` does not fit this value @ b",
            ]
        );
    }

    #[test]
    fn tags_that_fit_and_local_tags_pass() {
        let text = "a: !!int 80\nb: !!str 80\nc: !!float 1.5\nd: !!bool true\ne: !!null ~\n\
                    f: !!seq [1]\ng: !!map {a: 1}\nh: !reset []\ni: !<tag:yaml.org,2002:int> 7\n";
        assert_eq!(found(text), Vec::<String>::new());
        assert_eq!(
            found("i: !<tag:yaml.org,2002:int> x\n"),
            ["the YAML tag `!!int` does not fit this value @ x"]
        );
    }
}
