//! Secrets and configs that a plain engine gets as files copied into the
//! container: those whose content comes from `environment` or `content`
//! (a `file:` one is bind-mounted, [`super::mounts`]).
//!
//! As compose does (`injectSecrets`), each is sent through the engine's
//! archive API after the container is created and before it starts: no
//! file is left on the host, and the file goes with the container when it
//! is removed. Unlike compose, a secret is mode 0400 unless `mode` says
//! otherwise (compose makes it 0444); a config is 0444, as compose and
//! Swarm make it.
//!
//! Pure functions: the content comes from the stack (`environment` was read
//! by the loader); the executor only sends [`CopiedFile::tar`].

use serde_json::{Value, json};

use super::ObjectKind;
use super::SpecError;
use crate::model::stack::{FileObject, FileRef, Service, Stack};

/// One file to copy into a container.
#[derive(Debug, Clone, PartialEq)]
pub struct CopiedFile {
    pub kind: ObjectKind,
    /// Its key under `secrets:` or `configs:`.
    pub key: String,
    /// Absolute path in the container.
    pub target: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// The content. Never printed: [`CopiedFile::shown`] gives its size and
    /// hash.
    pub data: Vec<u8>,
}

impl CopiedFile {
    /// The request as `plan --format json` prints it: everything but the
    /// content, which is given by its size and sha256.
    pub fn shown(&self) -> Value {
        json!({
            "kind": self.kind.word(),
            "key": self.key,
            "path": self.target,
            "mode": format!("{:04o}", self.mode),
            "uid": self.uid,
            "gid": self.gid,
            "size": self.data.len(),
            "sha256": sha256(&self.data),
        })
    }

    /// The archive the engine extracts at `/`: the one file, with its mode
    /// and owner (the engine creates missing parent directories).
    pub fn tar(&self) -> std::io::Result<Vec<u8>> {
        let mut header = tar::Header::new_gnu();
        header.set_size(self.data.len() as u64);
        header.set_mode(self.mode);
        header.set_uid(self.uid);
        header.set_gid(self.gid);
        header.set_entry_type(tar::EntryType::Regular);
        let mut b = tar::Builder::new(Vec::new());
        let path = self.target.trim_start_matches('/');
        b.append_data(&mut header, path, self.data.as_slice())?;
        b.into_inner()
    }
}

fn sha256(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files copied into each container of `service`, in file order
/// (secrets, then configs); errors for content that cannot be had (an
/// unset variable) and for what cannot be sent (a non-numeric uid, a
/// read-only root filesystem).
pub fn copied_files(stack: &Stack, service: &Service) -> Result<Vec<CopiedFile>, Vec<SpecError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let kinds = [
        (
            ObjectKind::Secret,
            &service.extras().secrets,
            &stack.secrets,
        ),
        (
            ObjectKind::Config,
            &service.extras().configs,
            &stack.configs,
        ),
    ];
    for (kind, refs, objects) in kinds {
        for r in refs {
            let Some(obj) = objects.get(&r.source) else {
                continue;
            };
            if !copied(obj) {
                continue;
            }
            match file(kind, service, r, obj) {
                Ok(f) => out.push(f),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Whether an object is copied (not bind-mounted, not external).
fn copied(obj: &FileObject) -> bool {
    !obj.external && obj.file.is_none() && (obj.environment.is_some() || obj.content.is_some())
}

fn file(
    kind: ObjectKind,
    service: &Service,
    r: &FileRef,
    obj: &FileObject,
) -> Result<CopiedFile, SpecError> {
    let what = format!("{} `{}`", kind.word(), r.source);
    // Only objects with `environment:` or `content:` are copied: nothing is
    // read from a file here.
    let data = match obj.inline_content() {
        Some(Ok(text)) => text.as_bytes().to_vec(),
        Some(Err(var)) => {
            return Err(SpecError::new(
                format!("{what}: the variable {var} it reads is not set"),
                "set it in the environment or in .env",
                Some(obj.span),
            ));
        }
        None => {
            return Err(SpecError::new(
                format!("{what}: it has no environment or content to copy"),
                "give it `environment:` or `content:`, or `file:` to mount it",
                Some(obj.span),
            ));
        }
    };
    if service.read_only {
        return Err(SpecError::new(
            format!(
                "service `{}` has a read-only root filesystem: {what} cannot be copied into it",
                service.name
            ),
            "give the object a `file:` (it is then mounted), or drop `read_only`",
            Some(service.span),
        ));
    }
    let id = |v: &Option<String>, which: &str| -> Result<u64, SpecError> {
        match v {
            None => Ok(0),
            Some(s) => s.trim().parse().map_err(|_| {
                SpecError::new(
                    format!(
                        "{which} `{s}` of {what} in service `{}` is not a number",
                        service.name
                    ),
                    format!("give the numeric {which} (as `id -u` prints it)"),
                    Some(service.span),
                )
            }),
        }
    };
    let (dir, default_mode) = match kind {
        ObjectKind::Secret => ("/run/secrets/", 0o400),
        ObjectKind::Config => ("/", 0o444),
    };
    let target = match &r.target {
        Some(t) if t.starts_with('/') => t.clone(),
        Some(t) => format!("{dir}{t}"),
        None => format!("{dir}{}", r.source),
    };
    Ok(CopiedFile {
        kind,
        key: r.source.clone(),
        target,
        mode: r.mode.map_or(default_mode, |m| m.0),
        uid: id(&r.uid, "uid")?,
        gid: id(&r.gid, "gid")?,
        data,
    })
}
