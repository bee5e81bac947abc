//! The releases on the engine: recording one ([`record`]), listing them
//! ([`list`]) and reading one with its stack ([`load`]).
//!
//! Costs, in engine calls: a listing is one image list (and, only for a
//! record too large for its label, one export of it); reading a release is
//! one export; recording one is a list, a load, a tag per service whose
//! image this engine has, and a removal per tag or record that falls out
//! of [`IMAGES_KEPT`] or [`RECORDS_KEPT`] (one release's worth, once there
//! are that many).
//!
//! Release numbers come from what the engine holds: one more than the
//! newest. Two berths recording on one project at once (from two machines:
//! on one, the project's lock keeps them apart) can both take the same
//! number, and the later record wins the tag.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bollard::models::ImageSummary;
use futures_util::StreamExt;

use super::keep::{self, Held};
use super::names::{self, Tagged};
use super::record::{FORMAT_VERSION, Release, ServiceImage, Target};
use super::{IMAGES_KEPT, RECORDS_KEPT, archive, labels};
use crate::engine::releases::Removed;
use crate::engine::{Engine, EngineError};
use crate::identity;

/// The largest record (without its stack) carried in a label. A listing
/// returns every label of every record, so a stack-less record larger than
/// this (thousands of services) is read from its file instead.
pub const LABEL_LIMIT: usize = 64 << 10;

/// The most berth reads of an exported release image: the record and its
/// stack, which comes from stack files of at most 16 MiB.
const EXPORT_LIMIT: usize = 256 << 20;

/// Engine calls in flight at once while tagging and untagging.
const PARALLEL: usize = 16;

/// What the pipeline knows of a release before it is recorded: all but its
/// number and the tags that will keep its images.
#[derive(Debug, Clone)]
pub struct Draft {
    pub project: String,
    /// UTC, RFC 3339.
    pub time: String,
    pub target: Target,
    pub changes: Vec<String>,
    /// Each service's image; their `tag`s are set when recorded.
    pub services: BTreeMap<String, ServiceImage>,
    /// The stack as `berth config --format json` prints it.
    pub stack: serde_json::Value,
}

/// A release just recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub number: u64,
    /// The releases whose images are kept now, oldest first.
    pub kept: Vec<u64>,
    /// What did not work after the record was saved (a tag, a removal):
    /// worth a warning, not a failure.
    pub warnings: Vec<String>,
}

/// One release as listed: its record without the stack, and which of its
/// images are still kept.
#[derive(Debug, Clone)]
pub struct Listed {
    pub release: Release,
    /// The services whose image of this release still has its tag.
    pub kept: BTreeSet<String>,
}

/// Whether a release's images are still on the engine under its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Images {
    Kept,
    /// Some tags are gone (removed by hand, or failed to be made).
    Partly,
    Pruned,
    /// The release had no image this engine could keep.
    None,
}

impl Images {
    /// In a table: `kept`, `partly kept`, `pruned`, `none here`.
    pub fn as_str(self) -> &'static str {
        match self {
            Images::Kept => "kept",
            Images::Partly => "partly kept",
            Images::Pruned => "pruned",
            Images::None => "none here",
        }
    }

    /// In JSON: `kept`, `partly_kept`, `pruned`, `none`.
    pub fn code(self) -> &'static str {
        match self {
            Images::Kept => "kept",
            Images::Partly => "partly_kept",
            Images::Pruned => "pruned",
            Images::None => "none",
        }
    }
}

impl Listed {
    pub fn images(&self) -> Images {
        match (self.release.taggable(), self.kept.len()) {
            (0, _) => Images::None,
            (_, 0) => Images::Pruned,
            (all, kept) if kept >= all => Images::Kept,
            _ => Images::Partly,
        }
    }
}

/// A project's releases as the engine holds them.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Newest first.
    pub releases: Vec<Listed>,
    /// Images named like the project's records that could not be read as
    /// one, each with why: left alone, and worth a warning.
    pub unreadable: Vec<String>,
    /// Every release number the engine has something of.
    held: BTreeMap<u64, Held>,
}

