//! Service mounts: the short syntax (`./src:/dst:ro`, `name:/dst`, `/anon`) and
//! the long syntax, normalised into one long form.
//!
//! A short source that looks like a path is a bind mount, resolved against the
//! project directory; otherwise it names a volume, which must be declared at the
//! top level. Whether a bind source exists is the engine stage's concern.

use crate::diag::Diagnostic;
use crate::load::resolve::{Context, Defined};
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
    let out = match &v.value {
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
    if out.kind == MountType::Volume {
        if let Some(src) = &out.source {
            if !defined.volumes.contains(&src.as_str()) {
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
                cx.diagnostics.push(
                    Diagnostic::error(format!("volume `{src}` is not defined"))
                        .label(v.span, "unknown volume")
                        .help(help),
                );
            }
        }
    }
    Some(out)
}

fn short(cx: &mut Context, s: &str, v: &Spanned<raw::ServiceVolume>) -> Option<ServiceVolume> {
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
    Some(match source {
        None => ServiceVolume {
            kind: MountType::Volume,
            source: None,
            target: target.to_string(),
            read_only,
            consistency: None,
            bind: None,
            volume: Some(VolumeOptions::default()),
            tmpfs: None,
            image: None,
            span: v.span,
        },
        Some(src) if is_path(src) => ServiceVolume {
            kind: MountType::Bind,
            source: Some(cx.abs_path(src)),
            target: target.to_string(),
            read_only,
            consistency: None,
            bind: Some(BindOptions {
                propagation,
                create_host_path: true,
                selinux,
                recursive: None,
            }),
            volume: None,
            tmpfs: None,
            image: None,
            span: v.span,
        },
        Some(src) => ServiceVolume {
            kind: MountType::Volume,
            source: Some(src.to_string()),
            target: target.to_string(),
            read_only,
            consistency: None,
            bind: None,
            volume: Some(VolumeOptions {
                nocopy,
                subpath: None,
            }),
            tmpfs: None,
            image: None,
            span: v.span,
        },
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
            Some(TmpfsOptions {
                size,
                mode: t
                    .mode
                    .as_ref()
                    .and_then(|m| u32::from_str_radix(m.0.trim_start_matches("0o"), 8).ok()),
            })
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
