//! The words of a plan: one text per step, used by `berth plan`, by the
//! progress lines of `apply` and by error messages, and the plan as JSON.
//!
//! The text form is stable (tests and scripts compare it): one line per
//! engine-changing step, `<verb> <object>: <cause>`, or `no changes`. The
//! JSON form ([`Plan::to_json`]) is a stable interface for CI gates,
//! versioned by `format_version`.

use std::fmt;

use serde_json::{Value, json};

use super::images::Dockerfile;
use super::{Action, Cause, ImageReason, Plan, Replace, Shared, Step};
use crate::limits::Change;
use crate::model::stack::Condition;
use crate::spec::ObjectKind;

/// The words of one step: the imperative for plans and errors
/// (`create network gb_net`), and the progress verbs (`Creating` /
/// `Created`) with their objects.
pub struct Words {
    pub verb: &'static str,
    pub object: String,
    pub doing: &'static str,
    /// What `doing` acts on, when it reads better than `object`.
    pub doing_object: String,
    pub done: &'static str,
    pub done_object: String,
}

impl Words {
    fn new(verb: &'static str, doing: &'static str, done: &'static str, object: String) -> Words {
        Words {
            verb,
            doing,
            done,
            doing_object: object.clone(),
            done_object: object.clone(),
            object,
        }
    }

    pub fn of(action: &Action) -> Words {
        match action {
            Action::CreateNetwork { name, .. } => {
                Words::new("create", "Creating", "Created", format!("network {name}"))
            }
            Action::CreateVolume { name, .. } => {
                Words::new("create", "Creating", "Created", format!("volume {name}"))
            }
            Action::CreateDirectory { path, .. } => Words::new(
                "create",
                "Creating",
                "Created",
                format!("directory {}", path.display()),
            ),
            Action::CreateContainer { name, .. } => {
                Words::new("create", "Creating", "Created", format!("container {name}"))
            }
            Action::Rename { from, to, .. } => {
                Words::new("rename", "Renaming", "Renamed", format!("{from} to {to}"))
            }
            Action::Start { name, .. } => Words::new("start", "Starting", "Started", name.clone()),
            Action::CopyFile { name, file, .. } => Words::new(
                "copy",
                "Copying",
                "Copied",
                format!("{} {} into {name}", file.kind.word(), file.key),
            ),
            Action::Update { name, changes, .. } => {
                let mut w = Words::new("update", "Updating", "Updated", format!("{name} in place"));
                if !changes.is_empty() {
                    w.done_object = format!("{name} in place ({})", join(changes));
                }
                w
            }
            Action::Connect { name, network, .. } => Words::new(
                "connect",
                "Connecting",
                "Connected",
                format!("{name} to {network}"),
            ),
            Action::Disconnect { name, network, .. } => Words::new(
                "disconnect",
                "Disconnecting",
                "Disconnected",
                format!("{name} from {network}"),
            ),
            Action::Wait {
                name, condition, ..
            } => {
                let (state, done) = match condition {
                    Condition::ServiceStarted => ("started", "Running"),
                    Condition::ServiceHealthy => ("healthy", "Healthy"),
                    Condition::ServiceCompletedSuccessfully => {
                        ("completed successfully", "Completed")
                    }
                };
                let mut w =
                    Words::new("wait", "Waiting", done, format!("for {name} to be {state}"));
                w.done_object = name.clone();
                w
            }
            Action::WaitRollout { names, .. } => {
                let who = names.join(", ");
                let mut w = Words::new(
                    "wait",
                    "Checking",
                    "Passed",
                    format!("for {who} to pass the rollout check"),
                );
                w.doing_object = who.clone();
                w.done_object = who;
                w
            }
            Action::Delay { service, duration } => {
                let mut w = Words::new(
                    "wait",
                    "Pausing",
                    "Paused",
                    format!(
                        "{}s before the next batch of {service}",
                        duration.as_secs_f64()
                    ),
                );
                w.done_object = format!("{}s", duration.as_secs_f64());
                w
            }
            Action::Drain { name, .. } => Words::new("drain", "Draining", "Drained", name.clone()),
            Action::ImportEdgeImage { reference } => Words::new(
                "import",
                "Importing",
                "Imported",
                format!("edge image {reference}"),
            ),
            Action::SetEdgeTarget { name, target, .. } => Words::new(
                "point",
                "Pointing",
                "Pointed",
                format!("{name} at {target}"),
            ),
            Action::PointEdgeAt {
                edge, container, ..
            } => Words::new(
                "point",
                "Pointing",
                "Pointed",
                format!("{edge} at {container}"),
            ),
            Action::Stop { name, .. } => Words::new("stop", "Stopping", "Stopped", name.clone()),
            Action::Restart { name, .. } => {
                Words::new("restart", "Restarting", "Restarted", name.clone())
            }
            Action::Remove { name, .. } => {
                Words::new("remove", "Removing", "Removed", name.clone())
            }
            Action::RemoveNetwork { name } => {
                Words::new("remove", "Removing", "Removed", format!("network {name}"))
            }
            Action::RemoveVolume { name } => {
                Words::new("remove", "Removing", "Removed", format!("volume {name}"))
            }
            Action::Build { service, request } => {
                let mut w = Words::new(
                    "build",
                    "Building",
                    "Built",
                    format!("image {} for {service}", request.request.tag),
                );
                w.doing_object = service.clone();
                w.done_object = service.clone();
                w
            }
            Action::Pull { image, .. } => Words::new("pull", "Pulling", "Pulled", image.clone()),
            Action::CreateService { name, .. } => {
                Words::new("create", "Creating", "Created", format!("service {name}"))
            }
            Action::UpdateService { name, .. } => {
                Words::new("update", "Updating", "Updated", format!("service {name}"))
            }
            Action::RemoveService { name, .. } => {
                Words::new("remove", "Removing", "Removed", format!("service {name}"))
            }
            Action::WaitService { name, .. } => {
                let mut w = Words::new(
                    "wait",
                    "Waiting",
                    "Converged",
                    format!("for service {name} to converge"),
                );
                w.done_object = format!("service {name}");
                w
            }
            Action::WaitServiceGone { name, .. } => {
                let mut w = Words::new(
                    "wait",
                    "Waiting",
                    "Gone",
                    format!("for the tasks of {name} to be gone"),
                );
                w.done_object = format!("tasks of {name}");
                w
            }
            Action::CreateObject { object } => Words::new(
                "create",
                "Creating",
                "Created",
                format!("{} {}", object.kind.word(), object.name),
            ),
            Action::RemoveObject { kind, name, .. } => Words::new(
                "remove",
                "Removing",
                "Removed",
                format!("{} {name}", kind.word()),
            ),
            Action::WaitNetworkGone { name } => {
                let mut w = Words::new(
                    "wait",
                    "Waiting",
                    "Gone",
                    format!("for network {name} to be gone"),
                );
                w.done_object = format!("network {name}");
                w
            }
        }
    }
}

