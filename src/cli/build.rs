//! `berth build`: build the images of services that have `build:`; and the
//! image step of `up`, which builds and pulls what the stack needs before
//! anything is observed or planned.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::pull::pull_one;
use super::up::{connect, runtime};
use super::{Global, Outcome, load_stack, print_diagnostics};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::engine::context::context_tar;
use crate::engine::images::BuildRequest;
use crate::load::Loaded;
use crate::model::stack::{PullPolicy, Service, Stack};
use crate::output::{Progress, ProgressMode};
use crate::plan::{self, image_ref};

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Only these services (default: every service with `build:`)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Do not use the engine's build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Always try to pull a newer version of the base images
    #[arg(long)]
    pub pull: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: BuildArgs) -> Outcome {
    let Some(loaded) = load_stack(global, None) else {
        return Outcome::Invalid;
    };
    let progress = Progress::stderr(args.progress.unwrap_or_else(ProgressMode::detect));
    runtime().block_on(build(&loaded, &args, &progress))
}

async fn build(loaded: &Loaded, args: &BuildArgs, progress: &Progress) -> Outcome {
    let stack = &loaded.stack;
    let Some(names) = named_services(loaded, &args.services) else {
        return Outcome::Invalid;
    };
    let engine = match connect(progress).await {
        Ok(e) => e,
        Err(o) => return o,
    };
    let opts = BuildFlags {
        no_cache: args.no_cache,
        pull: args.pull,
    };
    for name in names {
        let svc = &stack.services[name.as_str()];
        if svc.build.is_none() {
            if !args.services.is_empty() {
                progress.note(&format!("{name} has no `build:`; nothing to build"));
            }
            continue;
        }
        if let Err(message) = build_one(&engine, stack, svc, &opts, progress).await {
            progress.error(&message);
            return Outcome::Invalid;
        }
    }
    Outcome::Success
}

/// The services named on the command line (all when none is), checked;
/// unknown names are printed as errors and give None.
pub(super) fn named_services(loaded: &Loaded, names: &[String]) -> Option<Vec<String>> {
    let stack = &loaded.stack;
    let unknown: Vec<Diagnostic> = plan::unknown_services(stack, names)
        .iter()
        .map(plan::PlanError::to_diagnostic)
        .collect();
    if !unknown.is_empty() {
        print_diagnostics(&unknown, &loaded.sources);
        return None;
    }
    Some(if names.is_empty() {
        stack.services.keys().cloned().collect()
    } else {
        names.to_vec()
    })
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BuildFlags {
    pub no_cache: bool,
    pub pull: bool,
}

/// Builds one service's image and tags it; the error names the service and
/// carries the engine's message.
pub(super) async fn build_one(
    engine: &Engine,
    stack: &Stack,
    svc: &Service,
    flags: &BuildFlags,
    progress: &Progress,
) -> Result<String, String> {
    let Some(build) = &svc.build else {
        return Err(format!("service {} has no `build:`", svc.name));
    };
    let failed = |why: String| format!("cannot build service {}: {why}", svc.name);
    if build.context.contains("://") || build.context.starts_with("git@") {
        return Err(failed(format!(
            "the remote build context {} is not supported; clone it and use a directory",
            build.context
        )));
    }
    let context = Path::new(&build.context);
    if !context.is_dir() {
        return Err(failed(format!(
            "the build context {} is not a directory",
            context.display()
        )));
    }
    let (dockerfile, inline) = dockerfile_in(context, build, &svc.name).map_err(&failed)?;
    let tag = image_ref(stack, svc);
    progress.status("Building", &svc.name);
    let tar = {
        let dir = context.to_path_buf();
        let dockerfile = dockerfile.clone();
        tokio::task::spawn_blocking(move || context_tar(&dir, &dockerfile, inline.as_deref()))
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| {
                failed(format!(
                    "cannot read the context {}: {e}",
                    context.display()
                ))
            })?
    };
    let req = BuildRequest {
        tag: tag.clone(),
        dockerfile,
        args: build
            .args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        labels: build
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
        target: build.target.clone(),
        no_cache: flags.no_cache || build.no_cache,
        pull: flags.pull || build.pull,
        network: build.network.clone(),
        extra_hosts: build.extra_hosts.clone(),
        cache_from: build.cache_from.clone(),
    };
    let show_lines = progress.mode() == ProgressMode::Plain;
    let id = engine
        .build_image(&req, tar, |line| {
            if show_lines {
                progress.note(&format!("{} | {line}", svc.name));
            }
        })
        .await
        .map_err(|e| failed(e.to_string()))?;
    progress.status("Built", &format!("{} ({id})", svc.name));
    Ok(id)
}

