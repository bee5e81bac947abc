//! Which image a service's tasks start from, by its local id.
//!
//! A service spec names its image by reference (`app:1`), as the stack file
//! does. `docker stack deploy` resolves a tag to its digest in a registry,
//! so that an image pushed again under the same tag changes the spec; berth
//! has only the images of the engine it talks to. Without more, an image
//! rebuilt under the same tag (`berth build`, then `up --swarm`) would leave
//! the spec as it was, and the tasks running the old image.
//!
//! [`pin_image`] puts the id the manager has for the reference on the
//! container spec, as the label `io.berth.image-id`: a rebuilt image
//! changes the task template (and the spec's hash), Swarm rolls the tasks as
//! `update_config` says, and the new containers start from the tag, which
//! now names the new image. [`image_id_change`] says so in a plan's words.
//! Pure functions: the ids come from `observe_swarm`.

use std::collections::BTreeMap;

use bollard::models::{ServiceSpec, TaskSpecContainerSpec};

use crate::identity::IMAGE_ID;

/// `spec` with the label `io.berth.image-id` set to the local id of its
/// image (`local`: the id of each reference on this engine, None where it
/// has none).
///
/// An image that is not here (in a registry only) keeps the id the deployed
/// service (`deployed`) was given for the same reference, so that removing
/// the local copy is no change; a service that never had one gets no label,
/// and its spec is what the stack file alone makes it.
pub fn pin_image(
    mut spec: ServiceSpec,
    local: &BTreeMap<String, Option<String>>,
    deployed: Option<&ServiceSpec>,
) -> ServiceSpec {
    let Some(c) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    else {
        return spec;
    };
    let image = c.image.clone().unwrap_or_default();
    let kept = || {
        let d = container(deployed?)?;
        let same = d.image.as_deref().map(without_digest) == Some(without_digest(&image));
        same.then(|| d.labels.as_ref()?.get(IMAGE_ID).cloned())?
    };
    match local.get(&image).cloned().flatten().or_else(kept) {
        Some(id) => {
            c.labels
                .get_or_insert_with(Default::default)
                .insert(IMAGE_ID.to_string(), id);
        }
        None => {
            if let Some(l) = c.labels.as_mut() {
                l.remove(IMAGE_ID);
            }
        }
    }
    spec
}

/// What changed in the image id between a deployed spec and a new one with
/// the same image reference, in a plan's words: `image app:1 rebuilt
/// (3f2a1b4c5d6e -> 9a8b7c6d5e4f)`, with short ids as `docker images` shows
/// them. None when the ids agree, or the reference itself changed (which
/// has words of its own).
pub fn image_id_change(old: &ServiceSpec, new: &ServiceSpec) -> Option<String> {
    let (o, n) = (container(old), container(new));
    let image = |c: Option<&TaskSpecContainerSpec>| {
        c.and_then(|c| c.image.as_deref())
            .map(without_digest)
            .unwrap_or_default()
            .to_string()
    };
    let id = |c: Option<&TaskSpecContainerSpec>| {
        c.and_then(|c| c.labels.as_ref()?.get(IMAGE_ID))
            .map(|i| short(i))
    };
    let reference = image(n);
    if image(o) != reference {
        return None;
    }
    match (id(o), id(n)) {
        (Some(a), Some(b)) if a != b => Some(format!("image {reference} rebuilt ({a} -> {b})")),
        (None, Some(b)) => Some(format!("image {reference} id recorded ({b})")),
        (Some(a), None) => Some(format!("image {reference} id no longer recorded (was {a})")),
        _ => None,
    }
}

fn container(spec: &ServiceSpec) -> Option<&TaskSpecContainerSpec> {
    spec.task_template.as_ref()?.container_spec.as_ref()
}

/// `app:1@sha256:...` as `app:1`: a digest the engine pinned is no other
/// image.
fn without_digest(image: &str) -> &str {
    image.split('@').next().unwrap_or(image)
}

