//! Raw model to validated [`Stack`](crate::model::stack::Stack).
//!
//! Short syntax becomes long syntax, sizes and durations are parsed, relative
//! paths become absolute, names get their project prefix, and everything that can
//! be checked without an engine is checked: ports, sizes and their minimums, cpus,
//! cpuset, restart policies, references between services, networks, volumes,
//! secrets and configs. Every problem becomes a [`Diagnostic`](crate::diag::Diagnostic)
//! at the span it was written; resolving goes on after a problem so that all of
//! them are reported. Dependency cycles are the graph's business (`crate::graph`).
//!
//! A service is resolved by [`service`], key by key, in the modules below: its
//! resources, `deploy`, `build`, `extra_hosts`, ports, volumes, `develop`,
//! networks, dependencies, and secrets and configs. What they all use is in
//! modules of its own, which import only `context`: the [`Context`] and the names
//! [`Defined`] at the top level (`context`), scalar values (`values`), list
//! and mapping forms (`lists`) and command lines (`command`).

mod build;
mod command;
mod context;
mod dependencies;
mod deploy;
mod develop;
mod extra_hosts;
mod file_refs;
mod lists;
mod networks;
pub mod ports;
mod resources;
mod service;
mod values;
mod volumes;

pub use context::{Context, Defined, Names};
pub(crate) use lists::empty_names;
pub use service::service;
