//! A service's `deploy` section: mode, replicas, resources (read with the
//! service's own rules for CPUs and memory), restart policy, update and
//! rollback configs and placement, read and checked. What a target makes of
//! it (a Swarm service spec, a plain engine's limits) is not decided here.

use crate::load::resolve::context::Context;
use crate::load::resolve::lists::{empty_names, labels, strings};
use crate::load::resolve::resources::{cpus, memory};
use crate::load::resolve::values::{duration, int, int_in};
use crate::model::Spanned;
use crate::model::raw::{self, Text};
use crate::model::stack::*;

/// A count that swarm takes as an unsigned number (`parallelism`,
/// `max_attempts`): 0 or more.
fn count(cx: &mut Context, v: &Spanned<Text>, key: &str) -> Option<u64> {
    int_in(cx, v, key, 0..=i64::MAX).map(|n| n as u64)
}

/// `max_failure_ratio`: a fraction of the tasks, from 0 to 1 (swarm refuses
/// any other).
fn ratio(cx: &mut Context, v: &Spanned<Text>) -> Option<f64> {
    match v.value.0.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Some(r),
        _ => {
            cx.error(
                v.span,
                format!(
                    "`max_failure_ratio: {}` is not a ratio from 0 to 1",
                    v.value.0
                ),
                "not from 0 to 1",
                "write the share of failed tasks that is tolerated, from 0 (none) to 1 (all), such as `0.2`",
            );
            None
        }
    }
}

pub(super) fn deploy(cx: &mut Context, d: &raw::Deploy) -> Deploy {
    empty_names(cx, &d.labels, "deploy.labels");
    let spec = |cx: &mut Context, r: &Option<raw::ResourceSpec>| {
        r.as_ref().map(|r| ResourceSpec {
            cpus: r
                .cpus
                .as_ref()
                .and_then(|c| cpus(cx, c, "deploy.resources.cpus")),
            memory: r
                .memory
                .as_ref()
                .and_then(|m| memory(cx, m, "deploy.resources.memory")),
            pids: r.pids.as_ref().and_then(|p| int(cx, p, "pids")),
        })
    };
    let update = |cx: &mut Context, u: &Option<raw::UpdateConfig>| {
        u.as_ref().map(|u| UpdateConfig {
            parallelism: u
                .parallelism
                .as_ref()
                .and_then(|p| count(cx, p, "parallelism")),
            delay: u.delay.as_ref().and_then(|v| duration(cx, v, "delay")),
            failure_action: u.failure_action.clone(),
            monitor: u.monitor.as_ref().and_then(|v| duration(cx, v, "monitor")),
            max_failure_ratio: u.max_failure_ratio.as_ref().and_then(|p| ratio(cx, p)),
            order: u.order.clone(),
        })
    };
    if let Some(m) = &d.mode
        && !matches!(
            m.value.as_str(),
            "replicated" | "global" | "replicated-job" | "global-job"
        )
    {
        cx.error(
            m.span,
            format!("invalid deploy mode `{}`", m.value),
            "unknown mode",
            "use `replicated` or `global`",
        );
    }
    Deploy {
        mode: d.mode.as_ref().map(|m| m.value.clone()),
        replicas: d
            .replicas
            .as_ref()
            .and_then(|r| int_in(cx, r, "deploy.replicas", 0..=i64::MAX)),
        endpoint_mode: d.endpoint_mode.clone(),
        labels: labels(&d.labels),
        resources: Resources {
            limits: spec(cx, &d.resources.as_ref().and_then(|r| r.limits.clone())),
            reservations: spec(
                cx,
                &d.resources.as_ref().and_then(|r| r.reservations.clone()),
            ),
        },
        restart_policy: d.restart_policy.as_ref().map(|r| RestartPolicy {
            condition: r.condition.clone(),
            delay: r.delay.as_ref().and_then(|v| duration(cx, v, "delay")),
            max_attempts: r
                .max_attempts
                .as_ref()
                .and_then(|p| count(cx, p, "max_attempts")),
            window: r.window.as_ref().and_then(|v| duration(cx, v, "window")),
        }),
        update_config: update(cx, &d.update_config),
        rollback_config: update(cx, &d.rollback_config),
        placement: d
            .placement
            .as_ref()
            .map(|p| Placement {
                constraints: strings(&p.constraints),
                preferences: p
                    .preferences
                    .iter()
                    .flatten()
                    .map(|x| Preference {
                        spread: x.spread.clone(),
                    })
                    .collect(),
                max_replicas_per_node: p
                    .max_replicas_per_node
                    .as_ref()
                    .and_then(|v| count(cx, v, "max_replicas_per_node")),
            })
            .unwrap_or_default(),
    }
}