/// An image id as `docker images` shows it: 12 hex digits, no `sha256:`.
fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use bollard::models::TaskSpec;

    use super::*;
    use crate::spec::{service_changes, service_hash};

    const OLD: &str = "sha256:3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
    const NEW: &str = "sha256:9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";

    fn spec(image: &str) -> ServiceSpec {
        ServiceSpec {
            name: Some("p_x".into()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(image.into()),
                    labels: Some([("com.docker.stack.namespace".into(), "p".into())].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ids(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(r, i)| (r.to_string(), i.map(str::to_string)))
            .collect()
    }

    fn label(spec: &ServiceSpec) -> Option<&str> {
        container(spec)?
            .labels
            .as_ref()?
            .get(IMAGE_ID)
            .map(String::as_str)
    }

    #[test]
    fn the_local_id_of_the_image_is_a_label_of_the_container_spec() {
        let pinned = pin_image(spec("app:1"), &ids(&[("app:1", Some(OLD))]), None);
        assert_eq!(label(&pinned), Some(OLD));
        // The stack's own container labels stay.
        assert_eq!(
            container(&pinned).unwrap().labels.as_ref().unwrap()["com.docker.stack.namespace"],
            "p"
        );
        // The same id, the same hash: a redeploy plans nothing.
        let again = pin_image(spec("app:1"), &ids(&[("app:1", Some(OLD))]), Some(&pinned));
        assert_eq!(service_hash(&again), service_hash(&pinned));
        // A rebuilt image is a new hash, hence an update that rolls the tasks.
        let rebuilt = pin_image(spec("app:1"), &ids(&[("app:1", Some(NEW))]), Some(&pinned));
        assert_eq!(label(&rebuilt), Some(NEW));
        assert_ne!(service_hash(&rebuilt), service_hash(&pinned));
    }

    #[test]
    fn an_image_that_is_not_here_gets_no_label_unless_the_service_had_one_for_it() {
        let none = ids(&[("app:1", None)]);
        let bare = pin_image(spec("app:1"), &none, None);
        assert_eq!(label(&bare), None);
        assert_eq!(service_hash(&bare), service_hash(&spec("app:1")));
        // Deployed from a local image that is gone now: kept, no change.
        let deployed = pin_image(spec("app:1"), &ids(&[("app:1", Some(OLD))]), None);
        let kept = pin_image(spec("app:1"), &none, Some(&deployed));
        assert_eq!(service_hash(&kept), service_hash(&deployed));
        // ...but not for another reference: that id was another image's.
        let other = pin_image(spec("app:2"), &ids(&[]), Some(&deployed));
        assert_eq!(label(&other), None);
        // A digest the engine pinned on the deployed image is the same one.
        let mut pinned = deployed.clone();
        let c = pinned.task_template.as_mut().unwrap();
        c.container_spec.as_mut().unwrap().image = Some("app:1@sha256:abc".into());
        assert_eq!(
            label(&pin_image(spec("app:1"), &none, Some(&pinned))),
            Some(OLD)
        );
    }

    #[test]
    fn a_rebuilt_image_is_said_with_both_short_ids() {
        let old = pin_image(spec("app:1"), &ids(&[("app:1", Some(OLD))]), None);
        let new = pin_image(spec("app:1"), &ids(&[("app:1", Some(NEW))]), None);
        let bare = spec("app:1");
        assert_eq!(
            image_id_change(&old, &new).as_deref(),
            Some("image app:1 rebuilt (3f2a1b4c5d6e -> 9a8b7c6d5e4f)")
        );
        assert_eq!(
            service_changes(&old, &new),
            ["image app:1 rebuilt (3f2a1b4c5d6e -> 9a8b7c6d5e4f)"]
        );
        assert_eq!(image_id_change(&old, &old), None);
        assert!(service_changes(&old, &old).is_empty());
        // A service deployed without the label (by an older berth, or from
        // an image that was not here) gets it once.
        assert_eq!(
            service_changes(&bare, &new),
            ["image app:1 id recorded (9a8b7c6d5e4f)"]
        );
        assert_eq!(
            service_changes(&new, &bare),
            ["image app:1 id no longer recorded (was 9a8b7c6d5e4f)"]
        );
        // A new reference says only that: the id is the new image's.
        let tag2 = pin_image(spec("app:2"), &ids(&[("app:2", Some(NEW))]), None);
        assert_eq!(service_changes(&old, &tag2), ["image app:1 -> app:2"]);
    }
}
