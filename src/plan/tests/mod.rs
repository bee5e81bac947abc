//! Unit tests of the planner: pure functions of a stack, an observed
//! snapshot and options, checked by their exact text and `after` edges.
//! Shared fixtures live here; each command has its own file.

use super::*;
use crate::identity::{self, aliases, image_ref};
use crate::limits::Limits;
use crate::model::stack::Stack;
use crate::observe::{ContainerState, NetworkState, Observed, Status, VolumeState};
use crate::testutil::stack;

mod copies;
mod down;
mod engine_facts;
mod images;
mod lifecycle;
mod rollout;
mod rules;
mod swarm;
mod text;
mod up;
mod up_shared;

/// The 3-tier lab: frontend -> backend -> mongodb (healthy).
const THREE_TIER: &str = r#"
name: gb
services:
  frontend:
    image: gb/frontend
    ports: ["8080:80"]
    depends_on: [backend]
    networks: [devapp-net]
  backend:
    image: gb/backend
    cpus: 0.5
    mem_limit: 200m
    depends_on:
      mongodb: {condition: service_healthy}
    networks: [devapp-net]
  mongodb:
    image: gb/mongo
    volumes: [mongo-data:/data/db]
    networks: [devapp-net]
    healthcheck:
      test: ["CMD", "true"]
networks:
  devapp-net: {}
volumes:
  mongo-data: {}
"#;

/// A stack in which `hub` depends on three bases and `n` leaves depend on
/// it: a wide fan-in and fan-out.
fn fan(project: &str, n: usize) -> String {
    let mut text = format!(
        "name: {project}\nservices:\n  hub:\n    image: x\n    depends_on: [base0, base1, base2]\n"
    );
    for i in 0..3 {
        text += &format!("  base{i}:\n    image: x\n");
    }
    for i in 0..n {
        text += &format!("  leaf{i}:\n    image: x\n    depends_on: [hub]\n");
    }
    text
}

fn image_id(image: &str) -> String {
    format!("sha256:{image}")
}

/// A container just as `up` would have left it for this stack: running,
/// labelled, with the limits and aliases the engine reports.
fn container(stack: &Stack, service: &str, number: u32) -> ContainerState {
    let svc = &stack.services[service];
    let name = identity::container_name(stack, svc, number);
    let id = format!("{:0<64}", name.replace(['-', '_'], ""));
    let mut limits = Limits::of(svc);
    if limits.memory > 0 && limits.memory_swap == 0 {
        limits.memory_swap = 2 * limits.memory;
    }
    let networks = svc
        .networks
        .keys()
        .map(|k| {
            let mut a = aliases(svc, k);
            a.push(id[..12].to_string());
            (stack.networks[k].name.clone(), a)
        })
        .collect();
    ContainerState {
        id,
        name,
        project: Some(stack.name.clone()),
        service: Some(service.into()),
        number: Some(number),
        config_hash: Some(identity::config_hash(svc)),
        config: Some(identity::recreate_config(svc)),
        status: Status::Running,
        health: None,
        exit_code: None,
        image_id: image_id(&image_ref(stack, svc)),
        limits,
        networks,
        ports: Vec::new(),
        created: String::new(),
        // The engine keeps the id of the container whose namespace it joins.
        network_mode: svc.extras().network_mode.as_deref().map(|m| {
            match m.strip_prefix("service:") {
                Some(x) => {
                    let first = identity::container_name(stack, &stack.services[x], 1);
                    format!("container:{:0<64}", first.replace(['-', '_'], ""))
                }
                None => m.to_string(),
            }
        }),
        // A start-first service's edge publishes its ports instead.
        publishes: !svc.ports.is_empty() && !crate::spec::needs_edge(svc),
        edge: None,
    }
}

/// Network `key` as the engine reports it after berth created it for
/// `stack`: what the create sent, with the engine's defaults and the
/// address pool it picks when the stack names none.
fn network_as_created(stack: &Stack, key: &str) -> NetworkState {
    let r = crate::spec::network(stack, key).unwrap();
    let sorted = |m: Option<std::collections::HashMap<String, String>>| {
        m.unwrap_or_default().into_iter().collect()
    };
    let ipam = r.ipam.clone().unwrap_or_default();
    let mut pools: Vec<crate::observe::IpamPoolState> = ipam
        .config
        .unwrap_or_default()
        .into_iter()
        .map(|p| crate::observe::IpamPoolState {
            gateway: p.gateway.or_else(|| Some("10.9.0.1".into())),
            subnet: p.subnet,
            ip_range: p.ip_range,
            aux_addresses: sorted(p.auxiliary_addresses),
        })
        .collect();
    if pools.is_empty() {
        pools.push(crate::observe::IpamPoolState {
            subnet: Some("172.18.0.0/16".into()),
            gateway: Some("172.18.0.1".into()),
            ..Default::default()
        });
    }
    NetworkState {
        id: format!("net-{key}"),
        name: r.name.clone(),
        project: Some(stack.name.clone()),
        key: Some(key.to_string()),
        driver: r.driver.clone().unwrap_or_default(),
        internal: r.internal.unwrap_or(false),
        scope: "local".into(),
        containers: Vec::new(),
        settings: crate::observe::NetworkSettings {
            options: sorted(r.options),
            ipam_driver: ipam.driver.unwrap_or_else(|| "default".into()),
            ipam_options: sorted(ipam.options),
            ipam_config: pools,
            attachable: r.attachable.unwrap_or(false),
            enable_ipv6: r.enable_ipv6.unwrap_or(false),
            labels: sorted(r.labels),
        },
    }
}

/// What the engine has after a successful `up` of `stack`.
fn converged(stack: &Stack) -> Observed {
    let mut o = Observed::default();
    for (key, n) in &stack.networks {
        let mut net = network_as_created(stack, key);
        if n.external {
            net.project = None;
        }
        o.networks.push(net);
    }
    for (key, v) in &stack.volumes {
        o.volumes.push(VolumeState {
            name: v.name.clone(),
            project: (!v.external).then(|| stack.name.clone()),
            key: Some(key.clone()),
            driver: v.driver.clone().unwrap_or_else(|| "local".into()),
            options: v
                .driver_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }
    for (name, svc) in &stack.services {
        let image = image_ref(stack, svc);
        o.images.insert(image.clone(), Some(image_id(&image)));
        for n in 1..=identity::replicas(svc) {
            o.containers.push(container(stack, name, n));
        }
    }
    o
}

fn up(stack: &Stack, observed: &Observed) -> Plan {
    plan_up(stack, observed, &UpOptions::default()).unwrap()
}

fn step(plan: &Plan, text: &str) -> StepId {
    plan.steps
        .iter()
        .position(|s| s.to_string() == text)
        .unwrap_or_else(|| panic!("no step {text:?} in\n{plan}"))
}

fn after(plan: &Plan, text: &str) -> Vec<String> {
    plan.steps[step(plan, text)]
        .after
        .iter()
        .map(|&i| plan.steps[i].to_string())
        .collect()
}
