//! One release as data: the record `up` writes and `rollback` reads.
//!
//! A record is JSON (`/release.json` in the release's image). It says what
//! was applied, not how to apply it again: the stack as `berth config
//! --format json` prints it (strings with `$` doubled, so it loads back
//! unchanged), and for each service the image reference the stack names and
//! the local id that reference named when the release was made. Reading a
//! record never trusts it: a record is refused, not half-read, when it is
//! not this shape (see [`Release::parse`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version of a record's shape; raised when a field changes meaning or
/// goes away (new fields may appear without it).
pub const FORMAT_VERSION: u32 = 1;

/// Where the release ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The plain engine: containers.
    Engine,
    /// A Docker Swarm: services (`up --swarm`).
    Swarm,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Engine => "engine",
            Target::Swarm => "swarm",
        }
    }
}

/// The image one service ran in a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceImage {
    /// The reference the stack names (`app:1`; `<project>-<service>` for an
    /// image only built).
    pub image: String,
    /// The local id it ran (`sha256:...`). None when this engine had no
    /// copy (a Swarm service whose image only other nodes have).
    pub id: Option<String>,
    /// The tag that keeps the image on this engine while the release is
    /// among the last [`super::IMAGES_KEPT`]
    /// (`berth-releases/<project>/<service>:<N>`). None without an id.
    pub tag: Option<String>,
}

/// A release: what one `up` applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub format_version: u32,
    pub project: String,
    /// 1, 2, ...: one more than the newest release the engine had.
    pub number: u64,
    /// When it was recorded, UTC RFC 3339 (`2026-05-01T10:11:12Z`).
    pub time: String,
    pub target: Target,
    /// What changed, one line per change in the plan's words
    /// (`recreate web: config changed: environment`).
    pub changes: Vec<String>,
    /// Each service of the stack and the image it ran, by service name.
    pub services: BTreeMap<String, ServiceImage>,
    pub berth_version: String,
    /// The resolved stack as `berth config --format json` prints it. Left
    /// out of listings (it is read from the record's file when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<serde_json::Value>,
}

impl Release {
    /// The changes in one line: the first, and how many more.
    pub fn summary(&self) -> String {
        match self.changes.as_slice() {
            [] => "no changes recorded".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        }
    }

    /// The record without its stack: what a listing shows.
    pub fn without_stack(&self) -> Release {
        Release {
            stack: None,
            ..self.clone()
        }
    }

    /// The record as the JSON text stored in its image.
    pub fn to_json(&self) -> String {
        // A record is plain data (strings, numbers, maps): serialising it
        // cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a record from its JSON, refusing one that is not of this
    /// shape or of a newer format than this berth reads.
    pub fn parse(text: &[u8]) -> Result<Release, String> {
        let release: Release =
            serde_json::from_slice(text).map_err(|e| format!("not a release record: {e}"))?;
        if release.format_version > FORMAT_VERSION {
            return Err(format!(
                "a release record of format {} (this berth reads format {FORMAT_VERSION} and \
                 older; a newer berth wrote it)",
                release.format_version
            ));
        }
        Ok(release)
    }

    /// How many of its services had an image to keep (an id, so a tag).
    pub fn taggable(&self) -> usize {
        self.services.values().filter(|s| s.tag.is_some()).count()
    }
}

/// A record with a bit of everything, for tests.
#[cfg(test)]
pub(crate) fn sample() -> Release {
    Release {
        format_version: FORMAT_VERSION,
        project: "shop".into(),
        number: 3,
        time: "2026-05-01T10:11:12Z".into(),
        target: Target::Engine,
        changes: vec![
            "recreate web: config changed: environment".into(),
            "create network shop_back: not found".into(),
        ],
        services: BTreeMap::from([
            (
                "web".to_string(),
                ServiceImage {
                    image: "shop/web:1".into(),
                    id: Some("sha256:aa".into()),
                    tag: Some("berth-releases/shop/web:3".into()),
                },
            ),
            (
                "db".to_string(),
                ServiceImage {
                    image: "mariadb:10.11".into(),
                    id: None,
                    tag: None,
                },
            ),
        ]),
        berth_version: "0.1.0".into(),
        stack: Some(serde_json::json!({
            "name": "shop",
            "services": {"web": {"image": "shop/web:1", "environment": {"A": "$$HOME"}}},
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let r = sample();
        let text = r.to_json();
        assert_eq!(Release::parse(text.as_bytes()).unwrap(), r);
        let bare = r.without_stack();
        assert!(!bare.to_json().contains("\"stack\""));
        assert_eq!(Release::parse(bare.to_json().as_bytes()).unwrap(), bare);
    }

    #[test]
    fn the_record_says_its_target_and_ids_in_plain_words() {
        let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["target"], "engine");
        assert_eq!(v["services"]["web"]["id"], "sha256:aa");
        assert_eq!(v["services"]["db"]["id"], serde_json::Value::Null);
        assert_eq!(v["stack"]["services"]["web"]["environment"]["A"], "$$HOME");
    }

    #[test]
    fn a_summary_is_the_first_change_and_how_many_more() {
        let mut r = sample();
        assert_eq!(
            r.summary(),
            "recreate web: config changed: environment (and 1 more)"
        );
        r.changes.truncate(1);
        assert_eq!(r.summary(), "recreate web: config changed: environment");
        r.changes.clear();
        assert_eq!(r.summary(), "no changes recorded");
    }

    #[test]
    fn what_is_not_a_record_is_refused_with_the_reason() {
        for bad in [
            &b""[..],
            b"[]",
            b"{\"number\": -1}",
            b"\xff\xfe",
            b"{\"format_version\":1,\"project\":\"p\",\"number\":1}",
        ] {
            let e = Release::parse(bad).unwrap_err();
            assert!(e.starts_with("not a release record"), "{e}");
        }
        let mut newer: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        newer["format_version"] = 99.into();
        let e = Release::parse(newer.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("format 99"), "{e}");
        // Deeply nested input ends in an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Release::parse(deep.as_bytes()).is_err());
    }
}