impl Action {
    /// The verb and object, as printed: `create network gb_devapp-net`.
    pub fn describe(&self) -> String {
        let w = Words::of(self);
        format!("{} {}", w.verb, w.object)
    }

    /// The JSON name of the call: `create_container`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateNetwork { .. } => "create_network",
            Action::CreateVolume { .. } => "create_volume",
            Action::CreateDirectory { .. } => "create_directory",
            Action::CreateContainer { .. } => "create_container",
            Action::Rename { .. } => "rename_container",
            Action::Start { .. } => "start_container",
            Action::CopyFile { .. } => "copy_to_container",
            Action::Update { .. } => "update_container",
            Action::Connect { .. } => "connect_network",
            Action::Disconnect { .. } => "disconnect_network",
            Action::Wait { .. } => "wait",
            Action::WaitRollout { .. } => "wait_rollout",
            Action::Delay { .. } => "delay",
            Action::Drain { .. } => "drain_container",
            Action::ImportEdgeImage { .. } => "import_image",
            Action::SetEdgeTarget { .. } => "set_edge_target",
            Action::PointEdgeAt { .. } => "point_edge",
            Action::Stop { .. } => "stop_container",
            Action::Restart { .. } => "restart_container",
            Action::Remove { .. } => "remove_container",
            Action::RemoveNetwork { .. } => "remove_network",
            Action::RemoveVolume { .. } => "remove_volume",
            Action::Build { .. } => "build_image",
            Action::Pull { .. } => "pull_image",
            Action::CreateService { .. } => "create_service",
            Action::UpdateService { .. } => "update_service",
            Action::RemoveService { .. } => "remove_service",
            Action::WaitService { .. } => "wait_service",
            Action::WaitServiceGone { .. } => "wait_service_gone",
            Action::WaitNetworkGone { .. } => "wait_network_gone",
            Action::CreateObject { object } => match object.kind {
                ObjectKind::Secret => "create_secret",
                ObjectKind::Config => "create_config",
            },
            Action::RemoveObject { kind, .. } => match kind {
                ObjectKind::Secret => "remove_secret",
                ObjectKind::Config => "remove_config",
            },
        }
    }

    /// The resource the call acts on: its kind and name (and service).
    fn resource(&self) -> Value {
        let (kind, name) = match self {
            Action::CreateNetwork { name, .. }
            | Action::RemoveNetwork { name }
            | Action::WaitNetworkGone { name }
            | Action::Connect { network: name, .. }
            | Action::Disconnect { network: name, .. } => ("network", name.clone()),
            Action::CreateVolume { name, .. } | Action::RemoveVolume { name } => {
                ("volume", name.clone())
            }
            Action::CreateDirectory { path, .. } => ("directory", path.display().to_string()),
            Action::CreateContainer { name, .. }
            | Action::Start { name, .. }
            | Action::CopyFile { name, .. }
            | Action::Update { name, .. }
            | Action::Wait { name, .. }
            | Action::Drain { name, .. }
            | Action::SetEdgeTarget { name, .. }
            | Action::PointEdgeAt { edge: name, .. }
            | Action::Stop { name, .. }
            | Action::Restart { name, .. }
            | Action::Remove { name, .. } => ("container", name.clone()),
            Action::Rename { from, .. } => ("container", from.clone()),
            Action::WaitRollout { service, .. } | Action::Delay { service, .. } => {
                ("service", service.clone())
            }
            Action::Build { request, .. } => ("image", request.request.tag.clone()),
            Action::Pull { image, .. } => ("image", image.clone()),
            Action::ImportEdgeImage { reference } => ("image", reference.clone()),
            Action::CreateService { name, .. }
            | Action::UpdateService { name, .. }
            | Action::RemoveService { name, .. }
            | Action::WaitService { name, .. }
            | Action::WaitServiceGone { name, .. } => ("service", name.clone()),
            Action::CreateObject { object } => (object.kind.word(), object.name.clone()),
            Action::RemoveObject { kind, name, .. } => (kind.word(), name.clone()),
        };
        let mut v = json!({ "kind": kind, "name": name });
        if let Some(s) = self.service() {
            v["service"] = json!(s);
        }
        if let Action::Connect { name, .. } | Action::Disconnect { name, .. } = self {
            v["container"] = json!(name);
        }
        v
    }

    /// What the call sends, as JSON (the engine's own field names for
    /// request bodies).
    fn request(&self) -> Value {
        let body = |b: &dyn erased::Ser| b.value();
        match self {
            Action::CreateNetwork { request, .. } => body(request.as_ref()),
            Action::CreateVolume { request, .. } => body(request.as_ref()),
            Action::CreateDirectory { path, .. } => json!({ "path": path }),
            Action::CreateContainer {
                name,
                platform,
                request,
                ..
            } => {
                let mut v = json!({ "name": name, "body": body(request.as_ref()) });
                if let Some(p) = platform {
                    v["platform"] = json!(p);
                }
                v
            }
            Action::Rename { id, to, .. } => json!({ "id": id, "name": to }),
            Action::Start { name, .. } => json!({ "id": name }),
            Action::CopyFile { name, file, .. } => {
                json!({ "id": name, "path": "/", "file": file.shown() })
            }
            Action::Update { id, request, .. } => {
                json!({ "id": id, "body": body(request.as_ref()) })
            }
            Action::Connect {
                name,
                network,
                endpoint,
                ..
            } => json!({
                "network": network,
                "body": { "Container": name, "EndpointConfig": body(endpoint.as_ref()) },
            }),
            Action::Disconnect { name, network, .. } => {
                json!({ "network": network, "body": { "Container": name, "Force": false } })
            }
            Action::Wait {
                name,
                condition,
                required,
                ..
            } => json!({ "id": name, "condition": condition.as_str(), "required": required }),
            Action::WaitRollout { names, check, .. } => json!({
                "ids": names,
                "health": check.health,
                "monitor_s": check.monitor.as_secs_f64(),
                "monitor_set": check.monitor_set,
                "tolerate": check.tolerate,
                "failure_action_continue": check.go_on,
            }),
            Action::Delay { duration, .. } => json!({ "seconds": duration.as_secs_f64() }),
            Action::Drain { id, .. } => json!({ "id": id, "t": null }),
            Action::ImportEdgeImage { reference } => json!({ "reference": reference }),
            Action::SetEdgeTarget { name, target, .. } => {
                json!({ "id": name, "path": crate::edge::STATE_PATH, "target": target })
            }
            Action::PointEdgeAt {
                edge, container, ..
            } => json!({ "id": edge, "path": crate::edge::STATE_PATH, "container": container }),
            Action::Stop { id, timeout, .. } | Action::Restart { id, timeout, .. } => {
                json!({ "id": id, "t": timeout })
            }
            Action::Remove { id, .. } => json!({ "id": id, "v": true, "force": false }),
            Action::RemoveNetwork { name }
            | Action::RemoveVolume { name }
            | Action::WaitNetworkGone { name } => json!({ "id": name }),
            Action::Build { request, .. } => {
                let r = &request.request;
                json!({
                    "context": request.context,
                    "t": r.tag,
                    "dockerfile": r.dockerfile,
                    "dockerfile_source": match &request.dockerfile {
                        None => Value::Null,
                        Some(Dockerfile::Inline(text)) => json!({ "inline": text }),
                        Some(Dockerfile::Outside { path, .. }) => json!({ "path": path }),
                    },
                    "buildargs": r.args,
                    "labels": r.labels,
                    "target": r.target,
                    "nocache": r.no_cache,
                    "pull": r.pull,
                    "networkmode": r.network,
                    "extrahosts": r.extra_hosts,
                    "cachefrom": r.cache_from,
                    "shmsize": r.shm_size,
                })
            }
            Action::Pull { image, optional } => json!({ "fromImage": image, "optional": optional }),
            Action::CreateService { request, .. } => json!({ "body": body(request.as_ref()) }),
            Action::UpdateService {
                id,
                version,
                request,
                ..
            } => json!({ "id": id, "version": version, "body": body(request.as_ref()) }),
            Action::RemoveService { id, .. } => json!({ "id": id }),
            Action::WaitService { name, .. } | Action::WaitServiceGone { name, .. } => {
                json!({ "service": name })
            }
            Action::CreateObject { object } => object.shown(),
            Action::RemoveObject { id, .. } => json!({ "id": id }),
        }
    }
}

