//! The stack of a release, made ready to run again: each service pinned to
//! the image it ran then.
//!
//! A release's record names each service's image reference and the local
//! id it named then. The reference may name another image by now (a
//! rebuild, a pull), so a service whose reference no longer names that id
//! runs the tag that kept it (`berth-releases/<project>/<service>:<N>`),
//! with its `build:` dropped so that nothing is built instead. A service
//! whose reference still names the id keeps it, so that going back to what
//! already runs changes nothing.
//!
//! On the plain engine, which builds and pulls, a pinned service gets
//! `pull_policy: missing`, so that nothing is rebuilt or pulled instead of
//! the kept image. A Swarm target builds and pulls nothing (its nodes pull
//! for themselves) and warns about every `pull_policy` as a key it ignores:
//! there the stack's own is left as it was, or a rollback would warn about
//! a key its user never wrote.
//!
//! Where it stops: pure. Which ids the references name now and which kept
//! tags exist are the caller's to ask the engine.

use std::collections::{BTreeMap, BTreeSet};

use super::record::Release;
use crate::model::stack::{PullPolicy, Stack};

/// How one service of the release gets its image back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinned {
    /// Its own reference still names the release's image.
    Unchanged,
    /// It runs the tag that kept the release's image.
    Kept { tag: String },
}

/// Pins every service of `stack` (release `release`'s) to the image it ran:
/// `now` is the id each reference names now (None: not on the engine),
/// `kept` the release's keeping tags that still exist; `makes_images`:
/// whether the target builds and pulls (the plain engine; not a swarm).
/// Errors name every service whose image is gone.
pub fn pin_images(
    stack: &mut Stack,
    release: &Release,
    now: &BTreeMap<String, Option<String>>,
    kept: &BTreeSet<String>,
    makes_images: bool,
) -> Result<BTreeMap<String, Pinned>, Vec<String>> {
    let mut pinned = BTreeMap::new();
    let mut gone = Vec::new();
    for (name, svc) in stack.services.iter_mut() {
        let Some(image) = release.services.get(name) else {
            continue;
        };
        let Some(id) = image.id.as_deref() else {
            // No local copy then (a Swarm node's image): the reference is
            // all there is.
            continue;
        };
        if now.get(&image.image).and_then(Option::as_deref) == Some(id) {
            pinned.insert(name.clone(), Pinned::Unchanged);
            if makes_images && svc.extras().build.is_some() {
                // Never rebuilt on the way back, even with pull_policy: build.
                svc.extras_mut().pull_policy = Some(PullPolicy::Missing);
            }
            continue;
        }
        match image.tag.as_ref().filter(|t| kept.contains(*t)) {
            Some(tag) => {
                svc.image = Some(tag.clone());
                let extras = svc.extras_mut();
                extras.build = None;
                if makes_images {
                    extras.pull_policy = Some(PullPolicy::Missing);
                }
                pinned.insert(name.clone(), Pinned::Kept { tag: tag.clone() });
            }
            None => gone.push(format!(
                "service {name}: the image it ran in release {} ({}, {}) is no longer kept on this engine",
                release.number,
                image.image,
                short(id)
            )),
        }
    }
    if gone.is_empty() {
        Ok(pinned)
    } else {
        Err(gone)
    }
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::releases::record::{ServiceImage, Target};
    use crate::testutil::stack;

    fn release() -> Release {
        let image = |image: &str, id: &str, tag: &str| ServiceImage {
            image: image.into(),
            id: Some(id.into()),
            tag: Some(tag.into()),
        };
        Release {
            format_version: 1,
            project: "app".into(),
            number: 1,
            time: "2026-12-07T10:00:00Z".into(),
            target: Target::Engine,
            changes: vec![],
            services: [
                (
                    "web".to_string(),
                    image(
                        "app-web",
                        "sha256:aaa111222333444",
                        "berth-releases/app/web:1",
                    ),
                ),
                (
                    "db".to_string(),
                    image("db:1", "sha256:ddd", "berth-releases/app/db:1"),
                ),
            ]
            .into(),
            berth_version: "0.1.0".into(),
            stack: None,
        }
    }

    const STACK: &str = "name: app\nservices:\n  web:\n    build: .\n    pull_policy: build\n  db:\n    image: db:1\n";

    #[test]
    fn a_rebuilt_image_is_replaced_by_its_kept_tag_and_never_built() {
        let mut s = stack(STACK);
        let now = [
            ("app-web".to_string(), Some("sha256:bbb".to_string())),
            ("db:1".to_string(), Some("sha256:ddd".to_string())),
        ]
        .into();
        let kept = ["berth-releases/app/web:1".to_string()].into();
        let pinned = pin_images(&mut s, &release(), &now, &kept, true).unwrap();
        assert_eq!(
            pinned["web"],
            Pinned::Kept {
                tag: "berth-releases/app/web:1".into()
            }
        );
        assert_eq!(pinned["db"], Pinned::Unchanged);
        let web = &s.services["web"];
        assert_eq!(web.image.as_deref(), Some("berth-releases/app/web:1"));
        assert!(web.extras().build.is_none());
        assert_eq!(web.extras().pull_policy, Some(PullPolicy::Missing));
        assert_eq!(s.services["db"].image.as_deref(), Some("db:1"));
    }

    #[test]
    fn an_image_neither_named_nor_kept_any_more_is_an_error_naming_it() {
        let mut s = stack(STACK);
        let now = [("app-web".to_string(), None)].into();
        let err = pin_images(&mut s, &release(), &now, &BTreeSet::new(), true).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("service db") || err[1].contains("service db"));
        assert!(
            err.iter()
                .any(|e| e.contains("app-web, aaa111222333") && e.contains("release 1")),
            "{err:?}"
        );
    }

    #[test]
    fn under_swarm_a_pinned_service_gets_no_pull_policy_the_stack_did_not_have() {
        // Swarm warns about every pull_policy ("ignored"); a rollback must
        // not make one up. `db`'s own stays: that warning is the stack's.
        let mut s = stack(
            "name: app\nservices:\n  web:\n    build: .\n  db:\n    image: db:1\n    pull_policy: always\n",
        );
        let now = [
            ("app-web".to_string(), Some("sha256:bbb".to_string())),
            ("db:1".to_string(), Some("sha256:ddd".to_string())),
        ]
        .into();
        let kept = ["berth-releases/app/web:1".to_string()].into();
        let pinned = pin_images(&mut s, &release(), &now, &kept, false).unwrap();
        assert_eq!(
            pinned["web"],
            Pinned::Kept {
                tag: "berth-releases/app/web:1".into()
            }
        );
        let web = &s.services["web"];
        assert_eq!(web.image.as_deref(), Some("berth-releases/app/web:1"));
        assert!(web.extras().build.is_none());
        assert_eq!(web.extras().pull_policy, None);
        assert_eq!(
            s.services["db"].extras().pull_policy,
            Some(PullPolicy::Always)
        );
    }
}
