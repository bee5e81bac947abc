//! The engine's address, read without an engine.

use super::{remote_host, unix_socket_of};

#[test]
fn the_remote_host_is_the_address_host_without_user_or_port() {
    for (address, host) in [
        ("ssh://me@server", Some("server")),
        ("ssh://me@server:2222", Some("server")),
        ("ssh://server", Some("server")),
        ("tcp://10.0.0.5:2376", Some("10.0.0.5")),
        ("tcp://[::1]:2375", Some("::1")),
        ("https://docker.example:2376/", Some("docker.example")),
        ("tcp://127.0.0.1:2375", Some("127.0.0.1")),
        ("unix:///var/run/docker.sock", None),
        ("unix:///run/podman/podman.sock", None),
        ("npipe:////./pipe/docker_engine", None),
        ("ssh://", None),
        ("nonsense", None),
    ] {
        assert_eq!(remote_host(address).as_deref(), host, "{address}");
    }
}

#[test]
fn only_a_unix_host_has_a_local_socket_for_the_edge() {
    assert_eq!(
        unix_socket_of("unix:///var/run/docker.sock"),
        Some("/var/run/docker.sock")
    );
    for host in [
        "ssh://root@server",
        "ssh://root@server:2222",
        "tcp://127.0.0.1:2375",
        "unix://",
    ] {
        assert_eq!(unix_socket_of(host), None, "{host}");
    }
}
