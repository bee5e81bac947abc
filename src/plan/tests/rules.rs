//! The table of rules: what a step does when the engine refuses it because
//! the work is already done (rules.rs's module doc, row by row).

use std::path::PathBuf;

use super::*;
use crate::engine::EngineError::{self, Api, Conflict, NotFound, Unreachable};
use crate::model::stack::Condition;
use crate::plan::rules::{Refused, advice, duplicate_network, endpoints_left, refused};
use crate::spec::BuildRequest;

fn svc() -> String {
    "web".into()
}

fn name() -> String {
    "app-web-1".into()
}

fn create_network() -> Action {
    Action::CreateNetwork {
        name: "app_front".into(),
        request: Box::default(),
    }
}

fn create_volume() -> Action {
    Action::CreateVolume {
        name: "app_data".into(),
        request: Box::default(),
    }
}

fn create_directory() -> Action {
    Action::CreateDirectory {
        service: svc(),
        path: PathBuf::from("/tmp/data"),
    }
}

fn create_container() -> Action {
    Action::CreateContainer {
        service: svc(),
        number: 1,
        name: name(),
        platform: None,
        request: Box::default(),
    }
}

fn rename() -> Action {
    Action::Rename {
        service: svc(),
        id: "abc".into(),
        from: name(),
        to: "abc_app-web-1".into(),
    }
}

fn start() -> Action {
    Action::Start {
        service: svc(),
        name: name(),
    }
}

fn update() -> Action {
    Action::Update {
        service: svc(),
        name: name(),
        id: "abc".into(),
        changes: vec![],
        request: Box::default(),
    }
}

fn connect() -> Action {
    Action::Connect {
        service: svc(),
        name: name(),
        network: "app_front".into(),
        endpoint: Box::default(),
    }
}

fn disconnect() -> Action {
    Action::Disconnect {
        service: svc(),
        name: name(),
        network: "app_front".into(),
    }
}

fn wait() -> Action {
    Action::Wait {
        service: svc(),
        name: name(),
        condition: Condition::ServiceHealthy,
        required: true,
    }
}

fn stop() -> Action {
    Action::Stop {
        service: Some(svc()),
        name: name(),
        id: "abc".into(),
        timeout: None,
    }
}

fn restart() -> Action {
    Action::Restart {
        service: Some(svc()),
        name: name(),
        id: "abc".into(),
        timeout: None,
    }
}

fn remove() -> Action {
    Action::Remove {
        service: None,
        name: name(),
        id: "abc".into(),
    }
}

fn remove_network() -> Action {
    Action::RemoveNetwork {
        name: "app_front".into(),
    }
}

fn remove_volume() -> Action {
    Action::RemoveVolume {
        name: "app_data".into(),
    }
}

fn build() -> Action {
    Action::Build {
        service: svc(),
        request: Box::new(BuildStep {
            context: PathBuf::from("."),
            dockerfile: None,
            request: BuildRequest::default(),
        }),
    }
}

fn pull() -> Action {
    Action::Pull {
        image: "nginx:1".into(),
        optional: true,
    }
}

fn not_found() -> EngineError {
    NotFound("No such container: app-web-1".into())
}

fn conflict() -> EngineError {
    Conflict("Conflict. The name is already in use".into())
}

fn api(status: u16, message: &str) -> EngineError {
    Api {
        status,
        message: message.into(),
    }
}

fn already(note: &'static str) -> Refused {
    Refused::Done(Some(note))
}

