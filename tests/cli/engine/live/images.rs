//! Images: `berth build`, `berth pull`, and the image step of `up` (build
//! what is missing, pull per `pull_policy`). Pulls go to a local registry
//! (Debian's `docker-registry`) started by the test on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::process::Child;

use crate::engine::*;

const DOCKERFILE: &str = "\
FROM {IMAGE}
ARG GREETING=none
COPY . /ctx
RUN echo \"$GREETING\" > /greeting
CMD [\"sleep\", \"3600\"]
";

const BUILT: &str = r#"
services:
  web:
    build:
      context: ./app
      args:
        GREETING: hello
      labels:
        team: web
"#;

fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .trim()
        .to_string()
}

/// A build context in `app/` with a `.dockerignore`.
fn write_context(p: &Project) {
    std::fs::create_dir_all(p.path("app/secret")).unwrap();
    p.write("app/Dockerfile", DOCKERFILE);
    p.write("app/.dockerignore", "*.log\n!keep.log\nsecret\n**/*.tmp\n");
    p.write("app/main.sh", "echo main\n");
    p.write("app/debug.log", "x\n");
    p.write("app/keep.log", "kept\n");
    p.write("app/secret/key", "k\n");
    std::fs::create_dir_all(p.path("app/sub")).unwrap();
    p.write("app/sub/a.tmp", "t\n");
    p.write("app/sub/b.txt", "b\n");
}

/// A project that builds `web` from the context in `app/`; returns it and
/// the tag berth gives the image (removed with the project).
fn building(test: &str) -> (Project, String) {
    let mut p = Project::with_stack(test, BUILT);
    let tag = format!("{}-web", p.name);
    p.extra_images.push(tag.clone());
    write_context(&p);
    (p, tag)
}

#[test]
fn build_tags_the_image_and_sends_the_context_dockerignore_args_and_labels() {
    let (p, tag) = building("img-build");
    let run = p.berth(&["build", "--progress", "plain"]).ok();
    run.says("Building web")
        .says("web | Step 1/6 : FROM")
        .says("Built web (sha256:");
    let labels = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &tag,
    ]);
    assert!(labels.contains("\"team\":\"web\""), "{labels}");
    let files = docker(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "cat /greeting; cd /ctx && find . -type f | sort",
    ]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [
            "hello",
            "./.dockerignore",
            "./Dockerfile",
            "./keep.log",
            "./main.sh",
            "./sub/b.txt"
        ],
        "{files}"
    );
}

#[test]
fn up_builds_a_missing_image_and_recreates_only_when_the_image_changed() {
    let (p, tag) = building("img-up");
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says("Built web");
    let first = p.container("web");
    assert_eq!(first.exec("cat /greeting").trim(), "hello");
    // Present: `up` does not build again.
    let again = p.berth(&["up", "--progress", "plain"]).ok();
    assert!(!again.output().contains("Building"), "{}", again.output());
    again.says_nothing_changed();
    // Rebuilt from the same context: the same image id, no recreate.
    p.berth(&["up", "--build", "--progress", "plain"])
        .ok()
        .says("Built web")
        .says_nothing_changed();
    assert_eq!(p.container("web").id, first.id);
    // A changed context gives a new image, and the container follows it.
    let before = image_id(&tag);
    p.write("app/main.sh", "echo changed\n");
    p.berth(&["up", "--build", "--progress", "plain"])
        .ok()
        .says("Built web");
    assert_ne!(image_id(&tag), before);
    let second = p.container("web");
    assert_ne!(second.id, first.id);
    assert_eq!(second.exec("cat /ctx/main.sh").trim(), "echo changed");
}

#[test]
fn a_failed_build_names_the_service_and_shows_the_engine_error() {
    let p = Project::new("img-fail");
    std::fs::create_dir_all(p.path("app")).unwrap();
    p.write("app/Dockerfile", "FROM {IMAGE}\nRUN exit 3\n");
    p.write("compose.yaml", "services:\n  web:\n    build: ./app\n");
    let run = p.berth(&["up"]).failed();
    run.says("cannot build service web")
        .says("returned a non-zero code: 3")
        .says("nothing was changed");
    assert!(p.containers().is_empty());
}

