//! Which services a command acts on: the one unknown-service check, and the
//! selection of named services with what they depend on.

use indexmap::IndexSet;

use super::PlanError;
use crate::graph::Graph;
use crate::model::stack::Stack;

/// An error for each of `names` that is not a service of the stack.
pub fn unknown_services(stack: &Stack, names: &[String]) -> Vec<PlanError> {
    let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    unknown_among(&known, names)
}

/// An error for each of `names` not in `known`: the one wording, whether the
/// services come from a stack file or, without one, from containers' labels.
pub fn unknown_among(known: &[&str], names: &[String]) -> Vec<PlanError> {
    names
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .map(|n| {
            PlanError::new(
                format!("no service `{n}` in the stack"),
                format!("its services are: {}", known.join(", ")),
                None,
            )
        })
        .collect()
}

/// The services to bring up: the named ones and everything they depend on,
/// in start order (dependencies first, then file order).
pub fn selection(stack: &Stack, names: &[String]) -> Result<Vec<String>, Vec<PlanError>> {
    let unknown = unknown_services(stack, names);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut wanted: IndexSet<&str> = IndexSet::new();
    let mut todo: Vec<&str> = if names.is_empty() {
        stack.services.keys().map(String::as_str).collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    while let Some(n) = todo.pop() {
        if !wanted.insert(n) {
            continue;
        }
        if let Some(svc) = stack.services.get(n) {
            todo.extend(svc.edges.iter().map(|e| e.to.as_str()));
            todo.extend(svc.depends_on.keys().map(String::as_str));
        }
    }
    Ok(start_order(stack)
        .into_iter()
        .filter(|n| wanted.contains(n.as_str()))
        .collect())
}

/// Every service, dependencies first, then file order.
pub fn start_order(stack: &Stack) -> Vec<String> {
    Graph::new(stack).waves().into_iter().flatten().collect()
}
