//! Model to Swarm: a stack's secrets and configs as Swarm objects, and a
//! service's references to them.
//!
//! A Swarm secret or config cannot change its data: `docker stack deploy`
//! creates `<project>_<key>` once and then fails on a changed file ("only
//! updates to Labels are allowed"). berth names each object by its content,
//! `<project>_<key>-<hash>`, so that a changed secret is a new object, the
//! services using it roll to it through an ordinary update, and the old one
//! is removed once no service uses it (the plan's business).
//!
//! Pure functions: the content comes in as bytes; reading the file or the
//! variable is the caller's job.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::{
    ConfigSpec, Driver, SecretSpec, ServiceSpec, TaskSpecContainerSpecConfigs,
    TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::identity;
use crate::identity::STACK_NAMESPACE;
use crate::model::stack::{FileObject, FileRef, Stack};

/// Swarm refuses longer object names.
const MAX_NAME: usize = 64;
/// Hex digits of the content hash in a name: enough that two versions of
/// one object never share a name.
const HASH_DIGITS: usize = 12;

/// The two kinds of file objects Swarm keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Secret,
    Config,
}

impl ObjectKind {
    /// `secret` or `config`, as the plan's words and the stack file say.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Secret => "secret",
            ObjectKind::Config => "config",
        }
    }

    /// Swarm's size limit for the data (swarmkit's MaxSecretSize and
    /// MaxConfigSize).
    pub fn max_size(self) -> usize {
        match self {
            ObjectKind::Secret => 500 * 1024,
            ObjectKind::Config => 1000 * 1024,
        }
    }
}

/// A secret or config as berth creates it.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmObject {
    pub kind: ObjectKind,
    /// Its key under `secrets:` or `configs:`.
    pub key: String,
    /// `<name>-<hash>`: the stack's name for it with its content's hash.
    pub name: String,
    pub labels: HashMap<String, String>,
    /// The content, base64 as the API takes it; empty for a secret that a
    /// driver provides.
    pub data: String,
    /// The content's size in bytes.
    pub size: usize,
    pub driver: Option<Driver>,
    pub templating: Option<Driver>,
}

impl SwarmObject {
    /// The create body of a secret.
    pub fn secret_spec(&self) -> SecretSpec {
        SecretSpec {
            name: Some(self.name.clone()),
            labels: Some(self.labels.clone()),
            data: (self.driver.is_none()).then(|| self.data.clone()),
            driver: self.driver.clone(),
            templating: self.templating.clone(),
        }
    }

    /// The create body of a config.
    pub fn config_spec(&self) -> ConfigSpec {
        ConfigSpec {
            name: Some(self.name.clone()),
            labels: Some(self.labels.clone()),
            data: Some(self.data.clone()),
            templating: self.templating.clone(),
        }
    }
}

impl SwarmObject {
    /// The create body as `plan --format json` and `config --swarm` print
    /// it: a secret's data is never shown, only its size.
    pub fn shown(&self) -> serde_json::Value {
        match self.kind {
            ObjectKind::Secret => {
                let mut v = serde_json::to_value(self.secret_spec()).unwrap_or_default();
                if v.get("Data").is_some() {
                    v["Data"] = format!("({} bytes, not shown)", self.size).into();
                }
                v
            }
            ObjectKind::Config => serde_json::to_value(self.config_spec()).unwrap_or_default(),
        }
    }
}

/// The engine names of a stack's secrets and configs, by kind and key.
pub type ObjectNames = HashMap<(ObjectKind, String), String>;

/// `stack`'s object `key` of `kind` with `content`, named by its hash.
pub fn object(
    stack: &Stack,
    kind: ObjectKind,
    key: &str,
    obj: &FileObject,
    content: &[u8],
) -> SwarmObject {
    let driver = obj
        .driver
        .clone()
        .filter(|_| kind == ObjectKind::Secret)
        .map(|name| Driver {
            name,
            options: super::map(&obj.driver_opts),
        });
    let templating = obj.template_driver.clone().map(|name| Driver {
        name,
        options: None,
    });
    let data = if driver.is_some() {
        String::new()
    } else {
        base64::engine::general_purpose::STANDARD.encode(content)
    };
    // The hash covers what the object is, not berth's bookkeeping: a new
    // berth version must not rename (and so roll) every object.
    let mut hasher = Sha256::new();
    let identity = serde_json::json!({
        "data": data,
        "labels": obj.labels,
        "driver": driver.as_ref().map(|d| (&d.name, &obj.driver_opts)),
        "templating": obj.template_driver,
    });
    hasher.update(
        serde_json::to_string(&identity)
            .unwrap_or_default()
            .as_bytes(),
    );
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut labels = super::resource_labels(&obj.labels, &stack.name, identity::OBJECT, key);
    labels.insert(STACK_NAMESPACE.into(), stack.name.clone());
    SwarmObject {
        kind,
        key: key.to_string(),
        name: hashed_name(&obj.name, &digest),
        labels,
        data,
        size: content.len(),
        driver,
        templating,
    }
}

