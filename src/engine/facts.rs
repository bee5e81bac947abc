//! What the engine can do, as far as a plan needs to know: its API version
//! (which stack keys it can be sent), whether it keeps a blkio weight, and
//! whether it is podman (no in-place update, defaults of its own).
//! Read once per snapshot from `/version`, and from `/info` only when the
//! stack sets a blkio weight (the only fact taken from it); the reading of
//! their answers is pure and tested here.

use bollard::models::{SystemInfo, SystemInfoCgroupVersionEnum, SystemVersion};

use super::{Engine, Result};
use crate::spec::newer::ApiVersion;

/// The engine's capabilities; unknown (None) in a snapshot made without
/// asking (tests, commands that do not create containers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineFacts {
    pub api: Option<ApiVersion>,
    /// The host the engine runs on when it is not this machine (see
    /// [`Engine::remote_host`]): bind sources are paths there, and berth
    /// cannot look at or create them.
    pub remote: Option<String>,
    /// Whether a container's blkio weight is kept (not discarded).
    pub blkio_weight: Option<bool>,
    /// The engine is podman's Docker-compatible API (its `/version` names a
    /// "Podman Engine" component). podman 4.3's has no `docker update`
    /// (404), and gives a container that asks for no pids limit its own
    /// default (`pids_limit` in containers.conf, 2048 unless changed).
    pub podman: bool,
}

impl EngineFacts {
    /// The API version keys are checked against: the engine's, or the base
    /// when it is not known.
    pub fn api_or_base(&self) -> ApiVersion {
        self.api.unwrap_or(ApiVersion::BASE)
    }
}

/// Whether the engine that answered `info` keeps a blkio weight, by the
/// engine's own rules: on cgroup v2 it says so in `Warnings` ("No io.weight
/// support"); on cgroup v1 engines before 20.10 said "No blkio weight
/// support", and 20.10 and later say nothing because the weight file is gone
/// from cgroup v1 since Linux 5.0 (moby's `daemon/info_unix.go`), so a
/// v1 kernel of 5.0 or later has none.
pub fn blkio_weight(info: &SystemInfo) -> bool {
    let warned = info
        .warnings
        .iter()
        .flatten()
        .any(|w| w.contains("No blkio weight support") || w.contains("No io.weight support"));
    if warned {
        return false;
    }
    let v1 = matches!(info.cgroup_version, Some(SystemInfoCgroupVersionEnum::_1));
    if !v1 {
        return true;
    }
    let kernel_major = info
        .kernel_version
        .as_deref()
        .and_then(|k| k.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    kernel_major.is_some_and(|m| m < 5)
}

/// Whether `/version` came from podman: it names its engine component so.
pub fn is_podman(version: &SystemVersion) -> bool {
    version
        .components
        .iter()
        .flatten()
        .any(|c| c.name == "Podman Engine")
}

impl Engine {
    /// `/version`, and `/info` at the same time when `weights` (the stack
    /// sets a blkio weight): a stack without one has no use for it, and a
    /// no-op `up` makes no call it does not need.
    pub async fn facts(&self, weights: bool) -> Result<EngineFacts> {
        let info = async {
            match weights {
                true => self.docker.info().await.map(Some),
                false => Ok(None),
            }
        };
        let (version, info) = futures_util::join!(self.docker.version(), info);
        let version = version.map_err(|e| self.error(e))?;
        let info = info.map_err(|e| self.error(e))?;
        Ok(EngineFacts {
            api: version.api_version.as_deref().and_then(ApiVersion::parse),
            blkio_weight: info.as_ref().map(blkio_weight),
            podman: is_podman(&version),
            remote: self.remote_host(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::SystemInfoCgroupVersionEnum as Cg;

    fn info(cgroup: Cg, kernel: &str, warnings: &[&str]) -> SystemInfo {
        SystemInfo {
            cgroup_version: Some(cgroup),
            kernel_version: Some(kernel.into()),
            warnings: Some(warnings.iter().map(|w| w.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn blkio_weight_follows_what_the_engine_says_and_its_kernel() {
        // 20.10 on cgroup v1 and a 5.x kernel (as here): no weight file.
        assert!(!blkio_weight(&info(Cg::_1, "5.10.0-28-amd64", &[])));
        // An older kernel with CFQ keeps it.
        assert!(blkio_weight(&info(Cg::_1, "4.19.0-1", &[])));
        // Engines before 20.10 warn on v1.
        assert!(!blkio_weight(&info(
            Cg::_1,
            "4.19.0",
            &["WARNING: No blkio weight support"]
        )));
        // cgroup v2: io.weight unless the engine warns.
        assert!(blkio_weight(&info(Cg::_2, "6.1.0", &[])));
        assert!(!blkio_weight(&info(
            Cg::_2,
            "6.1.0",
            &["WARNING: No io.weight support"]
        )));
    }

    #[test]
    fn api_versions_parse_and_order() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion(1, 41)));
        assert_eq!(ApiVersion::parse(" 1.48 "), Some(ApiVersion(1, 48)));
        assert_eq!(ApiVersion::parse("1"), None);
        assert_eq!(ApiVersion::parse("x.y"), None);
        assert!(ApiVersion(1, 41) < ApiVersion(1, 44));
        assert!(ApiVersion(1, 9) < ApiVersion(1, 41));
        assert_eq!(ApiVersion(1, 45).to_string(), "1.45");
    }
}
