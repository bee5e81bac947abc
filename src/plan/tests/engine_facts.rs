//! Plans that follow what the engine says it can do.

use super::*;
use crate::engine::facts::EngineFacts;
use crate::spec::newer::ApiVersion;

const WEIGHTED: &str =
    "name: io\nservices:\n  disk:\n    image: disk\n    blkio_config:\n      weight: 300\n";

/// `WEIGHTED` up, on an engine that kept `kept` as the weight, which says
/// `supported` about weights.
fn plan_with(kept: u16, supported: Option<bool>) -> Plan {
    let s = stack(WEIGHTED);
    let mut o = converged(&s);
    o.containers[0].limits.blkio_weight = kept;
    o.engine = EngineFacts {
        blkio_weight: supported,
        ..EngineFacts::default()
    };
    up(&s, &o)
}

#[test]
fn a_blkio_weight_the_engine_cannot_keep_is_not_asked_for_again() {
    assert_eq!(plan_with(0, Some(false)).to_string(), "no changes\n");
}

#[test]
fn a_blkio_weight_the_engine_keeps_is_updated_in_place_when_missing() {
    assert_eq!(
        plan_with(0, Some(true)).to_string(),
        "update io-disk-1 in place: blkio_weight unset -> 300\n"
    );
    assert_eq!(plan_with(300, Some(true)).to_string(), "no changes\n");
    assert_eq!(
        plan_with(200, Some(true)).to_string(),
        "update io-disk-1 in place: blkio_weight 200 -> 300\n"
    );
}

#[test]
fn without_the_engine_s_answer_a_weight_not_kept_is_taken_as_discarded() {
    assert_eq!(plan_with(0, None).to_string(), "no changes\n");
    assert_eq!(
        plan_with(200, None).to_string(),
        "update io-disk-1 in place: blkio_weight 200 -> 300\n"
    );
}

const NEWER: &str = r#"
name: nk
services:
  app:
    image: app
    mac_address: "02:42:ac:11:00:99"
    annotations: {a: b}
    healthcheck:
      test: ["CMD", "true"]
      start_interval: 2s
    volumes:
      - {type: volume, source: v, target: /v, volume: {subpath: sub}}
      - {type: bind, source: /tmp, target: /t, read_only: true, bind: {recursive: readonly}}
    networks:
      front: {gw_priority: 2, priority: 10}
      back: {mac_address: "02:42:ac:11:00:98"}
networks:
  front: {enable_ipv4: false}
  back: {}
volumes:
  v: {}
"#;

fn plan_on(api: Option<ApiVersion>) -> Plan {
    let s = stack(NEWER);
    let o = Observed {
        engine: EngineFacts {
            api,
            ..EngineFacts::default()
        },
        ..Observed::default()
    };
    up(&s, &o)
}

/// The create body, the front network's request and the back network's
/// connect endpoint of `plan`.
fn requests(
    plan: &Plan,
) -> (
    bollard::models::ContainerCreateBody,
    bollard::models::NetworkCreateRequest,
    bollard::models::EndpointSettings,
) {
    let mut body = None;
    let mut net = None;
    let mut connect = None;
    for st in &plan.steps {
        match &st.action {
            Action::CreateContainer { request, .. } => body = Some((**request).clone()),
            Action::CreateNetwork { name, request } if name == "nk_front" => {
                net = Some((**request).clone())
            }
            Action::Connect { endpoint, .. } => connect = Some((**endpoint).clone()),
            _ => {}
        }
    }
    (body.unwrap(), net.unwrap(), connect.unwrap())
}

#[test]
fn an_engine_new_enough_gets_the_newer_keys_passed_through() {
    let (body, net, back) = requests(&plan_on(Some(ApiVersion(1, 54))));
    let hc = body.host_config.as_ref().unwrap();
    assert_eq!(hc.annotations.as_ref().unwrap()["a"], "b");
    assert_eq!(
        body.healthcheck.as_ref().unwrap().start_interval,
        Some(2_000_000_000)
    );
    let mounts = hc.mounts.as_ref().unwrap();
    let v = mounts
        .iter()
        .find(|m| m.target.as_deref() == Some("/v"))
        .unwrap();
    assert_eq!(
        v.volume_options.as_ref().unwrap().subpath.as_deref(),
        Some("sub")
    );
    let t = mounts
        .iter()
        .find(|m| m.target.as_deref() == Some("/t"))
        .unwrap();
    assert_eq!(
        t.bind_options.as_ref().unwrap().read_only_force_recursive,
        Some(true)
    );
    // Created on front (the first network): the service's MAC and the
    // gateway priority; back is connected after, with its own MAC.
    let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
    let front = &endpoints["nk_front"];
    assert_eq!(front.mac_address.as_deref(), Some("02:42:ac:11:00:99"));
    assert_eq!(front.gw_priority, Some(2));
    assert_eq!(back.mac_address.as_deref(), Some("02:42:ac:11:00:98"));
    assert_eq!(net.enable_ipv4, Some(false));
}

#[test]
fn an_engine_between_gets_only_what_its_version_has() {
    let (body, net, back) = requests(&plan_on(Some(ApiVersion(1, 44))));
    assert!(
        body.host_config.as_ref().unwrap().annotations.is_some(),
        "1.43"
    );
    let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
    assert!(
        endpoints["nk_front"].mac_address.is_some(),
        "1.44 at create"
    );
    assert_eq!(endpoints["nk_front"].gw_priority, None, "1.48");
    assert_eq!(back.mac_address, None, "a connect's MAC needs 1.54");
    assert_eq!(net.enable_ipv4, None, "1.48");
}