/// Serialising any request body to a JSON value without naming its type.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn join(changes: &[Change]) -> String {
    changes
        .iter()
        .map(Change::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Replace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Replace::Config {
                keys,
                image_changed,
            } => {
                f.write_str("config changed")?;
                if !keys.is_empty() {
                    write!(f, ": {}", keys.join(", "))?;
                }
                if *image_changed && !keys.iter().any(|k| k == "image") {
                    f.write_str("; image changed")?;
                }
                Ok(())
            }
            Replace::Image => f.write_str("image changed"),
            Replace::Ports { to_edge: true } => {
                f.write_str("its published ports move to the service's edge (start-first)")
            }
            Replace::Ports { to_edge: false } => {
                f.write_str("it publishes its ports itself again (no edge)")
            }
            Replace::ForceRecreate => f.write_str("--force-recreate"),
            Replace::Parked(name) => {
                write!(f, "left over from an interrupted recreate (named {name})")
            }
            Replace::Dead => f.write_str("container is dead"),
            Replace::BeingRemoved => f.write_str("container is being removed"),
            Replace::StaleTask => f.write_str(
                "the engine has a stale task for it (dockerd restarted while starting it)",
            ),
            Replace::LimitRemoved(changes) => {
                write!(f, "{}: a limit cannot be removed in place", join(changes))
            }
            Replace::NoUpdate(changes) => write!(
                f,
                "{}: the engine cannot change limits in place (podman has no `docker update`)",
                join(changes)
            ),
            Replace::Shares {
                what,
                container,
                earlier,
            } => {
                let what = match what {
                    Shared::NetworkNamespace => "its network namespace's container",
                    Shared::Volumes => "its volumes_from container",
                };
                let when = if *earlier {
                    "was recreated after it"
                } else {
                    "is recreated"
                };
                write!(f, "{what} {container} {when}")
            }
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NotFound => f.write_str("not found"),
            Cause::Recreate(why) => write!(f, "recreate: {why}"),
            Cause::Limits(changes) => f.write_str(&join(changes)),
            Cause::NetworkAdded => f.write_str("network added"),
            Cause::NetworkRemoved => f.write_str("network removed"),
            Cause::AliasesChanged => f.write_str("aliases changed"),
            Cause::Created => f.write_str("created"),
            Cause::Recreated => f.write_str("recreated"),
            Cause::Stopped => f.write_str("stopped"),
            Cause::DependsOn(service) => write!(f, "{service} depends on it"),
            Cause::BindSourceMissing => f.write_str("bind source does not exist"),
            Cause::ScaledDown => f.write_str("scaled down"),
            Cause::LeftOver => f.write_str("left over from an interrupted recreate"),
            Cause::Orphan(service) => {
                write!(
                    f,
                    "orphan: service {service} is no longer in the stack file"
                )
            }
            Cause::Down => f.write_str("down"),
            Cause::Volumes => f.write_str("--volumes"),
            Cause::WaitFlag => f.write_str("--wait"),
            Cause::Asked(command) => write!(f, "berth {command}"),
            Cause::Image(ImageReason::Missing) => f.write_str("image not found"),
            Cause::Image(ImageReason::Asked) => f.write_str("requested"),
            Cause::Image(ImageReason::BuildFlag) => f.write_str("--build"),
            Cause::Image(ImageReason::PolicyAlways) => f.write_str("pull_policy: always"),
            Cause::Image(ImageReason::PolicyBuild) => f.write_str("pull_policy: build"),
            Cause::ServiceChanged(changes) if changes.is_empty() => f.write_str("spec changed"),
            Cause::ServiceChanged(changes) => f.write_str(&changes.join(", ")),
            Cause::Unused => f.write_str("no service uses it any more"),
            Cause::StartFirst { beside } => write!(f, "start-first, beside {beside}"),
            Cause::Rollout => f.write_str("rollout check"),
            Cause::Admit => f.write_str("admit: healthy, takes over the service's aliases"),
            Cause::Replaced => f.write_str("replaced"),
            Cause::RolloutDelay => f.write_str("update_config.delay"),
            Cause::RollBack { service } => write!(
                f,
                "roll back, only if the new containers of {service} fail their check"
            ),
            Cause::NetworkChanged { network, changes } => {
                write!(f, "recreate network {network}: {}", changes.join(", "))
            }
        }
    }
}

