//! Identity and ownership: how berth names what it creates and recognises it
//! again.
//!
//! Every network, volume and container berth creates carries labels in berth's
//! own namespace (project, service, container number, config hash, version).
//! berth only ever changes or removes resources that carry its project label.
//! The config hash covers what forces a recreate; what `docker update` or a
//! network connect can change in place is left out of it, so that such a
//! change does not look like a new configuration.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::stack::{Service, Stack};

/// The prefix of every label berth sets.
pub const NAMESPACE: &str = "io.berth.";
pub const PROJECT: &str = "io.berth.project";
pub const SERVICE: &str = "io.berth.service";
pub const NUMBER: &str = "io.berth.number";
pub const CONFIG_HASH: &str = "io.berth.config-hash";
/// The health check berth sent a swarm service, as JSON. The engine answers
/// `Healthcheck` where bollard reads `HealthCheck`, so a service read back
/// through bollard never has one; observe puts this one in its place.
pub const HEALTHCHECK: &str = "io.berth.healthcheck";
/// The recreate-relevant configuration itself (compact JSON), so that a plan
/// can say which keys changed, not only that something did.
pub const CONFIG: &str = "io.berth.config";
pub const VERSION: &str = "io.berth.version";
/// On networks and volumes: their key in the stack file.
pub const NETWORK: &str = "io.berth.network";
pub const VOLUME: &str = "io.berth.volume";
/// On Swarm secrets and configs: their key in the stack file.
pub const OBJECT: &str = "io.berth.object";
/// The label `docker stack` finds a stack's services, networks and volumes
/// by (berth puts it on what it deploys to a swarm, as `docker stack` does).
pub const STACK_NAMESPACE: &str = "com.docker.stack.namespace";
/// On a Swarm service's container spec (so on its tasks' containers too):
/// the local id of the image its tag named when berth deployed it, so that
/// an image rebuilt under the same tag changes the spec and rolls the tasks.
pub const IMAGE_ID: &str = "io.berth.image-id";
/// On a service's edge container (`crate::edge`): the service whose ports it
/// holds. The edge carries that service's label too (so `down`, `ps` and
/// `logs` take it with the service) but no container number: it is not a
/// replica.
pub const EDGE: &str = "io.berth.edge";
/// On an edge in the host's network namespace: what it listens on, as the
/// container list would show published ports (JSON `[[ip, port, target]]`),
/// for `ps`: the engine lists no ports for a container on the host network.
pub const EDGE_PORTS: &str = "io.berth.edge.ports";

pub const BERTH_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Keys of a service that berth changes in place (`docker update`, network
/// connect) or that do not describe the container at all.
const NOT_HASHED: &[&str] = &[
    "cpu_shares",
    "cpus",
    "cpuset",
    "cpu_quota",
    "cpu_period",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "blkio_config",
    "pids_limit",
    "restart",
    "networks",
    "depends_on",
    "scale",
    "deploy",
    "profiles",
    "pull_policy",
    "build",
    // What `berth watch` does; nothing of the container.
    "develop",
];

/// The part of a service whose change means a new container, as JSON.
pub fn recreate_config(service: &Service) -> Value {
    let extras = service.extras();
    let mut v = serde_json::to_value(service).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        // `shift_remove`: with serde_json's `preserve_order`, `remove` is a
        // swap remove, which moves the last key into the hole, so whether
        // a key that is not hashed was set (`cpus`, `pull_policy`, a
        // `build`) would change the order of the rest, and the hash with it.
        for k in NOT_HASHED {
            o.shift_remove(*k);
        }
        o.retain(|_, v| !v.is_null());
        // The content copied into the container is part of it: by its
        // sha256, so that the label never holds a secret.
        for (key, refs) in [("secrets", &extras.secrets), ("configs", &extras.configs)] {
            if let Some(Value::Array(items)) = o.get_mut(key) {
                for (item, r) in items.iter_mut().zip(refs) {
                    if let (Value::Object(m), Some(d)) = (item, &r.digest) {
                        m.insert("content_sha256".into(), Value::String(d.clone()));
                    }
                }
            }
        }
    }
    v
}

