//! The last stage of `up`: recording what it applied as a release
//! (`crate::releases`).
//!
//! It runs once the changes are applied, before `--wait`'s waits: a
//! release records what was changed, and a stack that then fails to become
//! healthy is exactly the one a rollback leaves. It runs only when the plan
//! changed something (a no-op `up` makes no call for it), never for
//! `plan` or `--dry-run`, and only when the command asks (`berth watch`'s
//! rebuilds do not: a development loop is not a deploy).
//!
//! What a release says comes from the pipeline: its changes are the
//! plan's causes, one line each ([`changes`]); the image each service runs
//! is the target's to say from its snapshot and its plan
//! ([`container_images`], [`swarm_images`]). Recording may fail (the engine
//! refuses the image, say): then `up` warns and still succeeds, since the
//! stack is up; it never undoes anything.

use std::collections::BTreeMap;

use indexmap::IndexSet;

use super::{Context, Kind};
use crate::engine::Engine;
use crate::identity;
use crate::model::stack::Stack;
use crate::observe::{Observed, Status};
use crate::plan::{Action, Cause, Plan};
use crate::releases::{self, Draft, ServiceImage};

/// What a plan changed, one line per change in the plan's words, each
/// once: `create network shop_default: not found`, `recreate web: config
/// changed: environment`. A recreate is one line per service and a
/// network's recreate one line, not one per step; what only carries a
/// change out says nothing more (a container's start after its create, a
/// rollout's check, admission, drain and delay), and a rollout's way back,
/// which runs only when `up` then fails, is no change of a release.
pub(crate) fn changes(plan: &Plan) -> Vec<String> {
    let mut out: IndexSet<String> = IndexSet::new();
    for step in plan.steps.iter() {
        if !step.action.mutates() || step.on_failure_of.is_some() {
            continue;
        }
        let line = match (&step.cause, step.action.service()) {
            (
                Cause::Created
                | Cause::Recreated
                | Cause::DependsOn(_)
                | Cause::StartFirst { .. }
                | Cause::Rollout
                | Cause::Admit
                | Cause::Replaced
                | Cause::RolloutDelay
                | Cause::RollBack { .. },
                _,
            ) => continue,
            (Cause::Recreate(why), Some(service)) => format!("recreate {service}: {why}"),
            (cause @ Cause::NetworkChanged { .. }, _) => cause.to_string(),
            _ => step.to_string(),
        };
        out.insert(line);
    }
    out.into_iter().collect()
}

/// The image each service's containers run once `plan` is applied: for a
/// service the plan creates containers of, the id its image reference
/// names in the snapshot (taken after this run's builds and pulls, so the
/// id the engine creates them from); for any other, the id its containers
/// run (a running one first), else the one its reference names.
pub(crate) fn container_images(
    stack: &Stack,
    observed: &Observed,
    plan: &Plan,
) -> BTreeMap<String, ServiceImage> {
    stack
        .services
        .iter()
        .map(|(key, svc)| {
            let image = identity::image_ref(stack, svc);
            let named = observed.images.get(&image).cloned().flatten();
            let created = plan.steps.iter().any(
                |s| matches!(&s.action, Action::CreateContainer { service, .. } if service == key),
            );
            let mut running: Vec<_> = observed
                .containers
                .iter()
                .filter(|c| c.service.as_deref() == Some(key.as_str()) && !c.image_id.is_empty())
                .collect();
            running.sort_by_key(|c| c.status != Status::Running);
            let id = if created {
                named
            } else {
                running.first().map(|c| c.image_id.clone()).or(named)
            };
            (
                key.clone(),
                ServiceImage {
                    image,
                    id,
                    tag: None,
                },
            )
        })
        .collect()
}

