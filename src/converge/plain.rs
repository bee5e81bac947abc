//! The plain engine as a target: the stack as containers, networks and
//! volumes on one engine (the one `engine::endpoint` chooses).
//!
//! Its snapshot is `observe`'s, its checks are `preflight`'s, its planners
//! are `plan::plan_images`, `plan_up`, `plan_wait` and `plan_down`. It
//! builds and pulls before planning the rest, and replaces, once, a
//! container the engine cannot start again because it keeps a stale task.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Failure, Target};
use crate::apply::ApplyError;
use crate::engine::Engine;
use crate::observe::{self, Observed};
use crate::plan::{self, DownOptions, ImageOptions, Plan, UpOptions};
use crate::releases::ServiceImage;

pub(crate) struct Plain;

impl Target for Plain {
    type Observed = Observed;

    /// Not pinged here: every run observes first, and the ping goes out
    /// with the snapshot's calls (one round trip for both on a slow link).
    async fn connect(&self) -> Result<Engine, Failure> {
        Ok(Engine::open()?)
    }

    async fn observe(&self, engine: &Engine, cx: &Context<'_>) -> Result<Observed, Failure> {
        let snapshot = observe::observe(engine, &cx.loaded().stack);
        Ok(engine.answering(snapshot).await?)
    }

    fn plan_images(
        &self,
        cx: &Context<'_>,
        observed: &Observed,
        services: &[String],
        options: ImageOptions,
    ) -> Result<Plan, Failure> {
        let stack = &cx.loaded().stack;
        Ok(plan::plan_images(stack, observed, services, options)?)
    }

    async fn refresh_images(
        &self,
        engine: &Engine,
        observed: &mut Observed,
        images: &[String],
    ) -> Result<(), Failure> {
        Ok(observe::refresh_images(engine, observed, images).await?)
    }

    fn plan_up(
        &self,
        cx: &Context<'_>,
        observed: &Observed,
        options: &UpOptions,
    ) -> Result<Plan, Failure> {
        let stack = &cx.loaded().stack;
        cx.checked(crate::preflight::check(stack, observed))?;
        Ok(plan::plan_up(stack, observed, options)?)
    }

    fn replace_after(&self, plan: &Plan, failed: &ApplyError) -> BTreeSet<String> {
        let ApplyError::Failed { failures, .. } = failed else {
            return BTreeSet::new();
        };
        failures
            .iter()
            .filter_map(|f| plan::rules::stale_task(&plan.steps[f.step].action, &f.message))
            .collect()
    }

    fn release_images(
        &self,
        cx: &Context<'_>,
        observed: &Observed,
        applied: &Plan,
    ) -> BTreeMap<String, ServiceImage> {
        super::release::container_images(&cx.loaded().stack, observed, applied)
    }

    fn plan_wait(&self, cx: &Context<'_>, _applied: &Plan, services: &[String]) -> Plan {
        plan::plan_wait(&cx.loaded().stack, services)
    }

    async fn observe_down(&self, engine: &Engine, cx: &Context<'_>) -> Result<Observed, Failure> {
        let stack = cx.loaded.map(|l| &l.stack);
        let snapshot = observe::observe_for_down(engine, cx.project, stack);
        Ok(engine.answering(snapshot).await?)
    }

    fn plan_down(&self, cx: &Context<'_>, observed: &Observed, options: &DownOptions) -> Plan {
        let stack = cx.loaded.map(|l| &l.stack);
        plan::plan_down(cx.project, observed, stack, options)
    }

    fn nothing_to_remove(&self, project: &str) -> String {
        format!("Nothing to remove: {project} has nothing berth made")
    }
}
