//! The build context: the directory `docker build` sends, packed as a tar.
//!
//! [`context_tar`] packs every file under the context that `.dockerignore`
//! does not exclude (the Dockerfile and `.dockerignore` itself are always
//! sent), as an uncompressed tar with uid/gid 0. [`DockerIgnore`] implements
//! the file's patterns as the Docker CLI reads them: `*`, `?`, `**`, `[...]`,
//! `!` exceptions (the last matching line wins) and directory names (a
//! pattern that matches a directory matches everything in it).

use std::io;
use std::path::Path;

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
            let (negate, mut body) = match rest.first() {
                Some(b'^') | Some(b'!') => (true, &rest[1..]),
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

/// Packs the build context `dir` as a tar, leaving out what `.dockerignore`
/// excludes (never the Dockerfile at `dockerfile` or `.dockerignore`).
/// With `inline`, that text is added as the Dockerfile at `dockerfile`.
pub fn context_tar(dir: &Path, dockerfile: &str, inline: Option<&str>) -> io::Result<Vec<u8>> {
    let mut ignore = DockerIgnore::read(dir)?;
    ignore.keep(dockerfile);
    ignore.keep(".dockerignore");
    let mut tar = Tar::default();
    walk(dir, "", &ignore, &mut tar)?;
    if let Some(text) = inline {
        tar.file(dockerfile, 0o644, 0, text.as_bytes())?;
    }
    Ok(tar.finish())
}

fn walk(dir: &Path, rel: &str, ignore: &DockerIgnore, tar: &mut Tar) -> io::Result<()> {
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
            if excluded && !ignore.has_exceptions() {
                continue;
            }
            if !excluded {
                tar.dir(&path, mode, mtime)?;
            }
            walk(&entry.path(), &path, ignore, tar)?;
        } else if excluded {
            continue;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            tar.symlink(&path, &target.to_string_lossy(), mtime)?;
        } else if meta.is_file() {
            let data = std::fs::read(entry.path())?;
            tar.file(&path, mode, mtime, &data)?;
        }
        // Sockets, fifos and devices are not sent, as with `docker build`.
    }
    Ok(())
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

/// A minimal ustar writer (GNU long names for paths over 100 bytes).
#[derive(Default)]
struct Tar {
    buf: Vec<u8>,
}

impl Tar {
    fn file(&mut self, path: &str, mode: u32, mtime: u64, data: &[u8]) -> io::Result<()> {
        self.header(path, mode, mtime, data.len() as u64, b'0', "")?;
        self.data(data);
        Ok(())
    }

    fn dir(&mut self, path: &str, mode: u32, mtime: u64) -> io::Result<()> {
        self.header(&format!("{path}/"), mode, mtime, 0, b'5', "")
    }

    fn symlink(&mut self, path: &str, target: &str, mtime: u64) -> io::Result<()> {
        self.header(path, 0o777, mtime, 0, b'2', target)
    }

    fn data(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }

    fn header(
        &mut self,
        path: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        kind: u8,
        link: &str,
    ) -> io::Result<()> {
        if link.len() > 100 {
            self.long(b'K', link)?;
        }
        if path.len() > 100 {
            self.long(b'L', path)?;
        }
        let mut h = [0u8; 512];
        put(&mut h[0..100], &path.as_bytes()[..path.len().min(100)]);
        octal(&mut h[100..108], mode as u64);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], mtime);
        h[156] = kind;
        put(&mut h[157..257], &link.as_bytes()[..link.len().min(100)]);
        put(&mut h[257..265], b"ustar  \0");
        put(&mut h[265..269], b"root");
        put(&mut h[297..301], b"root");
        checksum(&mut h);
        self.buf.extend_from_slice(&h);
        Ok(())
    }

    fn long(&mut self, kind: u8, name: &str) -> io::Result<()> {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        let mut h = [0u8; 512];
        put(&mut h[0..100], b"././@LongLink");
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = kind;
        put(&mut h[257..265], b"ustar  \0");
        checksum(&mut h);
        self.buf.extend_from_slice(&h);
        self.data(&data);
        Ok(())
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat_n(0u8, 1024));
        self.buf
    }
}

fn put(field: &mut [u8], bytes: &[u8]) {
    field[..bytes.len()].copy_from_slice(bytes);
}

/// Octal digits, zero-padded, NUL-terminated, filling the field.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    let s = &s.as_bytes()[s.len().saturating_sub(digits)..];
    put(field, s);
    field[digits] = 0;
}

fn checksum(h: &mut [u8; 512]) {
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
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
    }

    #[test]
    fn context_tar_honours_dockerignore() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(p.join(".dockerignore"), "*\n!app\n").unwrap();
        std::fs::create_dir(p.join("app")).unwrap();
        std::fs::write(p.join("app/run.sh"), "echo hi\n").unwrap();
        std::fs::write(p.join("junk.txt"), "x").unwrap();
        let long = "d".repeat(120);
        std::fs::create_dir(p.join("app").join(&long)).unwrap();
        std::fs::write(p.join("app").join(&long).join("f"), "y").unwrap();
        let tar = context_tar(p, "Dockerfile", None).unwrap();
        assert_eq!(tar.len() % 512, 0);
        let text = String::from_utf8_lossy(&tar);
        assert!(text.contains("Dockerfile"));
        assert!(text.contains("app/run.sh"));
        assert!(text.contains(&format!("app/{long}/f")));
        assert!(!text.contains("junk.txt"));
        // The header checksum of the first entry is right.
        let h = &tar[..512];
        let stored =
            u64::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap().trim(), 8).unwrap();
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        assert_eq!(stored, sum);
    }
}
