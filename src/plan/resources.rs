//! The rules shared by networks and volumes: create what is missing, refuse
//! what is not the project's to take, and require an external one to exist;
//! and what a network of the project's whose settings changed differs in.

use std::collections::BTreeMap;

use super::PlanError;
use crate::identity;
use crate::model::Map;
use crate::model::stack::{Network, Volume};
use crate::observe::{IpamPoolState, NetworkState};
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

/// What differs between the project's network on the engine and the one the
/// stack describes, as `field old -> new`; empty when nothing does. Only what
/// a create sets is compared, and only what the stack can say: address pools
/// the engine picked because the stack named none are the engine's business,
/// as is a gateway the stack leaves out. berth's own labels are left out.
pub(super) fn network_changes(want: &Network, have: &NetworkState) -> Vec<String> {
    let s = &have.settings;
    let mut out = Vec::new();
    let mut differs = |field: &str, old: String, new: String| {
        if old != new {
            out.push(format!("{field} {old} -> {new}"));
        }
    };
    let driver = want.driver.as_deref().unwrap_or("bridge");
    differs("driver", have.driver.clone(), driver.to_string());
    let mut options = s.options.clone();
    for key in ENGINE_OPTIONS {
        if !want.driver_opts.contains_key(*key) {
            options.remove(*key);
        }
    }
    differs(
        "driver_opts",
        show_options(&options),
        show_options(&sorted(&want.driver_opts)),
    );
    differs(
        "internal",
        have.internal.to_string(),
        want.internal.to_string(),
    );
    differs(
        "attachable",
        s.attachable.to_string(),
        want.attachable.to_string(),
    );
    differs(
        "enable_ipv6",
        s.enable_ipv6.to_string(),
        want.enable_ipv6.unwrap_or(false).to_string(),
    );
    let ipam = &want.ipam;
    differs(
        "ipam.driver",
        s.ipam_driver.clone(),
        ipam.driver.clone().unwrap_or_else(|| "default".into()),
    );
    let mut ipam_options = s.ipam_options.clone();
    for key in ENGINE_IPAM_OPTIONS {
        if !ipam.options.contains_key(*key) {
            ipam_options.remove(*key);
        }
    }
    differs(
        "ipam.options",
        show_options(&ipam_options),
        show_options(&sorted(&ipam.options)),
    );
    if !ipam.config.is_empty() {
        let mut wanted: Vec<IpamPoolState> = ipam
            .config
            .iter()
            .map(|p| IpamPoolState {
                subnet: p.subnet.clone(),
                ip_range: p.ip_range.clone(),
                gateway: p.gateway.clone(),
                aux_addresses: sorted(&p.aux_addresses),
            })
            .collect();
        wanted.sort();
        // A pool that names no gateway gets one from the engine.
        let mut had = s.ipam_config.clone();
        for h in &mut had {
            let named = wanted
                .iter()
                .any(|w| w.subnet == h.subnet && w.gateway.is_some());
            if !named {
                h.gateway = None;
            }
        }
        had.sort();
        differs("ipam.config", show_pools(&had), show_pools(&wanted));
    }
    let labels: BTreeMap<String, String> = s
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with(identity::NAMESPACE))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    differs(
        "labels",
        show_options(&labels),
        show_options(&sorted(&want.labels)),
    );
    out
}

/// Driver options the engine adds to a network of its own accord.
const ENGINE_OPTIONS: &[&str] = &["com.docker.network.driver.overlay.vxlanid_list"];

/// IPAM options the engine adds of its own accord: podman names its IPAM
/// plugin (`driver=host-local`).
const ENGINE_IPAM_OPTIONS: &[&str] = &["driver"];

fn sorted(m: &Map<String>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn show_pools(pools: &[IpamPoolState]) -> String {
    let items: Vec<String> = pools
        .iter()
        .map(|p| {
            let mut parts = Vec::new();
            let fields = [
                ("subnet", &p.subnet),
                ("ip_range", &p.ip_range),
                ("gateway", &p.gateway),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    parts.push(format!("{k}={v}"));
                }
            }
            if !p.aux_addresses.is_empty() {
                parts.push(format!("aux_addresses={}", show_options(&p.aux_addresses)));
            }
            parts.join(" ")
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// A swarm-scoped network of the project whose settings changed: the
/// swarm's services on other nodes may use it, which this node cannot see.
pub(super) fn swarm_network_changed(name: &str, changes: &[String], span: Span) -> PlanError {
    PlanError::new(
        format!(
            "network {name} must be recreated ({}), but it is a swarm network, which services on other nodes may use",
            changes.join(", ")
        ),
        format!(
            "remove it once nothing uses it (`docker network rm {name}`) and run the command again, \
             or change the network's settings in the stack back"
        ),
        Some(span).filter(|s| *s != Span::default()),
    )
}

/// A network of the project whose settings changed but that containers
/// outside the project use: replacing it would cut them off, so nothing
/// is changed.
pub(super) fn network_in_use(
    project: &str,
    name: &str,
    changes: &[String],
    foreign: &[&str],
    span: Span,
) -> PlanError {
    let first = foreign.first().copied().unwrap_or("CONTAINER");
    PlanError::new(
        format!(
            "network {name} must be recreated ({}), but containers outside project {project} use it: {}",
            changes.join(", "),
            foreign.join(", ")
        ),
        format!(
            "disconnect them (`docker network disconnect {name} {first}`) and run the command again, \
             or change the network's settings in the stack back"
        ),
        Some(span).filter(|s| *s != Span::default()),
    )
}
