//! Keys that need a newer engine than API 1.41, added to the plan's
//! requests where the engine observed is new enough (`spec::newer`
//! says which field each becomes). Preflight warns about the rest.

use super::{Action, Plan};
use crate::model::stack::Stack;
use crate::spec::newer;
use crate::spec::newer::ApiVersion;

/// Adds what `api` honours to the create and connect requests of `plan`.
pub(super) fn pass_through(plan: &mut Plan, stack: &Stack, api: ApiVersion) {
    if api <= ApiVersion::BASE {
        return;
    }
    for step in &mut plan.steps {
        match &mut step.action {
            Action::CreateNetwork { name, request } => {
                if let Some(n) = stack.networks.values().find(|n| &n.name == name) {
                    newer::network(request, n, api);
                }
            }
            Action::CreateContainer {
                service, request, ..
            } => {
                if let Some(svc) = stack.services.get(service.as_str()) {
                    newer::container(request, stack, svc, api);
                }
            }
            Action::Connect {
                service,
                network,
                endpoint,
                ..
            } => {
                if let Some(svc) = stack.services.get(service.as_str()) {
                    newer::endpoint(endpoint, stack, svc, network, false, api);
                }
            }
            _ => {}
        }
    }
}
