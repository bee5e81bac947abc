//! What a build sends: the request `docker build` would make for a
//! service's `build:` section, apart from the context tar (packed when the
//! step runs) and where its Dockerfile comes from (the plan's business).

use std::collections::HashMap;

use crate::identity;
use crate::model::stack::{Build, Service, Stack};

/// What to build: the request `docker build` would make.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The tag to give the image (`<project>-<service>` or `image:`).
    pub tag: String,
    /// The Dockerfile's path inside the context tar.
    pub dockerfile: String,
    pub args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub pull: bool,
    pub network: Option<String>,
    pub extra_hosts: Vec<String>,
    pub cache_from: Vec<String>,
    /// `build.shm_size` in bytes (the API takes at most i32::MAX).
    pub shm_size: Option<i32>,
}

/// The build request of `svc`, with its Dockerfile at `dockerfile` inside
/// the context tar; `no_cache` and `pull` as `berth build` was asked, on top
/// of what the service says.
pub fn build_request(
    stack: &Stack,
    svc: &Service,
    dockerfile: String,
    no_cache: bool,
    pull: bool,
) -> BuildRequest {
    let none = Build::default();
    let build = svc.extras().build.as_deref().unwrap_or(&none);
    BuildRequest {
        tag: identity::image_ref(stack, svc),
        dockerfile,
        args: build
            .args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        labels: build
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        target: build.target.clone(),
        no_cache: no_cache || build.no_cache,
        pull: pull || build.pull,
        network: build.network.clone(),
        extra_hosts: build.extra_hosts.clone(),
        cache_from: build.cache_from.clone(),
        // Larger sizes are warned about when the stack loads.
        shm_size: build.shm_size.and_then(|b| i32::try_from(b.0).ok()),
    }
}
