//! Printing for people and programs: the canonical JSON that
//! `docker compose config` prints and YAML of the same ([`stack`]), and the
//! progress of a plan being applied ([`progress`]).

mod progress;
mod stack;

pub use progress::{Progress, ProgressMode, event_json};
pub use stack::{canonical_json, to_yaml, write_json, write_yaml};
