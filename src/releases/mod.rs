//! Releases: what `up` applied, recorded on the engine, and the images
//! that let a later `rollback` go back to it.
//!
//! Every `up` that changes something records a release ([`Release`]): its
//! number, the time, the plan's causes in one line each, the image each
//! service runs (reference and local id) and the resolved stack. The record
//! is kept on the engine, not on the machine that ran berth, so that
//! `berth releases` anywhere pointed at the same engine lists it:
//!
//! - each release is a tiny image, `berth-releases/<project>:<N>`
//!   ([`names`]), loaded from a tarball berth writes ([`archive`]): one layer
//!   holding `/release.json` (the whole record), and labels with what a
//!   listing needs (the record without its stack, when that is small);
//! - each service's image of a release is tagged
//!   `berth-releases/<project>/<service>:<N>`, so that neither `docker image
//!   prune` nor a rebuild under the same tag takes it away. Only the last
//!   [`IMAGES_KEPT`] releases keep their tags, and only the last
//!   [`RECORDS_KEPT`] records are kept ([`keep`]).
//!
//! Listing the project's releases is one image list call (filtered by
//! reference); reading one release with its stack is one export of its
//! image ([`store`]). The records outlive `down`: a history of what ran is
//! worth most after the stack is gone.
//!
//! Where it stops: it keeps and reads records. What changed and which
//! image a service runs are the pipeline's to say (`converge`), the plan
//! back to a release is `rollback`'s, and how records are shown is
//! `output`'s. Named volumes are never part of a release.

pub mod archive;
pub mod keep;
pub mod names;
pub mod record;
pub mod restore;
pub mod store;

pub use keep::{IMAGES_KEPT, RECORDS_KEPT};
pub use record::{Release, ServiceImage, Target};
pub use store::{Draft, Listed, Listing, LoadError};

/// Labels on a release's record image. The project and number say whose
/// release it is; the rest is what `berth releases` shows without reading
/// the record's file.
pub mod labels {
    pub const PROJECT: &str = "io.berth.release.project";
    pub const NUMBER: &str = "io.berth.release.number";
    /// UTC, RFC 3339.
    pub const TIME: &str = "io.berth.release.time";
    /// `engine` or `swarm`.
    pub const TARGET: &str = "io.berth.release.target";
    /// The changes in one line.
    pub const SUMMARY: &str = "io.berth.release.summary";
    /// The record without its stack, as compact JSON; left out when it is
    /// larger than [`super::store::LABEL_LIMIT`], and then read from the file.
    pub const RECORD: &str = "io.berth.release.record";
}
