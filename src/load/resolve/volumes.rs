//! Service mounts: the short syntax (`./src:/dst:ro`, `name:/dst`, `/anon`) and
//! the long syntax, normalised into one long form.
//!
//! A short source that looks like a path is a bind mount, resolved against the
//! project directory; otherwise it names a volume, which must be declared at the
//! top level. Whether a bind source exists is the engine stage's concern.

use crate::diag::Diagnostic;
use std::path::Path;

use crate::load::paths::clean_path;
use crate::load::resolve::context::{Context, Defined};
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::*;
use crate::model::units::parse_go_int;

/// compose-go's `isFilePath`: `.`, `/`, `~`, a Windows named pipe or UNC
/// path (`\\`), or a Windows drive (`C:`).
fn is_path(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with('.')
        || s.starts_with('~')
        || s.starts_with("\\\\")
        || is_drive(s)
}

/// `C:` and more: a letter, then `:` (compose-go's `isWindowsDrive`).
fn is_drive(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(char::is_alphabetic) && c.next() == Some(':')
}

/// Splits a short volume spec at its `:`s as compose-go's `ParseVolume`
/// does: not the `:` of a Windows drive (`C:\data:/data`), nor one inside
/// `${...}` (a spec not interpolated). Errors as compose's.
fn split_spec(spec: &str) -> Result<Vec<&str>, &'static str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let bytes = spec.as_bytes();
    for (i, c) in spec.char_indices() {
        if c == '$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
        } else if c == '}' && depth > 0 {
            depth -= 1;
        } else if c == ':' && depth == 0 {
            let part = &spec[start..i];
            let mut chars = part.chars();
            let drive = chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none();
            if drive {
                continue;
            }
            if part.is_empty() {
                return Err("empty section between colons");
            }
            if parts.len() == 2 {
                return Err("too many colons");
            }
            parts.push(part);
            start = i + 1;
        }
    }
    let last = &spec[start..];
    if last.is_empty() {
        return Err("empty section between colons");
    }
    parts.push(last);
    Ok(parts)
}

pub fn resolve(
    cx: &mut Context,
    v: &Spanned<raw::ServiceVolume>,
    defined: &Defined,
) -> Option<ServiceVolume> {
    let mut out = match &v.value {
        raw::ServiceVolume::Short(s) => short(cx, s, v)?,
        raw::ServiceVolume::Long(l) => long(cx, l, v)?,
    };
    if !out.target.starts_with('/') {
        cx.diagnostics.push(
            Diagnostic::error(format!(
                "mount target `{}` is not an absolute path",
                out.target
            ))
            .label(v.span, "relative target")
            .help("the path inside the container must start with `/`"),
        );
        return None;
    }
    // compose prints the target cleaned (`/data/` as `/data`).
    out.target = clean_path(Path::new(&out.target));
    if out.kind == MountType::Volume
        && let Some(src) = &out.source
        && !defined.volumes.contains(&src.as_str())
    {
        let help = if defined.volumes.is_empty() {
            format!(
                "declare it under the top-level `volumes:` key (`volumes: {{{src}: {{}}}}`), or write `./{src}` for a bind mount"
            )
        } else {
            format!(
                "declare it under the top-level `volumes:` key, or use one of: {}",
                defined.volumes.join(", ")
            )
        };
        // In the long form, point at `source:` rather than the whole mapping.
        let at = match &v.value {
            raw::ServiceVolume::Long(l) => l.source.as_ref().map_or(v.span, |s| s.span),
            raw::ServiceVolume::Short(_) => v.span,
        };
        cx.diagnostics.push(
            Diagnostic::error(format!("volume `{src}` is not defined"))
                .label(at, "unknown volume")
                .help(help),
        );
    }
    Some(out)
}

