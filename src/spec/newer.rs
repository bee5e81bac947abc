//! Stack keys that only newer engines honour: which API version each needs,
//! and the request fields they become where the engine has it.
//!
//! The create bodies the other builders make use only fields API 1.41
//! (Docker 20.10) knows. [`container_keys`] and [`network_keys`] list the
//! keys a service or network sets beyond that, each with the version it
//! needs and where it is written, so that preflight can warn about those the
//! engine cannot honour; [`container`], [`endpoint`] and [`network`] add the
//! rest to a request when the engine's version is new enough. Versions are
//! the Docker API's version history:
//!
//! | key                                    | API  | request field                                  |
//! |----------------------------------------|------|------------------------------------------------|
//! | `annotations`                          | 1.43 | `HostConfig.Annotations`                       |
//! | `mac_address`, `networks.*.mac_address` of the network a container is created on | 1.44 | `EndpointSettings.MacAddress` (bollard has no `Config.MacAddress`) |
//! | `networks.*.mac_address` of a network it is connected to after | 1.54 | the connect's `EndpointSettings.MacAddress` (ignored before) |
//! | `healthcheck.start_interval`           | 1.44 | `Healthcheck.StartInterval`                    |
//! | `volumes[].bind.recursive` writable/readonly | 1.44 | `BindOptions.ReadOnlyNonRecursive`/`ReadOnlyForceRecursive` |
//! | `volumes[].volume.subpath`             | 1.45 | `VolumeOptions.Subpath`                        |
//! | `volumes[].type: image`                | 1.48 | a `Mount` of type `image`                      |
//! | `networks.*.gw_priority`               | 1.48 | `EndpointSettings.GwPriority`                  |
//! | `networks.<key>.enable_ipv4: false`    | 1.48 | `EnableIPv4`                                   |

use bollard::models::{
    ContainerCreateBody, EndpointSettings, Mount, MountBindOptions, MountImageOptions,
    NetworkCreateRequest,
};

use crate::model::stack::{MountType, Network, Service, Stack};
use crate::source::Span;

/// An engine API version, `major.minor` (`1.41` is Docker 20.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// The version berth's requests are written for: every field it sends
    /// unconditionally exists in it.
    pub const BASE: ApiVersion = ApiVersion(1, 41);

    /// `1.41`; None for anything else.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.trim().split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

const V1_43: ApiVersion = ApiVersion(1, 43);
const V1_44: ApiVersion = ApiVersion(1, 44);
const V1_45: ApiVersion = ApiVersion(1, 45);
const V1_48: ApiVersion = ApiVersion(1, 48);
const V1_54: ApiVersion = ApiVersion(1, 54);

/// A key set in the stack that needs a newer engine than API 1.41.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerKey {
    /// The key as written, under its service or network
    /// (`networks.back.gw_priority`, `volumes[1].volume.subpath`).
    pub key: String,
    pub needs: ApiVersion,
    /// The key's own span where the model keeps one (volumes), else the
    /// service's or network's.
    pub span: Span,
}

/// The Docker release that first speaks `api`, for the warning's advice.
pub fn docker_release(api: ApiVersion) -> &'static str {
    match api {
        ApiVersion(1, 43) => "24.0",
        ApiVersion(1, 44) => "25.0",
        ApiVersion(1, 45) => "26.0",
        ApiVersion(1, 46) => "27.0",
        ApiVersion(1, 47) => "27.2",
        ApiVersion(1, 48) => "28.0",
        ApiVersion(1, 54) => "29.2",
        _ => "a newer release",
    }
}

/// The keys of `service` that need more than API 1.41, in file order.
pub fn container_keys(stack: &Stack, service: &Service) -> Vec<NewerKey> {
    let extras = service.extras();
    let first = super::endpoints(stack, service)
        .into_iter()
        .next()
        .map(|(name, _)| name);
    let mut out = Vec::new();
    let mut at = |set: bool, key: String, needs: ApiVersion, span: Span| {
        if set {
            out.push(NewerKey { key, needs, span });
        }
    };
    let span = service.span;
    at(
        extras.annotations.as_ref().is_some_and(|a| !a.is_empty()),
        "annotations".into(),
        V1_43,
        span,
    );
    at(
        extras
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.start_interval.is_some()),
        "healthcheck.start_interval".into(),
        V1_44,
        span,
    );
    at(
        extras.mac_address.is_some(),
        "mac_address".into(),
        V1_44,
        span,
    );
    for (i, v) in service.volumes.iter().enumerate() {
        at(
            v.volume.as_ref().is_some_and(|o| o.subpath.is_some()),
            format!("volumes[{i}].volume.subpath"),
            V1_45,
            v.span,
        );
        at(
            v.bind.as_ref().and_then(|b| b.recursive.as_deref()) == Some("writable")
                || v.bind.as_ref().and_then(|b| b.recursive.as_deref()) == Some("readonly"),
            format!("volumes[{i}].bind.recursive"),
            V1_44,
            v.span,
        );
        at(
            v.kind == MountType::Image,
            format!("volumes[{i}].type: image"),
            V1_48,
            v.span,
        );
    }
    for (key, n) in &service.networks {
        let Some(n) = n else { continue };
        let at_create = stack.networks.get(key).map(|n| &n.name) == first.as_ref();
        at(
            n.mac_address.is_some(),
            format!("networks.{key}.mac_address"),
            if at_create { V1_44 } else { V1_54 },
            span,
        );
        at(
            n.gw_priority.is_some(),
            format!("networks.{key}.gw_priority"),
            V1_48,
            span,
        );
    }
    out
}

