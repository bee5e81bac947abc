//! `berth pull`: pull the images of the stack's services from their
//! registries. Services with `build:` and no `image:` are skipped (their
//! image is built, not pulled), as are `pull_policy: build` services.

use std::collections::BTreeSet;

use super::build::named_services;
use super::up::{connect, runtime};
use super::{Global, Outcome, load_stack};
use crate::engine::Engine;
use crate::engine::images::PullEvent;
use crate::load::Loaded;
use crate::output::{Progress, ProgressMode};
use crate::plan::image_ref;

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Pull what can be pulled and report the failures at the end
    #[arg(long)]
    pub ignore_pull_failures: bool,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
}

pub fn run(global: &Global, args: PullArgs) -> Outcome {
    let Some(loaded) = load_stack(global, None) else {
        return Outcome::Invalid;
    };
    let progress = Progress::stderr(args.progress.unwrap_or_else(ProgressMode::detect));
    runtime().block_on(pull(&loaded, &args, &progress))
}

async fn pull(loaded: &Loaded, args: &PullArgs, progress: &Progress) -> Outcome {
    let stack = &loaded.stack;
    let Some(names) = named_services(loaded, &args.services) else {
        return Outcome::Invalid;
    };
    let images: BTreeSet<String> = names
        .iter()
        .map(|n| &stack.services[n.as_str()])
        .filter(|svc| svc.image.is_some() || svc.build.is_none())
        .filter(|svc| svc.pull_policy != Some(crate::model::stack::PullPolicy::Build))
        .map(|svc| image_ref(stack, svc))
        .collect();
    let engine = match connect(progress).await {
        Ok(e) => e,
        Err(o) => return o,
    };
    // Pulls run side by side; each reports its own lines.
    let results =
        futures_util::future::join_all(images.iter().map(|i| pull_one(&engine, i, progress))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        return Outcome::Success;
    }
    for f in &failures {
        if args.ignore_pull_failures {
            progress.warning(f);
        } else {
            progress.error(f);
        }
    }
    if args.ignore_pull_failures {
        Outcome::Success
    } else {
        Outcome::Invalid
    }
}

/// Pulls one image with a line before and after (and, in plain mode, one
/// per layer status change; on a terminal in tty mode, a live bar per
/// layer instead of the line before); the error names the image and carries the
/// registry's reason.
pub(super) async fn pull_one(
    engine: &Engine,
    image: &str,
    progress: &Progress,
) -> Result<(), String> {
    // On a terminal in tty mode, a bar per layer instead of the lines.
    let mut bars = progress.pull_bars(image);
    if bars.is_none() {
        progress.status("Pulling", image);
    }
    let plain = progress.mode() == ProgressMode::Plain;
    let mut last: std::collections::HashMap<String, String> = Default::default();
    let on_event = |ev: &PullEvent| {
        if let Some(bars) = &mut bars {
            bars.update(ev);
            return;
        }
        let Some(layer) = &ev.layer else {
            return;
        };
        // Only status changes, not every byte count of a download.
        if plain && last.get(layer) != Some(&ev.status) {
            last.insert(layer.clone(), ev.status.clone());
            if ev.status != "Downloading" && ev.status != "Extracting" {
                progress.note(&format!("{image} | {layer}: {}", ev.status));
            }
        }
    };
    engine
        .pull_image(image, on_event)
        .await
        .map_err(|e| format!("cannot pull {image}: {e}"))?;
    // The bars go before the finished line takes their place.
    drop(bars);
    progress.status("Pulled", image);
    Ok(())
}
