//! berth: declarative stacks for Docker.
//!
//! The pipeline, one module per stage: [`load`] stack files into a validated
//! [`model::stack::Stack`], order it with [`graph`], and (in later stages)
//! observe the engine, plan the difference and apply it. [`cli`] is the edge
//! where errors are printed and exit codes chosen.

pub mod apply;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod graph;
pub mod identity;
pub mod limits;
pub mod load;
pub mod model;
pub mod observe;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod schema;
pub mod source;
#[cfg(test)]
mod testutil;
