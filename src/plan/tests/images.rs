//! The builds and pulls of `up`, `berth build` and `berth pull`.

use super::*;

/// A built service, two sharing a pulled image, one that is never pulled.
const IMAGES: &str = r#"
name: app
services:
  web:
    build: .
  api:
    image: shared/img
  worker:
    image: shared/img
  offline:
    image: local/only
    pull_policy: never
"#;

fn names(named: &[&str]) -> Vec<String> {
    named.iter().map(|n| n.to_string()).collect()
}

fn images(s: &Stack, o: &Observed, named: &[&str], force_build: bool) -> Plan {
    plan_images(s, o, &names(named), ImageOptions { force_build }).unwrap()
}

/// Every image of `s` present locally.
fn present(s: &Stack) -> Observed {
    let mut o = Observed::default();
    for svc in s.services.values() {
        let image = image_ref(s, svc);
        o.images.insert(image.clone(), Some(image_id(&image)));
    }
    o
}

#[test]
fn up_builds_a_missing_built_image_and_pulls_a_shared_one_once() {
    let s = stack(IMAGES);
    let plan = images(&s, &Observed::default(), &[], false);
    assert_eq!(
        plan.to_string(),
        "\
build image app-web for web: image not found
pull shared/img: image not found
"
    );
    assert!(plan.steps.iter().all(|st| st.after.is_empty()));
    let Action::Build { service, request } = &plan.steps[0].action else {
        panic!("{plan}")
    };
    assert_eq!(service, "web");
    assert_eq!(request.request.tag, "app-web");
    assert_eq!(request.request.dockerfile, "Dockerfile");
    assert_eq!(request.dockerfile, None);
    assert!(!request.request.no_cache && !request.request.pull);
    assert!(matches!(
        &plan.steps[1].action,
        Action::Pull { image, optional: false } if image == "shared/img"
    ));
    assert_eq!(plan.steps[1].cause, Cause::Image(ImageReason::Missing));

    // A present image is left alone; `None` in the snapshot is absent.
    let o = present(&s);
    assert_eq!(images(&s, &o, &[], false).to_string(), "no changes\n");
    let mut o = present(&s);
    o.images.insert("shared/img".into(), None);
    assert_eq!(
        images(&s, &o, &[], false).to_string(),
        "pull shared/img: image not found\n"
    );
}

#[test]
fn up_build_rebuilds_every_built_image_even_when_present() {
    let s = stack(IMAGES);
    let plan = images(&s, &present(&s), &[], true);
    assert_eq!(plan.to_string(), "build image app-web for web: --build\n");
    assert_eq!(plan.steps[0].cause, Cause::Image(ImageReason::BuildFlag));
}

#[test]
fn pull_policy_never_leaves_a_missing_image_to_preflight() {
    let s = stack(IMAGES);
    let plan = images(&s, &Observed::default(), &["offline"], false);
    assert_eq!(plan.to_string(), "no changes\n");
    assert!(plan.steps.is_empty());
}

#[test]
fn pull_policies_always_and_build_act_on_a_present_image() {
    let s = stack(
        r#"
name: app
services:
  db:
    image: postgres:16
    pull_policy: always
  web:
    build: .
    pull_policy: build
"#,
    );
    assert_eq!(
        images(&s, &present(&s), &[], false).to_string(),
        "\
pull postgres:16: pull_policy: always
build image app-web for web: pull_policy: build
"
    );
}

#[test]
fn up_images_cover_the_named_services_and_their_dependencies_only() {
    let s = stack(
        r#"
name: app
services:
  web:
    image: app/web
    depends_on: [db]
  db:
    image: postgres:16
  other:
    image: app/other
"#,
    );
    assert_eq!(
        images(&s, &Observed::default(), &["web"], false).to_string(),
        "\
pull postgres:16: image not found
pull app/web: image not found
"
    );
    let err = plan_images(
        &s,
        &Observed::default(),
        &names(&["nope"]),
        ImageOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "no service `nope` in the stack\n  help: its services are: web, db, other"
    );
}

