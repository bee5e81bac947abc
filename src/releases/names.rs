//! The names of a project's release images: `berth-releases/<project>:<N>`
//! for the records, `berth-releases/<project>/<service>:<N>` for the tags
//! that keep a release's images.
//!
//! The service's images sit one path level below the records, not beside
//! them (`<project>-<service>`), so that no two projects' names can meet:
//! project `a` with service `b-c` and project `a-b` with service `c` would
//! both be `a-b-c`. It also lets one list call find both kinds (a reference
//! filter for `berth-releases/<project>` and one for
//! `berth-releases/<project>/*`).
//!
//! A repository path component is lowercase letters and digits, split by
//! one `.`, one or two `_`, or any number of `-` ([`is_component`]).
//! Project names are lowercase already but may end in `_` or `-`, or hold
//! `___`; service names may hold capitals. A name that is not a component
//! as it is becomes a readable part and a short hash of the whole name
//! ([`component`]), so that `Web` and `web` stay apart.

use sha2::{Digest, Sha256};

/// The first path component of every release image.
pub const REPOSITORY: &str = "berth-releases";

/// The longest name used as it is; a longer one is shortened and hashed so
/// that a whole reference stays well under the engine's 255 characters.
const LONGEST: usize = 64;
/// How much of a name that is not a component is kept readable.
const READABLE: usize = 40;

/// Whether `s` is a repository path component as the engine reads one:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn is_component(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// `name` as a repository path component: itself when it is one (and not
/// too long), else its letters and digits (lowercased, runs joined by `-`,
/// cut to [`READABLE`]) and the first 12 hex digits of its sha256.
pub fn component(name: &str) -> String {
    if name.len() <= LONGEST && is_component(name) {
        return name.to_string();
    }
    let lower = name.to_ascii_lowercase();
    let mut readable = String::new();
    for run in lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|r| !r.is_empty())
    {
        if !readable.is_empty() {
            readable.push('-');
        }
        readable.push_str(run);
        if readable.len() >= READABLE {
            break;
        }
    }
    readable.truncate(READABLE);
    let readable = readable.trim_end_matches('-');
    let readable = if readable.is_empty() { "x" } else { readable };
    let hash: String = Sha256::digest(name.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{readable}-{hash}")
}

/// `berth-releases/<project>`: the repository of the project's records.
pub fn records_repo(project: &str) -> String {
    format!("{REPOSITORY}/{}", component(project))
}

/// `berth-releases/<project>/<service>`: the repository whose tags keep a
/// service's images.
pub fn images_repo(project: &str, service: &str) -> String {
    format!("{}/{}", records_repo(project), component(service))
}

/// `berth-releases/<project>:<N>`: release N's record.
pub fn record_ref(project: &str, number: u64) -> String {
    format!("{}:{number}", records_repo(project))
}

/// `berth-releases/<project>/<service>:<N>`: the tag that keeps the image
/// `service` ran in release N.
pub fn image_tag(project: &str, service: &str, number: u64) -> String {
    format!("{}:{number}", images_repo(project, service))
}

/// The reference filters that list a project's records and the tags that
/// keep its images.
pub fn list_patterns(project: &str) -> Vec<String> {
    let repo = records_repo(project);
    vec![repo.clone(), format!("{repo}/*")]
}

/// A listed reference as berth wrote it. podman lists a short name with
/// the registry it would have come from: `localhost/` for an image it made
/// (a record), `docker.io/` for a tag it was asked to add (a kept image).
pub fn unqualified(reference: &str) -> &str {
    ["localhost/", "docker.io/"]
        .iter()
        .find_map(|r| reference.strip_prefix(r))
        .unwrap_or(reference)
}

/// What a listed tag of the project is: a record (`Record(N)`), a kept
/// image (`Image(N)`), or neither (None: another project's, or a tag that
/// is not a release number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    Record(u64),
    Image(u64),
}

