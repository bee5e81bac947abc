//! berth's integration tests: one binary that drives the `berth` executable.

mod budget;
mod config_compat;
mod config_flags;
mod diagnostics;
mod engine;
mod errors;
mod graph;
mod loading;
mod stacks;
mod support;
mod swarm_config;
mod version;
mod warnings;
