//! What a step does when it finds its work already done: the one table of
//! rules that lets a re-run after a crash, a Ctrl-C or a concurrent change
//! converge instead of failing.
//!
//! | step                | the engine answers                              | outcome                                  |
//! |---------------------|-------------------------------------------------|------------------------------------------|
//! | create network      | a network of that name exists (409)             | done, "already existed"                  |
//! | create network      | created, with a warning that the name exists    | the duplicate is removed again; done     |
//! | create volume       | it exists (409)                                 | done, "already existed"                  |
//! | create directory    | it exists                                       | done                                     |
//! | create container    | the name is taken (409) by a container of ours  | done, "already existed"                  |
//! | create container    | the name is taken by anyone else's container    | failed                                   |
//! | rename container    | the container is gone (404)                     | done, "already gone"                     |
//! | start container     | already running (304)                           | done                                     |
//! | stop container      | already stopped (304), or gone (404)            | done, "already gone" for 404             |
//! | restart container   | gone (404)                                      | failed: there is nothing to restart      |
//! | remove anything     | gone (404)                                      | done, "already gone"                     |
//! | remove network      | "active endpoints", no living container on it   | tried again for 5 s, then failed         |
//! | connect network     | the endpoint already exists                     | done, "already connected"                |
//! | disconnect network  | not connected, or the container is gone         | done                                     |
//! | remove service      | gone (404)                                      | done, "already gone"                     |
//! | create secret/config| one of that name exists (409): the name carries the content's hash | done, "already existed" |
//! | remove secret/config| gone (404)                                      | done, "already gone"                     |
//! | remove secret/config| a service still uses it                         | done, "still in use: left"               |
//! | anything            | anything else                                   | failed, with the engine's message        |
//!
//! "Ours" is the project label: the plan checked the names it creates
//! against the snapshot, so a conflict found at apply time came from a run
//! interrupted after the call, or from another process since.

use super::Action;
use crate::engine::EngineError;

/// How a step ends when the engine refused the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The work is done; the note says how.
    Done(Option<&'static str>),
    /// Done if the container now under the step's name carries the
    /// project's label; failed otherwise.
    DoneIfOurs,
    Failed,
}

/// The rule for `action` refused with `err`.
pub fn refused(action: &Action, err: &EngineError) -> Refused {
    use EngineError::{Api, Conflict, NotFound};
    let already = |note| Refused::Done(Some(note));
    match (action, err) {
        (
            Action::CreateNetwork { .. }
            | Action::CreateVolume { .. }
            | Action::CreateObject { .. },
            Conflict(_),
        ) => already("already existed"),
        (Action::CreateContainer { .. }, Conflict(_)) => Refused::DoneIfOurs,
        (Action::Rename { .. }, NotFound(_)) => already("already gone"),
        (
            Action::Stop { .. }
            | Action::Drain { .. }
            | Action::Remove { .. }
            | Action::RemoveNetwork { .. }
            | Action::RemoveVolume { .. }
            | Action::RemoveService { .. }
            | Action::RemoveObject { .. },
            NotFound(_),
        ) => already("already gone"),
        // A service this run did not know of (a concurrent deploy) uses
        // it: kept, the next run removes it.
        (Action::RemoveObject { .. }, Api { message, .. }) if message.contains("in use") => {
            already("still in use: left")
        }
        // 20.10 answers 403 "endpoint with name X already exists in network Y".
        (Action::Connect { .. }, Api { message, .. }) if message.contains("already exists") => {
            already("already connected")
        }
        // 20.10: 403 "container X is not connected to network Y".
        (Action::Disconnect { .. }, Api { message, .. })
            if message.contains("is not connected") =>
        {
            Refused::Done(None)
        }
        (Action::Disconnect { .. }, NotFound(_)) => Refused::Done(None),
        _ => Refused::Failed,
    }
}

