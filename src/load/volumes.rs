//! Service mounts: the short syntax (`./src:/dst:ro`, `name:/dst`, `/anon`) and
//! the long syntax, normalised into one long form.
//!
//! A short source that looks like a path is a bind mount, resolved against the
//! project directory; otherwise it names a volume, which must be declared at the
//! top level. Whether a bind source exists is the engine stage's concern.

use crate::diag::Diagnostic;
use std::path::Path;

use crate::load::resolve::{Context, Defined, clean_path};
use crate::load::units::parse_go_int;
use crate::model::Spanned;
use crate::model::raw;
use crate::model::stack::*;

fn is_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with('.') || s.starts_with('~') || s.starts_with('\\')
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
    let parts: Vec<&str> = s.split(':').collect();
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
        Some(src) if is_path(src) => (MountType::Bind, Some(cx.abs_path(src))),
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
            Some(s) => source = Some(cx.abs_path(s)),
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
                Some(s) => match crate::load::units::parse_bytes(&s.value.0) {
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