pub fn classify(project: &str, reference: &str) -> Option<Tagged> {
    let (repo, tag) = unqualified(reference).rsplit_once(':')?;
    // Only the digits berth writes: `+1`, `01` or a 30-digit tag are not
    // release numbers.
    if tag.is_empty() || tag.len() > 19 || !tag.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if tag.starts_with('0') {
        return None;
    }
    let number: u64 = tag.parse().ok()?;
    let records = records_repo(project);
    let rest = repo.strip_prefix(&records)?;
    if rest.is_empty() {
        return Some(Tagged::Record(number));
    }
    let service = rest.strip_prefix('/')?;
    (!service.contains('/') && is_component(service)).then_some(Tagged::Image(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_what_the_engine_accepts() {
        for ok in [
            "a",
            "web",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "bt-dry_run-123",
            "0",
        ] {
            assert!(is_component(ok), "{ok}");
        }
        for bad in [
            "", "Web", "a_", "-a", "a-", "a___b", "a_-b", "a..b", "a/b", "a:b", "a b", "é",
        ] {
            assert!(!is_component(bad), "{bad}");
        }
    }

    #[test]
    fn a_name_that_is_a_component_is_used_as_it_is() {
        assert_eq!(component("shop"), "shop");
        assert_eq!(component("bt-dry_run-123"), "bt-dry_run-123");
    }

    #[test]
    fn other_names_keep_their_letters_and_gain_a_hash_of_the_whole_name() {
        let web = component("Web");
        assert!(
            web.starts_with("web-") && web.len() == "web-".len() + 12,
            "{web}"
        );
        assert_ne!(web, component("web"));
        assert_ne!(component("WEB"), web, "a hash of the name as written");
        let trailing = component("shop_");
        assert!(trailing.starts_with("shop-"), "{trailing}");
        assert_ne!(trailing, component("shop-"));
        assert!(component("___").starts_with("x-"));
        assert!(
            component("A.b_c").starts_with("a-b-c-"),
            "{}",
            component("A.b_c")
        );
        assert_eq!(component("a.b_c"), "a.b_c");
        let long = "a".repeat(300);
        assert!(component(&long).len() <= READABLE + 13);
        assert_ne!(component(&long), component(&"a".repeat(301)));
        for name in ["Web", "shop_", "___", "a___b", "ü-x", &long, "x.Y-z__", "9"] {
            assert!(
                is_component(&component(name)),
                "{name} -> {}",
                component(name)
            );
        }
    }

    #[test]
    fn release_references_are_one_level_per_project_and_service() {
        assert_eq!(record_ref("shop", 3), "berth-releases/shop:3");
        assert_eq!(image_tag("shop", "web", 3), "berth-releases/shop/web:3");
        // Project `a`'s service `b-c` and project `a-b`'s service `c` stay apart.
        assert_ne!(image_tag("a", "b-c", 1), image_tag("a-b", "c", 1));
        assert_eq!(
            list_patterns("shop"),
            ["berth-releases/shop", "berth-releases/shop/*"]
        );
    }

    #[test]
    fn listed_tags_are_sorted_into_records_and_kept_images() {
        let c = |r| classify("shop", r);
        assert_eq!(c("berth-releases/shop:3"), Some(Tagged::Record(3)));
        assert_eq!(c("berth-releases/shop/web:12"), Some(Tagged::Image(12)));
        // As podman lists them.
        assert_eq!(
            c("localhost/berth-releases/shop:3"),
            Some(Tagged::Record(3))
        );
        assert_eq!(
            c("docker.io/berth-releases/shop/web:12"),
            Some(Tagged::Image(12))
        );
        for other in [
            "berth-releases/shop:latest",
            "berth-releases/shop:03",
            "berth-releases/shop:0",
            "berth-releases/shop:+3",
            "berth-releases/shop:99999999999999999999",
            "berth-releases/shopping:3",
            "berth-releases/shop/web/x:3",
            "berth-releases/shop/Web:3",
            "berth-releases/other:3",
            "shop:3",
            "registry.example/berth-releases/shop:3",
            "no-tag",
            "",
        ] {
            assert_eq!(c(other), None, "{other}");
        }
    }
}
