//! The demo stacks under `stacks/demo/`, brought up for real from the
//! checked-in files: berth builds their images (`build:`, each `FROM` the local
//! test image or, for the guestbook's Redis tiers, the base image
//! `scripts/images` makes), so no registry is needed. Each test uses its own project name
//! and a host port chosen free at test time, passed to the stack's
//! `${GUESTBOOK_PORT}` / `${APPDB_PORT}` through `--env-file`. The requests go
//! to 127.0.0.1 over a plain `TcpStream`.

use crate::engine::*;

/// One demo stack under test: the project, the stack file, the port.
struct Demo {
    p: Project,
    file: String,
    env_file: String,
    port: u16,
}

impl Demo {
    /// `stack` is relative to the repository, `port_var` is what the stack
    /// interpolates for its published host port.
    fn new(test: &str, stack: &str, port_var: &str) -> Demo {
        let p = Project::new(test);
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(stack);
        assert!(file.is_file(), "missing demo stack {}", file.display());
        let port = free_port();
        let env_file = p.path("demo.env");
        std::fs::write(&env_file, format!("{port_var}={port}\n")).expect("write env file");
        Demo {
            file: file.to_string_lossy().into_owned(),
            env_file: env_file.to_string_lossy().into_owned(),
            port,
            p,
        }
    }

    /// `stacks/demo/guestbook`, its port in `GUESTBOOK_PORT`.
    fn guestbook(test: &str) -> Demo {
        Demo::new(test, "stacks/demo/guestbook/compose.yaml", "GUESTBOOK_PORT")
    }

    /// `stacks/demo/app-db`, its port in `APPDB_PORT`.
    fn app_db(test: &str) -> Demo {
        Demo::new(test, "stacks/demo/app-db/compose.yaml", "APPDB_PORT")
    }

    fn berth(&self, args: &[&str]) -> Run {
        let mut argv = vec!["--env-file", self.env_file.as_str()];
        argv.extend_from_slice(args);
        self.p.berth_files(&[self.file.as_str()], &argv)
    }

    /// `up --wait ARGS`, then remembers the images berth built so that the
    /// project's cleanup removes them, and waits for the published port.
    #[track_caller]
    fn up_with(&mut self, args: &[&str]) -> Run {
        let mut argv = vec!["up", "--wait"];
        argv.extend_from_slice(args);
        let run = self.berth(&argv).ok();
        for c in self.p.containers() {
            let image = c.json["Config"]["Image"].as_str().unwrap_or("").to_string();
            if !image.is_empty() && image != IMAGE && !self.p.extra_images.contains(&image) {
                self.p.extra_images.push(image);
            }
        }
        let port = self.port;
        assert!(
            wait_until(Duration::from_secs(15), || http(port, "GET", "/", None)
                .is_ok_and(|(status, _)| status == 200)),
            "nothing answers on 127.0.0.1:{port} after `up`\n{}",
            run.output()
        );
        run
    }

    #[track_caller]
    fn up(&mut self) -> Run {
        self.up_with(&[])
    }

    #[track_caller]
    fn down(&self, args: &[&str]) -> Run {
        let mut argv = vec!["down"];
        argv.extend_from_slice(args);
        let run = self.berth(&argv).ok();
        assert!(
            self.p.containers().is_empty(),
            "containers left after `down`: {:?}",
            self.p
                .containers()
                .iter()
                .map(|c| &c.name)
                .collect::<Vec<_>>()
        );
        run
    }

    #[track_caller]
    fn get(&self, path: &str) -> String {
        let (status, body) = http(self.port, "GET", path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "GET {path} answered {status}: {body}");
        body
    }