fn short(cx: &mut Context, s: &str, v: &Spanned<raw::ServiceVolume>) -> Option<ServiceVolume> {
    // compose takes a spec of one or two characters (`/a`) as a bare target
    // and, unlike a longer anonymous volume, gives it no `volume: {}`.
    if (1..=2).contains(&s.len()) {
        return Some(ServiceVolume {
            kind: MountType::Volume,
            source: None,
            target: s.to_string(),
            read_only: false,
            consistency: None,
            bind: None,
            volume: None,
            tmpfs: None,
            image: None,
            span: v.span,
        });
    }
    let parts = match split_spec(s) {
        Ok(p) => p,
        Err(why) => {
            cx.diagnostics.push(
                Diagnostic::error(format!("invalid volume `{s}`: {why}"))
                    .label(v.span, "not a mount")
                    .help("write `[SOURCE:]TARGET[:MODE]`, e.g. `./data:/data:ro` or `db-data:/var/lib/mysql`"),
            );
            return None;
        }
    };
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [src, t] if t.starts_with('/') || !src.starts_with('/') => (Some(*src), *t, None),
        [src, t, m] => (Some(*src), *t, Some(*m)),
        _ => {
            cx.diagnostics.push(
                Diagnostic::error(format!("invalid volume `{s}`"))
                    .label(v.span, "not a mount")
                    .help("write `[SOURCE:]TARGET[:MODE]`, e.g. `./data:/data:ro` or `db-data:/var/lib/mysql`"),
            );
            return None;
        }
    };
    if target.is_empty() {
        cx.diagnostics.push(
            Diagnostic::error(format!("invalid volume `{s}`: empty target"))
                .label(v.span, "no target")
                .help("write `[SOURCE:]TARGET[:MODE]`"),
        );
        return None;
    }
    let mut read_only = false;
    let mut nocopy = false;
    let mut selinux = None;
    let mut propagation = None;
    for opt in mode.into_iter().flat_map(|m| m.split(',')) {
        match opt {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "nocopy" => nocopy = true,
            "z" | "Z" => selinux = Some(opt.to_string()),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                propagation = Some(opt.to_string())
            }
            "cached" | "delegated" | "consistent" => {}
            _ => {
                cx.diagnostics.push(
                    Diagnostic::error(format!("invalid volume mode `{opt}` in `{s}`"))
                        .label(v.span, "unknown mode")
                        .help("use `ro` or `rw` (and optionally `z`, `Z`, `nocopy`, or a propagation such as `rshared`)"),
                );
                return None;
            }
        }
    }
    let (kind, source) = match source {
        None => (MountType::Volume, None),
        Some(src) if is_path(src) => (MountType::Bind, Some(bind_source(cx, src))),
        Some(src) => (MountType::Volume, Some(src.to_string())),
    };
    // compose fills in the options block of the mount's own type, and also
    // the other type's block when an option of that type was written: a named
    // volume with `:z` gets `bind: {selinux: z}`, a bind with `:nocopy` gets
    // `volume: {nocopy: true}`.
    let bind = (kind == MountType::Bind || selinux.is_some() || propagation.is_some()).then(|| {
        BindOptions {
            propagation,
            create_host_path: kind == MountType::Bind,
            selinux,
            recursive: None,
        }
    });
    let volume = (kind == MountType::Volume || nocopy).then_some(VolumeOptions {
        nocopy,
        subpath: None,
    });
    Some(ServiceVolume {
        kind,
        source,
        target: target.to_string(),
        read_only,
        consistency: None,
        bind,
        volume,
        tmpfs: None,
        image: None,
        span: v.span,
    })
}

/// A bind source as compose-go's `maybeUnixPath` spells it: `~` expanded
/// and a relative path joined to the project directory (both cleaned), but
/// an absolute one, Unix (`/data/`, `//c/path`) or Windows (`C:\\data`,
/// `\\\\server\\share`), kept exactly as written.
fn bind_source(cx: &Context, p: &str) -> String {
    if let Some(rest) = p.strip_prefix('~')
        && let Some(home) = &cx.home
    {
        // compose joins whatever follows `~`, so `~x` is `$HOME/x`.
        return clean_path(&home.join(rest.trim_start_matches('/')));
    }
    if p.starts_with('/') || is_windows_abs(p) {
        return p.to_string();
    }
    cx.abs_path(p)
}

/// Go's Windows `filepath.IsAbs`, as compose-go copies it: a drive and a
/// separator (`C:\\`, `C:/`), or two separators (a UNC or device path).
pub fn is_windows_abs(p: &str) -> bool {
    let sep = |b: u8| b == b'\\' || b == b'/';
    let b = p.as_bytes();
    if b.len() >= 2 && sep(b[0]) && sep(b[1]) {
        return true;
    }
    b.len() >= 3 && b[1] == b':' && sep(b[2])
}