/// `base-<first digits of digest>`, with `base` cut so that the whole fits
/// Swarm's limit.
fn hashed_name(base: &str, digest: &str) -> String {
    let suffix = &digest[..HASH_DIGITS.min(digest.len())];
    let room = MAX_NAME - HASH_DIGITS - 1;
    let mut cut = base.len().min(room);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{suffix}", &base[..cut])
}

/// Where a reference puts the file: `target`, else the key; a relative
/// secret target lands under `/run/secrets/` and a relative config target
/// at `/` (Swarm's own rule, as `docker stack deploy` leaves it).
fn file_name(r: &FileRef) -> String {
    r.target.clone().unwrap_or_else(|| r.source.clone())
}

/// The owner and mode of a referenced file: root's and 0444 unless given,
/// as `docker stack deploy` sets them.
fn owner(r: &FileRef) -> (String, String, u32) {
    (
        r.uid.clone().unwrap_or_else(|| "0".into()),
        r.gid.clone().unwrap_or_else(|| "0".into()),
        r.mode.map_or(0o444, |m| m.0),
    )
}

/// A service's secret references, by the names in `names` (external
/// objects by their own name). The ids are the engine's to give: the
/// executor fills them in when it sends the spec. A reference to an object
/// `names` lacks (its content could not be read: an error already) is left
/// out.
pub fn secret_refs(refs: &[FileRef], names: &ObjectNames) -> Vec<TaskSpecContainerSpecSecrets> {
    refs.iter()
        .filter_map(|r| {
            let name = names.get(&(ObjectKind::Secret, r.source.clone()))?;
            let (uid, gid, mode) = owner(r);
            Some(TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(file_name(r)),
                    uid: Some(uid),
                    gid: Some(gid),
                    mode: Some(mode),
                }),
                secret_id: None,
                secret_name: Some(name.clone()),
            })
        })
        .collect()
}

/// A service's config references; as [`secret_refs`].
pub fn config_refs(refs: &[FileRef], names: &ObjectNames) -> Vec<TaskSpecContainerSpecConfigs> {
    refs.iter()
        .filter_map(|r| {
            let name = names.get(&(ObjectKind::Config, r.source.clone()))?;
            let (uid, gid, mode) = owner(r);
            Some(TaskSpecContainerSpecConfigs {
                file: Some(TaskSpecContainerSpecFile1 {
                    name: Some(file_name(r)),
                    uid: Some(uid),
                    gid: Some(gid),
                    mode: Some(mode),
                }),
                runtime: None,
                config_id: None,
                config_name: Some(name.clone()),
            })
        })
        .collect()
}

/// Each secret and config reference of `spec` that has a name: its kind,
/// its name and whether its id is filled in.
fn named_refs(spec: &ServiceSpec) -> Vec<(ObjectKind, String, bool)> {
    let Some(c) = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
    else {
        return Vec::new();
    };
    let secrets = c.secrets.iter().flatten().filter_map(|r| {
        let name = r.secret_name.clone()?;
        Some((ObjectKind::Secret, name, r.secret_id.is_some()))
    });
    let configs = c.configs.iter().flatten().filter_map(|r| {
        let name = r.config_name.clone()?;
        Some((ObjectKind::Config, name, r.config_id.is_some()))
    });
    secrets.chain(configs).collect()
}

/// The secrets and configs `spec` references, by kind and name.
pub fn objects_of(spec: &ServiceSpec) -> Vec<(ObjectKind, String)> {
    named_refs(spec)
        .into_iter()
        .map(|(kind, name, _)| (kind, name))
        .collect()
}

/// The secrets and configs `spec` references by name only, with no id yet.
pub fn without_ids(spec: &ServiceSpec) -> Vec<(ObjectKind, String)> {
    named_refs(spec)
        .into_iter()
        .filter(|(_, _, has_id)| !has_id)
        .map(|(kind, name, _)| (kind, name))
        .collect()
}

