//! The seed's 2-tier WordPress for real (`stacks/demo/wordpress`): MariaDB and
//! Debian's WordPress, on base images `scripts/images` makes from Debian's
//! packages (scripts/test runs it first) and images berth builds from them.
//! WordPress installs itself through its install form, a post is written
//! through its XML-RPC API, and the post must survive `down` + `up` and a
//! recreated database, until `down --volumes`. Requests go to 127.0.0.1 on a
//! port chosen free at test time (`WORDPRESS_PORT`).

use crate::engine::*;

const STACK: &str = "stacks/demo/wordpress/compose.yaml";
const ADMIN: &str = "admin";
const PASSWORD: &str = "berth-demo-pass";

struct WordPress {
    p: Project,
    file: String,
    env_file: String,
    port: u16,
}

impl WordPress {
    fn new(test: &str) -> WordPress {
        let p = Project::new(test);
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(STACK);
        let port = free_port();
        let env_file = p.path("wordpress.env");
        std::fs::write(
            &env_file,
            format!("WORDPRESS_PORT={port}\nWORDPRESS_SWARM_PORT={port}\n"),
        )
        .expect("write env file");
        let w = WordPress {
            file: file.to_string_lossy().into_owned(),
            env_file: env_file.to_string_lossy().into_owned(),
            port,
            p,
        };
        // `up` builds an image only when its tag is missing, and the
        // `berth-demo/*` tags outlive a run; one build per test binary keeps
        // them true to this checkout's files (the build cache makes it
        // instant when nothing changed).
        static BUILT: std::sync::Once = std::sync::Once::new();
        BUILT.call_once(|| {
            w.berth(&["build", "--progress", "quiet"]).ok();
        });
        w
    }

    fn berth(&self, args: &[&str]) -> Run {
        let mut argv = vec!["--env-file", self.env_file.as_str()];
        argv.extend_from_slice(args);
        self.p.berth_files(&[self.file.as_str()], &argv)
    }

    /// berth with the Swarm override after the stack file.
    fn berth_swarm(&self, args: &[&str]) -> Run {
        let over = self.file.replace("compose.yaml", "compose.swarm.yaml");
        let mut argv = vec!["--env-file", self.env_file.as_str()];
        argv.extend_from_slice(args);
        self.p
            .berth_files(&[self.file.as_str(), over.as_str()], &argv)
    }

    /// `berth up --wait ARGS`, then waits until WordPress answers. The
    /// images berth builds (`berth-demo/*`) stay, as the base images do: the
    /// tests share them (removing them in one test would race another's
    /// `up`), and the demo builds the same.
    #[track_caller]
    fn up(&mut self, args: &[&str]) -> Run {
        let mut argv = vec!["up", "--wait"];
        argv.extend_from_slice(args);
        let run = self.berth(&argv).ok();
        self.answers(&run);
        run
    }

    /// Waits until WordPress answers on its port.
    #[track_caller]
    fn answers(&self, run: &Run) {
        let port = self.port;
        let up = || {
            http(port, "GET", "/wp-login.php", None)
                .is_ok_and(|(status, _)| status == 200 || status == 302)
        };
        assert!(
            wait_until(Duration::from_secs(60), up),
            "WordPress does not answer on 127.0.0.1:{port}\n{}",
            run.output()
        );
    }