fn long(
    cx: &mut Context,
    l: &raw::ServiceVolumeLong,
    v: &Spanned<raw::ServiceVolume>,
) -> Option<ServiceVolume> {
    let kind = match l.kind.value.as_str() {
        "bind" => MountType::Bind,
        "volume" => MountType::Volume,
        "tmpfs" => MountType::Tmpfs,
        "npipe" => MountType::Npipe,
        "cluster" => MountType::Cluster,
        "image" => MountType::Image,
        other => {
            cx.diagnostics.push(
                Diagnostic::error(format!("unknown mount type `{other}`"))
                    .label(l.kind.span, "not a mount type")
                    .help("use `bind`, `volume` or `tmpfs`"),
            );
            return None;
        }
    };
    let Some(target) = &l.target else {
        cx.diagnostics.push(
            Diagnostic::error("a mount needs a `target`")
                .label(v.span, "no target")
                .help("add `target: /path/in/container`"),
        );
        return None;
    };
    let mut source = l.source.as_ref().map(|s| s.value.clone());
    if kind == MountType::Bind {
        match &source {
            Some(s) => source = Some(bind_source(cx, s)),
            None => {
                cx.diagnostics.push(
                    Diagnostic::error("a bind mount needs a `source`")
                        .label(v.span, "no source")
                        .help("add `source: ./path/on/host`"),
                );
                return None;
            }
        }
    }
    let tmpfs = match &l.tmpfs {
        None => None,
        Some(t) => {
            let size = match &t.size {
                None => None,
                Some(s) => match crate::model::units::parse_bytes(&s.value.0) {
                    Ok(b) => Some(Bytes(b)),
                    Err(e) => {
                        cx.diagnostics.push(
                            Diagnostic::error(format!("invalid tmpfs size: {e}"))
                                .label(s.span, "not a size")
                                .help("write a size such as `64m`"),
                        );
                        None
                    }
                },
            };
            // compose takes the number as YAML reads it: `1777` stays
            // decimal, `01777` and `0o1777` are octal.
            let mode = match &t.mode {
                None => None,
                Some(m) => match parse_go_int(&m.value.0).and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None => {
                        cx.diagnostics.push(
                            Diagnostic::error(format!("invalid tmpfs mode `{}`", m.value.0))
                                .label(m.span, "not a file mode")
                                .help("write the mode in octal with a leading zero, e.g. `01777`"),
                        );
                        None
                    }
                },
            };
            Some(TmpfsOptions { size, mode })
        }
    };
    Some(ServiceVolume {
        kind,
        source,
        target: target.value.clone(),
        read_only: l.read_only.unwrap_or(false),
        consistency: l.consistency.clone(),
        bind: l.bind.as_ref().map(|b| BindOptions {
            propagation: b.propagation.clone(),
            create_host_path: b.create_host_path.unwrap_or(false),
            selinux: b.selinux.clone(),
            recursive: b.recursive.clone(),
        }),
        volume: l.volume.as_ref().map(|o| VolumeOptions {
            nocopy: o.nocopy.unwrap_or(false),
            subpath: o.subpath.clone(),
        }),
        tmpfs,
        image: l.image.as_ref().map(|i| ImageOptions {
            subpath: i.subpath.clone(),
        }),
        span: v.span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_at_colons_but_not_a_drive_or_an_interpolation() {
        assert_eq!(split_spec("./a:/b:ro"), Ok(vec!["./a", "/b", "ro"]));
        assert_eq!(split_spec(r"C:\data:/data"), Ok(vec![r"C:\data", "/data"]));
        assert_eq!(split_spec("c:/x:/y:ro"), Ok(vec!["c:/x", "/y", "ro"]));
        assert_eq!(split_spec("${SRC:-./a}:/b"), Ok(vec!["${SRC:-./a}", "/b"]));
        assert_eq!(split_spec("/a::/b"), Err("empty section between colons"));
        assert_eq!(split_spec("/a:/b:"), Err("empty section between colons"));
        assert_eq!(split_spec("/a:/b:ro:z"), Err("too many colons"));
    }

    #[test]
    fn windows_paths_are_absolute_as_compose_sees_them() {
        for p in [
            r"C:\data",
            "C:/data",
            "//c/data",
            r"\\server\share",
            r"\\.\pipe\x",
        ] {
            assert!(is_windows_abs(p), "{p}");
        }
        for p in ["C:data", "./c", "data", "c"] {
            assert!(!is_windows_abs(p), "{p}");
        }
        assert!(is_path(r"C:\data") && is_path(r"\\server\share") && !is_path(r"\data"));
    }

    #[test]
    fn bind_sources_keep_compose_spelling() {
        let s = crate::testutil::stack(
            "services:\n  web:\n    image: a\n    volumes: ['/abs/dir/:/a', './rel/:/r', 'C:\\data\\:/w', '//c/x:/c', '/x/../y:/y']\n",
        );
        let sources: Vec<String> = s.services["web"]
            .volumes
            .iter()
            .map(|v| v.source.clone().unwrap())
            .collect();
        let dir = s.services["web"].volumes[1].source.clone().unwrap();
        assert!(dir.ends_with("/t/rel"), "{dir}");
        assert_eq!(
            sources,
            ["/abs/dir/", &dir, "C:\\data\\", "//c/x", "/x/../y"]
        );
    }
}
