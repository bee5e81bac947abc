//! berth: declarative stacks for Docker.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! stack files -load-> Stack -graph-> order
//!                       |
//! engine -observe-> Observed -+-plan-> Plan (pure, printable) -apply-> engine
//! ```
//!
//! [`load`] reads stack files into a validated [`model::stack::Stack`];
//! [`graph`] orders its services; [`observe`] takes one snapshot of what the
//! engine has; [`plan`] is a pure function from both to a [`plan::Plan`],
//! whose every step is one call that carries its request, its cause and the
//! steps it waits for; [`apply`] walks the plan, sending each step's request
//! (and polling each wait until the plan's judge says it is over).
//! [`converge`] runs those stages in order for a target (the plain engine or
//! a Docker Swarm), the one pipeline every changing command calls.
//! [`edge`] is the forwarder that holds a start-first service's ports while
//! its containers are replaced (it runs in a container of its own, as the
//! hidden `berth edge` command). [`identity`] names what berth creates and
//! recognises it again,
//! [`spec`] is the pure mapping from the model to what the engine is sent,
//! [`engine`] the adapter over bollard that sends it, [`preflight`] checks
//! what can be known before any change, and [`output`] prints;
//! [`runtime_dir`] is the user's private directory for locks and ssh
//! control sockets. [`cli`] is
//! the edge: one session per command, errors returned to `main`, which
//! prints them once and picks the exit code.

// Only `cli` is public: `main` is the library's one user (the tests run the
// binary), so every other module is crate-private and the compiler reports
// what nothing uses.
pub(crate) mod apply;
pub mod cli;
pub(crate) mod converge;
pub(crate) mod diag;
pub(crate) mod edge;
pub(crate) mod engine;
pub(crate) mod graph;
pub(crate) mod host_port;
pub(crate) mod identity;
#[cfg(test)]
mod layers;
pub(crate) mod limits;
pub(crate) mod load;
pub(crate) mod model;
pub(crate) mod observe;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod preflight;
pub(crate) mod releases;
pub(crate) mod runtime_dir;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod spec;
#[cfg(test)]
mod testutil;
pub(crate) mod watch;
