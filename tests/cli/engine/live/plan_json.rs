//! `berth plan --format json`: the steps `up` would take, each with its
//! action, resource, cause, prerequisites and the request it would send.

use crate::engine::*;

/// `berth plan --format json`, which must exit with `code`, parsed; checks
/// the envelope every plan has.
#[track_caller]
fn plan_json(p: &Project, code: i32) -> Value {
    let run = p.berth(&["plan", "--format", "json"]).code_is(code);
    let v: Value = serde_json::from_str(run.stdout())
        .unwrap_or_else(|e| panic!("plan --format json is not JSON ({e}):\n{}", run.stdout()));
    assert_eq!(v["format_version"], 1, "{v:#}");
    assert_eq!(v["project"], p.name.as_str(), "{v:#}");
    assert_eq!(v["changes"], code == 3, "{v:#}");
    assert!(v["warnings"].is_array(), "{v:#}");
    let steps = v["steps"].as_array().expect("steps");
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["id"], i, "steps are numbered in order: {v:#}");
        for a in s["after"].as_array().expect("after") {
            assert!(
                a.as_u64().is_some_and(|a| (a as usize) < steps.len()),
                "`after` names a step: {v:#}"
            );
        }
    }
    v
}

fn steps(v: &Value) -> &Vec<Value> {
    v["steps"].as_array().expect("steps")
}

fn field<'a>(steps: &'a [Value], key: &str) -> Vec<&'a Value> {
    steps.iter().map(|s| &s[key]).collect()
}

fn after(step: &Value) -> Vec<u64> {
    step["after"]
        .as_array()
        .expect("after")
        .iter()
        .map(|a| a.as_u64().expect("a step id"))
        .collect()
}

/// Whether `from` waits, directly or through other steps, for `to`.
fn waits_for(steps: &[Value], from: u64, to: u64) -> bool {
    let mut todo = vec![from];
    let mut seen = vec![false; steps.len()];
    while let Some(s) = todo.pop() {
        for a in after(&steps[s as usize]) {
            if a == to {
                return true;
            }
            if !seen[a as usize] {
                seen[a as usize] = true;
                todo.push(a);
            }
        }
    }
    false
}

fn env_stack(mode: &str) -> String {
    format!(
        "services:\n{}{}",
        idle("app", &format!("    environment:\n      MODE: {mode}\n")),
        idle("side", "")
    )
}