/// The Dockerfile's path inside the context tar, and its text when it is
/// not a file inside the context (`dockerfile_inline`, or a path outside).
fn dockerfile_in(
    context: &Path,
    build: &crate::model::stack::Build,
    service: &str,
) -> Result<(String, Option<String>), String> {
    let generated = format!(".berth-dockerfile-{service}");
    if let Some(text) = &build.dockerfile_inline {
        return Ok((generated, Some(text.clone())));
    }
    let name = if build.dockerfile.is_empty() {
        "Dockerfile"
    } else {
        build.dockerfile.as_str()
    };
    let path = context.join(name);
    if let Ok(rel) = path.strip_prefix(context)
        && !rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        if !path.is_file() {
            return Err(format!("there is no Dockerfile at {}", path.display()));
        }
        return Ok((rel.to_string_lossy().replace('\\', "/"), None));
    }
    // Outside the context: sent under a generated name, as the CLI does.
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the Dockerfile {}: {e}", path.display()))?;
    Ok((generated, Some(text)))
}

/// What the image step of `up` does for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ImageAction {
    Build,
    Pull(String),
    Nothing,
}

/// Decides, per `pull_policy`, whether a service's image is built, pulled
/// or left alone: `build` always builds; a service with `build:` builds
/// when `--build` is given or its image is missing; `always` pulls;
/// `missing` (the default) pulls a missing image; `never` leaves a missing
/// image for preflight to report.
pub(super) fn image_action(
    svc: &Service,
    image: &str,
    present: bool,
    force_build: bool,
) -> ImageAction {
    let policy = svc.pull_policy.clone().unwrap_or(PullPolicy::Missing);
    if svc.build.is_some() {
        if force_build || policy == PullPolicy::Build || !present {
            return ImageAction::Build;
        }
        if policy == PullPolicy::Always && svc.image.is_some() {
            return ImageAction::Pull(image.to_string());
        }
        return ImageAction::Nothing;
    }
    match policy {
        PullPolicy::Always => ImageAction::Pull(image.to_string()),
        PullPolicy::Never | PullPolicy::Build => ImageAction::Nothing,
        // berth does not know an image's age: `refresh` acts as `missing`.
        PullPolicy::Missing | PullPolicy::Refresh(_) if !present => {
            ImageAction::Pull(image.to_string())
        }
        PullPolicy::Missing | PullPolicy::Refresh(_) => ImageAction::Nothing,
    }
}

/// The image step of `up`: builds and pulls what the selected services
/// need, before anything is observed. Errors are printed here.
pub(super) async fn ensure_images(
    engine: &Engine,
    loaded: &Loaded,
    services: &[String],
    force_build: bool,
    progress: &Progress,
) -> Result<(), Outcome> {
    let stack = &loaded.stack;
    // Unknown names are reported by the plan that follows.
    let Ok(selected) = plan::selection(stack, services) else {
        return Ok(());
    };
    let mut pulled = BTreeSet::new();
    for name in selected {
        let svc = &stack.services[name.as_str()];
        let image = image_ref(stack, svc);
        let present = match engine.image_id(&image).await {
            Ok(id) => id.is_some(),
            Err(e) => {
                super::up::engine_failed(&e, progress);
                return Err(Outcome::Invalid);
            }
        };
        let result = match image_action(svc, &image, present, force_build) {
            ImageAction::Nothing => Ok(()),
            ImageAction::Build => build_one(engine, stack, svc, &BuildFlags::default(), progress)
                .await
                .map(|_| ()),
            ImageAction::Pull(image) => {
                if pulled.insert(image.clone()) {
                    pull_one(engine, &image, progress).await
                } else {
                    Ok(())
                }
            }
        };
        if let Err(message) = result {
            let d = Diagnostic::error(message).label(svc.span, format!("service {}", svc.name));
            print_diagnostics(&[d], &loaded.sources);
            progress.error("nothing was changed");
            return Err(Outcome::Invalid);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::Build;

    fn svc(build: bool, image: Option<&str>, policy: Option<&str>) -> Service {
        Service {
            name: "web".into(),
            image: image.map(str::to_string),
            pull_policy: policy.and_then(PullPolicy::parse),
            build: build.then(Build::default),
            ..Service::default()
        }
    }

    #[test]
    fn pull_policy_decides_what_up_does_with_an_image() {
        use ImageAction::*;
        let pull = || Pull("i".to_string());
        assert_eq!(
            image_action(&svc(false, Some("i"), None), "i", false, false),
            pull()
        );
        assert_eq!(
            image_action(&svc(false, Some("i"), None), "i", true, false),
            Nothing
        );
        let always = svc(false, Some("i"), Some("always"));
        assert_eq!(image_action(&always, "i", true, false), pull());
        let never = svc(false, Some("i"), Some("never"));
        assert_eq!(image_action(&never, "i", false, false), Nothing);
        assert_eq!(
            image_action(&svc(true, None, None), "i", false, false),
            Build
        );
        assert_eq!(
            image_action(&svc(true, None, None), "i", true, false),
            Nothing
        );
        assert_eq!(image_action(&svc(true, None, None), "i", true, true), Build);
        let build = svc(true, None, Some("build"));
        assert_eq!(image_action(&build, "i", true, false), Build);
    }
}
