//! Images that only this swarm node has: which service images the other
//! nodes that may run its tasks cannot pull.
//!
//! Swarm starts a task on whichever node fits the service's placement, and
//! that node pulls the image from a registry. An image that was built or
//! tagged on the node berth talks to and never pushed (it has no registry
//! digest, `RepoDigests` is empty) is on that node only: its tasks fail
//! elsewhere with `No such image`, and Swarm keeps retrying them. `up
//! --swarm` and `plan --swarm` warn about each such image before the deploy,
//! naming the services that use it and the nodes that cannot pull it.
//!
//! A pure function of the nodes, the local images and the specs, like the
//! rest of `plan`; the swarm target gathers the facts (`converge::swarm_facts`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{Node, NodeSpecAvailabilityEnum, NodeSpecRoleEnum, NodeState, ServiceSpec};
use indexmap::IndexMap;

/// What placement can ask about one node, from `docker node inspect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFacts {
    pub id: String,
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    pub labels: HashMap<String, String>,
    pub engine_labels: HashMap<String, String>,
    pub os: String,
    pub arch: String,
    /// Ready and active: Swarm places new tasks on it.
    pub schedulable: bool,
}

impl NodeFacts {
    pub fn of(node: &Node) -> NodeFacts {
        let spec = node.spec.clone().unwrap_or_default();
        let desc = node.description.clone().unwrap_or_default();
        let platform = desc.platform.unwrap_or_default();
        let ready = node.status.as_ref().and_then(|s| s.state) == Some(NodeState::READY);
        let active = matches!(
            spec.availability,
            Some(NodeSpecAvailabilityEnum::ACTIVE) | None
        );
        NodeFacts {
            id: node.id.clone().unwrap_or_default(),
            hostname: desc.hostname.unwrap_or_default(),
            role: match spec.role {
                Some(NodeSpecRoleEnum::MANAGER) => "manager",
                _ => "worker",
            }
            .to_string(),
            labels: spec.labels.unwrap_or_default(),
            engine_labels: desc.engine.and_then(|e| e.labels).unwrap_or_default(),
            os: platform.os.unwrap_or_default(),
            arch: platform.architecture.unwrap_or_default(),
            schedulable: ready && active,
        }
    }
}

/// One image that only this node has, and who cannot run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOnlyImage {
    pub image: String,
    /// The services (keys in the stack file) that run it, in file order.
    pub services: Vec<String>,
    /// Hostnames of the other nodes that may run those services' tasks.
    pub nodes: Vec<String>,
}

impl LocalOnlyImage {
    /// The warning's one sentence.
    pub fn message(&self, this_node: &str) -> String {
        let (s, them) = if self.services.len() == 1 {
            ("service", "its")
        } else {
            ("services", "their")
        };
        let n = if self.nodes.len() == 1 {
            "node"
        } else {
            "nodes"
        };
        format!(
            "image `{}` of {s} {} is only on this node ({this_node}): it has no registry digest, \
             so {n} {} cannot pull it, and {them} tasks there fail with `No such image` \
             unless it was loaded there by hand",
            self.image,
            self.services.join(", "),
            self.nodes.join(", "),
        )
    }

    pub fn help(&self) -> String {
        format!(
            "push it to a registry and name that reference in `image:` (e.g. \
             `registry.example:5000/{}`); see docs/swarm.md, \"Images: a registry\"",
            self.image
                .rsplit('/')
                .next()
                .unwrap_or(&self.image)
                .split('@')
                .next()
                .unwrap_or_default()
        )
    }
}

