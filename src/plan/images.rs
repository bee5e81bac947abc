//! Planning images: the builds and pulls of `up`, `berth build` and
//! `berth pull`.
//!
//! `up` applies these steps before it plans its containers: a build or pull
//! can change which image a tag names, and so whether a container must be
//! recreated.
//!
//! The one file a planner reads is here: a Dockerfile outside its build
//! context, whose text the build step carries ([`Dockerfile`]).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::{Action, BuildStep, Cause, ImageReason, Plan, PlanError, select};
use crate::identity;
use crate::load::input::{Kind, read_text};
use crate::model::stack::{PullPolicy, Service, Stack};
use crate::observe::Observed;
use crate::spec;

/// What the image steps of `up` were asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageOptions {
    /// `up --build`: build every image that has `build:`.
    pub force_build: bool,
}

/// Whether one service's image is built, pulled or left alone, per
/// `pull_policy`: `build` always builds; a service with `build:` builds when
/// `--build` is given or its image is missing; `always` pulls; `missing`
/// (the default) pulls a missing image; `never` leaves a missing image for
/// preflight to report.
fn image_need(svc: &Service, present: bool, force_build: bool) -> Option<(Work, ImageReason)> {
    let extras = svc.extras();
    let policy = extras.pull_policy.clone().unwrap_or(PullPolicy::Missing);
    if extras.build.is_some() {
        return match policy {
            PullPolicy::Build => Some((Work::Build, ImageReason::PolicyBuild)),
            _ if force_build => Some((Work::Build, ImageReason::BuildFlag)),
            _ if !present => Some((Work::Build, ImageReason::Missing)),
            PullPolicy::Always if svc.image.is_some() => {
                Some((Work::Pull, ImageReason::PolicyAlways))
            }
            _ => None,
        };
    }
    match policy {
        PullPolicy::Always => Some((Work::Pull, ImageReason::PolicyAlways)),
        PullPolicy::Never | PullPolicy::Build => None,
        // `missing`, and the refresh policies (berth does not track an
        // image's age yet).
        PullPolicy::Missing | PullPolicy::Refresh(_) if !present => {
            Some((Work::Pull, ImageReason::Missing))
        }
        PullPolicy::Missing | PullPolicy::Refresh(_) => None,
    }
}

/// What an image needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Build,
    Pull,
}