/// sha256 over the canonical JSON of [`recreate_config`].
pub fn config_hash(service: &Service) -> String {
    // Not `hash_json`: the model's maps keep file order, and the labels of
    // existing containers hold this exact form; sorting would recreate them.
    let text = serde_json::to_string(&recreate_config(service)).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keys whose values differ between two [`recreate_config`]s, sorted.
pub fn changed_keys(old: &Value, new: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let a = old.as_object().unwrap_or(&empty);
    let b = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `<project>-<service>-<n>`, or the service's `container_name`.
pub fn container_name(stack: &Stack, service: &Service, number: u32) -> String {
    match &service.container_name {
        Some(n) => n.clone(),
        None => format!("{}-{}-{number}", stack.name, service.name),
    }
}

/// How many containers a service runs: `scale`, else `deploy.replicas`, else 1.
pub fn replicas(service: &Service) -> u32 {
    let extras = service.extras();
    extras
        .scale
        .or(extras.deploy.as_ref().and_then(|d| d.replicas))
        .unwrap_or(1)
        .max(0) as u32
}

/// The aliases a service's containers carry on one of its networks: the
/// service name, then the aliases the stack gives. Creating a container and
/// connecting one must use the same list, or every `up` would reconnect.
pub fn aliases(service: &Service, network_key: &str) -> Vec<String> {
    let mut out = vec![service.name.clone()];
    if let Some(Some(n)) = service.networks.get(network_key) {
        for a in &n.aliases {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
    }
    out
}

/// The image reference a service's containers run: `image`, else the name
/// compose gives a built image (`<project>-<service>`).
pub fn image_ref(stack: &Stack, service: &Service) -> String {
    match &service.image {
        Some(i) => i.clone(),
        None => format!("{}-{}", stack.name, service.name),
    }
}

/// The name an old container is parked under while its replacement is
/// created under its own name: `<short id>_<name>`, as compose does.
pub fn parked_name(id: &str, name: &str) -> String {
    let short: String = id.chars().take(12).collect();
    format!("{short}_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_networks_do_not_change_the_hash() {
        let a = Service {
            name: "web".into(),
            image: Some("nginx".into()),
            ..Service::default()
        };
        let mut b = a.clone();
        b.extras_mut().cpus = Some(0.5);
        b.extras_mut().restart = Some(crate::model::stack::Restart::Always);
        b.networks.insert("front".into(), None);
        assert_eq!(config_hash(&a), config_hash(&b));
        let mut c = a.clone();
        c.image = Some("nginx:2".into());
        assert_ne!(config_hash(&a), config_hash(&c));
        assert_eq!(
            changed_keys(&recreate_config(&a), &recreate_config(&c)),
            vec!["image"]
        );
    }

    /// Setting a key that is not hashed keeps the order of the rest: the
    /// hash of a service with a command, an environment and ports is the
    /// same with and without `cpus`, `pull_policy` or `build`.
    #[test]
    fn setting_a_key_that_is_not_hashed_keeps_the_hash() {
        let a = crate::testutil::stack(
            "name: app\nservices:\n  web:\n    image: web:1\n    command: [serve]\n    \
             environment: {A: '1'}\n    ports: ['8080:80']\n    labels: {x: y}\n",
        )
        .services["web"]
            .clone();
        let mut b = a.clone();
        b.extras_mut().cpus = Some(0.5);
        b.extras_mut().pull_policy = Some(crate::model::stack::PullPolicy::Missing);
        b.extras_mut().build = Some(Box::default());
        assert_eq!(
            serde_json::to_string(&recreate_config(&a)).unwrap(),
            serde_json::to_string(&recreate_config(&b)).unwrap()
        );
        assert_eq!(config_hash(&a), config_hash(&b));
    }
}
