//! Storage: the create request of a stack's volume, and what a service's
//! containers mount (volumes, binds, tmpfs, secrets and configs, other
//! containers' volumes), with the bind sources berth may create first.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions,
    MountVolumeOptions, VolumeCreateRequest,
};

use super::{first_container, map, resource_labels};
use crate::identity;
use crate::model::stack::{MountType, Service, ServiceVolume, Stack};

/// `stack.volumes[key]` as a create request; None if the stack has no such
/// volume.
pub fn volume(stack: &Stack, key: &str) -> Option<VolumeCreateRequest> {
    let v = stack.volumes.get(key)?;
    Some(VolumeCreateRequest {
        name: Some(v.name.clone()),
        driver: Some(v.driver.clone().unwrap_or_else(|| "local".into())),
        driver_opts: map(&v.driver_opts),
        labels: Some(resource_labels(
            &v.labels,
            &stack.name,
            identity::VOLUME,
            key,
        )),
        ..Default::default()
    })
}

/// A service's `volumes:` (but for [`binds`]), then its file-based secrets
/// and configs, as engine mounts.
pub fn mounts(stack: &Stack, service: &Service) -> Option<Vec<Mount>> {
    let mut mounts: Vec<Mount> = service
        .volumes
        .iter()
        .filter(|v| selinux(v).is_none())
        .filter_map(|v| mount(stack, v))
        .collect();
    mounts.extend(file_mounts(stack, service));
    (!mounts.is_empty()).then_some(mounts)
}

/// The SELinux relabel option (`z` or `Z`) of a bind.
fn selinux(v: &ServiceVolume) -> Option<&str> {
    let b = v.bind.as_ref()?;
    b.selinux.as_deref().filter(|_| v.kind == MountType::Bind)
}