/// The image each Swarm service runs once `plan` is applied: the spec
/// the plan sends it, else the spec deployed, names its image and carries
/// the local id berth pinned (`io.berth.image-id`); a service without one
/// has the id its reference names here, if this node has it.
pub(crate) fn swarm_images(
    stack: &Stack,
    observed: &Observed,
    plan: &Plan,
) -> BTreeMap<String, ServiceImage> {
    stack
        .services
        .iter()
        .map(|(key, svc)| {
            // A rollout's way back runs only when `up` fails.
            let ran = plan.steps.iter().filter(|s| s.on_failure_of.is_none());
            let sent = ran.into_iter().find_map(|s| match &s.action {
                Action::CreateService {
                    service, request, ..
                }
                | Action::UpdateService {
                    service, request, ..
                } if service == key => Some(request.as_ref()),
                _ => None,
            });
            let deployed = || {
                observed
                    .services
                    .iter()
                    .find(|s| s.service.as_deref() == Some(key.as_str()))
                    .map(|s| &s.spec)
            };
            let container = sent
                .or_else(deployed)
                .and_then(|spec| spec.task_template.as_ref()?.container_spec.as_ref());
            let image = container
                .and_then(|c| c.image.clone())
                .unwrap_or_else(|| identity::image_ref(stack, svc));
            let pinned =
                container.and_then(|c| c.labels.as_ref()?.get(identity::IMAGE_ID).cloned());
            let id = pinned.or_else(|| observed.images.get(&image).cloned().flatten());
            (
                key.clone(),
                ServiceImage {
                    image,
                    id,
                    tag: None,
                },
            )
        })
        .collect()
}

/// Records the release `up` just applied on target `kind`, and says so;
/// a failure is a warning (the stack is up either way).
pub(crate) async fn record(
    cx: &Context<'_>,
    engine: &Engine,
    kind: Kind,
    changes: Vec<String>,
    services: BTreeMap<String, ServiceImage>,
) {
    // A run that planned twice (a stale task replaced) may say a change twice.
    let changes: IndexSet<String> = changes.into_iter().collect();
    let failed = |why: String| {
        cx.warnings(&[format!(
            "the stack is up, but its release could not be recorded: {why}; `berth releases` \
             will not list this change"
        )])
    };
    let stack = match stack_json(&cx.loaded().stack) {
        Ok(s) => s,
        Err(why) => return failed(why),
    };
    let draft = Draft {
        project: cx.project.to_string(),
        time: crate::engine::clock::rfc3339(crate::engine::clock::now_secs()),
        target: match kind {
            Kind::Plain => releases::Target::Engine,
            Kind::Swarm => releases::Target::Swarm,
        },
        changes: changes.into_iter().collect(),
        services,
        stack,
    };
    match releases::store::record(engine, draft).await {
        Ok(recorded) => {
            cx.warnings(&recorded.warnings);
            if !cx.quiet {
                cx.progress.status(
                    "Recorded",
                    &format!(
                        "release {} of {} ({})",
                        recorded.number,
                        cx.project,
                        kept_words(&recorded.kept)
                    ),
                );
            }
        }
        Err(e) => failed(e.to_string()),
    }
}

/// Which releases keep their images, in words: `images kept for releases
/// 1-3; berth keeps those of the last 5`.
fn kept_words(kept: &[u64]) -> String {
    match kept {
        [] => "none of its images is on this engine to keep".to_string(),
        _ => format!(
            "images kept for release{} {}; berth keeps those of the last {}",
            if kept.len() == 1 { "" } else { "s" },
            releases::store::ranges(kept),
            releases::IMAGES_KEPT
        ),
    }
}

/// The stack as `berth config --format json` prints it (strings with `$`
/// doubled), so that a rollback loads it back as it was.
fn stack_json(stack: &Stack) -> Result<serde_json::Value, String> {
    let mut text = Vec::new();
    crate::output::write_json(stack, &mut text)
        .map_err(|e| format!("cannot write the stack: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("cannot read the stack back: {e}"))
}

#[cfg(test)]
mod tests;