/// The images in `services` that this node (`this_node`, an id) has with no
/// registry digest, each with the other schedulable nodes that its services'
/// placement constraints allow. `local` maps an image reference to its
/// `RepoDigests` on this node; a reference not in it is not on this node
/// (every node pulls it alike, so it is no concern here).
pub fn local_only_images(
    nodes: &[NodeFacts],
    this_node: &str,
    services: &IndexMap<String, ServiceSpec>,
    local: &BTreeMap<String, Vec<String>>,
) -> Vec<LocalOnlyImage> {
    let mut out: Vec<LocalOnlyImage> = Vec::new();
    for (key, spec) in services {
        let task = spec.task_template.clone().unwrap_or_default();
        let Some(image) = task.container_spec.and_then(|c| c.image) else {
            continue;
        };
        // A digest reference names what a registry serves.
        if image.contains('@') || !local.get(&image).is_some_and(Vec::is_empty) {
            continue;
        }
        let constraints = task
            .placement
            .and_then(|p| p.constraints)
            .unwrap_or_default();
        let others: BTreeSet<&str> = nodes
            .iter()
            .filter(|n| n.id != this_node && n.schedulable)
            .filter(|n| constraints.iter().all(|c| may_match(c, n)))
            .map(|n| n.hostname.as_str())
            .collect();
        if others.is_empty() {
            continue;
        }
        match out.iter_mut().find(|w| w.image == image) {
            Some(w) => {
                w.services.push(key.clone());
                for n in others {
                    if !w.nodes.iter().any(|m| m == n) {
                        w.nodes.push(n.to_string());
                    }
                }
                w.nodes.sort();
            }
            None => out.push(LocalOnlyImage {
                image,
                services: vec![key.clone()],
                nodes: others.into_iter().map(String::from).collect(),
            }),
        }
    }
    out
}

