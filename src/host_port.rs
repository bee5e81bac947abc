//! Who holds a host port the engine could not publish, for the error that
//! says so: a container that publishes it (the engine's list, any project),
//! or a process on this host that listens on it (`/proc/net/*` gives the
//! socket's inode, `/proc/<pid>/fd` the process that has it open).
//!
//! Where it stops: it only reads. `/proc` is read only when the engine is
//! on this host (a unix socket), and only symlink targets and one-line
//! `comm` files are read, never a process's memory or environment. What it
//! cannot see (another user's processes without privilege, a daemon in
//! another network namespace) it does not guess: the answer is then "a
//! process on the host".

use std::path::Path;

use crate::engine::{Engine, EngineError};
use crate::observe::container_from_summary;
use crate::plan::Action;
use crate::plan::rules::{self, PortTaken};

/// What to do about a start the engine refused because a host port is
/// taken: who holds it, and the way out. None for any other refusal.
pub async fn advice(engine: &Engine, action: &Action, err: &EngineError) -> Option<String> {
    let (Action::Start { name, .. }, EngineError::Api { message, .. }) = (action, err) else {
        return None;
    };
    let taken = rules::port_taken(message)?;
    let who = holder(engine, &taken, name).await;
    let what = if who.starts_with("container") {
        "stop it"
    } else {
        "stop that process"
    };
    Some(format!(
        "host port {}:{} is held by {who}: {what}, or publish another host port (or none: \
         the engine then picks a free one)",
        taken.ip, taken.port
    ))
}

/// Words naming what holds `taken`, for the step's error; `skip` is the
/// container that could not start (it does not hold it).
pub async fn holder(engine: &Engine, taken: &PortTaken, skip: &str) -> String {
    let proto = if taken.protocol.is_empty() {
        "tcp"
    } else {
        taken.protocol.as_str()
    };
    if taken.by_container {
        let listed = engine
            .list_publishing(&[format!("{}/{proto}", taken.port)])
            .await
            .unwrap_or_default();
        let found = listed.iter().map(container_from_summary).find(|c| {
            c.name != skip
                && c.ports
                    .iter()
                    .any(|p| p.public == Some(taken.port) && same_ip(p.ip.as_deref(), &taken.ip))
        });
        return match found {
            Some(c) => match &c.project {
                Some(p) => format!("container {} (berth project {p})", c.name),
                None => format!("container {}", c.name),
            },
            None => "another container".to_string(),
        };
    }
    let local = engine.host.starts_with("unix://");
    match local
        .then(|| process_listening(Path::new("/proc"), proto, taken.port))
        .flatten()
    {
        Some((pid, comm)) => format!("a process on the host: {comm} (pid {pid})"),
        None => "a process on the host".to_string(),
    }
}

/// Whether a published address and the one the engine could not bind
/// overlap: equal, or either one every address.
fn same_ip(published: Option<&str>, wanted: &str) -> bool {
    let any = |ip: &str| matches!(ip, "" | "0.0.0.0" | "::");
    let published = published.unwrap_or("");
    published == wanted || any(published) || any(wanted)
}

/// The pid and command name of a process with a listening (tcp) or bound
/// (udp) socket on `port`, under the procfs at `proc`.
fn process_listening(proc: &Path, proto: &str, port: u16) -> Option<(u32, String)> {
    let tables: &[&str] = match proto {
        "udp" => &["net/udp", "net/udp6"],
        _ => &["net/tcp", "net/tcp6"],
    };
    // 0A is TCP_LISTEN; an unconnected udp socket shows 07 (TCP_CLOSE).
    let state = if proto == "udp" { "07" } else { "0A" };
    let inodes: Vec<String> = tables
        .iter()
        .filter_map(|t| std::fs::read_to_string(proc.join(t)).ok())
        .flat_map(|text| socket_inodes(&text, port, state))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir(proc).ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if wanted.iter().any(|w| target.as_os_str() == w.as_str()) {
                let comm = std::fs::read_to_string(entry.path().join("comm"))
                    .map(|c| c.trim().to_string())
                    .unwrap_or_default();
                return Some((pid, comm));
            }
        }
    }
    None
}

/// The inodes of the sockets in a `/proc/net/{tcp,udp}[6]` table bound to
/// `port` in `state`.
fn socket_inodes(table: &str, port: u16, state: &str) -> Vec<String> {
    let port = format!("{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = f.get(1)?;
            let (_, p) = local.rsplit_once(':')?;
            (p == port && f.get(3) == Some(&state))
                .then(|| f.get(9).map(|s| s.to_string()))
                .flatten()
        })
        .filter(|inode| inode != "0")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_is_found_by_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:46A1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:46A1 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0
";
        assert_eq!(socket_inodes(table, 18081, "0A"), ["4242"]);
        assert_eq!(socket_inodes(table, 8080, "0A"), ["4444"]);
        assert!(socket_inodes(table, 8081, "0A").is_empty());
    }

    #[test]
    fn the_process_holding_a_socket_of_this_test_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pid, _) = process_listening(Path::new("/proc"), "tcp", port).unwrap();
        assert_eq!(pid, std::process::id());
        drop(listener);
        assert_eq!(process_listening(Path::new("/proc"), "tcp", port), None);
    }

    #[test]
    fn published_addresses_overlap_when_equal_or_wildcard() {
        assert!(same_ip(Some("127.0.0.1"), "127.0.0.1"));
        assert!(same_ip(None, "127.0.0.1"));
        assert!(same_ip(Some("127.0.0.1"), "0.0.0.0"));
        assert!(!same_ip(Some("127.0.0.1"), "127.0.0.2"));
    }
}
