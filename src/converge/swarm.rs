//! Docker Swarm as a target (`--swarm`): the stack as Swarm services,
//! overlay networks, secrets and configs, deployed through a manager.
//!
//! What differs from the plain engine: the engine must be a swarm manager
//! ([`manager`]); the requests are mapped first ([`requests`]: `spec`'s
//! service mapping, secrets and configs named by their content), and an
//! image only this node has is warned about on a swarm of several nodes
//! ([`super::swarm_facts`]); the snapshot is `observe_swarm`'s, the planners
//! `plan_swarm_up` and `plan_swarm_down`, and a wait is for a service to
//! converge. Images are not built or pulled here.

use std::collections::BTreeMap;

use super::{Context, Failure, Target};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::engine::services::SwarmRole;
use crate::load::{self, Loaded};
use crate::observe::{self, Observed};
use crate::plan::{self, DownOptions, Plan, SwarmSpecs, UpOptions};
use crate::releases::ServiceImage;
use crate::spec::{self, ObjectKind, ObjectNames};

pub(crate) struct Swarm;

/// The swarm's snapshot, with the requests mapped before it was taken.
pub(crate) struct SwarmObserved {
    observed: Observed,
    specs: SwarmSpecs,
}

impl Target for Swarm {
    type Observed = SwarmObserved;

    async fn connect(&self) -> Result<Engine, Failure> {
        manager().await
    }

    async fn observe(&self, engine: &Engine, cx: &Context<'_>) -> Result<SwarmObserved, Failure> {
        let loaded = cx.loaded();
        let (specs, diags) = requests(loaded);
        cx.checked(diags)?;
        let stack = &loaded.stack;
        let images = observe::stack_images(stack);
        // All at once: one round trip on a slow link for a one-node swarm.
        let (warnings, observed, image_ids) = futures_util::join!(
            super::swarm_facts::local_only(engine, loaded, &specs),
            observe::observe_swarm(engine, cx.project, Some(stack)),
            observe::image_ids(engine, &images),
        );
        crate::output::print_diagnostics(&warnings?, &loaded.sources);
        let mut observed = observed?;
        // The local id of each image, which the plan puts on its services: an
        // image rebuilt under the same tag then rolls them.
        observed.images.extend(image_ids?);
        Ok(SwarmObserved { observed, specs })
    }

    fn plan_up(
        &self,
        cx: &Context<'_>,
        observed: &SwarmObserved,
        options: &UpOptions,
    ) -> Result<Plan, Failure> {
        let stack = &cx.loaded().stack;
        Ok(plan::plan_swarm_up(
            stack,
            &observed.observed,
            &observed.specs,
            options,
        )?)
    }

    fn release_images(
        &self,
        cx: &Context<'_>,
        observed: &SwarmObserved,
        applied: &Plan,
    ) -> BTreeMap<String, ServiceImage> {
        super::release::swarm_images(&cx.loaded().stack, &observed.observed, applied)
    }

    fn plan_wait(&self, cx: &Context<'_>, applied: &Plan, services: &[String]) -> Plan {
        plan::plan_swarm_wait(&cx.loaded().stack, applied, services)
    }

    async fn observe_down(
        &self,
        engine: &Engine,
        cx: &Context<'_>,
    ) -> Result<SwarmObserved, Failure> {
        let stack = cx.loaded.map(|l| &l.stack);
        let observed = observe::observe_swarm(engine, cx.project, stack).await?;
        Ok(SwarmObserved {
            observed,
            specs: SwarmSpecs::default(),
        })
    }

    fn plan_down(&self, cx: &Context<'_>, observed: &SwarmObserved, options: &DownOptions) -> Plan {
        plan::plan_swarm_down(cx.project, &observed.observed, options.volumes)
    }

    fn nothing_to_remove(&self, project: &str) -> String {
        format!("Nothing to remove: {project} has no swarm services or networks")
    }
}

/// Connects, and refuses an engine that cannot deploy services.
pub(crate) async fn manager() -> Result<Engine, Failure> {
    let engine = Engine::open()?;
    let what = match engine.answering(engine.swarm_role()).await? {
        SwarmRole::Manager => return Ok(engine),
        SwarmRole::Worker => "is a swarm worker, and only a manager can deploy services",
        SwarmRole::None => "is not part of a swarm",
    };
    Err(Failure::Unsuitable(format!(
        "the Docker engine at {} {what}\n  help: make it a manager with `docker swarm init` \
         (on one machine: `docker swarm init --advertise-addr 127.0.0.1`), or point \
         DOCKER_HOST at a manager",
        engine.host
    )))
}

/// The stack as Swarm requests (for `up --swarm`, `plan --swarm` and
/// `config --swarm`), with every diagnostic the mapping gave: where there
/// are errors, the requests are not to be sent.
pub(crate) fn requests(loaded: &Loaded) -> (SwarmSpecs, Vec<Diagnostic>) {
    let stack = &loaded.stack;
    let mut out = SwarmSpecs::default();
    let mut diags: Vec<Diagnostic> = Vec::new();
    // Secrets and configs first: a service names them by their content's
    // hash.
    let mut names = ObjectNames::new();
    for (kind, objects) in [
        (ObjectKind::Secret, &stack.secrets),
        (ObjectKind::Config, &stack.configs),
    ] {
        for (key, obj) in objects {
            if obj.external {
                names.insert((kind, key.clone()), obj.name.clone());
                continue;
            }
            let what = format!("{} `{key}`", kind.word());
            match load::objects::content(obj, &what, kind.max_size()) {
                Ok(data) => {
                    let o = spec::object(stack, kind, key, obj, &data);
                    names.insert((kind, key.clone()), o.name.clone());
                    out.objects.push(o);
                }
                Err(d) => diags.push(d),
            }
        }
    }
    for (key, svc) in &stack.services {
        let mapped = spec::service(stack, svc, &names);
        diags.extend(mapped.diagnostics());
        for net in svc.networks.keys() {
            if !out.networks.contains_key(net)
                && let Some(request) = spec::overlay_network(stack, net)
            {
                out.networks.insert(net.clone(), request);
            }
        }
        out.services.insert(key.clone(), mapped.spec);
    }
    (out, diags)
}

/// `config --swarm`: what `up --swarm` would send, as JSON: the overlay
/// networks, secrets, configs and service specs, by their keys in the stack
/// file (a secret's data not shown).
pub(crate) fn requests_json(specs: &SwarmSpecs) -> String {
    let objects = |kind| {
        specs
            .objects
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| (o.key.clone(), o.shown()))
            .collect::<serde_json::Map<_, _>>()
    };
    // Keys sorted, so that the same stack prints the same text.
    let value = spec::canonical(serde_json::json!({
        "networks": specs.networks,
        "secrets": objects(ObjectKind::Secret),
        "configs": objects(ObjectKind::Config),
        "services": specs.services,
    }));
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}
