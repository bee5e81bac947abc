//! berth's integration tests: one binary that drives the `berth` executable.

mod config_compat;
mod errors;
mod stacks;
mod support;