    /// The guestbook's entries, as the page's API lists them.
    #[track_caller]
    fn entries(&self) -> Vec<String> {
        self.get("/cgi-bin/api")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Signs the guestbook as the page's form does; returns the status.
    #[track_caller]
    fn sign(&self, entry: &str) -> u16 {
        let body = format!("entry={}", form_encode(entry));
        http(self.port, "POST", "/cgi-bin/api", Some(&body))
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }
}

/// The guestbook's third tier is Redis (from Debian's packages), its list
/// kept on the named volume `db-data`.
#[test]
fn guestbook_keeps_entries_in_redis_on_its_volume_until_down_volumes() {
    let mut d = Demo::guestbook("demo-gb");
    d.up();
    assert_eq!(
        d.entries(),
        Vec::<String>::new(),
        "a new guestbook is empty"
    );
    assert!(d.get("/").contains("<form"), "the page has a form");

    let first = "Hello from berth! 1+1=2 & 100% <b>bold</b>";
    let second = "second entry";
    assert_eq!(d.sign(first), 303, "signing redirects back to the page");
    assert_eq!(d.entries(), vec![first]);
    assert_eq!(d.sign(second), 303);
    assert_eq!(d.entries(), vec![first, second]);
    assert_ne!(d.sign(""), 303, "an empty entry is refused");
    assert_eq!(d.entries(), vec![first, second]);
    // They are in Redis, not in the backend.
    let stored = docker_try(&[
        "exec",
        &d.p.container("db").id,
        "redis-cli",
        "--raw",
        "LRANGE",
        "guestbook:entries",
        "0",
        "-1",
    ])
    .unwrap_or_else(|e| panic!("redis-cli in the db container: {e}"));
    assert_eq!(stored.lines().collect::<Vec<_>>(), vec![first, second]);

    // A new database container on the same volume keeps them: Redis writes
    // its append-only file on every change and again when it is stopped.
    let old_db = d.p.container("db").id;
    d.up_with(&["--force-recreate", "db"]);
    assert_ne!(d.p.container("db").id, old_db, "db was recreated");
    assert_eq!(
        d.entries(),
        vec![first, second],
        "entries survive a recreated db"
    );

    // `down` keeps the named volume, so the entries come back with `up`.
    d.down(&[]);
    let volume = format!("{}_db-data", d.p.name);
    assert_eq!(d.p.volumes(), vec![volume.clone()]);
    d.up();
    assert_eq!(
        d.entries(),
        vec![first, second],
        "entries survive down + up"
    );

    // `down --volumes` removes the data: a new, empty guestbook.
    d.down(&["--volumes"]);
    assert!(
        !exists("volume", &volume),
        "down --volumes removes {volume}"
    );
    d.up();
    assert_eq!(
        d.entries(),
        Vec::<String>::new(),
        "empty after down --volumes"
    );
    d.down(&["--volumes"]);
}

#[test]
fn guestbook_only_the_backend_reaches_the_db() {
    let mut d = Demo::guestbook("demo-gbnet");
    d.up();
    let (front, back) = (format!("{}_front", d.p.name), format!("{}_back", d.p.name));
    let frontend = d.p.container("frontend");
    let backend = d.p.container("backend");
    let db = d.p.container("db");
    assert_eq!(frontend.networks(), vec![front.clone()]);
    assert_eq!(backend.networks(), vec![back.clone(), front.clone()]);
    assert_eq!(db.networks(), vec![back.clone()]);
    assert_eq!(db.json["State"]["Health"]["Status"], "healthy");
    assert_eq!(backend.json["State"]["Health"]["Status"], "healthy");

    // The frontend has no route to the db: its name does not even resolve.
    let err = docker_try(&["exec", &frontend.id, "wget", "-q", "-O-", "http://db:6379"])
        .expect_err("the frontend must not reach the db");
    assert!(
        err.contains("bad address"),
        "expected a name resolution failure, got: {err}"
    );
    // The backend reaches Redis, and the frontend reaches the backend.
    let ok = docker_try(&["exec", &backend.id, "redis-cli", "-h", "db", "ping"])
        .unwrap_or_else(|e| panic!("the backend must reach the db: {e}"));
    assert_eq!(ok.trim(), "PONG");
    docker_try(&[
        "exec",
        &frontend.id,
        "wget",
        "-q",
        "-O-",
        "http://backend:8000/cgi-bin/entries",
    ])
    .unwrap_or_else(|e| panic!("the frontend must reach the backend: {e}"));

    // Published on loopback only.
    let bindings = &frontend.host("PortBindings")["8080/tcp"];
    assert_eq!(bindings[0]["HostIp"], "127.0.0.1", "{bindings}");
    assert_eq!(bindings[0]["HostPort"], d.port.to_string(), "{bindings}");
    d.down(&["--volumes"]);
}

#[test]
fn app_db_counts_visits_on_its_volume() {
    let mut d = Demo::app_db("demo-appdb");
    let visit = |d: &Demo| -> String {
        let body = d.get("/cgi-bin/visit");
        body.lines()
            .next()
            .and_then(|l| l.strip_prefix("visits: "))
            .unwrap_or_else(|| panic!("unexpected answer: {body}"))
            .to_string()
    };
    d.up();
    assert_eq!(
        d.p.container("db").json["State"]["Health"]["Status"],
        "healthy"
    );
    assert_eq!(visit(&d), "1");
    assert_eq!(visit(&d), "2");

    d.down(&[]);
    d.up();
    assert_eq!(visit(&d), "3", "the count survives down + up");

    d.down(&["--volumes"]);
    assert!(
        d.p.volumes().is_empty(),
        "down --volumes removes the volume"
    );
    d.up();
    assert_eq!(visit(&d), "1", "a new count after down --volumes");
    d.down(&["--volumes"]);
}
