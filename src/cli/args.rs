//! Flags more than one command shares, in one place, so that command files
//! import this and not each other.

use crate::converge::{Kind, UpRequest};
use crate::plan::{ImageOptions, UpOptions};

/// The flags `up`, `plan` (and, through `up`, `watch`) share: what to
/// converge, how, and on which target.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFlags {
    /// Only these services and what they depend on (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Remove containers of services no longer in the stack file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Recreate containers even if their configuration is unchanged
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate existing containers, even if their configuration changed
    #[arg(long)]
    pub no_recreate: bool,
    /// Build images before starting containers (default: only missing ones)
    #[arg(long)]
    pub build: bool,
    /// Deploy to the Docker Swarm that the engine at DOCKER_HOST manages:
    /// services instead of containers
    #[arg(long)]
    pub swarm: bool,
}

impl PlanFlags {
    /// The target these flags choose.
    pub(super) fn target(&self) -> Kind {
        Kind::of(self.swarm)
    }

    /// What the pipeline is asked: make the images, converge these
    /// services, record a release if anything changed, and `wait`.
    pub(super) fn request(&self, wait: bool) -> UpRequest {
        UpRequest {
            up: UpOptions {
                force_recreate: self.force_recreate,
                no_recreate: self.no_recreate,
                remove_orphans: self.remove_orphans,
                services: self.services.clone(),
                stale_tasks: Default::default(),
            },
            images: Some(ImageOptions {
                force_build: self.build,
            }),
            wait,
            record: true,
        }
    }
}
