//! A container that joins another's network namespace
//! (`network_mode: service:x`) or mounts its volumes (`volumes_from: x`)
//! holds that container itself, not its name: when x's container is
//! replaced, the dependent still has the old one's namespace (gone with
//! it) or volumes, and must be replaced too. That is true whether x is
//! replaced in this plan, or was before it (an `up x` alone, or compose):
//! the engine records the network namespace's container by id, and the
//! creation times tell for `volumes_from`, which it records by name.

use super::super::{Replace, Shared};
use super::Up;
use crate::identity;
use crate::model::stack::{EdgeKind, Service};
use crate::observe::ContainerState;

impl Up<'_> {
    /// Why `c`, a container of `svc`, must be replaced because a container
    /// it takes from is or was replaced.
    pub(super) fn shares_replaced(&self, svc: &Service, c: &ContainerState) -> Option<Replace> {
        for e in &svc.edges {
            let what = match e.kind {
                EdgeKind::NetworkMode => Shared::NetworkNamespace,
                EdgeKind::VolumesFrom => Shared::Volumes,
                _ => continue,
            };
            let Some(from) = self.stack.services.get(&e.to) else {
                continue;
            };
            // `service:x` and `volumes_from: x` name x's first container.
            let container = identity::container_name(self.stack, from, 1);
            let shares = |earlier| Replace::Shares {
                what,
                container: container.clone(),
                earlier,
            };
            if self.created.contains(&container) {
                return Some(shares(false));
            }
            let Some(now) = self
                .project_containers()
                .find(|o| o.name == container && o.id != c.id)
            else {
                continue;
            };
            let earlier = match what {
                Shared::NetworkNamespace => c
                    .network_mode
                    .as_deref()
                    .and_then(|m| m.strip_prefix("container:"))
                    .is_some_and(|id| id != now.id && id != now.name),
                Shared::Volumes => newer(&now.created, &c.created),
            };
            if earlier {
                return Some(shares(true));
            }
        }
        None
    }
}

/// Whether RFC 3339 UTC time `a` is after `b`, as the engine writes them
/// (`2026-11-30T07:33:04.551440533Z`, trailing zeros of the fraction
/// dropped); false when either is unknown.
fn newer(a: &str, b: &str) -> bool {
    match (instant(a), instant(b)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

/// The seconds part (compared as text: fixed width) and the nanoseconds.
fn instant(t: &str) -> Option<(&str, u32)> {
    let t = t.strip_suffix('Z')?;
    let (secs, fraction) = t.split_once('.').unwrap_or((t, ""));
    if secs.len() != 19 || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{fraction:0<9}").parse().ok()?;
    Some((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::newer;

    #[test]
    fn creation_times_compare_with_fractions_of_any_length() {
        assert!(newer(
            "2026-11-30T07:33:04.55Z",
            "2026-11-30T07:33:04.549440533Z"
        ));
        assert!(!newer(
            "2026-11-30T07:33:04.5Z",
            "2026-11-30T07:33:04.500000001Z"
        ));
        assert!(newer("2026-11-30T07:33:05Z", "2026-11-30T07:33:04.9Z"));
        assert!(!newer("", "2026-11-30T07:33:04.9Z"));
        assert!(!newer("2026-11-30T07:33:05+01:00", "2026-11-30T07:33:04Z"));
    }
}