impl Listing {
    /// A listing of these releases alone, for tests of what shows one.
    #[cfg(test)]
    pub(crate) fn of(releases: Vec<Listed>) -> Listing {
        Listing {
            releases,
            ..Listing::default()
        }
    }

    /// The number the next release takes.
    pub fn next_number(&self) -> u64 {
        self.held.keys().next_back().map_or(1, |n| n + 1)
    }

    /// The listed release numbers, oldest first.
    pub fn numbers(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self.releases.iter().map(|l| l.release.number).collect();
        out.sort_unstable();
        out
    }

    pub fn get(&self, number: u64) -> Option<&Listed> {
        self.releases.iter().find(|l| l.release.number == number)
    }

    /// How many of the listed releases still keep all or some of their
    /// images.
    pub fn keeping_images(&self) -> usize {
        self.releases
            .iter()
            .filter(|l| matches!(l.images(), Images::Kept | Images::Partly))
            .count()
    }
}

/// Why a release could not be read.
#[derive(Debug)]
pub enum LoadError {
    Engine(EngineError),
    /// There is no such release; the project's releases are `known`.
    Unknown {
        project: String,
        number: u64,
        known: Vec<u64>,
    },
    /// The image is there but holds no record of this release.
    Unreadable {
        reference: String,
        why: String,
    },
}

