//! The status file: what the edge has applied, and how many connections each
//! upstream still has. The edge rewrites it (whole, by a rename) whenever
//! that changes; berth reads it back through the engine's archive API to
//! know that new connections go where it said, and when the old container
//! has no connection left (drained).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Where new connections go, as the state file named it; None before
    /// any target was read.
    pub target: Option<String>,
    /// Connections open now, by the upstream they go to (as the state file
    /// named it), counted from accept to close. An upstream with none is
    /// not listed.
    #[serde(default)]
    pub open: BTreeMap<String, u64>,
    /// The edge has stopped accepting (SIGTERM) and lets what is open finish.
    #[serde(default)]
    pub stopping: bool,
}

impl Status {
    /// The file's content as a status; None if it is not one (an edge of
    /// another version may say more: unknown keys are ignored).
    pub fn parse(bytes: &[u8]) -> Option<Status> {
        serde_json::from_slice(bytes).ok()
    }

    /// Writes the file whole: a reader finds the old status or the new one,
    /// never a part.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status");
        let s = Status {
            target: Some("bbbbbbbbbbbb".into()),
            open: BTreeMap::from([("aaaaaaaaaaaa".into(), 2), ("bbbbbbbbbbbb".into(), 1)]),
            stopping: false,
        };
        s.write(&path).unwrap();
        let text = std::fs::read(&path).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&text),
            "{\"target\":\"bbbbbbbbbbbb\",\"open\":{\"aaaaaaaaaaaa\":2,\"bbbbbbbbbbbb\":1},\"stopping\":false}\n"
        );
        let back = Status::parse(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn what_is_not_a_status_is_none_and_unknown_keys_are_ignored() {
        assert_eq!(Status::parse(b""), None);
        assert_eq!(Status::parse(b"\xff{"), None);
        assert_eq!(
            Status::parse(br#"{"target":null,"later":1}"#),
            Some(Status::default())
        );
    }
}
