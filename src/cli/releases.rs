//! `berth releases`: what `up` recorded for the project, newest first, one
//! row each (number, time, target, what changed, whether its images are
//! still kept); with a number, that release with its stack.
//!
//! The records are on the engine (`crate::releases`), so any berth pointed
//! at it lists them, with or without the stack file (`-p NAME`). Listing is
//! one engine call; one release adds an export of its record. `--swarm` is
//! accepted as `up` and `down` take it: the plain engine's releases and the
//! swarm's are one history, each saying its target.

use super::error::Error;
use super::session::{Needs, Session};
use super::{Global, Outcome, print_out};
use crate::output::releases as show;
use crate::releases::{LoadError, store};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// A row per release (one release: YAML)
    Table,
    /// The records as JSON: an array, or one release with its stack
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when listed (also when there are no releases yet), \
                  1 when there is no such release or the engine cannot be reached."
)]
pub struct ReleasesArgs {
    /// Show this release: what changed, the images its services ran, its stack
    #[arg(value_name = "RELEASE", value_parser = clap::value_parser!(u64).range(1..))]
    pub release: Option<u64>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Accepted as `up --swarm` takes it: releases made with and without
    /// --swarm are one history, each saying its target
    #[arg(long)]
    pub swarm: bool,
}

/// A release that could not be read, as the command's error.
pub(super) fn load_failed(e: LoadError) -> Error {
    match e {
        LoadError::Engine(e) => Error::engine(&e),
        other => Error::message(other.to_string()),
    }
}

pub fn run(global: &Global, args: ReleasesArgs) -> Result<Outcome, Error> {
    let session = Session::open(global, Needs::read())?;
    let s = &session;
    let (listing, release) = session.block_on(async {
        let engine = s.connect().await?;
        let listing = store::list(&engine, &s.project)
            .await
            .map_err(|e| Error::engine(&e))?;
        let Some(number) = args.release else {
            return Ok((listing, None));
        };
        if listing.get(number).is_none() {
            let unknown = LoadError::Unknown {
                project: s.project.clone(),
                number,
                known: listing.numbers(),
            };
            return Err(Error::message(unknown.to_string()));
        }
        let release = store::load(&engine, &s.project, number)
            .await
            .map_err(load_failed)?;
        Ok((listing, Some(release)))
    })?;
    for w in &listing.unreadable {
        session.progress.warning(w);
    }
    if let Some(release) = release {
        let listed = listing.get(release.number);
        print_out(&match args.format {
            Format::Table => show::release_yaml(&release, listed),
            Format::Json => show::release_json(&release, listed),
        })?;
        return Ok(Outcome::Success);
    }
    match args.format {
        Format::Json => print_out(&show::list_json(&listing))?,
        Format::Table if listing.releases.is_empty() => session.progress.note(&format!(
            "No releases of {}: `berth up` records one each time it changes the stack",
            session.project
        )),
        Format::Table => {
            print_out(&show::table(&listing))?;
            session.progress.note(&show::kept_note(&listing));
        }
    }
    Ok(Outcome::Success)
}
