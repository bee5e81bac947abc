//! `berth ps` against `docker compose ps` on the same engine: one small
//! stack brought up twice from one directory, once by `docker compose`
//! (project `<name>-compose`) and once by berth, and the two listings
//! compared field by field. berth does not set compose's labels, so each
//! tool sees only its own containers.

use crate::engine::*;

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// web: healthy, a port on loopback and one only exposed, a named volume, a
/// bind mount and a label; job: exits 3 at once.
const STACK: &str = r#"
services:
  web:
    image: {IMAGE}
    command: ["httpd", "-f", "-p", "8080"]
    ports:
      - "127.0.0.1::8080"
      - "9000"
    volumes:
      - data:/data
      - ./site:/site
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    labels:
      tier: front
  job:
    image: {IMAGE}
    command: sh -c "exit 3"
volumes:
  data: {}
"#;

/// One object per line.
fn rows(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn by_service(rows: Vec<Value>) -> BTreeMap<String, Value> {
    rows.into_iter()
        .map(|r| (r["Service"].as_str().unwrap_or_default().to_string(), r))
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A row with its project's names replaced by `P` (the berth project's is
/// in the directory of the bind mount), and the host ports the engine
/// picked replaced by `N` (the two projects get different ones).
fn neutral(row: &Value, names: &[&str]) -> Value {
    let mut text = row.to_string();
    for name in names {
        text = text.replace(name, "P");
    }
    for p in row["Publishers"].as_array().into_iter().flatten() {
        let port = p["PublishedPort"].as_u64().unwrap_or(0);
        if port != 0 {
            text = text
                .replace(&format!(":{port}-"), ":N-")
                .replace(&format!("\"PublishedPort\":{port}"), "\"PublishedPort\":0");
        }
    }
    serde_json::from_str(&text).unwrap()
}

fn healthy_and_exited(prefix: &str) -> bool {
    let state = |c: &str, f: &str| {
        docker_try(&["inspect", "-f", f, &format!("{prefix}-{c}-1")]).unwrap_or_default()
    };
    state("web", "{{.State.Health.Status}}").trim() == "healthy"
        && state("job", "{{.State.Status}}").trim() == "exited"
}

#[test]
fn ps_json_has_composes_keys_types_and_values() {
    let p = Project::with_stack("psc", STACK);
    std::fs::create_dir_all(p.path("site")).unwrap();
    let compose = Compose {
        name: format!("{}-compose", p.name),
        dir: p.dir.path().to_path_buf(),
    };
    compose.ok(&["up", "-d"]);
    p.berth(&["up"]).ok();
    assert!(
        wait_until(Duration::from_secs(60), || healthy_and_exited(
            &compose.name
        ) && healthy_and_exited(&p.name)),
        "both projects' web healthy and job exited"
    );

    for args in [&["-a"][..], &["-a", "--no-trunc"][..]] {
        let mut json_args = vec!["ps", "--format", "json"];
        json_args.extend(args);
        let theirs = by_service(rows(&compose.ok(&json_args)));
        let ours = by_service(rows(p.berth(&json_args).ok().stdout()));
        assert_eq!(
            theirs.keys().collect::<Vec<_>>(),
            vec!["job", "web"],
            "{theirs:?}"
        );
        assert_eq!(
            theirs.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>()
        );
        for (service, compose_row) in &theirs {
            let berth_row = &ours[service];
            let (c, b) = (
                compose_row.as_object().unwrap(),
                berth_row.as_object().unwrap(),
            );
            assert_eq!(
                c.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{service}: the same keys in the same order"
            );
            for (key, value) in c {
                assert_eq!(
                    kind(value),
                    kind(&b[key]),
                    "{service}.{key}: {value} vs {}",
                    b[key]
                );
            }
            let (c, b) = (
                neutral(compose_row, &[&compose.name, &p.name]),
                neutral(berth_row, &[&p.name]),
            );
            for key in [
                "Command",
                "ExitCode",
                "Health",
                "Image",
                "LocalVolumes",
                "Mounts",
                "Name",
                "Names",
                "Networks",
                "Ports",
                "Project",
                "Publishers",
                "Service",
                "Size",
                "State",
            ] {
                // Cut to 15 characters, two project names of different
                // lengths cannot be told apart: whole ones only.
                if key == "Mounts" && args.len() == 1 {
                    continue;
                }
                if key == "Mounts" {
                    // The engine lists a container's mounts in no fixed order.
                    let set = |v: &Value| {
                        let mut v: Vec<String> =
                            v.as_str().unwrap().split(',').map(String::from).collect();
                        v.sort();
                        v
                    };
                    assert_eq!(set(&c[key]), set(&b[key]), "{service}.{key}");
                    continue;
                }
                assert_eq!(c[key], b[key], "{service}.{key}");
            }
            let (cs, bs) = (c["Status"].as_str().unwrap(), b["Status"].as_str().unwrap());
            match service.as_str() {
                "web" => {
                    assert!(cs.starts_with("Up ") && cs.ends_with(" (healthy)"), "{cs}");
                    assert!(bs.starts_with("Up ") && bs.ends_with(" (healthy)"), "{bs}");
                    let published = b["Publishers"].as_array().unwrap();
                    assert_eq!(
                        published.len(),
                        compose_row["Publishers"].as_array().unwrap().len()
                    );
                    assert!(
                        berth_row["Publishers"][0]["PublishedPort"]
                            .as_u64()
                            .unwrap()
                            > 0,
                        "{berth_row}"
                    );
                }
                _ => {
                    assert!(
                        cs.starts_with("Exited (3) ") && cs.ends_with(" ago"),
                        "{cs}"
                    );
                    assert!(
                        bs.starts_with("Exited (3) ") && bs.ends_with(" ago"),
                        "{bs}"
                    );
                }
            }
            for row in [compose_row, berth_row] {
                assert!(
                    row["RunningFor"].as_str().unwrap().ends_with(" ago"),
                    "{row}"
                );
                let created = row["CreatedAt"].as_str().unwrap();
                assert_eq!(
                    created.len(),
                    "2026-11-30 07:36:07 +0000 UTC".len(),
                    "{created}"
                );
                let labels = row["Labels"].as_str().unwrap();
                let tier = labels.split(',').any(|l| l == "tier=front");
                assert_eq!(tier, service == "web", "{labels}");
                let id = row["ID"].as_str().unwrap();
                let full = docker(&["inspect", "-f", "{{.Id}}", row["Name"].as_str().unwrap()]);
                assert!(full.trim().starts_with(id), "{id} is the container's id");
                assert_eq!(id.len(), if args.len() == 2 { 64 } else { 12 });
            }
        }
    }

    // The other ways of listing agree too, modulo project names.
    for args in [
        &["--services"][..],
        &["-a", "--services"][..],
        &["--status", "exited", "--services"][..],
        &["--filter", "status=running", "--services"][..],
        &["web", "--services"][..],
    ] {
        let mut ours = vec!["ps"];
        ours.extend(args);
        assert_eq!(
            compose.ok(&ours[..]).trim(),
            p.berth(&ours).ok().stdout().trim(),
            "ps {args:?}"
        );
    }
    // `config --hash` is the hash label the containers carry.
    let label = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"io.berth.config-hash\"}}",
        &format!("{}-web-1", p.name),
    ]);
    let hash = p.berth(&["config", "--hash", "web"]).ok();
    assert_eq!(hash.stdout(), format!("web {}\n", label.trim()));

    let ids = p.berth(&["ps", "-q"]).ok();
    let web = docker(&["inspect", "-f", "{{.Id}}", &format!("{}-web-1", p.name)]);
    assert_eq!(
        ids.stdout().trim(),
        web.trim(),
        "-q: the running one, in full"
    );
    assert_eq!(compose.ok(&["ps", "-q"]).trim().len(), 64);
}
