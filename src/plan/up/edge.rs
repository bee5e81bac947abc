//! The edge of a start-first service that publishes ports (`spec::edge`):
//! one container, `<project>-<service>-edge`, that holds the service's
//! ports (on the host's network, or publishing them) and forwards each
//! connection to the service's name on one of its networks. A container takes that name only once it is admitted (see
//! `rollout`), so the edge follows a rollout by itself: nothing is written
//! to it when the service's containers change. When an old container stops,
//! a connection the edge sent its way is retried on the next address.
//!
//! So the plan makes the edge once (its image imported from berth's own
//! executable when the engine lacks it, its target written before it
//! starts, and again before it starts a stopped one), replaces it only when
//! what it publishes or where it forwards changes, and removes it when the
//! service no longer needs one. It starts after every other step of its
//! service, so that an old container that still published the ports itself
//! (the first rollout with an edge) has let them go.

use super::super::{Action, Cause, Replace, StepId};
use super::{Up, is_running, rollout};
use crate::identity;
use crate::model::stack::Service;
use crate::observe::{ContainerState, Status};
use crate::spec;

impl Up<'_> {
    /// This service's edge containers on the engine.
    fn edges_of(&self, svc: &Service) -> Vec<&ContainerState> {
        self.observed
            .containers
            .iter()
            .filter(|c| {
                c.project.as_deref() == Some(self.stack.name.as_str())
                    && c.edge.as_deref() == Some(svc.name.as_str())
            })
            .collect()
    }

    /// Removes the edges of a service that no longer needs one, before its
    /// containers (which publish the ports themselves again) start: the
    /// removals' ids.
    pub(super) fn edges_gone(&mut self, svc: &Service) -> Vec<StepId> {
        if rollout::fronted(svc) {
            return Vec::new();
        }
        let gone: Vec<ContainerState> = self.edges_of(svc).into_iter().cloned().collect();
        gone.iter()
            .map(|c| self.take_away(c, Cause::Recreate(Replace::Ports { to_edge: false })))
            .collect()
    }

    /// The edge of `svc`, when it needs one, after the steps of `svc`
    /// planned from `first` on.
    pub(super) fn edge(&mut self, svc: &Service, first: StepId) {
        if !rollout::fronted(svc) {
            return;
        }
        let Some(image) = self.observed.edge_image.clone() else {
            // Observe looks for the image whenever a service needs an edge.
            return;
        };
        let spec = match spec::edge_container(
            self.stack,
            svc,
            &image.reference,
            image.engine_socket.as_deref(),
        ) {
            Ok(spec) => spec,
            Err(e) => {
                self.errors.push(e.into());
                return;
            }
        };
        let name = spec::edge_name(&self.stack.name, &svc.name);
        let want = spec
            .body
            .labels
            .as_ref()
            .and_then(|l| l.get(identity::CONFIG_HASH))
            .cloned();
        // What it starts after: the service's own steps, but not a way
        // back, which runs only if a check fails.
        let service_steps: Vec<StepId> = (first..self.plan.steps.len())
            .filter(|&i| self.plan.steps[i].on_failure_of.is_none())
            .collect();
        let edges: Vec<ContainerState> = self.edges_of(svc).into_iter().cloned().collect();
        let current = edges
            .iter()
            .find(|c| c.name == name && c.config_hash == want);
        let mut before = Vec::new();
        for c in &edges {
            if current.is_none_or(|k| k.id != c.id) {
                let why = Replace::Config {
                    keys: vec!["its edge's ports or network".into()],
                    image_changed: false,
                };
                before.push(self.take_away(c, Cause::Recreate(why)));
            }
        }
        if let Some(c) = current {
            if !is_running(c.status) {
                // Its target is written again before it starts, as for a
                // new edge: a run killed between the edge's create and that
                // write left it none (it would refuse every connection),
                // and one stopped while its service rolled out still names
                // a container that is gone (a rollout points only a
                // running edge). The service's name is the admitted
                // containers' once the steps it starts after are done.
                let cause = if c.status == Status::Created {
                    Cause::Created
                } else {
                    Cause::Stopped
                };
                let mut after = service_steps;
                after.extend(before);
                after.push(self.plan.push(
                    Action::SetEdgeTarget {
                        service: svc.name.clone(),
                        name: name.clone(),
                        target: svc.name.clone(),
                    },
                    cause.clone(),
                    vec![],
                ));
                self.plan.push(
                    Action::Start {
                        service: svc.name.clone(),
                        name: name.clone(),
                    },
                    cause,
                    after,
                );
            }
            return;
        }
        if !image.present {
            let import = match self.edge_import {
                Some(id) => id,
                None => {
                    let id = self.plan.push(
                        Action::ImportEdgeImage {
                            reference: image.reference.clone(),
                        },
                        Cause::NotFound,
                        vec![],
                    );
                    self.edge_import = Some(id);
                    id
                }
            };
            before.push(import);
        }
        for key in svc.networks.keys() {
            before.extend(self.networks.get(key.as_str()));
        }
        let create = self.plan.push(
            Action::CreateContainer {
                service: svc.name.clone(),
                number: 0,
                name: name.clone(),
                platform: None,
                request: Box::new(spec.body),
            },
            Cause::NotFound,
            before,
        );
        let mut ready = vec![self.plan.push(
            Action::SetEdgeTarget {
                service: svc.name.clone(),
                name: name.clone(),
                target: svc.name.clone(),
            },
            Cause::Created,
            vec![create],
        )];
        for (network, endpoint) in spec.connect {
            ready.push(self.plan.push(
                Action::Connect {
                    service: svc.name.clone(),
                    name: name.clone(),
                    network,
                    endpoint: Box::new(endpoint),
                },
                Cause::Created,
                vec![create],
            ));
        }
        ready.extend(service_steps);
        self.plan.push(
            Action::Start {
                service: svc.name.clone(),
                name,
            },
            Cause::Created,
            ready,
        );
    }
}