/// Whether placement constraint `c` (`key == value` or `key != value`) may
/// hold on `node`. Values compare without case, as Swarm compares them; a
/// key this function does not know may hold (the warning then errs on the
/// side of naming the node).
fn may_match(c: &str, node: &NodeFacts) -> bool {
    let (key, equal, value) = match (c.split_once("=="), c.split_once("!=")) {
        (Some((k, v)), _) => (k, true, v),
        (None, Some((k, v))) => (k, false, v),
        (None, None) => return true,
    };
    let (key, value) = (key.trim(), value.trim());
    let actual: Option<&str> = match key {
        "node.id" => Some(&node.id),
        "node.hostname" => Some(&node.hostname),
        "node.role" => Some(&node.role),
        "node.platform.os" => Some(&node.os),
        "node.platform.arch" => Some(&node.arch),
        _ => {
            if let Some(label) = key.strip_prefix("node.labels.") {
                node.labels.get(label).map(String::as_str)
            } else if let Some(label) = key.strip_prefix("engine.labels.") {
                node.engine_labels.get(label).map(String::as_str)
            } else {
                return true;
            }
        }
    };
    // A label the node lacks equals no value.
    let same = actual.is_some_and(|a| a.eq_ignore_ascii_case(value));
    same == equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement};

    fn node(id: &str, host: &str, role: &str) -> NodeFacts {
        NodeFacts {
            id: id.into(),
            hostname: host.into(),
            role: role.into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            schedulable: true,
            ..NodeFacts::default()
        }
    }

    fn spec(image: &str, constraints: &[&str]) -> ServiceSpec {
        ServiceSpec {
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(image.into()),
                    ..Default::default()
                }),
                placement: (!constraints.is_empty()).then(|| TaskSpecPlacement {
                    constraints: Some(constraints.iter().map(|c| c.to_string()).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn services(list: &[(&str, ServiceSpec)]) -> IndexMap<String, ServiceSpec> {
        list.iter()
            .map(|(k, s)| (k.to_string(), s.clone()))
            .collect()
    }

    /// `app:1` built here (no digest), `redis:7` pulled (a digest).
    fn local() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("app:1".to_string(), vec![]),
            ("redis:7".to_string(), vec!["redis@sha256:0123".to_string()]),
        ])
    }

    fn three() -> Vec<NodeFacts> {
        let mut w2 = node("w2", "node-3", "worker");
        w2.labels.insert("db".into(), "true".into());
        vec![
            node("m1", "node-1", "manager"),
            node("w1", "node-2", "worker"),
            w2,
        ]
    }

    #[test]
    fn an_image_built_here_is_named_with_its_services_and_the_other_nodes() {
        let specs = services(&[
            ("web", spec("app:1", &[])),
            ("cache", spec("redis:7", &[])),
            ("worker", spec("app:1", &[])),
        ]);
        let found = local_only_images(&three(), "m1", &specs, &local());
        assert_eq!(
            found,
            vec![LocalOnlyImage {
                image: "app:1".into(),
                services: vec!["web".into(), "worker".into()],
                nodes: vec!["node-2".into(), "node-3".into()],
            }]
        );
        assert_eq!(
            found[0].message("node-1"),
            "image `app:1` of services web, worker is only on this node (node-1): it has no \
             registry digest, so nodes node-2, node-3 cannot pull it, and their tasks there \
             fail with `No such image` unless it was loaded there by hand"
        );
        assert!(found[0].help().contains("registry.example:5000/app:1"));
    }

    #[test]
    fn one_node_pulled_images_and_images_not_here_give_no_warning() {
        let specs = services(&[("web", spec("app:1", &[]))]);
        let alone = vec![node("m1", "node-1", "manager")];
        assert!(local_only_images(&alone, "m1", &specs, &local()).is_empty());
        let specs = services(&[
            ("cache", spec("redis:7", &[])),
            ("proxy", spec("nginx:1", &[])),
            ("pinned", spec("app:1@sha256:abcd", &[])),
        ]);
        assert!(local_only_images(&three(), "m1", &specs, &local()).is_empty());
    }

    #[test]
    fn placement_limits_the_nodes_named() {
        let on = |c: &[&str]| {
            let specs = services(&[("web", spec("app:1", c))]);
            local_only_images(&three(), "m1", &specs, &local())
                .first()
                .map(|w| w.nodes.clone())
                .unwrap_or_default()
        };
        assert!(on(&["node.role == manager"]).is_empty());
        assert!(on(&["node.hostname==node-1"]).is_empty());
        assert_eq!(on(&["node.role == worker"]), ["node-2", "node-3"]);
        assert_eq!(on(&["node.labels.db == true"]), ["node-3"]);
        assert_eq!(on(&["node.labels.db != true"]), ["node-2"]);
        assert_eq!(on(&["node.role==WORKER", "node.id != w1"]), ["node-3"]);
        assert!(on(&["node.platform.os == windows"]).is_empty());
        // Keys it does not know may hold.
        assert_eq!(on(&["node.something == x"]), ["node-2", "node-3"]);
    }

    #[test]
    fn nodes_that_take_no_new_tasks_are_not_named() {
        let mut nodes = three();
        nodes[1].schedulable = false;
        let specs = services(&[("web", spec("app:1", &[]))]);
        let found = local_only_images(&nodes, "m1", &specs, &local());
        assert_eq!(found[0].nodes, ["node-3"]);
        assert_eq!(
            found[0].message("node-1"),
            "image `app:1` of service web is only on this node (node-1): it has no registry \
             digest, so node node-3 cannot pull it, and its tasks there fail with `No such \
             image` unless it was loaded there by hand"
        );
    }

    #[test]
    fn node_facts_come_from_the_node_as_the_engine_lists_it() {
        let json = serde_json::json!({
            "ID": "w1",
            "Spec": {"Role": "worker", "Availability": "active", "Labels": {"db": "true"}},
            "Description": {
                "Hostname": "node-2",
                "Platform": {"OS": "linux", "Architecture": "x86_64"},
                "Engine": {"Labels": {"zone": "a"}}
            },
            "Status": {"State": "ready"}
        });
        let node: Node = serde_json::from_value(json).unwrap();
        let facts = NodeFacts::of(&node);
        assert_eq!(facts.hostname, "node-2");
        assert_eq!(facts.role, "worker");
        assert_eq!(facts.labels["db"], "true");
        assert_eq!(facts.engine_labels["zone"], "a");
        assert!(facts.schedulable);
        let mut down = node.clone();
        down.status.as_mut().unwrap().state = Some(NodeState::DOWN);
        assert!(!NodeFacts::of(&down).schedulable);
    }
}