#[test]
fn berth_build_builds_the_services_with_build_and_warns_for_others() {
    let s = stack(IMAGES);
    let plan = plan_build(&s, &[], false, false).unwrap();
    assert_eq!(plan.to_string(), "build image app-web for web: requested\n");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);

    let plan = plan_build(&s, &names(&["api"]), false, false).unwrap();
    assert!(plan.steps.is_empty(), "{plan}");
    assert_eq!(plan.warnings, ["api has no `build:`; nothing to build"]);

    // --no-cache and --pull reach the request.
    let plan = plan_build(&s, &names(&["web"]), true, true).unwrap();
    let Action::Build { request, .. } = &plan.steps[0].action else {
        panic!("{plan}")
    };
    assert!(request.request.no_cache && request.request.pull);

    let err = plan_build(&s, &names(&["web", "x"]), false, false).unwrap_err();
    assert_eq!(
        err.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["no service `x` in the stack\n  help: its services are: web, api, worker, offline"]
    );
}

#[test]
fn berth_pull_skips_built_images_and_pulls_each_image_once() {
    let s = stack(
        r#"
name: app
services:
  web:
    build: .
  tagged:
    build: .
    image: registry/tagged:1
  local:
    build: .
    image: registry/local:1
    pull_policy: build
  api:
    image: shared/img
  worker:
    image: shared/img
  db:
    image: postgres:16
"#,
    );
    let plan = plan_pull(&s, &[], false).unwrap();
    assert_eq!(
        plan.to_string(),
        "\
pull postgres:16: requested
pull registry/tagged:1: requested
pull shared/img: requested
"
    );
    assert!(plan.steps.iter().all(|st| matches!(
        st.action,
        Action::Pull {
            optional: false,
            ..
        }
    )));

    let plan = plan_pull(&s, &names(&["worker", "web"]), true).unwrap();
    assert_eq!(plan.to_string(), "pull shared/img: requested\n");
    assert!(matches!(
        plan.steps[0].action,
        Action::Pull { optional: true, .. }
    ));

    let plan = plan_pull(&s, &names(&["web"]), false).unwrap();
    assert_eq!(plan.to_string(), "no changes\n");

    let err = plan_pull(&s, &names(&["x"]), false).unwrap_err();
    assert_eq!(err[0].message, "no service `x` in the stack");
}

#[test]
fn a_remote_build_context_is_refused_at_the_service_before_anything_runs() {
    let s = stack("name: app\nservices:\n  web:\n    build: https://github.com/example/app.git\n");
    let expect = "cannot build service web: the remote build context \
                  https://github.com/example/app.git is not supported\n  \
                  help: clone it and use the directory as the context";
    let errors = plan_images(&s, &Observed::default(), &[], ImageOptions::default()).unwrap_err();
    assert_eq!(
        errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        [expect]
    );
    assert_eq!(errors[0].span, Some(s.services["web"].span));
    let errors = plan_build(&s, &[], false, false).unwrap_err();
    assert_eq!(
        errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        [expect]
    );
}

#[test]
fn a_dockerfile_outside_the_context_is_read_into_the_step_or_its_reason_kept_for_the_build() {
    use crate::plan::images::Dockerfile;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let yaml = |file: &str| {
        format!(
            "name: app\nservices:\n  web:\n    build:\n      context: {}\n      dockerfile: ../{file}\n",
            dir.path().join("app").display()
        )
    };
    let outside = |file: &str| {
        let plan = plan_build(&stack(&yaml(file)), &[], false, false).unwrap();
        let Action::Build { request, .. } = &plan.steps[0].action else {
            panic!("{plan}")
        };
        assert_eq!(request.request.dockerfile, ".berth-dockerfile-web");
        match request.dockerfile.clone() {
            Some(Dockerfile::Outside { path, text }) => {
                assert_eq!(path, dir.path().join("app").join(format!("../{file}")));
                text
            }
            other => panic!("not outside: {other:?}"),
        }
    };
    assert_eq!(outside("Dockerfile"), Ok("FROM scratch\n".to_string()));
    assert_eq!(outside("Missing"), Err("it does not exist".to_string()));
}