/// The builds and pulls `up` needs for the selected services (and their
/// dependencies), from the images in `observed`; each image pulled once.
pub fn plan_images(
    stack: &Stack,
    observed: &Observed,
    services: &[String],
    opts: ImageOptions,
) -> Result<Plan, Vec<PlanError>> {
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let mut pulled = BTreeSet::new();
    for name in select::selection(stack, services)? {
        let svc = &stack.services[name.as_str()];
        let image = identity::image_ref(stack, svc);
        let present = matches!(observed.images.get(&image), Some(Some(_)));
        match image_need(svc, present, opts.force_build) {
            None => {}
            Some((Work::Build, why)) => match build_action(stack, svc, false, false) {
                Ok(action) => {
                    plan.push(action, Cause::Image(why), vec![]);
                }
                Err(e) => errors.push(e),
            },
            // Each image once, whichever services share it.
            Some((Work::Pull, why)) if pulled.insert(image.clone()) => {
                plan.push(
                    Action::Pull {
                        image,
                        optional: false,
                    },
                    Cause::Image(why),
                    vec![],
                );
            }
            Some((Work::Pull, _)) => {}
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// `berth build [SERVICE...]`: a build per named service with `build:` (all
/// of them when none is named).
pub fn plan_build(
    stack: &Stack,
    named: &[String],
    no_cache: bool,
    pull: bool,
) -> Result<Plan, Vec<PlanError>> {
    let unknown = select::unknown_services(stack, named);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    for svc in stack.services.values() {
        if !named.is_empty() && !named.contains(&svc.name) {
            continue;
        }
        if svc.extras().build.is_none() {
            if !named.is_empty() {
                plan.warnings
                    .push(format!("{} has no `build:`; nothing to build", svc.name));
            }
            continue;
        }
        match build_action(stack, svc, no_cache, pull) {
            Ok(action) => {
                plan.push(action, Cause::Image(ImageReason::Asked), vec![]);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// `berth pull [SERVICE...]`: a pull per distinct image of the named
/// services (all when none is named). As in compose, services whose image is
/// built (`build:` without `image:`, or `pull_policy: build`) or never pulled
/// (`pull_policy: never`) are left out.
pub fn plan_pull(
    stack: &Stack,
    named: &[String],
    ignore_failures: bool,
) -> Result<Plan, Vec<PlanError>> {
    let unknown = select::unknown_services(stack, named);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let images: BTreeSet<String> = stack
        .services
        .values()
        .filter(|svc| named.is_empty() || named.contains(&svc.name))
        .filter(|svc| svc.image.is_some() || svc.extras().build.is_none())
        .filter(|svc| {
            !matches!(
                svc.extras().pull_policy,
                Some(PullPolicy::Build | PullPolicy::Never)
            )
        })
        .map(|svc| identity::image_ref(stack, svc))
        .collect();
    let mut plan = Plan::default();
    for image in images {
        plan.push(
            Action::Pull {
                image,
                optional: ignore_failures,
            },
            Cause::Image(ImageReason::Asked),
            vec![],
        );
    }
    Ok(plan)
}

/// The build of one service's image: what `docker build` would send; an
/// error for a remote context (a git or URL context), which berth cannot
/// pack.
fn build_action(
    stack: &Stack,
    svc: &Service,
    no_cache: bool,
    pull: bool,
) -> Result<Action, PlanError> {
    let build = svc.extras().build.clone().unwrap_or_default();
    if build.context.contains("://") || build.context.starts_with("git@") {
        return Err(PlanError::new(
            format!(
                "cannot build service {}: the remote build context {} is not supported",
                svc.name, build.context
            ),
            "clone it and use the directory as the context",
            Some(svc.span),
        ));
    }
    let context = PathBuf::from(&build.context);
    let (dockerfile, source) = dockerfile_in(&context, &build, &svc.name);
    Ok(Action::Build {
        service: svc.name.clone(),
        request: Box::new(BuildStep {
            context,
            dockerfile: source,
            request: spec::build_request(stack, svc, dockerfile, no_cache, pull),
        }),
    })
}

/// Where the Dockerfile comes from: its path inside the context tar, and
/// where to read it when it is not a file inside the context.
fn dockerfile_in(
    context: &Path,
    build: &crate::model::stack::Build,
    service: &str,
) -> (String, Option<Dockerfile>) {
    let generated = format!(".berth-dockerfile-{service}");
    if let Some(text) = &build.dockerfile_inline {
        return (generated, Some(Dockerfile::Inline(text.clone())));
    }
    let name = if build.dockerfile.is_empty() {
        "Dockerfile"
    } else {
        build.dockerfile.as_str()
    };
    let path = context.join(name);
    if let Ok(rel) = path.strip_prefix(context)
        && !rel.components().any(|c| c == Component::ParentDir)
    {
        return (rel.to_string_lossy().replace('\\', "/"), None);
    }
    // Outside the context: sent under a generated name, as the CLI does.
    // Read here, through the loader's reader (regular text files only,
    // bounded), so that the step carries the text and the executor imports
    // no loader; the plan sits above the loader, and moving that reader
    // below both would move one of the loader's modules for this one
    // caller. A file that cannot be read is not an error of the plan: its
    // build step fails with the reason when it runs, as when the executor
    // read the file.
    let text = read_text(&path, Kind::Stack).map_err(|e| e.to_string());
    (generated, Some(Dockerfile::Outside { path, text }))
}

/// A Dockerfile that is not a file inside the build context.
#[derive(Debug, Clone, PartialEq)]
pub enum Dockerfile {
    /// `dockerfile_inline`.
    Inline(String),
    /// A file outside the context: its path, and its text as read when the
    /// step was planned, or why it could not be read.
    Outside {
        path: PathBuf,
        text: Result<String, String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(build: bool, image: Option<&str>, policy: Option<&str>) -> Service {
        let mut s = Service {
            name: "web".into(),
            image: image.map(str::to_string),
            ..Service::default()
        };
        s.extras_mut().pull_policy = policy.and_then(PullPolicy::parse);
        s.extras_mut().build = build.then(Box::default);
        s
    }

    #[test]
    fn pull_policy_decides_what_up_does_with_an_image() {
        use ImageReason::*;
        let pull = |r| Some((Work::Pull, r));
        let build = |r| Some((Work::Build, r));
        assert_eq!(
            image_need(&svc(false, Some("i"), None), false, false),
            pull(Missing)
        );
        assert_eq!(image_need(&svc(false, Some("i"), None), true, false), None);
        let always = svc(false, Some("i"), Some("always"));
        assert_eq!(image_need(&always, true, false), pull(PolicyAlways));
        let never = svc(false, Some("i"), Some("never"));
        assert_eq!(image_need(&never, false, false), None);
        assert_eq!(
            image_need(&svc(true, None, None), false, false),
            build(Missing)
        );
        assert_eq!(image_need(&svc(true, None, None), true, false), None);
        assert_eq!(
            image_need(&svc(true, None, None), true, true),
            build(BuildFlag)
        );
        let policy_build = svc(true, None, Some("build"));
        assert_eq!(image_need(&policy_build, true, false), build(PolicyBuild));
    }
}

#[cfg(test)]
mod build_request_tests {
    use super::*;

    #[test]
    fn a_builds_shm_size_goes_into_the_request() {
        let stack = crate::testutil::stack(
            "services:\n  web:\n    build:\n      context: .\n      shm_size: 64m\n      entitlements: [network.host]\n",
        );
        let action = build_action(&stack, &stack.services["web"], false, false).unwrap();
        let Action::Build { request, .. } = action else {
            panic!("not a build: {action:?}");
        };
        assert_eq!(request.request.shm_size, Some(64 << 20));
    }
}