    #[track_caller]
    fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Installs WordPress through its install form, as a person would.
    #[track_caller]
    fn install(&self) {
        let (status, body) = self.get("/wp-admin/install.php");
        assert_eq!(status, 200, "the install page: {body}");
        assert!(
            body.contains("Installation"),
            "not the install page: {body}"
        );
        let form = [
            ("weblog_title", "berth demo"),
            ("user_name", ADMIN),
            ("admin_password", PASSWORD),
            ("admin_password2", PASSWORD),
            ("pw_weak", "1"),
            ("admin_email", "admin@example.invalid"),
            ("blog_public", "0"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        let (status, body) = http(
            self.port,
            "POST",
            "/wp-admin/install.php?step=2",
            Some(&form),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "installing: {body}");
        assert!(
            body.contains("Success!"),
            "the install did not succeed: {body}"
        );
    }

    /// Publishes a post through WordPress's XML-RPC API; returns its id.
    #[track_caller]
    fn post(&self, title: &str) -> u64 {
        let call = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>wp.newPost</methodName><params>\
             <param><value><int>1</int></value></param>\
             <param><value><string>{ADMIN}</string></value></param>\
             <param><value><string>{PASSWORD}</string></value></param>\
             <param><value><struct>\
             <member><name>post_title</name><value><string>{title}</string></value></member>\
             <member><name>post_content</name><value><string>Written by a berth test.</string></value></member>\
             <member><name>post_status</name><value><string>publish</string></value></member>\
             </struct></value></param></params></methodCall>"
        );
        let (status, body) =
            http(self.port, "POST", "/xmlrpc.php", Some(&call)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "wp.newPost: {body}");
        body.split("<string>")
            .nth(1)
            .and_then(|s| s.split("</string>").next())
            .and_then(|id| id.trim().parse().ok())
            .unwrap_or_else(|| panic!("wp.newPost gave no post id: {body}"))
    }

    /// Asserts that post `id` is shown with `title`; `when` says after what.
    #[track_caller]
    fn has_post(&self, id: u64, title: &str, when: &str) {
        let (status, body) = self.get(&format!("/?p={id}"));
        assert!(
            status == 200 && body.contains(title),
            "post {id} ({title:?}) is not shown {when}: {status}\n{}",
            &body[..body.len().min(2000)]
        );
    }
}

#[test]
fn wordpress_installs_and_keeps_a_post_through_down_up_and_a_new_database_container() {
    let mut w = WordPress::new("demo-wp");
    w.up(&[]);
    let db = w.p.container("db");
    assert_eq!(db.json["State"]["Health"]["Status"], "healthy");
    // Published on loopback only.
    let wordpress = w.p.container("wordpress");
    let bindings = &wordpress.host("PortBindings")["80/tcp"];
    assert_eq!(bindings[0]["HostIp"], "127.0.0.1", "{bindings}");

    w.install();
    let title = "Hello from berth";
    let id = w.post(title);
    w.has_post(id, title, "once written");

    // A second `up` finds nothing to change.
    let again = w.berth(&["up"]).ok();
    assert!(
        again.stderr().contains("Nothing to change"),
        "{}",
        again.output()
    );

    // `down` keeps the named volumes: the post comes back with `up`.
    w.berth(&["down"]).ok();
    assert!(w.p.containers().is_empty(), "containers left after down");
    w.up(&[]);
    w.has_post(id, title, "after down + up");

    // A new database container on the same volume keeps it too.
    let old_db = w.p.container("db").id;
    w.up(&["--force-recreate", "db"]);
    assert_ne!(w.p.container("db").id, old_db, "db was recreated");
    w.has_post(id, title, "after the database was recreated");

    // `down --volumes` removes the data: WordPress asks to be installed again.
    w.berth(&["down", "--volumes"]).ok();
    let volume = format!("{}_db-data", w.p.name);
    assert!(
        !exists("volume", &volume),
        "down --volumes removes {volume}"
    );
    w.up(&[]);
    let (status, body) = w.get("/wp-admin/install.php");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Installation"),
        "a fresh install after down --volumes"
    );
    w.berth(&["down", "--volumes"]).ok();
}

#[test]
fn wordpress_deploys_to_the_swarm_with_its_override_and_its_install_page_answers() {
    let _swarm = Swarm::join();
    let w = WordPress::new("swwp");
    w.berth_swarm(&["build"]).ok();
    let plan = w.berth_swarm(&["plan", "--swarm"]).code_is(3);
    assert_eq!(plan.stderr(), "", "plan --swarm warns about the demo");
    let up = w.berth_swarm(&["up", "--swarm", "--wait"]).ok();
    for s in ["db", "wordpress"] {
        up.says(&format!("Converged service {}_{s}", w.p.name));
    }
    w.answers(&up);
    let (status, body) = w.get("/wp-admin/install.php");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Installation"),
        "not the install page: {body}"
    );
    w.berth_swarm(&["down", "--swarm"]).ok();
}