/// The keys of a network that need more than API 1.41, by their name
/// under the network. `enable_ipv4: true` is what every engine does, so only
/// `false` needs a newer one.
pub fn network_keys(network: &Network) -> Vec<NewerKey> {
    let mut out = Vec::new();
    if network.enable_ipv4 == Some(false) && !network.external {
        out.push(NewerKey {
            key: "enable_ipv4".into(),
            needs: V1_48,
            span: network.span,
        });
    }
    out
}

/// Adds to a container's create body what `service` sets and `api`
/// honours: annotations, the health check's start interval, volume subpaths,
/// read-only recursion, image mounts, and the endpoint fields of the
/// network it is created on.
pub fn container(
    body: &mut ContainerCreateBody,
    stack: &Stack,
    service: &Service,
    api: ApiVersion,
) {
    let extras = service.extras();
    if api >= V1_43
        && let Some(a) = extras.annotations.as_ref().filter(|a| !a.is_empty())
    {
        let hc = body.host_config.get_or_insert_with(Default::default);
        hc.annotations = Some(a.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    }
    if api >= V1_44
        && let (Some(hc), Some(want)) = (&mut body.healthcheck, &extras.healthcheck)
        && !want.disable
    {
        hc.start_interval = want.start_interval.map(|d| d.0);
    }
    for v in &service.volumes {
        let hc = body.host_config.get_or_insert_with(Default::default);
        if v.kind == MountType::Image {
            if api >= V1_48 {
                hc.mounts.get_or_insert_with(Vec::new).push(Mount {
                    typ: Some(bollard::models::MountType::IMAGE),
                    source: v.source.clone(),
                    target: Some(v.target.clone()),
                    read_only: v.read_only.then_some(true),
                    image_options: v.image.as_ref().and_then(|i| i.subpath.clone()).map(
                        |subpath| MountImageOptions {
                            subpath: Some(subpath),
                        },
                    ),
                    ..Default::default()
                });
            }
            continue;
        }
        let Some(m) = hc
            .mounts
            .iter_mut()
            .flatten()
            .find(|m| m.target.as_deref() == Some(v.target.as_str()))
        else {
            continue;
        };
        if api >= V1_45
            && let Some(sub) = v.volume.as_ref().and_then(|o| o.subpath.clone())
        {
            m.volume_options
                .get_or_insert_with(Default::default)
                .subpath = Some(sub);
        }
        let recursive = v.bind.as_ref().and_then(|b| b.recursive.as_deref());
        if api >= V1_44 && matches!(recursive, Some("writable" | "readonly")) {
            let b = m.bind_options.get_or_insert_with(MountBindOptions::default);
            match recursive {
                Some("writable") => b.read_only_non_recursive = Some(true),
                _ => b.read_only_force_recursive = Some(true),
            }
        }
    }
    if let Some(nc) = &mut body.networking_config
        && let Some(endpoints) = &mut nc.endpoints_config
    {
        for (name, e) in endpoints.iter_mut() {
            endpoint(e, stack, service, name, true, api);
        }
    }
}

/// Adds to the endpoint of `service` on the network named `network` (the
/// engine's name) what the stack sets and `api` honours: its MAC address
/// (the network's own, else the service's on the network it is created on)
/// and its gateway priority. `at_create`: the endpoint is sent with the
/// create, not with a connect after it.
pub fn endpoint(
    e: &mut EndpointSettings,
    stack: &Stack,
    service: &Service,
    network: &str,
    at_create: bool,
    api: ApiVersion,
) {
    let Some(key) = stack
        .networks
        .iter()
        .find(|(_, n)| n.name == network)
        .map(|(k, _)| k.as_str())
    else {
        return;
    };
    let settings = service.networks.get(key).and_then(Option::as_ref);
    if api >= if at_create { V1_44 } else { V1_54 } {
        let mac = settings.and_then(|s| s.mac_address.clone()).or_else(|| {
            at_create
                .then(|| service.extras().mac_address.clone())
                .flatten()
        });
        if mac.is_some() {
            e.mac_address = mac;
        }
    }
    if api >= V1_48
        && let Some(p) = settings.and_then(|s| s.gw_priority)
    {
        e.gw_priority = Some(p);
    }
}

/// Adds `enable_ipv4` to a network's create request when `api` honours it.
pub fn network(request: &mut NetworkCreateRequest, network: &Network, api: ApiVersion) {
    if api >= V1_48 && network.enable_ipv4.is_some() {
        request.enable_ipv4 = network.enable_ipv4;
    }
}
