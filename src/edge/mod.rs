//! The edge: a small TCP forwarder that holds a service's published ports
//! while the service's containers are replaced (`deploy.update_config.order:
//! start-first` on a single engine).
//!
//! Two containers cannot publish one host port. So a start-first service
//! with `ports:` gets one more container, `<project>-<service>-edge`, that
//! publishes the service's ports instead of the service's containers and
//! forwards every connection it accepts to the container that is live now.
//! Which container that is, is one line in a file inside the edge container
//! (the state file, [`STATE_PATH`]): the live container's short id (or a
//! name several containers answer to, such as the service's alias:
//! connections then take them in turn). An edge in the host's network
//! namespace asks the engine where that is; one on the service's network
//! asks Docker's embedded DNS ([`resolve`]).
//! berth writes the file through the engine's archive API; the edge reads it
//! again every [`POLL`], sends new connections to the new target at once, and
//! leaves connections in flight on their old upstream until they close (the
//! drain). What it applied, and how many connections each upstream still
//! has, it writes to the status file ([`STATUS_PATH`]), which berth reads
//! back to know that a switch took and when the old container is drained.
//!
//! The edge runs inside its container as `berth edge` (a hidden command),
//! from an image made of berth's own executable and the shared libraries it
//! has mapped ([`image`]): no registry, no base image, nothing the user did
//! not ask for.
//!
//! This module is that program and the files of its image, and nothing of
//! the engine: it imports no other module of the crate. The edge container's
//! create body and the archive that sets the target are
//! `crate::spec::edge`'s, importing the image is `crate::engine::edge`'s, and
//! when to switch is the plan's. By file:
//!
//! - `target.rs`: the state file, read and judged;
//! - `forward.rs`: the listeners, the upstream connections, the drain;
//! - `resolve.rs`: a target's addresses, from DNS or from the engine;
//! - `status.rs`: the status file;
//! - `image.rs`: the edge image's files, from the running executable.

pub mod forward;
pub mod image;
pub mod resolve;
pub mod status;
pub mod target;

use std::time::Duration;

pub use forward::{EngineAt, Forward, Options, run};
pub use status::Status;
pub use target::Target;

/// The state file in the edge container: one line, the live container's
/// short id (or an IP address).
pub const STATE_PATH: &str = "/run/berth-edge/target";
/// The status file the edge writes in its container ([`Status`], JSON).
pub const STATUS_PATH: &str = "/run/berth-edge/status";
/// berth's executable in the edge image.
pub const EXECUTABLE: &str = "/berth";
/// The edge image's repository; its tag names the executable's content.
pub const IMAGE_REPOSITORY: &str = "berth/edge";
/// How often the edge reads the state file: a switch takes at most this long
/// (plus the time to read a 13-byte file) to reach new connections.
pub const POLL: Duration = Duration::from_millis(20);
/// How long the edge lets connections in flight finish after SIGTERM.
pub const GRACE: Duration = Duration::from_secs(10);
