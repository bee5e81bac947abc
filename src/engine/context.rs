//! The build context: the directory `docker build` sends, packed as a tar.
//!
//! [`context_tar`] packs every file under the context that `.dockerignore`
//! does not exclude (the Dockerfile and `.dockerignore` itself are always
//! sent) as an uncompressed tar (the `tar` crate's GNU headers) with uid/gid
//! 0 and the files' own modes and mtimes, as the Docker CLI does.
//!
//! [`DockerIgnore`] reads `.dockerignore` as the Docker CLI does (moby's
//! patternmatcher): Go's `filepath.Match` per path segment plus `**`, `!`
//! exceptions where the last matching line wins, patterns cleaned and their
//! leading `/` dropped, and a pattern that matches a directory matching
//! everything in it. It is written here because no maintained crate
//! implements these rules: `ignore`/`globset` follow gitignore's, where a
//! pattern without a slash matches at any depth (in Docker only at the root).

use std::io;
use std::path::Path;

use tar::{Builder, EntryType, Header};

/// Packs the build context `dir` as a tar, leaving out what `.dockerignore`
/// excludes (never the Dockerfile at `dockerfile` or `.dockerignore`).
/// With `inline`, that text is added as the Dockerfile at `dockerfile`.
pub fn context_tar(dir: &Path, dockerfile: &str, inline: Option<&str>) -> io::Result<Vec<u8>> {
    let mut ignore = DockerIgnore::read(dir)?;
    ignore.keep(dockerfile);
    ignore.keep(".dockerignore");
    let mut tar = Builder::new(Vec::new());
    walk(dir, "", &ignore, &mut tar)?;
    if let Some(text) = inline {
        let mut h = header(EntryType::Regular, 0o644, 0);
        h.set_size(text.len() as u64);
        tar.append_data(&mut h, dockerfile, text.as_bytes())?;
    }
    tar.into_inner()
}

/// Adds the entries under `dir` (at `rel` in the tar), in name order, a
/// directory before what it holds.
fn walk(
    dir: &Path,
    rel: &str,
    ignore: &DockerIgnore,
    tar: &mut Builder<Vec<u8>>,
) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::symlink_metadata(entry.path())?;
        let excluded = ignore.excluded(&path);
        let mode = mode_of(&meta);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        if meta.is_dir() {
            // An excluded directory may still hold an exception.
            if excluded && !ignore.has_exceptions() {
                continue;
            }
            if !excluded {
                let mut h = header(EntryType::Directory, mode, mtime);
                tar.append_data(&mut h, format!("{path}/"), io::empty())?;
            }
            walk(&entry.path(), &path, ignore, tar)?;
        } else if excluded {
            continue;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            let mut h = header(EntryType::Symlink, 0o777, mtime);
            tar.append_link(&mut h, &path, target)?;
        } else if meta.is_file() {
            let data = std::fs::read(entry.path())?;
            let mut h = header(EntryType::Regular, mode, mtime);
            h.set_size(data.len() as u64);
            tar.append_data(&mut h, &path, data.as_slice())?;
        }
        // Sockets, fifos and devices are not sent, as with `docker build`.
    }
    Ok(())
}

/// A header owned by root, as the Docker CLI writes them; path, size and
/// checksum are set when the entry is appended.
fn header(kind: EntryType, mode: u32, mtime: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    // Plain ASCII names always fit the 32-byte fields.
    let _ = h.set_username("root");
    let _ = h.set_groupname("root");
    h
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}

/// The patterns of a `.dockerignore` file.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    /// (pattern split into path segments, is an exception)
    rules: Vec<(Vec<String>, bool)>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pattern, exception) = match line.strip_prefix('!') {
                Some(p) => (p.trim(), true),
                None => (line, false),
            };
            let segments = clean(pattern);
            if segments.is_empty() {
                continue;
            }
            rules.push((segments, exception));
        }
        DockerIgnore { rules }
    }

    /// Reads `<dir>/.dockerignore`; none is an empty set of patterns.
    pub fn read(dir: &Path) -> io::Result<DockerIgnore> {
        match std::fs::read_to_string(dir.join(".dockerignore")) {
            Ok(text) => Ok(DockerIgnore::parse(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
            Err(e) => Err(e),
        }
    }

    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, exc)| *exc)
    }

    /// Adds an exception for one path (the Dockerfile is always sent).
    pub fn keep(&mut self, path: &str) {
        let segments = clean(path);
        if !segments.is_empty() {
            self.rules.push((segments, true));
        }
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded:
    /// the last pattern that matches it or one of its parent directories
    /// decides.
    pub fn excluded(&self, path: &str) -> bool {
        let segs = clean(path);
        let mut excluded = false;
        for (pattern, exception) in &self.rules {
            let hit = (1..=segs.len()).any(|n| match_segments(pattern, &segs[..n]));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }
}

/// A pattern or path as its segments: no leading `/` or `./`, no empty or
/// `.` segments, `..` resolved.
fn clean(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s.to_string()),
        }
    }
    out
}