/// Whether a start failed because containerd keeps state for the
/// container that the engine can no longer use: dockerd was killed while
/// starting it, and containerd still holds its task ("task <id>: already
/// exists"), its container ("id already in use") or the shim's directory
/// for the task ("failed to start shim: mkdir …/<id>: file exists");
/// `docker start` fails the same way. No call settles that; replacing the container does (a new
/// container has a new id), so `up` plans again with it marked
/// ([`super::UpOptions::stale_tasks`]).
pub fn stale_task(action: &Action, message: &str) -> Option<String> {
    let stale = (message.contains("task ") && message.contains("already exists"))
        || message.contains("id already in use")
        || (message.contains("failed to start shim") && message.contains("file exists"));
    match action {
        Action::Start { name, .. } | Action::Restart { name, .. } if stale => Some(name.clone()),
        _ => None,
    }
}

/// What to do about a refusal that berth cannot settle itself, for the
/// step's error: a network the engine still counts endpoints on (an
/// interrupted create can leave a stale one that no container shows), or a
/// volume a container outside the plan still uses.
pub fn advice(action: &Action, err: &EngineError) -> Option<String> {
    // A network's refusal comes as a Conflict (see `Engine::remove_network`),
    // a volume's as either.
    let (EngineError::Api { message, .. } | EngineError::Conflict(message)) = err else {
        return None;
    };
    match action {
        Action::RemoveNetwork { name } if message.contains("active endpoints") => Some(format!(
            "`docker network inspect {name}` lists what is attached; remove those containers \
             first. If it lists none, the engine kept a count of endpoints whose containers \
             are gone (Docker 20.10's stale endpoint count, moby#42119): berth waited {}s for \
             it to come down; restarting dockerd clears it",
            ENDPOINTS_WAIT_SECS
        )),
        Action::RemoveVolume { name } if message.contains("in use") => Some(format!(
            "`docker ps -a --filter volume={name}` shows the containers that use it; \
             remove them first, then run the command again"
        )),
        _ => None,
    }
}

/// How long a network remove waits for a stale endpoint count (the
/// executor's `ENDPOINTS_RELEASED`), for the advice's words.
pub const ENDPOINTS_WAIT_SECS: u64 = 5;

/// Whether an engine refusal to remove a network is its "has active
/// endpoints" (a Conflict as `Engine::remove_network` returns it).
pub fn endpoints_left(err: &EngineError) -> bool {
    matches!(err, EngineError::Conflict(m) | EngineError::Api { message: m, .. } if m.contains("active endpoints"))
}

/// Whether a network create that succeeded made a second network of a name
/// that already existed (API 1.41 does unless asked not to, and only warns),
/// which must be removed again so that the name stays unambiguous.
pub fn duplicate_network(warning: &str) -> bool {
    warning.contains("already exists")
}

/// A host port the engine could not publish because something holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTaken {
    /// The host address as the engine wrote it (`0.0.0.0`, `127.0.0.1`).
    pub ip: String,
    pub port: u16,
    pub protocol: String,
    /// Held by another container (the engine's own port allocator said
    /// so), rather than by a process on the host.
    pub by_container: bool,
}

/// The port a start could not publish, from the engine's answer (20.10):
/// `Bind for 0.0.0.0:8080 failed: port is already allocated` (another
/// container publishes it) or `listen tcp4 0.0.0.0:8080: bind: address
/// already in use` (a process on the host listens on it).
pub fn port_taken(message: &str) -> Option<PortTaken> {
    let split = |addr: &str| -> Option<(String, u16)> {
        let (ip, port) = addr.rsplit_once(':')?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some((ip.to_string(), port.parse().ok()?))
    };
    if message.contains("port is already allocated") {
        let rest = message.split("Bind for ").nth(1)?;
        let (ip, port) = split(rest.split(" failed").next()?)?;
        // The allocator's message does not say the protocol.
        return Some(PortTaken {
            ip,
            port,
            protocol: String::new(),
            by_container: true,
        });
    }
    if message.contains("address already in use") {
        let rest = message.split("listen ").nth(1)?;
        let (network, rest) = rest.split_once(' ')?;
        let (ip, port) = split(rest.split(": bind").next()?)?;
        return Some(PortTaken {
            ip,
            port,
            protocol: network.trim_end_matches(['4', '6']).to_string(),
            by_container: false,
        });
    }
    None
}
