//! Which releases keep their images, and which records are kept at all:
//! pure decisions over what the engine holds, made after each new release.

use std::collections::BTreeMap;

/// How many releases, the newest, keep their services' images tagged
/// (`berth-releases/<project>/<service>:<N>`). Five is enough to go back
/// over a bad deploy and the one before it, while an image rebuilt for every
/// release does not pile up without end; an older release can still be
/// rolled back to when its images are in a registry.
pub const IMAGES_KEPT: usize = 5;

/// How many records, the newest, are kept. A record is a few KiB (a tiny
/// image), but every `berth releases` lists them all and `docker images`
/// shows them: fifty is months of daily deploys.
pub const RECORDS_KEPT: usize = 50;

/// What the engine holds of one release number: its record (its reference,
/// when there is one) and the tags that keep its images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub record: Option<String>,
    pub tags: Vec<String>,
}

/// What to remove: the tags of releases that no longer keep their images,
/// and the records past [`RECORDS_KEPT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    pub tags: Vec<String>,
    pub records: Vec<String>,
}

#[cfg(test)]
impl Prune {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.records.is_empty()
    }
}

/// What to remove so that the newest `images` release numbers keep their
/// tags and the newest `records` keep their records. `held` is every
/// release number the engine has something of, the one just recorded
/// included.
pub fn prune(held: &BTreeMap<u64, Held>, images: usize, records: usize) -> Prune {
    let mut out = Prune::default();
    for (age, held) in held.values().rev().enumerate() {
        if age >= images {
            out.tags.extend(held.tags.iter().cloned());
        }
        if age >= records {
            out.records.extend(held.record.iter().cloned());
        }
    }
    out.tags.sort();
    out.records.sort();
    out
}

/// The release numbers whose images are kept after [`prune`]: those of
/// the newest `images` that have tags.
pub fn kept(held: &BTreeMap<u64, Held>, images: usize) -> Vec<u64> {
    let mut out: Vec<u64> = held
        .iter()
        .rev()
        .take(images)
        .filter(|(_, h)| !h.tags.is_empty())
        .map(|(n, _)| *n)
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(numbers: impl IntoIterator<Item = u64>) -> BTreeMap<u64, Held> {
        numbers
            .into_iter()
            .map(|n| {
                (
                    n,
                    Held {
                        record: Some(format!("r:{n}")),
                        tags: vec![format!("web:{n}"), format!("db:{n}")],
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_newest_releases_keep_their_images_and_older_ones_lose_their_tags() {
        let p = prune(&held(1..=7), 5, 50);
        assert_eq!(p.tags, ["db:1", "db:2", "web:1", "web:2"]);
        assert!(p.records.is_empty());
        assert_eq!(kept(&held(1..=7), 5), [3, 4, 5, 6, 7]);
    }

    #[test]
    fn nothing_goes_while_there_are_few_releases() {
        assert!(prune(&held(1..=5), 5, 50).is_empty());
        assert!(prune(&held([1]), 5, 50).is_empty());
        assert!(prune(&BTreeMap::new(), 5, 50).is_empty());
        assert_eq!(kept(&held(1..=2), 5), [1, 2]);
    }

    #[test]
    fn records_past_the_bound_go_with_their_tags() {
        let p = prune(&held(1..=4), 1, 2);
        assert_eq!(p.records, ["r:1", "r:2"]);
        assert_eq!(p.tags, ["db:1", "db:2", "db:3", "web:1", "web:2", "web:3"]);
    }

    #[test]
    fn gaps_and_releases_without_tags_count_by_age_not_by_number() {
        // Releases 2 and 5 were removed by hand; 9 had no image to keep.
        let mut h = held([1, 3, 4, 6, 9]);
        h.get_mut(&9).unwrap().tags.clear();
        let p = prune(&h, 2, 50);
        assert_eq!(p.tags, ["db:1", "db:3", "db:4", "web:1", "web:3", "web:4"]);
        assert_eq!(kept(&h, 2), [6]);
    }

    #[test]
    fn tags_left_without_their_record_are_pruned_by_age_too() {
        let mut h = held(1..=3);
        h.get_mut(&1).unwrap().record = None;
        let p = prune(&h, 2, 50);
        assert_eq!(p.tags, ["db:1", "web:1"]);
        assert!(p.records.is_empty());
    }
}