impl Cause {
    /// A short stable code for scripts: `not_found`, `recreate`, ...
    pub fn code(&self) -> &'static str {
        match self {
            Cause::NotFound => "not_found",
            Cause::Recreate(_) => "recreate",
            Cause::Limits(_) => "limits_changed",
            Cause::NetworkAdded => "network_added",
            Cause::NetworkRemoved => "network_removed",
            Cause::AliasesChanged => "aliases_changed",
            Cause::Created => "created",
            Cause::Recreated => "recreated",
            Cause::Stopped => "stopped",
            Cause::DependsOn(_) => "depends_on",
            Cause::BindSourceMissing => "bind_source_missing",
            Cause::ScaledDown => "scaled_down",
            Cause::LeftOver => "left_over",
            Cause::Orphan(_) => "orphan",
            Cause::Down => "down",
            Cause::Volumes => "volumes",
            Cause::WaitFlag => "wait",
            Cause::Asked(_) => "asked",
            Cause::Image(ImageReason::Missing) => "image_missing",
            Cause::Image(ImageReason::Asked) => "image_asked",
            Cause::Image(ImageReason::BuildFlag) => "build_flag",
            Cause::Image(ImageReason::PolicyAlways) => "pull_policy_always",
            Cause::Image(ImageReason::PolicyBuild) => "pull_policy_build",
            Cause::ServiceChanged(_) => "service_changed",
            Cause::Unused => "unused",
            Cause::StartFirst { .. } => "start_first",
            Cause::Rollout => "rollout",
            Cause::Admit => "admit",
            Cause::Replaced => "replaced",
            Cause::RolloutDelay => "rollout_delay",
            Cause::RollBack { .. } => "roll_back",
            Cause::NetworkChanged { .. } => "network_changed",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action.describe(), self.cause)
    }
}

/// The stable text form: one line per engine-changing step, or `no changes`.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        for step in self.steps.iter().filter(|s| s.action.mutates()) {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The version of [`Plan::to_json`]'s shape; raised when a field changes
/// meaning or goes away (new fields may appear without it).
pub const FORMAT_VERSION: u32 = 1;

impl Plan {
    /// The plan as data: every step (waits included) with its id, action,
    /// resource, cause, the ids it waits for and the request it sends.
    pub fn to_json(&self, project: &str) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(id, s)| {
                let mut step = json!({
                    "id": id,
                    "action": s.action.name(),
                    "resource": s.action.resource(),
                    "cause": { "code": s.cause.code(), "text": s.cause.to_string() },
                    "after": s.after,
                    "changes_engine": s.action.mutates(),
                    "request": s.action.request(),
                });
                // Only a fallback has it: the step whose failure runs it.
                if let Some(trigger) = s.on_failure_of {
                    step["on_failure_of"] = json!(trigger);
                }
                step
            })
            .collect();
        json!({
            "format_version": FORMAT_VERSION,
            "project": project,
            "changes": !self.is_empty(),
            "steps": steps,
            "warnings": self.warnings,
        })
    }
}
