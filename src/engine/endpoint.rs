//! Which engine berth talks to, chosen as the docker CLI chooses it
//! (docker/cli's `resolveContextName`): the global `--context NAME`, else
//! `DOCKER_HOST` (the context `default`), else `DOCKER_CONTEXT`, else
//! `currentContext` in `config.json` under `DOCKER_CONFIG` (default
//! `~/.docker`), else `default`: `DOCKER_HOST`, or the local socket.
//!
//! A named context is read from docker's context store, as the CLI writes
//! it: `contexts/meta/<sha256 of the name>/meta.json` (its docker
//! endpoint's `Host` and `SkipTLSVerify`), and its TLS files, when it has
//! them, in `contexts/tls/<the same>/docker/` (`ca.pem`, `cert.pem`,
//! `key.pem`). An unknown context is an error that names the known ones.
//!
//! This module only reads files and the environment; connecting is
//! `Engine::connect`'s.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The global `--context` flag, set once by the command line before any
/// command runs: every command reaches the engine through
/// `Engine::connect`, and this spares threading the flag through each.
static CONTEXT_FLAG: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Records `--context` (the first call wins).
pub fn set_context_flag(name: Option<String>) {
    let _ = CONTEXT_FLAG.set(name);
}

/// `--context`, if it was given.
pub fn context_flag() -> Option<&'static str> {
    CONTEXT_FLAG.get().and_then(|n| n.as_deref())
}

/// The context the docker CLI calls `default`: no store entry, the
/// environment's engine.
pub const DEFAULT_CONTEXT: &str = "default";

/// The most of a `meta.json` or `config.json` that is read: they are a few
/// hundred bytes; a larger one is not the CLI's.
const MAX_FILE: u64 = 1 << 20;

/// Where berth connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`.
    pub host: String,
    /// The named context it comes from; None for `default`.
    pub context: Option<String>,
    /// The context's TLS files, when it has them.
    pub tls: Option<TlsFiles>,
    pub skip_tls_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, MetaEndpoint>,
}

#[derive(Deserialize, Default)]
struct MetaEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
}

/// The engine to use: `flag` is `--context`, `env` reads the environment,
/// `default_host` is the local socket. Errors say what is wrong and what
/// to do.
pub fn choose(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    default_host: &str,
) -> Result<Endpoint, String> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let docker_host = env("DOCKER_HOST");
    let config_dir = env("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".docker")));
    let name = match (flag, &docker_host) {
        (Some(name), _) => name.to_string(),
        (None, Some(_)) => DEFAULT_CONTEXT.to_string(),
        (None, None) => match env("DOCKER_CONTEXT") {
            Some(name) => name,
            None => config_dir
                .as_deref()
                .map(current_context)
                .transpose()?
                .flatten()
                .unwrap_or_else(|| DEFAULT_CONTEXT.to_string()),
        },
    };
    if name == DEFAULT_CONTEXT {
        return Ok(Endpoint {
            host: docker_host.unwrap_or_else(|| default_host.to_string()),
            context: None,
            tls: None,
            skip_tls_verify: false,
        });
    }
    let Some(dir) = config_dir else {
        return Err(format!(
            "context {name:?} cannot be read: neither DOCKER_CONFIG nor HOME is set"
        ));
    };
    read_context(&dir, &name)
}

/// `currentContext` in `dir/config.json`, if the file names one.
fn current_context(dir: &Path) -> Result<Option<String>, String> {
    let path = dir.join("config.json");
    let Some(text) = read_small(&path)? else {
        return Ok(None);
    };
    let config: ConfigFile = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not the docker CLI's config: {e}", path.display()))?;
    Ok(config.current_context.filter(|c| !c.is_empty()))
}

