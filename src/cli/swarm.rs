//! `--swarm`: `up`, `plan` and `down` on the Swarm target. The same session,
//! plan shape and executor as on one engine; what differs is the snapshot
//! (`observe_swarm`), the mapping (`spec::service`) and the planner
//! (`plan_swarm_up`, `plan_swarm_down`).

use std::time::Duration;

use super::error::Error;
use super::session::Session;
use super::up::{PlanFlags, UpArgs};
use super::{Outcome, print_diagnostics};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::engine::services::SwarmRole;
use crate::load::{self, Loaded};
use crate::observe;
use crate::output::ProgressMode;
use crate::plan::{self, Plan, SwarmSpecs};
use crate::spec;
use crate::spec::{ObjectKind, ObjectNames};

/// Connects, and refuses an engine that cannot deploy services.
pub(super) async fn manager(s: &Session) -> Result<Engine, Error> {
    let engine = s.connect().await?;
    let role = engine
        .swarm_role()
        .await
        .map_err(|e| Error::engine(s.mode(), &e))?;
    let what = match role {
        SwarmRole::Manager => return Ok(engine),
        SwarmRole::Worker => "is a swarm worker, and only a manager can deploy services",
        SwarmRole::None => "is not part of a swarm",
    };
    Err(Error::message(
        s.mode(),
        format!(
            "the Docker engine at {} {what}\n  help: make it a manager with `docker swarm init` \
             (on one machine: `docker swarm init --advertise-addr 127.0.0.1`), or point \
             DOCKER_HOST at a manager",
            engine.host
        ),
    ))
}

/// The stack as Swarm requests: the located warnings are printed here, the
/// errors returned (nothing is changed).
fn specs(s: &Session) -> Result<SwarmSpecs, Error> {
    mapped(s.loaded(), s.mode())
}

/// `loaded` as Swarm requests, for `up`, `plan` and `config --swarm`.
pub(super) fn mapped(loaded: &Loaded, mode: ProgressMode) -> Result<SwarmSpecs, Error> {
    let stack = &loaded.stack;
    let mut out = SwarmSpecs::default();
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();
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
                Err(d) => errors.push(d),
            }
        }
    }
    for (key, svc) in &stack.services {
        let mapped = spec::service(stack, svc, &names);
        for d in mapped.diagnostics() {
            if d.is_error() {
                errors.push(d);
            } else {
                warnings.push(d);
            }
        }
        for net in svc.networks.keys() {
            if !out.networks.contains_key(net)
                && let Some(request) = spec::overlay_network(stack, net)
            {
                out.networks.insert(net.clone(), request);
            }
        }
        out.services.insert(key.clone(), mapped.spec);
    }
    print_diagnostics(&warnings, &loaded.sources);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::diagnostics(mode, errors, Some(loaded)).then("nothing was changed"))
    }
}

/// `config --swarm`: what `up --swarm` would send, as JSON: the overlay
/// networks, secrets, configs and service specs, by their keys in the stack
/// file (a secret's data not shown).
pub(super) fn config(loaded: &Loaded) -> Result<String, Error> {
    let specs = mapped(loaded, ProgressMode::Plain)?;
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
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    ))
}

/// The plan of `up --swarm` (and `plan --swarm`).
pub(super) async fn plan_up(s: &Session, flags: &PlanFlags) -> Result<(Engine, Plan), Error> {
    let engine = manager(s).await?;
    let specs = specs(s)?;
    super::swarm_images::warn(&engine, s, &specs).await?;
    let stack = &s.loaded().stack;
    let mut observed = observe::observe_swarm(&engine, &s.project, Some(stack))
        .await
        .map_err(|e| Error::engine(s.mode(), &e))?;
    // The local id of each image, which the plan puts on its services: an
    // image rebuilt under the same tag then rolls them.
    observe::refresh_images(&engine, &mut observed, &observe::stack_images(stack))
        .await
        .map_err(|e| Error::engine(s.mode(), &e))?;
    let plan = plan::plan_swarm_up(stack, &observed, &specs, &flags.options())
        .map_err(|e| s.plan_errors(&e))?;
    Ok((engine, plan))
}

/// `up --swarm`.
pub(super) async fn up(s: &Session, args: &UpArgs) -> Result<Outcome, Error> {
    let (engine, plan) = plan_up(s, &args.flags).await?;
    if args.dry_run {
        return s.dry_run(&plan);
    }
    let opts = s.apply_options(args.parallel.into(), Duration::from_secs(args.wait_timeout));
    let stack = &s.loaded().stack;
    s.converge(&engine, &plan, &opts).await?;
    if args.wait {
        let waits = plan::plan_swarm_wait(stack, &plan, &args.flags.services);
        s.apply(&engine, &waits, &opts).await?;
    }
    Ok(Outcome::Success)
}

/// `down --swarm`.
pub(super) async fn down(s: &Session, dry_run: bool, volumes: bool) -> Result<Outcome, Error> {
    let engine = manager(s).await?;
    let observed = observe::observe_swarm(&engine, &s.project, s.stack())
        .await
        .map_err(|e| Error::engine(s.mode(), &e))?;
    let plan = plan::plan_swarm_down(&s.project, &observed, volumes);
    if plan.is_empty() && !dry_run {
        s.progress.note(&format!(
            "Nothing to remove: {} has no swarm services or networks",
            s.project
        ));
        return Ok(Outcome::Success);
    }
    s.apply_or_print(&engine, &plan, dry_run, 16).await
}