#[test]
fn recreate_is_five_chained_steps_with_the_create_request() {
    let p = Project::up("pj-recreate", &env_stack("one"));
    let old = p.container("app");
    let app = format!("{}-app-1", p.name);
    let aside = format!("{}_{app}", &old.id[..12]);

    p.write("compose.yaml", &env_stack("two"));
    let v = plan_json(&p, 3);
    let s = steps(&v);
    assert_eq!(
        field(s, "action"),
        [
            "rename_container",
            "create_container",
            "stop_container",
            "remove_container",
            "start_container"
        ],
        "{v:#}"
    );
    let codes: Vec<&Value> = s.iter().map(|s| &s["cause"]["code"]).collect();
    assert_eq!(
        codes,
        ["recreate", "recreate", "recreate", "recreate", "recreated"],
        "{v:#}"
    );
    for step in &s[..4] {
        assert_eq!(
            step["cause"]["text"], "recreate: config changed: environment",
            "{v:#}"
        );
    }
    // A chain: each step waits for the one before it.
    assert!(after(&s[0]).is_empty(), "{v:#}");
    for (i, step) in s.iter().enumerate().skip(1) {
        let i = i as u64;
        assert!(
            after(step).contains(&(i - 1)),
            "step {i} waits for step {}: {v:#}",
            i - 1
        );
        assert!(after(step).iter().all(|&a| a < i), "{v:#}");
    }
    for step in s {
        assert_eq!(step["changes_engine"], true, "{v:#}");
        assert_eq!(step["resource"]["kind"], "container", "{v:#}");
        assert_eq!(step["resource"]["service"], "app", "{v:#}");
    }
    let names: Vec<&Value> = s.iter().map(|s| &s["resource"]["name"]).collect();
    assert_eq!(
        names,
        [&app, &app, &aside, &aside, &app],
        "the old container is stopped and removed under its parked name: {v:#}"
    );

    assert_eq!(s[0]["request"]["id"], old.id.as_str(), "{v:#}");
    assert_eq!(s[0]["request"]["name"], aside.as_str(), "{v:#}");
    let create = &s[1]["request"];
    assert_eq!(create["name"], app.as_str(), "{v:#}");
    let body = &create["body"];
    let env: Vec<&str> = body["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .map(|e| e.as_str().expect("a string"))
        .collect();
    assert!(env.contains(&"MODE=two"), "{env:?}");
    assert!(!env.contains(&"MODE=one"), "{env:?}");
    assert_eq!(body["Image"], IMAGE, "{v:#}");
    assert_eq!(body["Labels"][LABEL], p.name.as_str(), "{v:#}");
    assert_eq!(body["Labels"]["io.berth.service"], "app", "{v:#}");
    assert!(body["HostConfig"].is_object(), "{v:#}");
    assert_eq!(s[2]["request"]["id"], old.id.as_str(), "{v:#}");
    assert_eq!(s[3]["request"]["id"], old.id.as_str(), "{v:#}");

    // Planning changed nothing.
    let still = p.container("app");
    assert_eq!(still.id, old.id);
    assert_eq!(still.started_at(), old.started_at());
}

fn cpus(value: &str) -> String {
    format!(
        "services:\n{}",
        idle("app", &format!("    cpus: {value}\n"))
    )
}

#[test]
fn cpus_change_is_one_update_in_place() {
    let p = Project::up("pj-update", &cpus("0.5"));
    let before = p.container("app");
    assert_eq!(before.host_i64("NanoCpus"), 500_000_000);

    p.write("compose.yaml", &cpus("0.25"));
    let v = plan_json(&p, 3);
    let s = steps(&v);
    assert_eq!(s.len(), 1, "{v:#}");
    let step = &s[0];
    assert_eq!(step["action"], "update_container", "{v:#}");
    assert_eq!(step["cause"]["code"], "limits_changed", "{v:#}");
    assert_eq!(
        step["resource"]["name"],
        format!("{}-app-1", p.name),
        "{v:#}"
    );
    assert_eq!(step["request"]["id"], before.id.as_str(), "{v:#}");
    assert_eq!(step["request"]["body"]["NanoCpus"], 250_000_000, "{v:#}");
    assert!(after(step).is_empty(), "{v:#}");

    p.berth(&["up"]).ok();
    let after_up = p.container("app");
    assert_eq!(after_up.id, before.id, "updated, not recreated");
    assert_eq!(after_up.started_at(), before.started_at(), "not restarted");
    assert_eq!(after_up.host_i64("NanoCpus"), 250_000_000);
    plan_json(&p, 0);
}

#[test]
fn missing_image_is_built_before_its_container_is_created() {
    let mut p = Project::new("pj-build");
    let tag = p.sleeper_context("web");
    p.write(
        "compose.yaml",
        "services:\n  web:\n    build:\n      context: ./app\n      args:\n        GREETING: hi\n",
    );
    assert!(!exists("image", &tag), "{tag} exists already");

    let v = plan_json(&p, 3);
    let s = steps(&v);
    let builds: Vec<usize> = (0..s.len())
        .filter(|&i| s[i]["action"] == "build_image")
        .collect();
    assert_eq!(builds.len(), 1, "one build: {v:#}");
    let b = &s[builds[0]];
    assert_eq!(b["cause"]["code"], "image_missing", "{v:#}");
    assert_eq!(b["resource"]["kind"], "image", "{v:#}");
    assert_eq!(b["resource"]["name"], tag.as_str(), "{v:#}");
    assert_eq!(b["resource"]["service"], "web", "{v:#}");
    assert_eq!(b["request"]["t"], tag.as_str(), "{v:#}");
    assert_eq!(b["request"]["dockerfile"], "Dockerfile", "{v:#}");
    assert_eq!(b["request"]["buildargs"]["GREETING"], "hi", "{v:#}");
    let context = b["request"]["context"].as_str().expect("context");
    assert!(
        std::path::Path::new(context).ends_with("app"),
        "context {context}"
    );

    let creates: Vec<usize> = (0..s.len())
        .filter(|&i| s[i]["action"] == "create_container")
        .collect();
    assert_eq!(creates.len(), 1, "{v:#}");
    let c = &s[creates[0]];
    assert_eq!(c["request"]["name"], format!("{}-web-1", p.name), "{v:#}");
    assert_eq!(c["request"]["body"]["Image"], tag.as_str(), "{v:#}");
    assert!(
        builds[0] < creates[0] && waits_for(s, creates[0] as u64, builds[0] as u64),
        "the create waits for the build: {v:#}"
    );
    assert!(!exists("image", &tag), "plan built nothing");
}

#[test]
fn converged_stack_has_no_steps_and_exits_zero() {
    let p = Project::up("pj-none", &env_stack("one"));
    let v = plan_json(&p, 0);
    assert_eq!(v["changes"], false, "{v:#}");
    assert_eq!(v["steps"], Value::Array(vec![]), "{v:#}");
}
