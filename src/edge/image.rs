//! The edge image's files: berth's own executable at [`EXECUTABLE`], every
//! shared library the running process has mapped (the dynamic loader among
//! them) at its own path, glibc's resolver configuration, and the directory
//! of the state file, as a tar the engine imports (`docker import`). No
//! registry, no base image, no Dockerfile: nothing but what berth already
//! runs on.
//!
//! The image is named by the executable's content, `berth/edge:<the first
//! 12 hex digits of its sha256>`, so that there is one image per build of
//! berth and the import is skipped when it is there. Its libraries are the
//! ones this process runs with; an image made elsewhere from the same
//! executable works as well, so the tag need not name them.
//!
//! [`EdgeImage::of_this_process`] and [`EdgeImage::tar`] read this host's
//! files; what goes into the tar, and how, is pure ([`root_tar`]), as is
//! reading `/proc/self/maps` ([`mapped_libraries`]) and an ELF header
//! ([`interpreter`]). Sending the tar is `crate::engine::edge`'s job.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{EXECUTABLE, IMAGE_REPOSITORY, STATE_PATH};

/// glibc reads this to know how to resolve a host name: `/etc/hosts`, then
/// DNS (Docker's embedded server, which `/etc/resolv.conf` names in a
/// container on a user-defined network).
const NSSWITCH: &str = "hosts: files dns\n";

/// Libraries glibc before 2.34 loads only when it first resolves a name, so
/// that they are not among the mapped ones yet; taken from the directory of
/// `libc.so.6` when they are there. (From 2.34 on they are part of libc.)
const RESOLVER_LIBRARIES: &[&str] = &["libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2"];

/// One file of the image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFile {
    /// Absolute path in the image.
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// The edge image of one executable, before its libraries are read.
#[derive(Debug, Clone)]
pub struct EdgeImage {
    /// `berth/edge:<12 hex>`.
    pub reference: String,
    executable: Vec<u8>,
    /// Absolute paths, in the order they were mapped.
    libraries: Vec<String>,
    /// The executable's `PT_INTERP` (the dynamic loader it asks for).
    interpreter: Option<String>,
}

impl EdgeImage {
    /// The running executable and the libraries it has mapped now
    /// (`/proc/self/exe`, `/proc/self/maps`).
    pub fn of_this_process() -> io::Result<EdgeImage> {
        let executable = std::fs::read("/proc/self/exe")?;
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        Ok(EdgeImage::new(executable, &maps))
    }

    /// The image of `executable`, with the libraries `maps` (the text of a
    /// `/proc/PID/maps`) names.
    pub fn new(executable: Vec<u8>, maps: &str) -> EdgeImage {
        EdgeImage {
            reference: reference(&executable),
            interpreter: interpreter(&executable),
            libraries: mapped_libraries(maps),
            executable,
        }
    }

    /// The tag alone (the 12 hex digits).
    pub fn tag(&self) -> &str {
        self.reference
            .rsplit_once(':')
            .map_or(self.reference.as_str(), |(_, t)| t)
    }

    /// Where the image's libraries are, for the loader (`LD_LIBRARY_PATH`):
    /// without `/etc/ld.so.cache`, it would search only its built-in
    /// directories, which may not be where this host keeps them.
    pub fn library_path(&self) -> String {
        let mut dirs: Vec<&str> = Vec::new();
        for l in &self.libraries {
            if let Some((dir, _)) = l.rsplit_once('/')
                && !dir.is_empty()
                && !dirs.contains(&dir)
            {
                dirs.push(dir);
            }
        }
        dirs.join(":")
    }

    /// The image's root filesystem, as the engine imports it. Reads the
    /// libraries (and the resolver's, where glibc keeps them apart).
    pub fn tar(&self) -> io::Result<Vec<u8>> {
        let mut files = vec![ImageFile {
            path: EXECUTABLE.to_string(),
            mode: 0o755,
            data: self.executable.clone(),
        }];
        let mut paths: Vec<String> = self.libraries.clone();
        if let Some(dir) = self
            .libraries
            .iter()
            .find(|l| l.ends_with("/libc.so.6"))
            .and_then(|l| l.rsplit_once('/'))
            .map(|(d, _)| d.to_string())
        {
            for name in RESOLVER_LIBRARIES {
                let p = format!("{dir}/{name}");
                if !paths.contains(&p) && Path::new(&p).is_file() {
                    paths.push(p);
                }
            }
        }
        if let Some(i) = &self.interpreter
            && !paths.contains(i)
        {
            // Often a symlink (`/lib64/ld-linux-x86-64.so.2`) to a mapped
            // file; a copy of that file is what the kernel needs there.
            paths.push(i.clone());
        }
        for p in paths {
            let data = std::fs::read(&p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {p} for the edge image: {e}"))
            })?;
            files.push(ImageFile {
                path: p,
                mode: 0o755,
                data,
            });
        }
        files.push(ImageFile {
            path: "/etc/nsswitch.conf".into(),
            mode: 0o644,
            data: NSSWITCH.as_bytes().to_vec(),
        });
        root_tar(&files)
    }
}