fn match_segments(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((seg, path_rest)) => {
                glob(first.as_bytes(), seg.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// One segment: `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\x`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some((&c, s_rest)) = s.split_first() else {
                return false;
            };
            // Go's `filepath.Match` negates with `^` only; `!` is a member.
            let (negate, mut body) = match rest.first() {
                Some(b'^') => (true, &rest[1..]),
                _ => (false, rest),
            };
            let mut matched = false;
            let mut first = true;
            loop {
                match body.split_first() {
                    None => return false, // unterminated class
                    Some((b']', after)) if !first => {
                        body = after;
                        break;
                    }
                    Some((&lo, after)) => {
                        first = false;
                        if after.len() >= 2 && after[0] == b'-' && after[1] != b']' {
                            if lo <= c && c <= after[1] {
                                matched = true;
                            }
                            body = &after[2..];
                        } else {
                            if lo == c {
                                matched = true;
                            }
                            body = after;
                        }
                    }
                }
            }
            matched != negate && glob(body, s_rest)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && glob(&rest[1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text)
    }

    #[test]
    fn dockerignore_patterns() {
        let d = ig("# comment\n*.log\n!keep.log\nnode_modules\n**/tmp\n/build/*.o\nsecret?.txt\n");
        assert!(d.excluded("a.log"));
        assert!(!d.excluded("keep.log"));
        // `*` does not cross directories.
        assert!(!d.excluded("dir/a.log"));
        assert!(d.excluded("node_modules"));
        assert!(d.excluded("node_modules/x/y.js"));
        assert!(d.excluded("tmp"));
        assert!(d.excluded("a/b/tmp/c"));
        assert!(d.excluded("build/x.o"));
        assert!(!d.excluded("build/sub/x.o"));
        assert!(d.excluded("secret1.txt"));
        assert!(!d.excluded("secret12.txt"));
        assert!(!d.excluded("src/main.rs"));
    }

    #[test]
    fn dockerignore_double_star_and_exceptions() {
        let d = ig("**/*.md\n!docs/**/README.md\n");
        assert!(d.excluded("a.md"));
        assert!(d.excluded("x/y/a.md"));
        assert!(d.excluded("docs/a.md"));
        assert!(!d.excluded("docs/README.md"));
        assert!(!d.excluded("docs/x/README.md"));
        let all = ig("*\n!app\n!Dockerfile\n");
        assert!(all.excluded("junk"));
        assert!(!all.excluded("app/main.sh"));
        assert!(!all.excluded("Dockerfile"));
        let classes = ig("[a-c]*.txt\n[^x]y\n");
        assert!(classes.excluded("b1.txt"));
        assert!(!classes.excluded("d1.txt"));
        assert!(classes.excluded("ay"));
        assert!(!classes.excluded("xy"));
        let bang = ig("[!x]y\n");
        assert!(bang.excluded("xy"));
        assert!(bang.excluded("!y"));
        assert!(!bang.excluded("ay"));
    }

    /// Every entry's path, kind, mode and owner, in tar order.
    fn entries(tar: &[u8]) -> Vec<(String, EntryType, u32, u64, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.username().unwrap().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn context_tar_honours_dockerignore() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(p.join(".dockerignore"), "*\n!app\n").unwrap();
        std::fs::create_dir(p.join("app")).unwrap();
        std::fs::write(p.join("app/run.sh"), "echo hi\n").unwrap();
        std::fs::set_permissions(p.join("app/run.sh"), std::fs::Permissions::from_mode(0o750))
            .unwrap();
        std::fs::write(p.join("junk.txt"), "x").unwrap();
        let long = "d".repeat(120);
        std::fs::create_dir(p.join("app").join(&long)).unwrap();
        std::fs::write(p.join("app").join(&long).join("f"), "y").unwrap();
        std::os::unix::fs::symlink("run.sh", p.join("app/link")).unwrap();
        let tar = context_tar(p, "Dockerfile", None).unwrap();
        assert_eq!(tar.len() % 512, 0);
        let got = entries(&tar);
        let paths: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        // `*` excludes the root's own entries, `.dockerignore` and the
        // Dockerfile are kept anyway, and `app` (a directory) is re-included.
        assert_eq!(
            paths,
            vec![
                ".dockerignore",
                "Dockerfile",
                "app/",
                &format!("app/{long}/"),
                &format!("app/{long}/f"),
                "app/link",
                "app/run.sh",
            ]
        );
        let run = got.iter().find(|e| e.0 == "app/run.sh").unwrap();
        assert_eq!((run.1, run.2), (EntryType::Regular, 0o750));
        let link = got.iter().find(|e| e.0 == "app/link").unwrap();
        assert_eq!((link.1, link.2), (EntryType::Symlink, 0o777));
        assert!(got.iter().any(|e| e.1 == EntryType::Directory));
        assert!(got.iter().all(|e| e.3 == 0 && e.4 == "root"));
    }

    #[test]
    fn an_inline_dockerfile_is_added_under_its_generated_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.sh"), "echo\n").unwrap();
        let tar = context_tar(dir.path(), "Dockerfile.inline", Some("FROM scratch\n")).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut found = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mode = e.header().mode().unwrap();
            let mut text = String::new();
            io::Read::read_to_string(&mut e, &mut text).unwrap();
            found.push((path, mode, text));
        }
        assert_eq!(
            found,
            vec![
                ("main.sh".to_string(), found[0].1, "echo\n".to_string()),
                (
                    "Dockerfile.inline".to_string(),
                    0o644,
                    "FROM scratch\n".to_string()
                ),
            ]
        );
    }
}
