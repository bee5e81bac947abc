//! `berth rollback [RELEASE]`: back to what a release ran, as an ordinary
//! plan.
//!
//! The release's record (`crate::releases`) holds the stack it ran and the
//! image of each service. The stack is loaded again from the record, each
//! service pinned to its image of then (`releases::restore`), and the
//! pipeline converges on it as `up` would: with causes, `--dry-run`, the
//! plan as JSON, a start-first rollout where the stack asks for one, and a
//! new release recorded. Named volumes are never rolled back: they keep what
//! they hold now, and the plan says so.
//!
//! Where it stops: it chooses the release and makes its stack; planning and
//! applying are the pipeline's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use super::error::Error;
use super::plan::Format;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome};
use crate::converge::{self, Kind, UpRequest};
use crate::engine::Engine;
use crate::load::{self, Loaded};
use crate::output::ProgressMode;
use crate::plan::{ImageOptions, UpOptions};
use crate::releases::restore::{self, Pinned};
use crate::releases::{LoadError, Release, store};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when the stack runs the release again, 1 when there is \
                  no such release, its images are no longer kept, the engine cannot be \
                  reached or a step failed, 130 when interrupted."
)]
pub struct RollbackArgs {
    /// The release to go back to (default: the one before the newest; see
    /// `berth releases`)
    #[arg(value_name = "RELEASE", value_parser = clap::value_parser!(u64).range(1..))]
    pub release: Option<u64>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the plan as text or as JSON (as `berth plan` prints it)
    #[arg(long, value_enum, default_value = "text", requires = "dry_run")]
    pub format: Format,
    /// Then wait until every service is running, or healthy where it has a
    /// health check
    #[arg(long)]
    pub wait: bool,
    /// How long a wait may take, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait_timeout: u64,
    /// Engine calls in flight at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// How to show progress (default: tty on a terminal, else plain)
    #[arg(long, value_enum, value_name = "MODE")]
    pub progress: Option<ProgressMode>,
    /// Roll back the stack on the Docker Swarm the engine manages
    #[arg(long)]
    pub swarm: bool,
}

pub fn run(global: &Global, args: RollbackArgs) -> Result<Outcome, Error> {
    let needs = Needs::change(NeedsStack::OrProject, args.dry_run, args.progress);
    let mut session = Session::open(global, needs)?;
    let (release, loaded) = session.block_on(prepare(&session, args.release, !args.swarm))?;
    session.loaded = Some(loaded);
    let s = &session;
    for v in s.loaded().stack.volumes.values().filter(|v| !v.external) {
        s.progress.warning(&format!(
            "volume {} is not rolled back: it keeps what it holds now",
            v.name
        ));
    }
    s.progress.note(&format!(
        "Rolling {} back to release {}",
        s.project, release.number
    ));
    let cx = s.context(args.parallel.into(), Duration::from_secs(args.wait_timeout));
    let request = UpRequest {
        up: UpOptions::default(),
        images: Some(ImageOptions { force_build: false }),
        wait: args.wait,
        record: true,
    };
    let kind = Kind::of(args.swarm);
    session.block_on(async {
        if args.dry_run {
            let plan = converge::plan(kind, &cx, &request)
                .await
                .map_err(|f| s.failed(f))?;
            return match args.format {
                Format::Text => s.print_plan(&plan),
                Format::Json => {
                    super::plan::print_json(&plan, &s.project)?;
                    Ok(Outcome::Success)
                }
            };
        }
        converge::up(kind, &cx, &request)
            .await
            .map_err(|f| s.failed(f))?;
        Ok(Outcome::Success)
    })
}

/// The release to go back to, and its stack with each service pinned to
/// the image it ran; `makes_images`: the target builds and pulls (not
/// `--swarm`), see `restore::pin_images`.
async fn prepare(
    s: &Session,
    asked: Option<u64>,
    makes_images: bool,
) -> Result<(Release, Loaded), Error> {
    let engine = s.connect().await?;
    let listing = store::list(&engine, &s.project)
        .await
        .map_err(|e| Error::engine(&e))?;
    let numbers = listing.numbers();
    let number = match asked {
        Some(n) => n,
        // The newest release is what runs (or was last applied); the way
        // back is to the one before it.
        None => {
            let mut sorted = numbers.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            match sorted.get(1) {
                Some(&n) => n,
                None => {
                    return Err(Error::message(format!(
                        "{} has {} release{}: there is nothing before it to roll back to\n  help: `berth releases` lists them; `berth up` records one each time it changes the stack",
                        s.project,
                        numbers.len(),
                        if numbers.len() == 1 { "" } else { "s" }
                    )));
                }
            }
        }
    };
    let Some(listed) = listing.get(number) else {
        let unknown = LoadError::Unknown {
            project: s.project.clone(),
            number,
            known: numbers,
        };
        return Err(Error::message(unknown.to_string()));
    };
    let kept: BTreeSet<String> = listed
        .kept
        .iter()
        .filter_map(|svc| listed.release.services.get(svc)?.tag.clone())
        .collect();
    let release = store::load(&engine, &s.project, number)
        .await
        .map_err(super::releases::load_failed)?;
    let mut loaded = load_release_stack(s, &release)?;
    let now = current_ids(&engine, &release).await?;
    match restore::pin_images(&mut loaded.stack, &release, &now, &kept, makes_images) {
        Ok(pinned) => {
            for (service, how) in pinned {
                if let Pinned::Kept { tag } = how {
                    s.progress.note(&format!(
                        "{service} runs {tag}, the image it ran in release {number}"
                    ));
                }
            }
        }
        Err(gone) => {
            return Err(Error::message(format!(
                "cannot roll {} back to release {number}:\n  {}\n  help: berth keeps the images of the last {} releases; `berth releases` says which",
                s.project,
                gone.join("\n  "),
                crate::releases::IMAGES_KEPT
            )));
        }
    }
    Ok((release, loaded))
}

/// The id each image reference of the release names on the engine now.
async fn current_ids(
    engine: &Engine,
    release: &Release,
) -> Result<BTreeMap<String, Option<String>>, Error> {
    let mut now = BTreeMap::new();
    for image in release.services.values() {
        if now.contains_key(&image.image) {
            continue;
        }
        let id = engine
            .image_id(&image.image)
            .await
            .map_err(|e| Error::engine(&e))?;
        now.insert(image.image.clone(), id);
    }
    Ok(now)
}

/// The release's stack, loaded as a stack file is: the loader reads files,
/// so the record's stack (JSON, `$` doubled, so that nothing interpolates)
/// is written to a private file for as long as loading takes.
fn load_release_stack(s: &Session, release: &Release) -> Result<Loaded, Error> {
    let Some(stack) = &release.stack else {
        return Err(Error::message(format!(
            "release {} of {} has no stack in its record",
            release.number, s.project
        )));
    };
    let text = serde_json::to_string_pretty(stack).unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let path = private_file(
        &format!("{}-release-{}.json", s.project, release.number),
        &text,
    )
    .map_err(|e| Error::message(format!("cannot write the release's stack: {e}")))?;
    let opts = load::Options {
        files: vec![path.clone()],
        project_name: Some(s.project.clone()),
        project_directory: Some(cwd.clone()),
        env_files: Vec::new(),
        profiles: Vec::new(),
        cwd,
        environ: Default::default(),
        no_interpolate: false,
    };
    let loaded = load::load(&opts);
    let _ = std::fs::remove_file(&path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
    loaded.map_err(Error::load_failed)
}

/// A file only this user can read, in a directory of its own under the
/// temporary directory.
fn private_file(name: &str, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("berth-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(text.as_bytes())?;
    Ok(path)
}
