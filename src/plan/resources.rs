//! The rules shared by networks and volumes: create what is missing, refuse
//! what is not the project's to take, and require an external one to exist.

use std::collections::BTreeMap;

use super::PlanError;
use crate::model::stack::{Network, Volume};
use crate::source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Network,
    Volume,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Volume => "volume",
        }
    }
}

/// A network or volume the stack declares, as these rules see it.
pub(super) struct Declared<'a> {
    pub kind: Kind,
    pub name: &'a str,
    pub external: bool,
    pub span: Span,
}

impl<'a> Declared<'a> {
    pub fn network(n: &'a Network) -> Declared<'a> {
        Declared {
            kind: Kind::Network,
            name: &n.name,
            external: n.external,
            span: n.span,
        }
    }

    pub fn volume(v: &'a Volume) -> Declared<'a> {
        Declared {
            kind: Kind::Volume,
            name: &v.name,
            external: v.external,
            span: v.span,
        }
    }
}

/// What the plan does about a declared network or volume.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    Create,
    /// Exists and may be used: external, or the project's own.
    Use,
}

/// `found` is the owner label (`io.berth.project`) of the same-named
/// resource on the engine, or None when there is none.
pub(super) fn decide(
    project: &str,
    d: &Declared,
    found: Option<Option<&str>>,
) -> Result<Verdict, PlanError> {
    let span = Some(d.span).filter(|s| *s != Span::default());
    let kind = d.kind.word();
    let name = d.name;
    match found {
        None if d.external => Err(PlanError::new(
            format!("external {kind} {name} does not exist"),
            format!(
                "create it (`docker {kind} create {name}`), or drop `external: true` to let berth create it"
            ),
            span,
        )),
        None => Ok(Verdict::Create),
        Some(_) if d.external => Ok(Verdict::Use),
        Some(Some(p)) if p == project => Ok(Verdict::Use),
        Some(owner) => {
            let help = format!(
                "declare it `external: true` to use it, or remove it (`docker {kind} rm {name}`)"
            );
            let message = match owner {
                Some(p) => format!("{kind} {name} belongs to berth project {p}, not to {project}"),
                None => {
                    format!("{kind} {name} exists and is not managed by berth (project {project})")
                }
            };
            Err(PlanError::new(message, help, span))
        }
    }
}

/// A volume of the project whose driver or options differ from the stack's:
/// an error, since replacing it would lose its data.
pub(super) fn volume_changed(
    name: &str,
    have: (&str, &BTreeMap<String, String>),
    want: (&str, &BTreeMap<String, String>),
    span: Span,
) -> Option<PlanError> {
    if have == want {
        return None;
    }
    Some(PlanError::new(
        format!(
            "volume {name} exists with driver {} and options {}, but the stack asks for driver {} and options {}",
            have.0,
            show_options(have.1),
            want.0,
            show_options(want.1)
        ),
        "berth never deletes data implicitly; run `berth down --volumes` to recreate it, or change the stack back",
        Some(span).filter(|s| *s != Span::default()),
    ))
}

fn show_options(o: &BTreeMap<String, String>) -> String {
    if o.is_empty() {
        return "{}".into();
    }
    let items: Vec<String> = o.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}