/// Debian's registry on a free loopback port, with its storage in a
/// temporary directory; killed when dropped.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start docker-registry ({e}); install it with `apt-get install -y docker-registry`"
                )
            });
        let registry = Registry {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    /// Pushes the test image as `<registry>/busybox:latest` and removes
    /// the local tag again; returns the reference.
    fn holding_busybox(&self) -> String {
        let reference = format!("127.0.0.1:{}/busybox:latest", self.port);
        docker(&["tag", IMAGE, &reference]);
        docker(&["push", &reference]);
        docker(&["image", "rm", &reference]);
        reference
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pull_and_up_fetch_images_from_a_registry() {
    let registry = Registry::start();
    let mut p = Project::new("img-pull");
    let reference = registry.holding_busybox();
    p.extra_images.push(reference.clone());
    p.write(
        "compose.yaml",
        &format!("services:\n  a:\n    image: {reference}\n    command: [sleep, '3600']\n"),
    );
    p.berth(&["pull", "--progress", "plain"])
        .ok()
        .says(&format!("Pulling {reference}"))
        .says(&format!("Pulled {reference}"));
    assert!(exists("image", &reference));
    // `up` pulls what is missing.
    docker(&["image", "rm", &reference]);
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says(&format!("Pulled {reference}"));
    assert_eq!(p.container("a").json["State"]["Running"], Value::Bool(true));
    // Present: not pulled again.
    let again = p.berth(&["up", "--progress", "plain"]).ok();
    assert!(!again.output().contains("Pulling"), "{}", again.output());
    // `always` pulls even so.
    p.write(
        "compose.yaml",
        &format!(
            "services:\n  a:\n    image: {reference}\n    command: [sleep, '3600']\n    pull_policy: always\n"
        ),
    );
    p.berth(&["up", "--progress", "plain"])
        .ok()
        .says(&format!("Pulled {reference}"))
        .says_nothing_changed();
}

#[test]
fn a_failed_pull_names_the_image_and_the_registry_reason() {
    let registry = Registry::start();
    let p = Project::new("img-nope");
    let missing = format!("127.0.0.1:{}/busybox:nope", registry.port);
    p.write(
        "compose.yaml",
        &format!("services:\n  a:\n    image: {missing}\n"),
    );
    p.berth(&["pull"])
        .failed()
        .says(&format!("cannot pull {missing}"))
        .says("manifest unknown");
    p.berth(&["up"])
        .failed()
        .says(&format!("cannot pull {missing}"))
        .says("nothing was changed");
    assert!(p.containers().is_empty());
    // `never`: not pulled; the missing image is an error before anything.
    p.write(
        "compose.yaml",
        &format!("services:\n  a:\n    image: {missing}\n    pull_policy: never\n"),
    );
    let run = p.berth(&["up"]).failed();
    run.says("is not on this host")
        .says("pull_policy is `never`");
    assert!(!run.output().contains("Pulling"), "{}", run.output());
}

#[test]
fn config_pins_images_to_the_digests_the_engine_holds() {
    let registry = Registry::start();
    let mut p = Project::new("img-digest");
    let reference = registry.holding_busybox();
    p.extra_images.push(reference.clone());
    docker(&["pull", &reference]);
    let held = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RepoDigests 0}}",
        &reference,
    ]);
    let digest = held
        .trim()
        .split_once('@')
        .expect("name@digest")
        .1
        .to_string();
    p.write(
        "compose.yaml",
        &format!("services:\n  a:\n    image: {reference}\n"),
    );
    let run = p
        .berth(&["config", "--format", "json", "--resolve-image-digests"])
        .ok();
    let v: Value = serde_json::from_str(run.stdout()).expect("JSON");
    assert_eq!(
        v["services"]["a"]["image"],
        format!("{reference}@{digest}"),
        "pinned as compose pins: name:tag@digest"
    );
    // The test image was built here: no digest to pin it to.
    p.write(
        "compose.yaml",
        &format!("services:\n  a:\n    image: {reference}\n  b:\n    image: {IMAGE}\n"),
    );
    p.berth(&["config", "--resolve-image-digests"])
        .failed()
        .says(&format!("service b: image {IMAGE} has no registry digest"));
    p.write(
        "compose.yaml",
        "services:\n  c:\n    image: berth-test/never-here:1\n",
    );
    p.berth(&["config", "--resolve-image-digests"])
        .failed()
        .says("service c: image berth-test/never-here:1 is not on this engine");
}
