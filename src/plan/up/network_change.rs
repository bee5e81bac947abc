//! A network of the project whose settings the stack changed: the engine
//! cannot change a network, so it is removed and created again, with the
//! project's containers disconnected before and connected again after.
//!
//! The steps, for network N with attached containers C1..Cn:
//! disconnect each Ci from N, remove N, create N, then connect each Ci that
//! stays (one being recreated gets the new N from its create, one being
//! removed needs nothing). A container of the project whose service keeps
//! N is connected by [`Up::reconnect`](super::Up) with its service's
//! endpoint (aliases, addresses); one whose service is not part of this
//! `up` is connected with what its service asks, or, for an orphan, with
//! the aliases it had. A container outside the project on N stops the plan:
//! berth does not cut off what is not its own; so does a swarm-scoped N,
//! whose users on other nodes this one cannot see.
//!
//! A run stopped part way converges on the next: a container already
//! disconnected is simply not attached (the recreate goes on without it,
//! and the service's reconnect connects it as a network added), a network
//! already removed is missing (created, its containers connected), one
//! already created anew matches the stack (its containers connected).

use std::collections::BTreeSet;

use bollard::models::EndpointSettings;

use super::super::resources;
use super::{Action, Cause, StepId, Up};
use crate::model::stack::Network;
use crate::observe::{ContainerState, NetworkState};
use crate::spec;

/// The networks this plan recreates and the containers it disconnects from
/// them.
#[derive(Default)]
pub(super) struct Recreates {
    /// (container id, network name) for each disconnect planned.
    detached: Vec<Detached>,
    /// (container id, network name) pairs already connected again, or whose
    /// container goes away.
    settled: BTreeSet<(String, String)>,
    /// Ids of containers this plan removes (recreated or taken away).
    removed: BTreeSet<String>,
}

struct Detached {
    id: String,
    name: String,
    service: Option<String>,
    network: String,
    key: String,
    /// The aliases it had on the network, for an orphan's reconnect.
    aliases: Vec<String>,
    cause: Cause,
    create: StepId,
}

impl<'a> Up<'a> {
    /// Plans the recreate of network `key` if its settings changed; an
    /// error when containers outside the project use it.
    pub(super) fn network_changed(&mut self, key: &'a str, want: &Network, have: &NetworkState) {
        let changes = resources::network_changes(want, have);
        if changes.is_empty() {
            return;
        }
        let attached: Vec<&'a ContainerState> = self
            .project_containers()
            .filter(|c| c.networks.contains_key(&want.name))
            .collect();
        let foreign: Vec<&str> = have
            .containers
            .iter()
            .filter(|n| !self.project_containers().any(|c| &c.name == *n))
            .map(String::as_str)
            .collect();
        if have.scope == "swarm" {
            self.errors.push(resources::swarm_network_changed(
                &want.name, &changes, want.span,
            ));
            return;
        }
        if !foreign.is_empty() {
            self.errors.push(resources::network_in_use(
                &self.stack.name,
                &want.name,
                &changes,
                &foreign,
                want.span,
            ));
            return;
        }
        let Some(request) = spec::network(self.stack, key) else {
            return;
        };
        let cause = Cause::NetworkChanged {
            network: want.name.clone(),
            changes,
        };
        let disconnects: Vec<StepId> = attached
            .iter()
            .map(|c| {
                self.plan.push(
                    Action::Disconnect {
                        service: c.service.clone().unwrap_or_default(),
                        name: c.name.clone(),
                        network: want.name.clone(),
                    },
                    cause.clone(),
                    vec![],
                )
            })
            .collect();
        let remove = self.plan.push(
            Action::RemoveNetwork {
                name: want.name.clone(),
            },
            cause.clone(),
            disconnects,
        );
        let create = self.plan.push(
            Action::CreateNetwork {
                name: want.name.clone(),
                request: Box::new(request),
            },
            cause.clone(),
            vec![remove],
        );
        self.networks.insert(key, create);
        for c in attached {
            self.recreates.detached.push(Detached {
                id: c.id.clone(),
                name: c.name.clone(),
                service: c.service.clone(),
                network: want.name.clone(),
                key: key.to_string(),
                aliases: c.networks.get(&want.name).cloned().unwrap_or_default(),
                cause: cause.clone(),
                create,
            });
        }
    }

    /// Why `c` is not on network `name` any more, when this plan
    /// disconnected it for the network's recreate; the reconnect is then
    /// the caller's.
    pub(super) fn detached_from(&mut self, c: &ContainerState, network: &str) -> Option<Cause> {
        let d = self
            .recreates
            .detached
            .iter()
            .find(|d| d.id == c.id && d.network == network)?;
        let cause = d.cause.clone();
        self.recreates
            .settled
            .insert((c.id.clone(), network.to_string()));
        Some(cause)
    }

    /// `c` goes away in this plan: nothing to connect again.
    pub(super) fn removed(&mut self, c: &ContainerState) {
        self.recreates.removed.insert(c.id.clone());
    }

    /// Connects again every container disconnected for a network's
    /// recreate that nothing else in the plan took care of: those of
    /// services this `up` leaves alone, and orphans left running.
    pub(super) fn reconnect_the_rest(&mut self) {
        let detached = std::mem::take(&mut self.recreates.detached);
        for d in &detached {
            let pair = (d.id.clone(), d.network.clone());
            if self.recreates.settled.contains(&pair) || self.recreates.removed.contains(&d.id) {
                continue;
            }
            let endpoint = d
                .service
                .as_deref()
                .and_then(|s| self.stack.services.get(s))
                .filter(|svc| svc.networks.contains_key(&d.key))
                .and_then(|svc| {
                    spec::endpoints(self.stack, svc)
                        .into_iter()
                        .find(|(n, _)| *n == d.network)
                        .map(|(_, e)| e)
                })
                .unwrap_or_else(|| {
                    // An orphan: the aliases it had, without the ones the
                    // engine adds itself.
                    let short = d.id.get(..12).unwrap_or(&d.id);
                    let aliases: Vec<String> = d
                        .aliases
                        .iter()
                        .filter(|a| *a != short && **a != d.name && **a != d.id)
                        .cloned()
                        .collect();
                    EndpointSettings {
                        aliases: (!aliases.is_empty()).then_some(aliases),
                        ..Default::default()
                    }
                });
            self.plan.push(
                Action::Connect {
                    service: d.service.clone().unwrap_or_default(),
                    name: d.name.clone(),
                    network: d.network.clone(),
                    endpoint: Box::new(endpoint),
                },
                d.cause.clone(),
                vec![d.create],
            );
        }
        self.recreates.detached = detached;
    }
}