/// `spec` with the ids in `ids` (by kind and name) on its references that
/// have none.
pub fn with_ids(mut spec: ServiceSpec, ids: &HashMap<(ObjectKind, String), String>) -> ServiceSpec {
    if let Some(c) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    {
        for r in c.secrets.iter_mut().flatten() {
            if let (None, Some(name)) = (&r.secret_id, &r.secret_name) {
                r.secret_id = ids.get(&(ObjectKind::Secret, name.clone())).cloned();
            }
        }
        for r in c.configs.iter_mut().flatten() {
            if let (None, Some(name)) = (&r.config_id, &r.config_name) {
                r.config_id = ids.get(&(ObjectKind::Config, name.clone())).cloned();
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> Stack {
        Stack {
            name: "shop".into(),
            ..Stack::default()
        }
    }

    fn obj(name: &str) -> FileObject {
        FileObject {
            name: name.into(),
            ..FileObject::default()
        }
    }

    #[test]
    fn a_name_carries_the_content_hash_and_changes_with_it() {
        let s = stack();
        let a = object(&s, ObjectKind::Secret, "pw", &obj("shop_pw"), b"one");
        let again = object(&s, ObjectKind::Secret, "pw", &obj("shop_pw"), b"one");
        let b = object(&s, ObjectKind::Secret, "pw", &obj("shop_pw"), b"two");
        assert_eq!(a, again, "the same content gives the same object");
        assert!(a.name.starts_with("shop_pw-"), "{}", a.name);
        assert_eq!(a.name.len(), "shop_pw-".len() + HASH_DIGITS);
        assert_ne!(a.name, b.name);
        assert_eq!(a.data, "b25l", "base64 of the content");
        assert_eq!(a.labels[identity::PROJECT], "shop");
        assert_eq!(a.labels[identity::OBJECT], "pw");
        assert_eq!(a.labels[STACK_NAMESPACE], "shop");
        assert_eq!(a.shown()["Data"], "(3 bytes, not shown)");
        let c = object(&s, ObjectKind::Config, "c", &obj("shop_c"), b"one");
        assert_eq!(c.shown()["Data"], "b25l", "a config is no secret");
    }

    #[test]
    fn a_long_name_is_cut_to_swarms_limit_keeping_the_hash() {
        let long = "x".repeat(100);
        let o = object(&stack(), ObjectKind::Config, "c", &obj(&long), b"");
        assert_eq!(o.name.len(), MAX_NAME);
        assert!(o.name.ends_with(&o.name[MAX_NAME - HASH_DIGITS..]));
        assert_eq!(&o.name[MAX_NAME - HASH_DIGITS - 1..][..1], "-");
    }

    #[test]
    fn a_secret_from_a_driver_sends_no_data() {
        let mut o = obj("shop_vault");
        o.driver = Some("vault".into());
        let s = object(&stack(), ObjectKind::Secret, "v", &o, b"ignored");
        let spec = s.secret_spec();
        assert_eq!(spec.data, None);
        assert_eq!(spec.driver.map(|d| d.name), Some("vault".into()));
    }

    #[test]
    fn references_default_to_the_key_root_and_0444() {
        let names: ObjectNames = [
            ((ObjectKind::Secret, "pw".into()), "shop_pw-abc".into()),
            ((ObjectKind::Config, "conf".into()), "shop_conf-def".into()),
        ]
        .into_iter()
        .collect();
        let plain = FileRef {
            source: "pw".into(),
            target: None,
            uid: None,
            gid: None,
            mode: None,
            digest: None,
        };
        let s = secret_refs(std::slice::from_ref(&plain), &names);
        assert_eq!(s.len(), 1);
        let f = s[0].file.clone().unwrap();
        assert_eq!(
            (f.name.as_deref(), f.uid.as_deref(), f.mode),
            (Some("pw"), Some("0"), Some(0o444))
        );
        assert_eq!(s[0].secret_name.as_deref(), Some("shop_pw-abc"));
        assert_eq!(s[0].secret_id, None, "the executor fills the id in");

        let custom = FileRef {
            source: "conf".into(),
            target: Some("/etc/app.conf".into()),
            uid: Some("1000".into()),
            gid: None,
            mode: Some(crate::model::stack::FileMode(0o440)),
            digest: None,
        };
        let c = config_refs(&[custom, plain], &names);
        assert_eq!(c.len(), 1, "a secret's key is no config");
        let f = c[0].file.clone().unwrap();
        assert_eq!(
            (f.name.as_deref(), f.uid.as_deref(), f.mode),
            (Some("/etc/app.conf"), Some("1000"), Some(0o440))
        );
    }
}