impl From<EngineError> for LoadError {
    fn from(e: EngineError) -> LoadError {
        LoadError::Engine(e)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Engine(e) => write!(f, "{e}"),
            LoadError::Unknown {
                project,
                number,
                known,
            } if known.is_empty() => write!(
                f,
                "no release {number} of {project}: it has no releases yet\n  help: `berth up` \
                 records one each time it changes the stack"
            ),
            LoadError::Unknown {
                project,
                number,
                known,
            } => write!(
                f,
                "no release {number} of {project}; its releases are {}\n  help: `berth \
                 releases` lists them",
                ranges(known)
            ),
            LoadError::Unreadable { reference, why } => {
                write!(f, "the release image {reference} cannot be read: {why}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Release numbers as short ranges: `1-3, 5, 7-8`.
pub fn ranges(numbers: &[u64]) -> String {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && end.checked_add(1) == Some(sorted[i + 1]) {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// The project's releases, newest first: one list call, and one export for
/// each record too large for its label.
pub async fn list(engine: &Engine, project: &str) -> Result<Listing, EngineError> {
    let (mut listing, unlabelled) = scan(engine, project).await?;
    for (number, reference) in unlabelled {
        match read(engine, project, number, &reference).await {
            Ok(release) => listing.releases.push(Listed {
                release: release.without_stack(),
                kept: BTreeSet::new(),
            }),
            Err(LoadError::Engine(e)) => return Err(e),
            Err(e) => listing.unreadable.push(e.to_string()),
        }
    }
    count_kept(&mut listing);
    Ok(listing)
}

/// Release `number` of `project`, with its stack: one export of its image
/// (and, when there is no such release, one list to name those there are).
pub async fn load(engine: &Engine, project: &str, number: u64) -> Result<Release, LoadError> {
    let reference = names::record_ref(project, number);
    match read(engine, project, number, &reference).await {
        Err(LoadError::Engine(EngineError::NotFound(_))) => {
            let (listing, unlabelled) = scan(engine, project).await?;
            let mut known = listing.numbers();
            known.extend(unlabelled.iter().map(|(n, _)| *n));
            Err(LoadError::Unknown {
                project: project.to_string(),
                number,
                known,
            })
        }
        other => other,
    }
}

/// Records `draft` as the project's next release: saves the record, tags
/// the images it ran, and removes the tags and records that fall out of
/// what is kept. Fails only when the record cannot be saved.
pub async fn record(engine: &Engine, draft: Draft) -> Result<Recorded, EngineError> {
    let project = draft.project.clone();
    let (mut listing, _) = scan(engine, &project).await?;
    let number = listing.next_number();
    let mut services = draft.services;
    for (name, s) in services.iter_mut() {
        s.tag =
            s.id.as_ref()
                .map(|_| names::image_tag(&project, name, number));
    }
    let release = Release {
        format_version: FORMAT_VERSION,
        project: project.clone(),
        number,
        time: draft.time,
        target: draft.target,
        changes: draft.changes,
        services,
        berth_version: identity::BERTH_VERSION.to_string(),
        stack: Some(draft.stack),
    };
    let reference = names::record_ref(&project, number);
    let tar = archive::image_tar(
        &reference,
        &record_labels(&release),
        &release.time,
        release.to_json().as_bytes(),
    )
    .map_err(|e| EngineError::Api {
        status: 0,
        message: format!("cannot write the release image: {e}"),
    })?;
    engine.load_image(tar).await?;

    let mut warnings = Vec::new();
    let tags: Vec<(String, String)> = release
        .services
        .values()
        .filter_map(|s| Some((s.id.clone()?, s.tag.clone()?)))
        .collect();
    let tagged = futures_util::stream::iter(tags)
        .map(|(id, tag)| async move {
            let r = engine.tag_image(&id, &tag).await;
            (tag, r)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    let mut made = Vec::new();
    for (tag, result) in tagged {
        match result {
            Ok(()) => made.push(tag),
            Err(e) => warnings.push(format!("cannot tag {tag} to keep its image: {e}")),
        }
    }
    made.sort();
    listing.held.insert(
        number,
        Held {
            record: Some(reference),
            tags: made,
        },
    );

    let prune = keep::prune(&listing.held, IMAGES_KEPT, RECORDS_KEPT);
    let removals = prune.tags.iter().chain(&prune.records).cloned();
    let removed = futures_util::stream::iter(removals)
        .map(|r| async move {
            let result = engine.remove_reference(&r).await;
            (r, result)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    for (reference, result) in removed {
        match result {
            // A container still runs the image (a release rolled back to):
            // the tag stays until it no longer does.
            Ok(Removed::Gone | Removed::Absent | Removed::InUse) => {}
            Err(e) => warnings.push(format!("cannot remove {reference}: {e}")),
        }
    }
    Ok(Recorded {
        number,
        kept: keep::kept(&listing.held, IMAGES_KEPT),
        warnings,
    })
}

/// The labels of a release's record image.
fn record_labels(release: &Release) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        (labels::PROJECT.to_string(), release.project.clone()),
        (labels::NUMBER.to_string(), release.number.to_string()),
        (labels::TIME.to_string(), release.time.clone()),
        (
            labels::TARGET.to_string(),
            release.target.as_str().to_string(),
        ),
        (labels::SUMMARY.to_string(), release.summary()),
        (identity::VERSION.to_string(), release.berth_version.clone()),
    ]);
    let bare = release.without_stack().to_json();
    if bare.len() <= LABEL_LIMIT {
        out.insert(labels::RECORD.to_string(), bare);
    }
    out
}

/// One list call, read: the releases whose records are in their labels,
/// and the (number, reference) of those whose records are only in their
/// files.
async fn scan(
    engine: &Engine,
    project: &str,
) -> Result<(Listing, Vec<(u64, String)>), EngineError> {
    let images = engine.images_named(&names::list_patterns(project)).await?;
    Ok(read_listing(project, &images))
}

/// A release's record from its image's file.
async fn read(
    engine: &Engine,
    project: &str,
    number: u64,
    reference: &str,
) -> Result<Release, LoadError> {
    let saved = engine.export_image(reference, EXPORT_LIMIT).await?;
    let unreadable = |why: String| LoadError::Unreadable {
        reference: reference.to_string(),
        why,
    };
    let file = archive::record_from_saved(&saved).map_err(unreadable)?;
    let release = Release::parse(&file).map_err(unreadable)?;
    check(&release, project, number).map_err(unreadable)?;
    Ok(release)
}

/// A record read from an image named for `project`'s release `number` must
/// say so itself.
fn check(release: &Release, project: &str, number: u64) -> Result<(), String> {
    if release.project != project || release.number != number {
        return Err(format!(
            "it records release {} of {}, not release {number} of {project}",
            release.number, release.project
        ));
    }
    Ok(())
}

/// The listing in the images a list call returned (each with only the
/// tags that matched): the records in labels, the tags that keep images,
/// and the records to read from their files.
fn read_listing(project: &str, images: &[ImageSummary]) -> (Listing, Vec<(u64, String)>) {
    let mut listing = Listing::default();
    let mut unlabelled = Vec::new();
    for image in images {
        for tag in &image.repo_tags {
            match names::classify(project, tag) {
                None => {}
                Some(Tagged::Image(n)) => listing.held.entry(n).or_default().tags.push(tag.clone()),
                Some(Tagged::Record(n)) => {
                    let l = &image.labels;
                    let says = |key: &str| l.get(key).map(String::as_str);
                    if says(labels::PROJECT) != Some(project)
                        || says(labels::NUMBER) != Some(n.to_string().as_str())
                    {
                        listing.unreadable.push(format!(
                            "the image {tag} is not berth's record of release {n} of {project} \
                             (its labels say otherwise); left alone"
                        ));
                        continue;
                    }
                    listing.held.entry(n).or_default().record = Some(tag.clone());
                    let Some(text) = l.get(labels::RECORD) else {
                        unlabelled.push((n, tag.clone()));
                        continue;
                    };
                    match Release::parse(text.as_bytes())
                        .and_then(|r| check(&r, project, n).map(|()| r))
                    {
                        Ok(release) => listing.releases.push(Listed {
                            release: release.without_stack(),
                            kept: BTreeSet::new(),
                        }),
                        Err(why) => listing
                            .unreadable
                            .push(format!("the release image {tag} cannot be read: {why}")),
                    }
                }
            }
        }
    }
    for held in listing.held.values_mut() {
        held.tags.sort();
        held.tags.dedup();
    }
    count_kept(&mut listing);
    (listing, unlabelled)
}

/// Counts each listed release's tags still there, and orders the releases
/// newest first.
fn count_kept(listing: &mut Listing) {
    for l in &mut listing.releases {
        let tags = listing
            .held
            .get(&l.release.number)
            .map(|h| h.tags.as_slice())
            .unwrap_or_default();
        l.kept = l
            .release
            .services
            .iter()
            .filter(|(_, s)| {
                s.tag
                    .as_ref()
                    .is_some_and(|t| tags.iter().any(|h| names::unqualified(h) == t))
            })
            .map(|(name, _)| name.clone())
            .collect();
    }
    listing
        .releases
        .sort_by_key(|l| std::cmp::Reverse(l.release.number));
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::releases::record::sample;

    fn image(tags: &[&str], labels: &[(&str, &str)]) -> ImageSummary {
        ImageSummary {
            id: "sha256:x".into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        }
    }

    fn record_image(release: &Release) -> ImageSummary {
        let labels = record_labels(release);
        let reference = names::record_ref(&release.project, release.number);
        ImageSummary {
            id: format!("sha256:{}", release.number),
            repo_tags: vec![reference],
            labels: labels.into_iter().collect(),
            ..Default::default()
        }
    }

    fn release(n: u64) -> Release {
        let mut r = sample();
        r.number = n;
        for (svc, s) in r.services.iter_mut() {
            if s.id.is_some() {
                s.tag = Some(names::image_tag("shop", svc, n));
            }
        }
        r
    }

    #[test]
    fn a_listing_reads_records_from_their_labels_newest_first_with_their_kept_images() {
        let images = vec![
            record_image(&release(1)),
            record_image(&release(2)),
            image(&["berth-releases/shop/web:2"], &[]),
        ];
        let (listing, unlabelled) = read_listing("shop", &images);
        assert!(unlabelled.is_empty());
        assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
        let numbers: Vec<u64> = listing.releases.iter().map(|l| l.release.number).collect();
        assert_eq!(numbers, [2, 1]);
        assert_eq!(listing.releases[0].images(), Images::Kept);
        assert_eq!(listing.releases[1].images(), Images::Pruned);
        assert_eq!(listing.releases[0].release.stack, None);
        assert_eq!(listing.next_number(), 3);
        assert_eq!(listing.keeping_images(), 1);
    }

    #[test]
    fn the_next_number_follows_anything_the_engine_holds_of_a_release() {
        let (empty, _) = read_listing("shop", &[]);
        assert_eq!(empty.next_number(), 1);
        // Release 7's record is gone, its tags are not: 7 is not taken again.
        let images = vec![
            record_image(&release(4)),
            image(&["berth-releases/shop/web:7"], &[]),
        ];
        assert_eq!(read_listing("shop", &images).0.next_number(), 8);
    }

    #[test]
    fn a_record_too_large_for_its_label_is_read_from_its_file() {
        let mut big = release(5);
        big.changes = vec!["x".repeat(LABEL_LIMIT)];
        let labels = record_labels(&big);
        assert!(!labels.contains_key(labels::RECORD));
        assert_eq!(labels[labels::NUMBER], "5");
        assert!(labels[labels::SUMMARY].starts_with("xxx"));
        let (listing, unlabelled) = read_listing("shop", &[record_image(&big)]);
        assert!(listing.releases.is_empty());
        assert_eq!(unlabelled, [(5, "berth-releases/shop:5".to_string())]);
        assert_eq!(listing.next_number(), 6);
    }

    #[test]
    fn images_named_like_records_but_not_berths_are_left_alone_with_a_reason() {
        let images = vec![
            // Tagged by hand, without labels.
            image(&["berth-releases/shop:1"], &[]),
            // Labelled for another release than its tag says.
            image(
                &["berth-releases/shop:2"],
                &[(labels::PROJECT, "shop"), (labels::NUMBER, "3")],
            ),
            // A record label that is not a record, and one of another release.
            image(
                &["berth-releases/shop:4"],
                &[
                    (labels::PROJECT, "shop"),
                    (labels::NUMBER, "4"),
                    (labels::RECORD, "{oops"),
                ],
            ),
            image(
                &["berth-releases/shop:6"],
                &[
                    (labels::PROJECT, "shop"),
                    (labels::NUMBER, "6"),
                    (labels::RECORD, &release(9).without_stack().to_json()),
                ],
            ),
            // Not a release tag at all.
            image(&["berth-releases/shop:latest"], &[]),
        ];
        let (listing, unlabelled) = read_listing("shop", &images);
        assert!(listing.releases.is_empty());
        assert!(unlabelled.is_empty());
        assert_eq!(listing.unreadable.len(), 4, "{:#?}", listing.unreadable);
        assert!(listing.unreadable[0].contains("labels say otherwise"));
        assert!(listing.unreadable[2].contains("not a release record"));
        assert!(listing.unreadable[3].contains("records release 9 of shop, not release 6"));
        // Readable or not, the numbers it holds are not taken again.
        assert_eq!(listing.next_number(), 7);
    }

    #[test]
    fn unknown_releases_are_named_with_those_there_are() {
        let e = LoadError::Unknown {
            project: "shop".into(),
            number: 9,
            known: vec![5, 1, 2, 3, 7, 8],
        };
        assert_eq!(
            e.to_string(),
            "no release 9 of shop; its releases are 1-3, 5, 7-8\n  help: `berth releases` lists them"
        );
        let none = LoadError::Unknown {
            project: "shop".into(),
            number: 1,
            known: vec![],
        };
        assert!(
            none.to_string().contains("it has no releases yet"),
            "{none}"
        );
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(
            ranges(&[u64::MAX, u64::MAX - 1]),
            format!("{}-{}", u64::MAX - 1, u64::MAX)
        );
    }
}
