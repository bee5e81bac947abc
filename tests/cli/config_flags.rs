//! `berth config`'s listing flags, as `docker compose config` v2.40 has
//! them: `--images`, `--networks`, `--volumes`, `--services`, `--profiles`, `--hash`,
//! `--environment`, `--no-interpolate`, `--output` and, for images already
//! pinned, `--resolve-image-digests` (the engine tests pin local images).
//!
//! The expected lines are what compose printed for the same stack and
//! environment. compose prints images, networks and volumes in Go's map
//! order, which changes from run to run, so those are compared as sets.

use crate::support::*;

/// web (image from `${TAG}`) after db, an app only built and only in the
/// `dev` profile, two networks, a used and an unused volume.
const STACK: &str = r#"
services:
  web:
    image: "nginx:${TAG:-1.25}"
    depends_on: [db]
    networks: [front, back]
  db:
    image: postgres:16
    networks: [back]
    volumes: [pgdata:/var/lib/postgresql/data]
  app:
    build: ./app
    networks: [back]
    profiles: [dev]
networks:
  front: {}
  back: {}
volumes:
  pgdata: {}
  cache: {}
"#;

fn stack() -> Berth {
    Berth::new()
        .file("compose.yaml", STACK)
        .file("app/Dockerfile", "FROM scratch\n")
        .file(".env", "TAG=1.27\nFROM_DOTENV=yes\n")
        .args(["-p", "cf"])
}

fn sorted_lines(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run.stdout().lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn images_networks_volumes_and_services_list_what_compose_lists() {
    let cases: [(&[&str], &[&str]); 8] = [
        (&["config", "--profiles"], &["dev"]),
        (&["--profile", "dev", "config", "--profiles"], &["dev"]),
        (&["config", "--images"], &["nginx:1.27", "postgres:16"]),
        (
            &["--profile", "dev", "config", "--images"],
            &["cf-app", "nginx:1.27", "postgres:16"],
        ),
        (&["config", "--networks"], &["back", "front"]),
        // compose leaves out a volume no service uses.
        (&["config", "--volumes"], &["pgdata"]),
        (&["config", "--services"], &["db", "web"]),
        (
            &["--profile", "dev", "config", "--services"],
            &["app", "db", "web"],
        ),
    ];
    for (args, expected) in cases {
        let run = stack().args(args).run().ok();
        assert_eq!(sorted_lines(&run), expected.to_vec(), "{args:?}");
    }
    // The process environment wins over .env, as in compose.
    let run = stack()
        .env("TAG", "2")
        .args(["config", "--images"])
        .run()
        .ok();
    assert_eq!(sorted_lines(&run), vec!["nginx:2", "postgres:16"]);
}

#[test]
fn environment_prints_the_variables_interpolation_used_sorted() {
    let run = stack()
        .env("FOO", "bar")
        .env("TAG", "2")
        .args(["config", "--environment"])
        .run()
        .ok();
    let path = std::env::var("PATH").unwrap_or_default();
    // compose prints the same, plus the variables the docker CLI gives its
    // plugins (DOCKER_CLI_PLUGIN_*).
    assert_eq!(
        run.stdout(),
        format!(
            "COLUMNS=100\nCOMPOSE_PROJECT_NAME=cf\nFOO=bar\nFROM_DOTENV=yes\n\
             HOME=/home/tester\nNO_COLOR=1\nPATH={path}\nTAG=2\n"
        )
    );
}

#[test]
fn hash_prints_berths_config_hash_per_service_sorted() {
    let line = |run: &Run| -> Vec<(String, String)> {
        run.stdout()
            .lines()
            .map(|l| {
                let (name, hash) = l.split_once(' ').expect("`SERVICE HASH`");
                assert_eq!(hash.len(), 64, "{l}");
                assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{l}");
                (name.to_string(), hash.to_string())
            })
            .collect()
    };
    let all = line(&stack().args(["config", "--hash", "*"]).run().ok());
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["db", "web"], "sorted, as compose sorts them");
    let two = line(&stack().args(["config", "--hash", "web,db"]).run().ok());
    assert_eq!(two, all);
    let web = line(&stack().args(["config", "--hash", "web"]).run().ok());
    assert_eq!(web, all[1..].to_vec());
    // The image is part of the hash; a new tag, a new hash.
    let retagged = line(
        &stack()
            .env("TAG", "2")
            .args(["config", "--hash", "web"])
            .run()
            .ok(),
    );
    assert_ne!(retagged, web);
    stack()
        .args(["config", "--hash", "nosuch"])
        .run()
        .failed()
        .says("no such service: nosuch");
}

#[test]
fn no_interpolate_prints_the_merged_files_with_their_variables() {
    let text = "services:\n  web:\n    image: \"busybox:${TAG:-1.36}\"\n    command: echo ${X:?need X}\n    environment:\n      B: $$literal\n";
    let berth = || Berth::new().file("compose.yaml", text).args(["-p", "ni"]);
    // Interpolated, `${X:?need X}` stops the load ...
    berth().args(["config"]).run().failed().says("need X");
    // ... but not without interpolation, and nothing is replaced.
    let run = berth()
        .args(["config", "--no-interpolate", "--format", "json"])
        .run()
        .ok();
    let v: serde_json::Value = serde_json::from_str(run.stdout()).expect("JSON");
    assert_eq!(v["name"], "ni");
    let web = &v["services"]["web"];
    assert_eq!(web["image"], "busybox:${TAG:-1.36}");
    assert_eq!(web["command"], "echo ${X:?need X}");
    assert_eq!(
        web["environment"]["B"], "$$literal",
        "as written, as compose"
    );
    assert_eq!(run.stderr(), "", "no warnings about variables");
    let services = berth()
        .args(["config", "--no-interpolate", "--services"])
        .run()
        .ok();
    assert_eq!(services.stdout(), "web\n");
    berth()
        .args(["config", "--no-interpolate", "--images"])
        .run()
        .failed()
        .says("need the interpolated stack");
}

#[test]
fn output_writes_the_file_instead_of_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.yaml");
    let printed = stack().args(["config"]).run().ok();
    let written = stack().args(["config", "-o"]).arg(&file).run().ok();
    assert_eq!(written.stdout(), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed.stdout());
    let json = dir.path().join("out.json");
    stack()
        .args(["config", "--format", "json", "--output"])
        .arg(&json)
        .run()
        .ok();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["services"]["web"]["image"], "nginx:1.27");
    let missing = dir.path().join("no/such/dir/out.yaml");
    stack()
        .args(["config", "-o"])
        .arg(&missing)
        .run()
        .failed()
        .says(&format!("cannot write {}", missing.display()));
}

#[test]
fn an_image_pinned_already_needs_no_engine_and_loses_its_tag() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let text = format!("services:\n  web:\n    image: redis:7@{digest}\n  app:\n    build: .\n");
    let run = Berth::new()
        .file("compose.yaml", &text)
        .file("Dockerfile", "FROM scratch\n")
        // No engine answers here: none is asked.
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .args([
            "-p",
            "pin",
            "config",
            "--format",
            "json",
            "--resolve-image-digests",
        ])
        .run()
        .ok();
    let v: serde_json::Value = serde_json::from_str(run.stdout()).expect("JSON");
    assert_eq!(
        v["services"]["web"]["image"],
        format!("docker.io/library/redis@{digest}")
    );
    assert_eq!(
        v["services"]["app"].get("image"),
        None,
        "a built service is left alone"
    );
}