/// Binds with `bind.selinux`, as `source:target:options` entries: the mount
/// API has no relabel option on any API version, the old bind syntax has
/// had `z`/`Z` all along (compose does the same).
pub fn binds(service: &Service) -> Option<Vec<String>> {
    let out: Vec<String> = service
        .volumes
        .iter()
        .filter_map(|v| {
            let label = selinux(v)?;
            let source = v.source.as_deref()?;
            let mut opts = vec![if v.read_only { "ro" } else { "rw" }.to_string()];
            opts.push(label.to_string());
            if let Some(p) = v.bind.as_ref().and_then(|b| b.propagation.clone()) {
                opts.push(p);
            }
            Some(format!("{source}:{}:{}", v.target, opts.join(",")))
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The `volumes:` entries alone, as mounts: a Swarm service gets its
/// secrets and configs as Swarm objects instead of bind mounts.
pub fn volume_mounts(stack: &Stack, service: &Service) -> Vec<Mount> {
    service
        .volumes
        .iter()
        .filter_map(|v| mount(stack, v))
        .collect()
}

fn propagation(p: &str) -> Option<MountBindOptionsPropagationEnum> {
    p.parse()
        .ok()
        .filter(|p| *p != MountBindOptionsPropagationEnum::EMPTY)
}

/// One `volumes:` entry as an engine mount; None for kinds API 1.41 lacks
/// (npipe, cluster, image).
fn mount(stack: &Stack, v: &ServiceVolume) -> Option<Mount> {
    let mut m = Mount {
        target: Some(v.target.clone()),
        read_only: v.read_only.then_some(true),
        consistency: v.consistency.clone(),
        ..Default::default()
    };
    match v.kind {
        MountType::Bind => {
            m.typ = Some(bollard::models::MountType::BIND);
            m.source = v.source.clone();
            if let Some(b) = &v.bind {
                let non_recursive = b.recursive.as_deref() == Some("disabled");
                let prop = b.propagation.as_deref().and_then(propagation);
                if prop.is_some() || non_recursive {
                    m.bind_options = Some(MountBindOptions {
                        propagation: prop,
                        non_recursive: non_recursive.then_some(true),
                        ..Default::default()
                    });
                }
            }
        }
        MountType::Volume => {
            m.typ = Some(bollard::models::MountType::VOLUME);
            // A named volume is the stack's key; anonymous ones have no source.
            m.source = v.source.as_ref().map(|s| {
                stack
                    .volumes
                    .get(s)
                    .map_or_else(|| s.clone(), |vol| vol.name.clone())
            });
            if v.volume.as_ref().is_some_and(|o| o.nocopy) {
                m.volume_options = Some(MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                });
            }
        }
        MountType::Tmpfs => {
            m.typ = Some(bollard::models::MountType::TMPFS);
            if let Some(t) = &v.tmpfs {
                m.tmpfs_options = Some(MountTmpfsOptions {
                    size_bytes: t.size.map(|b| b.0),
                    mode: t.mode.map(i64::from),
                    ..Default::default()
                });
            }
        }
        MountType::Npipe | MountType::Cluster | MountType::Image => return None,
    }
    Some(m)
}

/// File-based secrets and configs, mounted read-only as compose does outside
/// swarm: secrets under `/run/secrets/`, configs at `/<name>` by default.
fn file_mounts(stack: &Stack, service: &Service) -> Vec<Mount> {
    let mut out = Vec::new();
    let kinds = [
        (&service.extras().secrets, &stack.secrets, "/run/secrets/"),
        (&service.extras().configs, &stack.configs, "/"),
    ];
    for (refs, objects, dir) in kinds {
        for r in refs {
            let Some(file) = objects.get(&r.source).and_then(|o| o.file.clone()) else {
                continue;
            };
            let target = match &r.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{}", r.source),
            };
            out.push(Mount {
                typ: Some(bollard::models::MountType::BIND),
                source: Some(file),
                target: Some(target),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
    out
}

/// Bind sources that the stack allows berth to create when missing
/// (`bind.create_host_path`, which the short syntax sets).
pub fn host_dirs(service: &Service) -> Vec<PathBuf> {
    service
        .volumes
        .iter()
        .filter(|v| {
            v.kind == MountType::Bind && v.bind.as_ref().is_some_and(|b| b.create_host_path)
        })
        .filter_map(|v| v.source.as_ref().map(PathBuf::from))
        // A Windows source (`C:\data`) is no directory to create here:
        // preflight refuses it.
        .filter(|p| p.is_absolute())
        .collect()
}

/// Makes the engine create the missing bind sources of `service` itself,
/// for an engine on another host, where berth cannot
/// ([`host_dirs`]' `CreateDirectory` steps are made only for a local
/// engine). The mount API refuses a missing source (API 1.41 has no
/// `CreateMountpoint`), the old bind syntax creates it, as `docker run -v`
/// and compose do: so the binds berth may create move from `Mounts` to
/// `Binds`. A non-recursive bind has no old syntax and stays a mount: its
/// source must exist.
pub fn created_by_the_engine(service: &Service, host_config: &mut bollard::models::HostConfig) {
    let dirs = host_dirs(service);
    let Some(mounts) = host_config.mounts.take() else {
        return;
    };
    let mut binds = host_config.binds.take().unwrap_or_default();
    let mut kept = Vec::new();
    for m in mounts {
        let source = m.source.as_deref().map(PathBuf::from);
        let non_recursive = m
            .bind_options
            .as_ref()
            .is_some_and(|b| b.non_recursive == Some(true));
        let (Some(source), Some(target)) = (source, m.target.as_deref()) else {
            kept.push(m);
            continue;
        };
        if m.typ != Some(bollard::models::MountType::BIND)
            || non_recursive
            || !dirs.contains(&source)
        {
            kept.push(m);
            continue;
        }
        let mut opts = vec![
            if m.read_only == Some(true) {
                "ro"
            } else {
                "rw"
            }
            .to_string(),
        ];
        if let Some(p) = m.bind_options.as_ref().and_then(|b| b.propagation) {
            opts.push(p.to_string());
        }
        binds.push(format!("{}:{target}:{}", source.display(), opts.join(",")));
    }
    host_config.mounts = (!kept.is_empty()).then_some(kept);
    host_config.binds = (!binds.is_empty()).then_some(binds);
}

/// `tmpfs:` entries (`path[:options]`) as the engine's path -> options map.
pub fn tmpfs(service: &Service) -> Option<HashMap<String, String>> {
    let extras = service.extras();
    (!extras.tmpfs.is_empty()).then(|| {
        extras
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), opts.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect()
    })
}

/// `volumes_from` entries (`service[:mode]` or `container:name[:mode]`) as
/// the engine's `container[:mode]`.
pub fn volumes_from(stack: &Stack, service: &Service) -> Option<Vec<String>> {
    let extras = service.extras();
    (!extras.volumes_from.is_empty()).then(|| {
        extras
            .volumes_from
            .iter()
            .map(|v| {
                if let Some(rest) = v.strip_prefix("container:") {
                    return rest.to_string();
                }
                match v.split_once(':') {
                    Some((svc, mode)) => format!("{}:{mode}", first_container(stack, svc)),
                    None => first_container(stack, v),
                }
            })
            .collect()
    })
}
