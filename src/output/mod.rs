//! Printing for people and programs: located diagnostics
//! ([`print_diagnostics`]), the canonical JSON that
//! `docker compose config` prints and YAML of the same ([`stack`]), and the
//! progress of a plan being applied ([`progress`]), and text as the Go tools
//! print it ([`go_format`]: times, quoting, human durations and sizes).

mod diagnostics;
pub mod go_format;
mod progress;
mod stack;

pub use diagnostics::print_diagnostics;
pub use progress::{Progress, ProgressMode};
pub use stack::{to_yaml, write_json, write_yaml};
