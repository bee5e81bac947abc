//! The top level of a stack file: the keys it may have ([`TOP_LEVEL`]), the
//! ones only a stack file has ([`STACK_KEYS`], by which a file shows it is
//! one), and a section read as a mapping ([`section_map`]). The reader, the
//! `include` stage and resolving all read the top level through these, so
//! that none of them imports another for it. What a section holds is
//! resolving's.

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::yaml::{self, Node, Value};

/// Every key a stack file's top level may have, besides the `x-` extensions.
pub(super) const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
];

/// The top-level keys only a stack file has. `name` and `version` are not
/// among them: configuration files of other tools have those too.
pub(super) const STACK_KEYS: &[&str] = &[
    "services", "networks", "volumes", "secrets", "configs", "include",
];

/// A top-level section's mapping; anything else is reported.
pub(super) fn section_map(node: Option<Node>, key: &str, diags: &mut Diagnostics) -> yaml::Map {
    let Some(node) = node else {
        return yaml::Map::new();
    };
    match node.value {
        Value::Map(m) => m,
        // compose's schema refuses `services:` with nothing after it; an
        // empty mapping is written `services: {}`.
        _ => {
            diags.push(
                Diagnostic::error(format!("`{key}` must be a mapping"))
                    .label(node.span, format!("found {}", node.kind()))
                    .help(format!(
                        "write `{key}:` followed by indented names, or `{key}: {{}}` for none"
                    )),
            );
            yaml::Map::new()
        }
    }
}
