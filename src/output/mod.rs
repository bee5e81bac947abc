//! Printing for people and programs: located diagnostics
//! ([`print_diagnostics`]), the canonical JSON that `docker compose config`
//! prints and YAML of the same ([`stack`]), the progress of a plan being
//! applied ([`progress`]), `berth ps`'s tables ([`ps`]) and its JSON in
//! compose's shape ([`ps_json`]), the prefixed lines of `berth logs`
//! ([`log_lines`]), `berth ls`' projects ([`ls`]), `berth releases`' table
//! and JSON ([`releases`]), and text as the Go tools print it
//! ([`go_format`]: times, quoting, human durations and sizes).

mod diagnostics;
pub mod go_format;
pub mod log_lines;
pub mod ls;
mod progress;
pub mod ps;
pub mod ps_json;
pub mod releases;
mod stack;

pub use diagnostics::{print_diagnostics, print_warnings};
pub use progress::{Progress, ProgressMode};
pub use stack::{to_yaml, write_json, write_yaml};
