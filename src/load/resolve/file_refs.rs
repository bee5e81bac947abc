//! A service's `secrets` and `configs` (and a build's `secrets`):
//! references to top-level ones, checked to be defined, with the default
//! target and the mode read as compose reads it. The objects themselves are
//! resolved with the top level (`top_level`) and read when a target needs
//! them (`load::objects`).

use crate::load::resolve::context::{Context, Names, undefined};
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::*;
use crate::model::units::parse_go_int;

pub(super) fn file_refs(
    cx: &mut Context,
    refs: &Option<Vec<Spanned<raw::ServiceFileRef>>>,
    defined: &Names,
    what: &str,
    section: &str,
) -> Vec<FileRef> {
    let mut out = Vec::new();
    for r in refs.iter().flatten() {
        let (source, span, long) = match &r.value {
            raw::ServiceFileRef::Name(n) => (n.clone(), r.span, None),
            raw::ServiceFileRef::Long(l) => (l.source.value.clone(), l.source.span, Some(l)),
        };
        if !defined.contains(&source.as_str()) {
            undefined(cx, what, &source, span, defined, section);
        }
        let target = long.and_then(|l| l.target.clone());
        // Secrets land in /run/secrets/<name> unless told otherwise; compose
        // prints that default (but none for configs), and prints a relative
        // target as written: the engine puts it under /run/secrets.
        let target = match (what, target) {
            ("secret", None) => Some(format!("/run/secrets/{source}")),
            (_, t) => t,
        };
        let mode = long.and_then(|l| l.mode.as_ref()).and_then(|m| {
            let mode = file_mode(&m.value.0);
            if mode.is_none() {
                cx.error(
                    m.span,
                    format!("invalid file mode `{}`", m.value.0),
                    "not a file mode",
                    "write the mode in octal with a leading zero, e.g. `0440`",
                );
            }
            mode
        });
        out.push(FileRef {
            source,
            target,
            uid: long.and_then(|l| l.uid.as_ref().map(|u| u.0.clone())),
            gid: long.and_then(|l| l.gid.as_ref().map(|u| u.0.clone())),
            mode,
            digest: None,
        });
    }
    out
}

/// A secret's or config's mode. compose reads a YAML number as Go does (`0440`
/// is octal, `440` decimal) and a quoted one as octal; the spelling is all that
/// is kept here, so a quoted number follows the first rule too.
fn file_mode(m: &str) -> Option<FileMode> {
    parse_go_int(m)
        .and_then(|n| u32::try_from(n).ok())
        .map(FileMode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_read_a_leading_zero_as_octal() {
        assert_eq!(file_mode("0440"), Some(FileMode(0o440)));
        assert_eq!(file_mode("0o440"), Some(FileMode(0o440)));
        assert_eq!(file_mode("440"), Some(FileMode(440)));
        assert_eq!(file_mode("-1"), None);
        assert_eq!(file_mode("rw"), None);
    }
}