/// `berth/edge:<the first 12 hex digits of the executable's sha256>`.
pub fn reference(executable: &[u8]) -> String {
    let digest = Sha256::digest(executable);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{IMAGE_REPOSITORY}:{hex}")
}

/// The shared libraries among the file-backed mappings of a
/// `/proc/PID/maps`, in order, each once. A library replaced on disk since
/// it was mapped (` (deleted)`) is named by its path: what is there now.
pub fn mapped_libraries(maps: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode path (the path may hold spaces).
        let Some(path) = line.splitn(6, char::is_whitespace).nth(5) else {
            continue;
        };
        let path = path.trim();
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if !path.starts_with('/') || !is_library(path) {
            continue;
        }
        if seen.insert(path.to_string()) {
            out.push(path.to_string());
        }
    }
    out
}

/// `libc.so.6`, `ld-linux-x86-64.so.2`, `libfoo.so`: a name with `.so` at
/// its end or before a version.
fn is_library(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.match_indices(".so").any(|(i, _)| {
        let rest = &name[i + 3..];
        rest.is_empty() || rest.starts_with('.')
    })
}

/// The program interpreter an ELF file asks for (`PT_INTERP`); None for a
/// static executable or what is not ELF.
pub fn interpreter(elf: &[u8]) -> Option<String> {
    if elf.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match elf.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = match elf.get(5)? {
        1 => true,
        2 => false,
        _ => return None,
    };
    let int = |at: usize, len: usize| -> Option<u64> {
        let b = elf.get(at..at.checked_add(len)?)?;
        let mut v: u64 = 0;
        for i in 0..len {
            let byte = if little { b[len - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    };
    // Offsets of e_phoff, e_phentsize, e_phnum, and in a program header of
    // p_offset, p_filesz (the ELF specification, 32- and 64-bit).
    let (phoff, phentsize, phnum) = if wide {
        (int(0x20, 8)?, int(0x36, 2)?, int(0x38, 2)?)
    } else {
        (int(0x1c, 4)?, int(0x2a, 2)?, int(0x2c, 2)?)
    };
    let (off_at, off_len, size_at, size_len) = if wide { (8, 8, 32, 8) } else { (4, 4, 16, 4) };
    const PT_INTERP: u64 = 3;
    for i in 0..phnum {
        let ph = usize::try_from(phoff.checked_add(i.checked_mul(phentsize)?)?).ok()?;
        if int(ph, 4)? != PT_INTERP {
            continue;
        }
        let offset = usize::try_from(int(ph.checked_add(off_at)?, off_len)?).ok()?;
        let size = usize::try_from(int(ph.checked_add(size_at)?, size_len)?).ok()?;
        let raw = elf.get(offset..offset.checked_add(size)?)?;
        let text = raw.split(|b| *b == 0).next()?;
        let path = std::str::from_utf8(text).ok()?;
        return path.starts_with('/').then(|| path.to_string());
    }
    None
}

/// The tar of a root filesystem holding `files`, their parent directories
/// and the state file's directory; owned by root, dated 1970, in a fixed
/// order, so that the same files make the same bytes.
pub fn root_tar(files: &[ImageFile]) -> io::Result<Vec<u8>> {
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let state_dir = STATE_PATH.rsplit_once('/').map_or("", |(d, _)| d);
    for path in files
        .iter()
        .map(|f| f.path.as_str())
        .chain([state_dir, "/tmp/x"])
    {
        let mut at = path;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            dirs.insert(parent.trim_start_matches('/').to_string());
            at = parent;
        }
    }
    dirs.insert(state_dir.trim_start_matches('/').to_string());
    let mut b = tar::Builder::new(Vec::new());
    for d in &dirs {
        let mut h = header(tar::EntryType::Directory, 0);
        h.set_mode(if d == "tmp" { 0o1777 } else { 0o755 });
        b.append_data(&mut h, format!("{d}/"), io::empty())?;
    }
    let mut sorted: Vec<&ImageFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    sorted.dedup_by(|a, b| a.path == b.path);
    for f in sorted {
        let mut h = header(tar::EntryType::Regular, f.data.len() as u64);
        h.set_mode(f.mode);
        b.append_data(&mut h, f.path.trim_start_matches('/'), f.data.as_slice())?;
    }
    b.into_inner()
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0a00000-55d0c0b00000 r--p 00000000 fe:01 1234   /work/target/debug/berth
55d0c0b00000-55d0c0c00000 r-xp 00100000 fe:01 1234   /work/target/debug/berth
55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0      [heap]
7f0000000000-7f0000020000 r--p 00000000 fe:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000020000-7f0000100000 r-xp 00020000 fe:01 99     /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000210000 r--p 00000000 fe:01 98     /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
7f0000300000-7f0000310000 r--p 00000000 fe:01 97     /usr/lib/locale/C.utf8/LC_CTYPE
7f0000400000-7f0000410000 r--p 00000000 fe:01 96     /opt/my libs/libx.so (deleted)
7f0000500000-7f0000510000 r--p 00000000 fe:01 95     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7f0000600000-7f0000610000 r--p 00000000 fe:01 94     /usr/lib/python3/not.sox
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0      [vdso]
";

    #[test]
    fn the_mapped_shared_libraries_are_found_once_each_in_order() {
        assert_eq!(
            mapped_libraries(MAPS),
            [
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/opt/my libs/libx.so",
                "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ]
        );
        assert_eq!(
            mapped_libraries("garbage\n\n1 2 3 4 5\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_library_path_names_each_directory_once() {
        let image = EdgeImage::new(b"not elf".to_vec(), MAPS);
        assert_eq!(
            image.library_path(),
            "/usr/lib/x86_64-linux-gnu:/opt/my libs"
        );
        assert_eq!(image.interpreter, None);
    }

    #[test]
    fn the_tag_names_the_executables_content() {
        let a = EdgeImage::new(b"one".to_vec(), "");
        assert_eq!(a.reference, "berth/edge:7692c3ad3540");
        assert_eq!(a.tag(), "7692c3ad3540");
        assert_ne!(reference(b"two"), a.reference);
    }

    #[test]
    fn this_test_binary_asks_for_a_loader_that_exists() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let interp = interpreter(&exe).expect("a dynamically linked test binary");
        assert!(interp.starts_with('/'), "{interp}");
        assert!(Path::new(&interp).exists(), "{interp}");
        // What is mapped now holds the loader under its real path.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let libs = mapped_libraries(&maps);
        let real = std::fs::canonicalize(&interp).unwrap();
        assert!(
            libs.iter()
                .any(|l| std::fs::canonicalize(l).ok().as_ref() == Some(&real)),
            "{interp} is not among {libs:?}"
        );
    }

    #[test]
    fn an_elf_header_that_lies_is_no_interpreter_and_no_panic() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        for cut in [0, 3, 4, 5, 6, 0x20, 0x38, 0x40, 100, 1000] {
            let _ = interpreter(&exe[..cut.min(exe.len())]);
        }
        let mut lying = exe[..64].to_vec();
        lying[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(interpreter(&lying), None);
        let mut many = exe[..64].to_vec();
        many[0x36..0x38].copy_from_slice(&u16::MAX.to_le_bytes());
        many[0x38..0x3a].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(interpreter(&many), None);
        assert_eq!(interpreter(b"\x7fELF\x03\x01"), None);
        assert_eq!(interpreter(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn the_root_tar_holds_the_files_their_directories_and_the_state_directory() {
        let files = [
            ImageFile {
                path: "/berth".into(),
                mode: 0o755,
                data: b"exe".to_vec(),
            },
            ImageFile {
                path: "/usr/lib/x/libc.so.6".into(),
                mode: 0o755,
                data: b"libc".to_vec(),
            },
            ImageFile {
                path: "/etc/nsswitch.conf".into(),
                mode: 0o644,
                data: NSSWITCH.as_bytes().to_vec(),
            },
        ];
        let tar = root_tar(&files).unwrap();
        assert_eq!(tar, root_tar(&files).unwrap(), "the same bytes each time");
        let mut a = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "etc/",
                "run/",
                "run/berth-edge/",
                "tmp/",
                "usr/",
                "usr/lib/",
                "usr/lib/x/",
                "berth",
                "etc/nsswitch.conf",
                "usr/lib/x/libc.so.6",
            ]
        );
        assert!(entries.iter().all(|(_, _, mtime)| *mtime == 0));
        let mode = |n: &str| entries.iter().find(|e| e.0 == n).unwrap().1;
        assert_eq!(mode("berth"), 0o755);
        assert_eq!(mode("tmp/"), 0o1777);
        assert_eq!(mode("etc/nsswitch.conf"), 0o644);
    }
}
