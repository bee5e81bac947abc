//! What a service depends on: `depends_on`, and what compose makes a
//! dependency too (`links`, `volumes_from`, `ipc` and `pid: service:`, and
//! `network_mode: service:`), each an edge checked to name a defined service.
//! Whether the edges make a cycle is the graph's business (`crate::graph`).

use crate::load::resolve::context::{Context, Defined, undefined};
use crate::model::raw;
use crate::model::stack::*;
use crate::source::Span;

pub(super) fn dependencies(
    cx: &mut Context,
    out: &mut Service,
    s: &raw::Service,
    defined: &Defined,
) {
    let add = |cx: &mut Context,
               out: &mut Service,
               name: &str,
               span: Span,
               dep: Dependency,
               kind: EdgeKind| {
        if !defined.services.contains(&name) {
            if dep.required {
                undefined(cx, "service", name, span, &defined.services, "services");
            }
            return;
        }
        out.edges.push(Edge {
            to: name.to_string(),
            kind,
            span,
        });
        if kind == EdgeKind::DependsOn || !out.depends_on.contains_key(name) {
            out.depends_on.insert(name.to_string(), dep);
        }
    };
    let started = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    match &s.depends_on {
        None => {}
        Some(raw::DependsOn::List(l)) => {
            for d in l {
                add(
                    cx,
                    out,
                    &d.value,
                    d.span,
                    started.clone(),
                    EdgeKind::DependsOn,
                );
            }
        }
        Some(raw::DependsOn::Map(m)) => {
            for (name, d) in m {
                let condition = match d.condition.as_ref().map(|c| (c.value.as_str(), c.span)) {
                    None | Some(("service_started", _)) => Condition::ServiceStarted,
                    Some(("service_healthy", _)) => Condition::ServiceHealthy,
                    Some(("service_completed_successfully", _)) => {
                        Condition::ServiceCompletedSuccessfully
                    }
                    Some((other, span)) => {
                        cx.error(
                            span,
                            format!("invalid depends_on condition `{other}`"),
                            "unknown condition",
                            "use `service_started`, `service_healthy` or `service_completed_successfully`",
                        );
                        Condition::ServiceStarted
                    }
                };
                let dep = Dependency {
                    condition,
                    restart: d.restart.unwrap_or(false),
                    required: d.required.unwrap_or(true),
                };
                add(cx, out, &name.value, name.span, dep, EdgeKind::DependsOn);
            }
        }
    }
    // links and volumes_from imply a dependency, as in compose; links restart
    // with their target.
    for l in s.links.iter().flatten() {
        let target = l.value.split(':').next().unwrap_or_default().to_string();
        let dep = Dependency {
            restart: true,
            ..started.clone()
        };
        add(cx, out, &target, l.span, dep, EdgeKind::Link);
    }
    for v in s.volumes_from.iter().flatten() {
        // `container:<name>` names a container outside the stack: no edge.
        if v.value.starts_with("container:") {
            continue;
        }
        let target = v.value.split(':').next().unwrap_or_default();
        add(
            cx,
            out,
            target,
            v.span,
            started.clone(),
            EdgeKind::VolumesFrom,
        );
    }
    // compose also makes `network_mode`, `ipc` and `pid: service:x` a
    // dependency that restarts with x (compose-go's implied dependencies);
    // the network edge itself is recorded by `networks`, the others here, so
    // that a cycle through them is found.
    let shared = [
        ("network_mode", &s.network_mode),
        ("ipc", &s.ipc),
        ("pid", &s.pid),
    ]
    .into_iter()
    .filter_map(|(key, m)| {
        let m = m.as_ref()?;
        Some((key, m.value.strip_prefix("service:")?, m.span))
    });
    for (key, target, span) in shared {
        if !defined.services.contains(&target) {
            // An unknown network_mode target is reported by `networks`.
            if key != "network_mode" {
                undefined(cx, "service", target, span, &defined.services, "services");
            }
            continue;
        }
        let kind = match key {
            "ipc" => Some(EdgeKind::Ipc),
            "pid" => Some(EdgeKind::Pid),
            _ => None,
        };
        if let Some(kind) = kind {
            out.edges.push(Edge {
                to: target.to_string(),
                kind,
                span,
            });
        }
        if !out.depends_on.contains_key(target) {
            let dep = Dependency {
                restart: true,
                ..started.clone()
            };
            out.depends_on.insert(target.to_string(), dep);
        }
    }
}
