//! The guestbook demo on the one-node swarm, from the checked-in files:
//! `stacks/demo/guestbook/compose.yaml` with its Swarm override
//! `compose.swarm.yaml`, as the README and the override's header run them.
//! berth builds the three images (tagged with the project's name through
//! `${GUESTBOOK_TAG}`, so that parallel runs keep apart), deploys the stack
//! as services on overlay networks, and the frontend's host-mode port
//! (`${GUESTBOOK_SWARM_PORT}`, chosen free) serves the page on 127.0.0.1.

use crate::engine::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

/// A host port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (a form body for POST);
/// returns the status and body.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let what = format!("{method} http://{addr}{path}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{what}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => req.push_str("\r\n"),
    }
    s.write_all(req.as_bytes())
        .map_err(|e| format!("{what}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("{what}: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{what}: no complete HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{what}: no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// The guestbook's entries, as the page's API lists them.
#[track_caller]
fn entries(port: u16) -> Vec<String> {
    let (status, body) = http(port, "GET", "/cgi-bin/api", None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200, "GET /cgi-bin/api answered {status}: {body}");
    body.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn inspect(service: &str, format: &str) -> String {
    docker(&["service", "inspect", "--format", format, service])
        .trim()
        .to_string()
}

fn services_of(project: &str) -> Vec<String> {
    docker_lines(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label={LABEL}={project}"),
    ])
}

#[test]
fn guestbook_deploys_to_the_swarm_with_its_override_and_keeps_entries() {
    let _swarm = Swarm::join();
    let mut p = Project::new("swdemo");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stacks/demo/guestbook");
    let files = [dir.join("compose.yaml"), dir.join("compose.swarm.yaml")];
    let files: Vec<String> = files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    // The override names each built image (`${GUESTBOOK_TAG}` is the
    // project's name); the build tags them so, and the project's cleanup
    // removes the tags.
    let images: Vec<String> = ["frontend", "backend", "db"]
        .iter()
        .map(|s| format!("127.0.0.1:5000/guestbook-{s}:{}", p.name))
        .collect();
    p.extra_images.extend(images.iter().cloned());
    let port = free_port();
    let env_file = p.path("swarm.env");
    std::fs::write(
        &env_file,
        format!("GUESTBOOK_SWARM_PORT={port}\nGUESTBOOK_TAG={}\n", p.name),
    )
    .expect("write env file");
    let env_file = env_file.to_string_lossy().into_owned();
    let berth = |args: &[&str]| {
        let mut argv = vec!["--env-file", env_file.as_str()];
        argv.extend_from_slice(args);
        p.berth_files(&files, &argv)
    };

    berth(&["build"]).ok();
    for image in &images {
        assert!(exists("image", image), "`berth build` did not tag {image}");
    }

    // The override leaves nothing Swarm cannot honour: no warning at all.
    let (front, back) = (format!("{}_front", p.name), format!("{}_back", p.name));
    let svc = |s: &str| format!("{}_{s}", p.name);
    let plan = berth(&["plan", "--swarm"]).code_is(3);
    assert_eq!(plan.stderr(), "", "plan --swarm warns about the demo");
    assert_eq!(
        plan.stdout(),
        format!(
            "create network {back}: not found\ncreate network {front}: not found\n\
             create service {}: not found\ncreate service {}: not found\ncreate service {}: not found\n",
            svc("db"),
            svc("backend"),
            svc("frontend")
        )
    );

    let up = berth(&["up", "--swarm", "--wait"]).ok();
    for s in ["db", "backend", "frontend"] {
        up.says(&format!("Converged service {}", svc(s)));
    }

    // As `docker stack deploy` maps it: overlay networks, dnsrr services,
    // the frontend global on a host-mode port, two backends.
    for n in [&front, &back] {
        assert_eq!(
            docker(&["network", "inspect", "--format", "{{.Driver}}", n]).trim(),
            "overlay"
        );
    }
    for s in ["db", "backend", "frontend"] {
        assert_eq!(inspect(&svc(s), "{{.Spec.EndpointSpec.Mode}}"), "dnsrr");
    }
    assert_eq!(
        inspect(
            &svc("frontend"),
            "{{range .Spec.EndpointSpec.Ports}}{{.PublishMode}} {{.PublishedPort}}->{{.TargetPort}}{{end}}"
        ),
        format!("host {port}->8080")
    );
    assert_eq!(
        inspect(&svc("frontend"), "{{if .Spec.Mode.Global}}global{{end}}"),
        "global"
    );
    assert_eq!(
        inspect(&svc("backend"), "{{.Spec.Mode.Replicated.Replicas}}"),
        "2"
    );
    assert_eq!(
        inspect(
            &svc("db"),
            "{{json .Spec.TaskTemplate.Placement.Constraints}}"
        ),
        r#"["node.role == manager"]"#
    );

    // The page, then an entry posted through the frontend, the backends and
    // the db, read back (several times: either backend answers).
    assert!(
        wait_until(Duration::from_secs(20), || {
            http(port, "GET", "/", None)
                .is_ok_and(|(status, body)| status == 200 && body.contains("<form"))
        }),
        "the page is not served on 127.0.0.1:{port}\n{}",
        up.output()
    );
    assert_eq!(
        entries(port),
        Vec::<String>::new(),
        "a new guestbook is empty"
    );
    let entry = "Hello from the swarm & berth";
    let (status, body) = http(
        port,
        "POST",
        "/cgi-bin/api",
        Some("entry=Hello+from+the+swarm+%26+berth"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 303, "signing redirects back to the page: {body}");
    for _ in 0..4 {
        assert_eq!(entries(port), vec![entry]);
    }

    // The same files again: nothing to do, no service updated.
    let versions = || ["db", "backend", "frontend"].map(|s| inspect(&svc(s), "{{.Version.Index}}"));
    let before = versions();
    berth(&["plan", "--swarm"]).ok().says("no changes");
    berth(&["up", "--swarm"]).ok().says_nothing_changed();
    assert_eq!(
        versions(),
        before,
        "an unchanged redeploy updated a service"
    );

    // down --swarm: services and networks gone; the named volume stays, as
    // with `docker stack rm` (the project's cleanup removes it).
    berth(&["down", "--swarm"]).ok();
    assert!(services_of(&p.name).is_empty(), "services left after down");
    assert!(!exists("network", &front) && !exists("network", &back));
    assert!(exists("volume", &format!("{}_db-data", p.name)));
}
