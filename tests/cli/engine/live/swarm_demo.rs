//! The guestbook demo on the one-node swarm, from the checked-in files:
//! `stacks/demo/guestbook/compose.yaml` with its Swarm override
//! `compose.swarm.yaml`, as the README and the override's header run them.
//! berth builds the three images (tagged with the project's name through
//! `${GUESTBOOK_TAG}`, so that parallel runs keep apart), deploys the stack
//! as services on overlay networks, and the frontend's host-mode port
//! (`${GUESTBOOK_SWARM_PORT}`, chosen free) serves the page on 127.0.0.1.

use crate::engine::*;

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
        assert_eq!(
            service_inspect(&svc(s), "{{.Spec.EndpointSpec.Mode}}"),
            "dnsrr"
        );
    }
    assert_eq!(
        service_inspect(
            &svc("frontend"),
            "{{range .Spec.EndpointSpec.Ports}}{{.PublishMode}} {{.PublishedPort}}->{{.TargetPort}}{{end}}"
        ),
        format!("host {port}->8080")
    );
    assert_eq!(
        service_inspect(&svc("frontend"), "{{if .Spec.Mode.Global}}global{{end}}"),
        "global"
    );
    assert_eq!(
        service_inspect(&svc("backend"), "{{.Spec.Mode.Replicated.Replicas}}"),
        "2"
    );
    assert_eq!(
        service_inspect(
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
    let versions =
        || ["db", "backend", "frontend"].map(|s| service_inspect(&svc(s), "{{.Version.Index}}"));
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
