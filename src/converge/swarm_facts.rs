//! The facts for `plan::swarm_images` on a swarm of several nodes: the nodes,
//! this node's id and its images' registry digests, gathered for the swarm
//! target's snapshot; the judging is `plan::swarm_images`'.

use std::collections::BTreeMap;

use super::Failure;
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::load::Loaded;
use crate::plan::SwarmSpecs;
use crate::plan::swarm_images::{NodeFacts, local_only_images};

/// One warning per image of `specs` that this node has with no registry
/// digest and that other nodes may be asked to run. Nothing is asked of the
/// engine beyond the node list on a one-node swarm.
pub(super) async fn local_only(
    engine: &Engine,
    loaded: &Loaded,
    specs: &SwarmSpecs,
) -> Result<Vec<Diagnostic>, Failure> {
    let failed = Failure::Engine;
    let nodes: Vec<NodeFacts> = engine
        .list_nodes()
        .await
        .map_err(failed)?
        .iter()
        .map(NodeFacts::of)
        .collect();
    if nodes.len() < 2 {
        return Ok(Vec::new());
    }
    let this = engine.node_id().await.map_err(failed)?;
    let mut local: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in specs.services.values() {
        let image = spec
            .task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.clone());
        if let Some(image) = image
            && !local.contains_key(&image)
            && let Some(digests) = engine.repo_digests(&image).await.map_err(failed)?
        {
            local.insert(image, digests);
        }
    }
    let this_host = nodes
        .iter()
        .find(|n| n.id == this)
        .map(|n| n.hostname.clone())
        .unwrap_or_default();
    let stack = &loaded.stack;
    let warnings: Vec<Diagnostic> = local_only_images(&nodes, &this, &specs.services, &local)
        .iter()
        .map(|w| {
            let mut d = Diagnostic::warning(w.message(&this_host)).help(w.help());
            for key in &w.services {
                if let Some(svc) = stack.services.get(key) {
                    d = d.label(svc.span, "runs it");
                }
            }
            d
        })
        .collect();
    Ok(warnings)
}
