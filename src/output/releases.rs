//! What `berth releases` prints: the project's releases as a table
//! (`RELEASE  TIME  TARGET  CHANGES  IMAGES`, newest first) or a JSON array,
//! and one release, with its stack, as YAML or JSON.
//!
//! The JSON is each record as berth stores it (`crate::releases::Release`:
//! number, time, target, changes, each service's image reference, id and
//! keeping tag, berth's version), the stack only for one release, plus what
//! the engine holds now: `images` (`kept`, `partly_kept`, `pruned`, or
//! `none` for a release without an image this engine could keep) and, per
//! service, `kept`.

use serde_json::Value;

use super::ps::grid;
use crate::releases::{IMAGES_KEPT, Listed, Listing, Release};

/// The table of a project's releases, newest first.
pub fn table(listing: &Listing) -> String {
    let rows: Vec<[String; 5]> = listing
        .releases
        .iter()
        .map(|l| {
            [
                l.release.number.to_string(),
                l.release.time.clone(),
                l.release.target.as_str().to_string(),
                l.release.summary(),
                l.images().as_str().to_string(),
            ]
        })
        .collect();
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| r.each_ref().map(String::as_str))
        .collect();
    grid(["RELEASE", "TIME", "TARGET", "CHANGES", "IMAGES"], &cells)
}

/// What the table's IMAGES column adds up to: `2 of 7 releases keep their
/// images (berth keeps those of the last 5)`.
pub fn kept_note(listing: &Listing) -> String {
    let all = listing.releases.len();
    format!(
        "{} of {all} release{} keep{} their images (berth keeps those of the last {IMAGES_KEPT})",
        listing.keeping_images(),
        if all == 1 { "" } else { "s" },
        if all == 1 { "s" } else { "" },
    )
}

/// The releases as a JSON array, newest first, without their stacks.
pub fn list_json(listing: &Listing) -> String {
    let items: Vec<Value> = listing
        .releases
        .iter()
        .map(|l| listed_value(&l.release, l))
        .collect();
    pretty(&Value::Array(items))
}

/// One release as JSON, with its stack. `listed` is how the listing saw
/// it (which images are kept), when it did.
pub fn release_json(release: &Release, listed: Option<&Listed>) -> String {
    pretty(&release_value(release, listed))
}

/// One release as YAML, with its stack: for people. A service's `null`
/// command or entrypoint is left out of the stack, as `berth config`
/// leaves it out.
pub fn release_yaml(release: &Release, listed: Option<&Listed>) -> String {
    let mut v = release_value(release, listed);
    let services = v
        .get_mut("stack")
        .and_then(|s| s.get_mut("services"))
        .and_then(Value::as_object_mut);
    for svc in services.into_iter().flat_map(|s| s.values_mut()) {
        if let Some(o) = svc.as_object_mut() {
            o.retain(|k, val| !(matches!(k.as_str(), "command" | "entrypoint") && val.is_null()));
        }
    }
    super::to_yaml(v)
}

fn release_value(release: &Release, listed: Option<&Listed>) -> Value {
    match listed {
        Some(l) => listed_value(release, l),
        None => serde_json::to_value(release).unwrap_or(Value::Null),
    }
}

/// The record, with what the engine holds of its images now.
fn listed_value(release: &Release, listed: &Listed) -> Value {
    let mut v = serde_json::to_value(release).unwrap_or(Value::Null);
    if let Some(services) = v.get_mut("services").and_then(Value::as_object_mut) {
        for (name, s) in services.iter_mut() {
            if let Some(o) = s.as_object_mut() {
                o.insert("kept".into(), Value::Bool(listed.kept.contains(name)));
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        // After the record's own fields, before the stack.
        let stack = o.remove("stack");
        o.insert("images".into(), Value::from(listed.images().code()));
        if let Some(stack) = stack {
            o.insert("stack".into(), stack);
        }
    }
    v
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::releases::record::sample;

    fn listed(number: u64, kept: &[&str]) -> Listed {
        let mut release = sample().without_stack();
        release.number = number;
        Listed {
            release,
            kept: kept.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        }
    }

    fn listing(releases: Vec<Listed>) -> Listing {
        Listing::of(releases)
    }

    #[test]
    fn the_table_has_a_row_per_release_with_its_changes_and_images() {
        let l = listing(vec![listed(12, &["web"]), listed(3, &[])]);
        assert_eq!(
            table(&l),
            "RELEASE   TIME                   TARGET   CHANGES                                                  IMAGES\n\
             12        2026-05-01T10:11:12Z   engine   recreate web: config changed: environment (and 1 more)   kept\n\
             3         2026-05-01T10:11:12Z   engine   recreate web: config changed: environment (and 1 more)   pruned\n"
        );
        assert_eq!(
            kept_note(&l),
            "1 of 2 releases keep their images (berth keeps those of the last 5)"
        );
        assert_eq!(
            kept_note(&listing(vec![listed(1, &["web"])])),
            "1 of 1 release keeps their images (berth keeps those of the last 5)"
        );
    }

    #[test]
    fn the_json_is_the_records_with_what_is_kept_and_no_stack() {
        let l = listing(vec![listed(2, &["web"]), listed(1, &[])]);
        let v: Value = serde_json::from_str(&list_json(&l)).unwrap();
        assert_eq!(v[0]["number"], 2);
        assert_eq!(v[0]["images"], "kept");
        assert_eq!(v[0]["services"]["web"]["id"], "sha256:aa");
        assert_eq!(v[0]["services"]["web"]["kept"], true);
        assert_eq!(v[0]["services"]["db"]["kept"], false);
        assert_eq!(v[1]["images"], "pruned");
        assert!(v[0].get("stack").is_none());
        assert_eq!(list_json(&listing(vec![])), "[]\n");
    }

    #[test]
    fn one_release_comes_with_its_stack_last() {
        let full = sample();
        let l = listed(3, &["web"]);
        let v: Value = serde_json::from_str(&release_json(&full, Some(&l))).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.last(), Some(&"stack"));
        assert_eq!(v["images"], "kept");
        assert_eq!(v["stack"]["name"], "shop");
        let yaml = release_yaml(&full, Some(&l));
        assert!(yaml.contains("number: 3"), "{yaml}");
        assert!(yaml.contains("images: kept"), "{yaml}");
        assert!(yaml.contains("A: $$HOME"), "{yaml}");
        let mut nulls = sample();
        nulls.stack = Some(serde_json::json!({
            "services": {"web": {"image": "a", "command": null, "entrypoint": null}}
        }));
        let yaml = release_yaml(&nulls, None);
        assert!(
            !yaml.contains("command") && !yaml.contains("entrypoint"),
            "{yaml}"
        );
    }
}