#[test]
fn each_row_of_the_table() {
    let table: Vec<(Action, EngineError, Refused)> = vec![
        // create network | a network of that name exists (409)
        (create_network(), conflict(), already("already existed")),
        // create volume | it exists (409)
        (create_volume(), conflict(), already("already existed")),
        // create container | the name is taken (409): ours or not is
        // decided by looking at the container.
        (create_container(), conflict(), Refused::DoneIfOurs),
        // rename container | the container is gone (404)
        (rename(), not_found(), already("already gone")),
        // stop container | gone (404); 304 is no error at all.
        (stop(), not_found(), already("already gone")),
        // restart container | gone (404): nothing to restart
        (restart(), not_found(), Refused::Failed),
        // remove anything | gone (404)
        (remove(), not_found(), already("already gone")),
        (remove_network(), not_found(), already("already gone")),
        (remove_volume(), not_found(), already("already gone")),
        // connect network | the endpoint already exists (20.10's 403)
        (
            connect(),
            api(
                403,
                "endpoint with name app-web-1 already exists in network app_front",
            ),
            already("already connected"),
        ),
        // disconnect network | not connected (20.10's 403), or gone (404)
        (
            disconnect(),
            api(403, "container abc is not connected to network app_front"),
            Refused::Done(None),
        ),
        (disconnect(), not_found(), Refused::Done(None)),
        // anything | anything else: failed
        (start(), not_found(), Refused::Failed),
        (start(), conflict(), Refused::Failed),
        (create_network(), not_found(), Refused::Failed),
        (
            create_network(),
            api(
                500,
                "could not find an available, non-overlapping IPv4 address pool",
            ),
            Refused::Failed,
        ),
        (
            create_volume(),
            api(500, "volume driver failed"),
            Refused::Failed,
        ),
        (create_container(), not_found(), Refused::Failed),
        (
            create_container(),
            api(400, "invalid reference format"),
            Refused::Failed,
        ),
        (
            create_directory(),
            api(500, "permission denied"),
            Refused::Failed,
        ),
        (rename(), conflict(), Refused::Failed),
        (stop(), api(500, "cannot stop container"), Refused::Failed),
        (restart(), conflict(), Refused::Failed),
        (remove(), conflict(), Refused::Failed),
        (
            remove_network(),
            api(
                403,
                "error while removing network: network app_front has active endpoints",
            ),
            Refused::Failed,
        ),
        (remove_volume(), conflict(), Refused::Failed),
        (update(), not_found(), Refused::Failed),
        // A message that says something else is no excuse.
        (connect(), not_found(), Refused::Failed),
        (
            connect(),
            api(403, "network app_front is not a swarm network"),
            Refused::Failed,
        ),
        (connect(), conflict(), Refused::Failed),
        (
            disconnect(),
            api(500, "endpoint already exists"),
            Refused::Failed,
        ),
        (disconnect(), conflict(), Refused::Failed),
        (wait(), not_found(), Refused::Failed),
        (build(), api(400, "dockerfile parse error"), Refused::Failed),
        (pull(), not_found(), Refused::Failed),
        (
            pull(),
            Unreachable {
                host: "unix:///var/run/docker.sock".into(),
                reason: "Connection refused".into(),
            },
            Refused::Failed,
        ),
    ];
    for (action, err, want) in &table {
        assert_eq!(
            refused(action, err),
            *want,
            "{} refused with {err:?}",
            action.describe()
        );
    }
}

#[test]
fn a_network_created_over_an_existing_name_is_a_duplicate() {
    // create network | created, with a warning that the name exists
    assert!(duplicate_network(
        "Network with name app_front (id : 1234) already exists"
    ));
    assert!(!duplicate_network(""));
    assert!(!duplicate_network("some other warning"));
}

#[test]
fn a_network_with_a_stale_endpoint_or_a_volume_in_use_fails_with_what_to_do() {
    let api = |message: &str| Api {
        status: 403,
        message: message.into(),
    };
    let net = Action::RemoveNetwork {
        name: "app_front".into(),
    };
    let stale = api("error while removing network: network app_front id 3f has active endpoints");
    assert_eq!(refused(&net, &stale), Refused::Failed);
    let help = advice(&net, &stale).unwrap();
    assert!(help.contains("docker network inspect app_front"), "{help}");
    assert!(help.contains("moby#42119"), "{help}");
    // The engine module hands the network's refusal on as a Conflict: the
    // same help, and the executor's cue to outwait the count.
    let conflict =
        Conflict("error while removing network: network app_front has active endpoints".into());
    assert_eq!(advice(&net, &conflict), Some(help));
    assert!(endpoints_left(&conflict) && endpoints_left(&stale));
    assert!(!endpoints_left(&Conflict("in use".into())));
    let vol = Action::RemoveVolume {
        name: "app_data".into(),
    };
    let busy = api("remove app_data: volume is in use - [4f1c]");
    assert!(
        advice(&vol, &busy)
            .unwrap()
            .contains("--filter volume=app_data")
    );
    // Anything else gets the engine's words alone.
    assert_eq!(advice(&net, &api("something else")), None);
    assert_eq!(advice(&vol, &NotFound("gone".into())), None);
}

#[test]
fn a_port_taken_is_read_from_the_engines_answer() {
    let allocated = "driver failed programming external connectivity on endpoint nd-b \
        (d504db0e952852b4): Bind for 127.0.0.1:18080 failed: port is already allocated";
    assert_eq!(
        crate::plan::rules::port_taken(allocated),
        Some(crate::plan::rules::PortTaken {
            ip: "127.0.0.1".into(),
            port: 18080,
            protocol: String::new(),
            by_container: true,
        })
    );
    let in_use = "driver failed programming external connectivity on endpoint nd-c \
        (d9b7ac356cfc): Error starting userland proxy: listen udp6 [::]:53: bind: address already in use";
    assert_eq!(
        crate::plan::rules::port_taken(in_use),
        Some(crate::plan::rules::PortTaken {
            ip: "::".into(),
            port: 53,
            protocol: "udp".into(),
            by_container: false,
        })
    );
    assert_eq!(crate::plan::rules::port_taken("no such image"), None);
    assert_eq!(
        crate::plan::rules::port_taken("Bind for nowhere failed: port is already allocated"),
        None
    );
}
