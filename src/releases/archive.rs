//! A release's image as a tarball, both ways: the one berth loads into the
//! engine (`POST /images/load`, what `docker load` sends), and reading the
//! record back out of what the engine exports (`GET /images/{name}/get`,
//! what `docker save` receives).
//!
//! Loading a tarball rather than importing one (`docker import`) puts the
//! labels in the request body, as part of the image's config: an import
//! takes them as `LABEL` instructions in the URL, where a record's JSON
//! would need Dockerfile quoting and `$` escaping and would meet the
//! engine's limit on a request line. The image has one layer, holding
//! [`RECORD_FILE`]; it never runs.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use sha2::{Digest, Sha256};

/// The record's file in a release image.
pub const RECORD_FILE: &str = "release.json";

/// The image `docker load` makes: tagged `reference`, with `labels` on its
/// config, `created` (RFC 3339) as its time, and one layer holding `record`
/// as [`RECORD_FILE`].
pub fn image_tar(
    reference: &str,
    labels: &BTreeMap<String, String>,
    created: &str,
    record: &[u8],
) -> std::io::Result<Vec<u8>> {
    let layer = tar_of(&[(RECORD_FILE, record)])?;
    let diff_id = format!("sha256:{}", hex(&Sha256::digest(&layer)));
    let config = serde_json::json!({
        "architecture": architecture(),
        "os": "linux",
        "created": created,
        "config": { "Labels": labels },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": created, "created_by": format!("berth release {reference}") }],
    })
    .to_string();
    let config_name = format!("{}.json", hex(&Sha256::digest(config.as_bytes())));
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [reference],
        "Layers": ["layer/layer.tar"],
    }])
    .to_string();
    tar_of(&[
        ("manifest.json", manifest.as_bytes()),
        (&config_name, config.as_bytes()),
        ("layer/layer.tar", &layer),
    ])
}

/// The record in an image exported by the engine: the file
/// [`RECORD_FILE`] of the layers the export's `manifest.json` names (the
/// first that has it).
pub fn record_from_saved(saved: &[u8]) -> Result<Vec<u8>, String> {
    let files = files_of(saved).map_err(|e| format!("the exported image is no tar: {e}"))?;
    let manifest = files
        .get("manifest.json")
        .ok_or("the exported image has no manifest.json")?;
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Layers", default)]
        layers: Vec<String>,
    }
    let entries: Vec<Entry> = serde_json::from_slice(manifest)
        .map_err(|e| format!("the exported image's manifest.json is unreadable: {e}"))?;
    for path in entries.iter().flat_map(|e| &e.layers) {
        let layer = files
            .get(path.trim_start_matches("./"))
            .ok_or_else(|| format!("the exported image lacks its layer {path}"))?;
        if layer.starts_with(&[0x1f, 0x8b]) {
            return Err(format!(
                "the exported image's layer {path} is compressed, which berth does not read"
            ));
        }
        let inner = files_of(layer).map_err(|e| format!("its layer {path} is no tar: {e}"))?;
        if let Some(record) = inner.get(RECORD_FILE) {
            return Ok(record.clone());
        }
    }
    Err(format!("the image holds no {RECORD_FILE}"))
}

/// A tar of regular files, in order, with fixed times and modes so that
/// the same record gives the same bytes.
fn tar_of(files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut header, path, *data)?;
    }
    b.into_inner()
}

/// The regular files of a tar, by path (without a leading `./`).
fn files_of(tar: &[u8]) -> std::io::Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        // The entry's size is bounded by the tar it is read from.
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.insert(path.trim_start_matches("./").to_string(), data);
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The platform's name for this machine's architecture. The image never
/// runs; the field is there because an image config has it.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaded_tarball_holds_the_record_in_its_one_layer_and_the_labels_in_its_config() {
        let labels = BTreeMap::from([("io.berth.release.number".to_string(), "3".to_string())]);
        let tar = image_tar(
            "berth-releases/shop:3",
            &labels,
            "2026-05-01T10:11:12Z",
            b"{\"a\":\"$x\"}",
        )
        .unwrap();
        let files = files_of(&tar).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        assert_eq!(manifest[0]["RepoTags"][0], "berth-releases/shop:3");
        let config_name = manifest[0]["Config"].as_str().unwrap();
        let config: serde_json::Value = serde_json::from_slice(&files[config_name]).unwrap();
        assert_eq!(config["config"]["Labels"]["io.berth.release.number"], "3");
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{}", hex(&Sha256::digest(&files["layer/layer.tar"])))
        );
        assert_eq!(
            config_name,
            format!("{}.json", hex(&Sha256::digest(&files[config_name])))
        );
        // What is loaded reads back as the engine would export it.
        assert_eq!(record_from_saved(&tar).unwrap(), b"{\"a\":\"$x\"}");
        // The same record makes the same bytes.
        let again = image_tar(
            "berth-releases/shop:3",
            &labels,
            "2026-05-01T10:11:12Z",
            b"{\"a\":\"$x\"}",
        )
        .unwrap();
        assert_eq!(tar, again);
    }

    #[test]
    fn an_export_without_the_record_says_what_it_lacks() {
        let e = |files: &[(&str, &[u8])]| record_from_saved(&tar_of(files).unwrap()).unwrap_err();
        assert!(e(&[]).contains("no manifest.json"));
        assert!(e(&[("manifest.json", b"{")]).contains("unreadable"));
        assert!(
            e(&[("manifest.json", b"[{\"Layers\":[\"l.tar\"]}]")])
                .contains("lacks its layer l.tar")
        );
        let other = tar_of(&[("etc/passwd", b"root")]).unwrap();
        assert!(
            e(&[
                ("manifest.json", b"[{\"Layers\":[\"./l.tar\"]}]"),
                ("l.tar", &other)
            ])
            .contains("holds no release.json")
        );
        assert!(
            e(&[
                ("manifest.json", b"[{\"Layers\":[\"l.tar\"]}]"),
                ("l.tar", b"\x1f\x8b\x08rest")
            ])
            .contains("compressed")
        );
        assert!(record_from_saved(b"not a tar at all").is_err());
        assert!(record_from_saved(&[]).is_err());
    }
}