#[test]
fn an_api_1_41_engine_or_an_unknown_one_gets_none_of_them() {
    for api in [Some(ApiVersion(1, 41)), None] {
        let (body, net, back) = requests(&plan_on(api));
        let hc = body.host_config.as_ref().unwrap();
        assert_eq!(hc.annotations, None);
        assert_eq!(body.healthcheck.as_ref().unwrap().start_interval, None);
        assert!(hc.mounts.iter().flatten().all(|m| {
            m.volume_options
                .as_ref()
                .is_none_or(|o| o.subpath.is_none())
                && m.bind_options
                    .as_ref()
                    .is_none_or(|b| b.read_only_force_recursive.is_none())
        }));
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(endpoints["nk_front"].mac_address, None);
        assert_eq!(endpoints["nk_front"].gw_priority, None);
        assert_eq!(back.mac_address, None);
        assert_eq!(net.enable_ipv4, None);
    }
}

const PODMAN: &str = "name: pm\nservices:\n  app:\n    image: app\n    cpus: 0.5\n  \
                      idle:\n    image: idle\nnetworks:\n  default: {}\n";

/// `PODMAN` converged, as podman 4.3 reads it back: `cpus` as `NanoCpus`
/// and as a quota per period, its own pids limit where the stack sets
/// none, and its IPAM plugin among the network's IPAM options.
fn on_podman(s: &Stack) -> Observed {
    let mut o = converged(s);
    o.engine = EngineFacts {
        podman: true,
        ..EngineFacts::default()
    };
    for c in &mut o.containers {
        c.limits.pids_limit = 2048;
        if c.name == "pm-app-1" {
            c.limits.cpu_quota = 50_000;
            c.limits.cpu_period = 100_000;
        }
    }
    for n in &mut o.networks {
        n.settings
            .ipam_options
            .insert("driver".into(), "host-local".into());
    }
    o
}

#[test]
fn a_stack_converged_on_podman_plans_nothing() {
    let s = stack(PODMAN);
    assert_eq!(up(&s, &on_podman(&s)).to_string(), "no changes\n");
}

#[test]
fn on_podman_changed_limits_recreate_because_it_has_no_update() {
    let s = stack(PODMAN);
    let mut o = on_podman(&s);
    o.containers[0].limits.cpu_quota = 20_000;
    o.containers[0].limits.nano_cpus = 200_000_000;
    let text = up(&s, &o).to_string();
    assert!(
        text.contains(
            "create container pm-app-1: recreate: cpus 0.2 -> 0.5: the engine cannot change \
             limits in place (podman has no `docker update`)"
        ),
        "{text}"
    );
    assert!(!text.contains("update pm-app-1"), "{text}");
}

const BOUND: &str = "name: rb\nservices:\n  web:\n    image: web\n    volumes:\n      - /srv/rb/site:/site:ro\n      - {type: bind, source: /srv/rb/fixed, target: /fixed, bind: {create_host_path: false}}\n      - data:/data\nvolumes:\n  data: {}\n";

/// `BOUND` up from nothing, on an engine on `remote` (None: this
/// machine), with its bind sources missing here.
fn bound_on(remote: Option<&str>) -> Plan {
    let s = stack(BOUND);
    let mut o = Observed {
        engine: EngineFacts {
            remote: remote.map(str::to_string),
            ..EngineFacts::default()
        },
        ..Observed::default()
    };
    if remote.is_none() {
        o.missing_dirs.insert("/srv/rb/site".into());
    }
    up(&s, &o)
}

/// The host config of the plan's (one) container create.
fn created_host_config(plan: &Plan) -> bollard::models::HostConfig {
    plan.steps
        .iter()
        .find_map(|s| match &s.action {
            Action::CreateContainer { request, .. } => request.host_config.clone(),
            _ => None,
        })
        .expect("a create")
}

#[test]
fn on_a_remote_engine_the_engine_creates_bind_sources_and_the_plan_says_where_they_are() {
    let plan = bound_on(Some("server"));
    assert!(
        !plan.to_string().contains("create directory"),
        "berth makes no directory here for another host: {plan}"
    );
    let hc = created_host_config(&plan);
    // The one berth may create goes the old way, which makes it there.
    assert_eq!(hc.binds, Some(vec!["/srv/rb/site:/site:ro".to_string()]));
    // One that must exist, and the volume, stay mounts.
    let mounts: Vec<String> = hc
        .mounts
        .iter()
        .flatten()
        .filter_map(|m| m.target.clone())
        .collect();
    assert_eq!(mounts, ["/fixed", "/data"]);
    assert_eq!(
        plan.warnings,
        [
            "bind sources are paths on server, the engine's host, not on this machine: \
          /srv/rb/fixed (web), /srv/rb/site (web); the engine creates a missing one there, \
          owned by root"
        ]
    );
}

#[test]
fn on_this_machine_bind_sources_stay_mounts_made_by_berth_and_nothing_is_said() {
    let plan = bound_on(None);
    assert!(
        plan.to_string().contains("create directory /srv/rb/site"),
        "{plan}"
    );
    let hc = created_host_config(&plan);
    assert_eq!(hc.binds, None);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}