/// The store's directory name for a context: the sha256 of its name, in hex.
fn store_id(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_context(dir: &Path, name: &str) -> Result<Endpoint, String> {
    let id = store_id(name);
    let path = dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let Some(text) = read_small(&path)? else {
        let known = known_contexts(dir);
        return Err(format!(
            "context {name:?} does not exist; the contexts are: {} \
             (`docker context ls`; `docker context create {name} --docker host=...` makes one)",
            known.join(", ")
        ));
    };
    let meta: Meta = serde_json::from_str(&text)
        .map_err(|e| format!("context {name:?}: {} cannot be read: {e}", path.display()))?;
    let docker = meta.endpoints.get("docker");
    let Some(host) = docker
        .and_then(|d| d.host.clone())
        .filter(|h| !h.is_empty())
    else {
        return Err(format!(
            "context {name:?} has no docker endpoint host in {}",
            path.display()
        ));
    };
    let tls_dir = dir.join("contexts").join("tls").join(&id).join("docker");
    let tls = tls_dir.join("ca.pem").is_file().then(|| TlsFiles {
        ca: tls_dir.join("ca.pem"),
        cert: tls_dir.join("cert.pem"),
        key: tls_dir.join("key.pem"),
    });
    Ok(Endpoint {
        host,
        context: Some(name.to_string()),
        tls,
        skip_tls_verify: docker.is_some_and(|d| d.skip_tls_verify),
    })
}

/// `default` and the names in the store, sorted.
fn known_contexts(dir: &Path) -> Vec<String> {
    let mut names = vec![DEFAULT_CONTEXT.to_string()];
    let Ok(entries) = std::fs::read_dir(dir.join("contexts").join("meta")) else {
        return names;
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter_map(|e| read_small(&e.path().join("meta.json")).ok().flatten())
        .filter_map(|text| serde_json::from_str::<Meta>(&text).ok())
        .map(|m| m.name)
        .filter(|n| !n.is_empty() && n != DEFAULT_CONTEXT)
        .collect();
    found.sort();
    names.extend(found);
    names
}

/// A small regular file's text; None when it is not there.
fn read_small(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut text = String::new();
    file.take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LOCAL: &str = "unix:///var/run/docker.sock";

    fn store(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(store_id(name));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
    }

    fn choose_with(
        flag: Option<&str>,
        vars: &[(&str, &str)],
        dir: &Path,
    ) -> Result<Endpoint, String> {
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("DOCKER_CONFIG".into(), dir.display().to_string());
        choose(flag, |k| env.get(k).cloned(), LOCAL)
    }

    #[test]
    fn the_store_id_is_the_sha256_of_the_name() {
        // What `docker context create demo` names its directory.
        assert_eq!(
            store_id("demo"),
            "2a97516c354b68848cdbd8f54a226a0a55b21ed138e207ad6c5cbb9c00aa5aea"
        );
    }

    #[test]
    fn the_precedence_is_the_docker_clis() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "flag", "tcp://flag:2375");
        store(dir.path(), "env", "tcp://env:2375");
        store(dir.path(), "file", "tcp://file:2375");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{},"currentContext":"file"}"#,
        )
        .unwrap();
        let host = |flag, vars: &[(&str, &str)]| choose_with(flag, vars, dir.path()).unwrap().host;
        let all = [
            ("DOCKER_HOST", "tcp://host:2375"),
            ("DOCKER_CONTEXT", "env"),
        ];
        assert_eq!(host(Some("flag"), &all), "tcp://flag:2375");
        assert_eq!(host(None, &all), "tcp://host:2375");
        assert_eq!(host(None, &all[1..]), "tcp://env:2375");
        assert_eq!(host(None, &[]), "tcp://file:2375");
        assert_eq!(host(Some("default"), &[]), LOCAL);
        assert_eq!(host(Some("default"), &all), "tcp://host:2375");
        let e = choose_with(Some("flag"), &[], dir.path()).unwrap();
        assert_eq!(e.context.as_deref(), Some("flag"));
        assert_eq!(e.tls, None);
    }

    #[test]
    fn without_any_setting_it_is_the_local_socket() {
        let dir = tempfile::tempdir().unwrap();
        let e = choose_with(None, &[], dir.path()).unwrap();
        assert_eq!(e.host, LOCAL);
        assert_eq!(e.context, None);
    }

    #[test]
    fn an_unknown_context_names_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "demo", "ssh://root@server");
        store(dir.path(), "another", "tcp://x:2375");
        let e = choose_with(None, &[("DOCKER_CONTEXT", "foo")], dir.path()).unwrap_err();
        assert!(
            e.starts_with(
                r#"context "foo" does not exist; the contexts are: default, another, demo"#
            ),
            "{e}"
        );
    }

    #[test]
    fn a_contexts_tls_files_are_found_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "secure", "tcp://server:2376");
        let tls = dir
            .path()
            .join("contexts/tls")
            .join(store_id("secure"))
            .join("docker");
        std::fs::create_dir_all(&tls).unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(tls.join(f), "x").unwrap();
        }
        let e = choose_with(Some("secure"), &[], dir.path()).unwrap();
        assert_eq!(e.tls.unwrap().key, tls.join("key.pem"));
    }

    #[test]
    fn a_broken_store_entry_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("contexts/meta").join(store_id("bad"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("meta.json"), "{not json").unwrap();
        assert!(choose_with(Some("bad"), &[], dir.path()).is_err());
        std::fs::write(meta.join("meta.json"), r#"{"Name":"bad","Endpoints":{}}"#).unwrap();
        let e = choose_with(Some("bad"), &[], dir.path()).unwrap_err();
        assert!(e.contains("no docker endpoint"), "{e}");
        std::fs::write(dir.path().join("config.json"), "{broken").unwrap();
        assert!(choose_with(None, &[], dir.path()).is_err());
    }
}
