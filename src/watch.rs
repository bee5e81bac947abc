//! What `berth watch` does with a batch of changed files, decided without
//! the engine.
//!
//! [`Rules::of`] turns the `develop.watch` rules of the followed services
//! into matchers with compose's semantics: a changed path counts for a rule
//! when it is the rule's `path` or under it, matches `include` (when given),
//! and is not excluded by the rule's `ignore`, the build context's
//! `.dockerignore` (`<Dockerfile>.dockerignore` first, as compose reads
//! it), the temporary files of common editors, or a `.git` directory.
//! Patterns are `.dockerignore` patterns relative to the rule's `path`
//! (`*.js` only at its top, `**/*.js` anywhere), read by
//! [`DockerIgnore`](crate::engine::context::DockerIgnore).
//!
//! [`Rules::batch`] sorts one debounced batch into [`Work`] per service:
//! files to copy or delete, whether to rebuild or restart, which `exec`
//! commands to run, and the files that caused each; [`Work::line`] is the
//! one line of output an action prints. [`sync_tar`] packs the files to copy
//! as the tar the engine's archive API extracts at `/`.
//!
//! Where it stops: the file watcher, the engine calls and the plans a
//! rebuild or restart carries out are `cli::watch`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::context::DockerIgnore;
use crate::model::develop::{ServiceHook, WatchAction, WatchRule};
use crate::model::stack::{MountType, Service, Stack};

/// Files that editors write beside the one being edited (compose's list).
const EPHEMERAL: &str = "**/*___jb_old___\n**/*___jb_tmp___\n**/.idea/**\n**/.#*\n**/#*#\n\
                         **/4913\n**/*~\n**/.*.swp\n**/.*.swx\n**/.*.swo\n**/.*.swn\n\
                         **/.*.kate-swp\n**/*-go-tmp-umask\n";

/// How many file names one line of output shows before "and N more".
const NAMES_SHOWN: usize = 5;

/// One rule of one service, ready to match paths.
#[derive(Debug)]
pub struct Rule {
    pub service: String,
    pub rule: WatchRule,
    root: PathBuf,
    include: Option<DockerIgnore>,
    ignore: DockerIgnore,
    /// The build context and its `.dockerignore`, for a service that builds.
    context: Option<(PathBuf, DockerIgnore)>,
}

/// A file to copy into (or delete from) the service's containers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mapping {
    pub host: PathBuf,
    /// Absolute path in the container.
    pub container: String,
    /// How the output names it: its path under the rule's `path`.
    pub shown: String,
}

/// The rules `berth watch` follows.
#[derive(Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    /// Sync rules left out because a bind mount of the service already
    /// shares their path with the container (service, path), as compose
    /// leaves them out.
    pub bind_mounted: Vec<(String, String)>,
}

/// What one batch asks of one service.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Work {
    pub sync: BTreeSet<Mapping>,
    /// Files that ask for a rebuild (names as shown).
    pub rebuild: BTreeSet<String>,
    /// Files that ask for a restart without a sync.
    pub restart: BTreeSet<String>,
    /// Whether a `sync+restart` rule matched: restart after syncing.
    pub restart_after_sync: bool,
    /// The `exec` of each matching `sync+exec` rule, once each.
    pub exec: Vec<ServiceHook>,
}

impl Rules {
    /// The rules of `services` (every service with `develop.watch` when
    /// empty), in file order.
    pub fn of(stack: &Stack, services: &[String]) -> io::Result<Rules> {
        let mut rules = Vec::new();
        let mut bind_mounted = Vec::new();
        for svc in stack.services.values() {
            if !services.is_empty() && !services.contains(&svc.name) {
                continue;
            }
            let Some(develop) = &svc.extras().develop else {
                continue;
            };
            let context = build_ignore(svc)?;
            for r in &develop.watch {
                if r.action.syncs() && bind_mount_covers(svc, Path::new(&r.path)) {
                    bind_mounted.push((svc.name.clone(), r.path.clone()));
                    continue;
                }
                rules.push(Rule {
                    service: svc.name.clone(),
                    rule: r.clone(),
                    root: PathBuf::from(&r.path),
                    include: (!r.include.is_empty())
                        .then(|| DockerIgnore::parse(&r.include.join("\n"))),
                    ignore: DockerIgnore::parse(&r.ignore.join("\n")),
                    context: context.clone(),
                });
            }
        }
        Ok(Rules {
            rules,
            bind_mounted,
        })
    }

    /// The paths to watch: each rule's `path`, once.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for r in &self.rules {
            if !out.contains(&r.root) {
                out.push(r.root.clone());
            }
        }
        out
    }

    /// Sorts a batch of changed paths into work per service. A directory
    /// that exists counts as the files under it (each matched again).
    pub fn batch(&self, changed: &BTreeSet<PathBuf>) -> BTreeMap<String, Work> {
        let mut out: BTreeMap<String, Work> = BTreeMap::new();
        for path in changed {
            for rule in &self.rules {
                let Some(shown) = rule.matches(path) else {
                    continue;
                };
                let work = out.entry(rule.service.clone()).or_default();
                match rule.rule.action {
                    WatchAction::Rebuild => {
                        work.rebuild.insert(shown);
                    }
                    WatchAction::Restart => {
                        work.restart.insert(shown);
                    }
                    WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec => {
                        work.sync.extend(rule.mappings(path));
                        if rule.rule.action == WatchAction::SyncRestart {
                            work.restart_after_sync = true;
                        }
                        // Each command once, however many files asked for it.
                        if rule.rule.action == WatchAction::SyncExec
                            && !work.exec.contains(&rule.rule.exec)
                        {
                            work.exec.push(rule.rule.exec.clone());
                        }
                    }
                }
            }
        }
        // A changed directory with nothing under it to sync is no work.
        out.retain(|_, w| *w != Work::default());
        out
    }
}

impl Rule {
    /// Whether a change to `path` counts for this rule; if so, how to name
    /// it in the output.
    pub fn matches(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let rel = slash(rel);
        if !rel.is_empty() {
            if let Some(include) = &self.include
                && !include.excluded(&rel)
            {
                return None;
            }
            if self.ignore.excluded(&rel) {
                return None;
            }
        }
        if let Some((ctx, ignore)) = &self.context
            && let Ok(in_ctx) = path.strip_prefix(ctx)
            && !in_ctx.as_os_str().is_empty()
            && ignore.excluded(&slash(in_ctx))
        {
            return None;
        }
        let abs = slash(path);
        if ephemeral().excluded(abs.trim_start_matches('/')) || abs.split('/').any(|s| s == ".git")
        {
            return None;
        }
        Some(if rel.is_empty() {
            path.file_name()
                .map_or_else(|| slash(path), |n| n.to_string_lossy().into_owned())
        } else {
            rel
        })
    }

    /// The files a change to `path` copies or deletes: the path itself, or
    /// for a directory that exists every file under it that the rule
    /// matches (walked without recursion).
    fn mappings(&self, path: &Path) -> Vec<Mapping> {
        let Some(target) = &self.rule.target else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut stack = vec![path.to_path_buf()];
        while let Some(p) = stack.pop() {
            let Some(shown) = self.matches(&p) else {
                continue;
            };
            match std::fs::symlink_metadata(&p) {
                Ok(meta) if meta.is_dir() => {
                    if let Ok(entries) = std::fs::read_dir(&p) {
                        stack.extend(entries.flatten().map(|e| e.path()));
                    }
                }
                // Files, links, and what no longer exists (deleted).
                _ => {
                    let rel = p.strip_prefix(&self.root).map(slash).unwrap_or_default();
                    let container = if rel.is_empty() {
                        target.clone()
                    } else {
                        format!("{}/{rel}", target.trim_end_matches('/'))
                    };
                    out.push(Mapping {
                        host: p.clone(),
                        container,
                        shown,
                    });
                }
            }
        }
        out
    }
}

impl Work {
    /// The one line an action prints: what was done and which files caused
    /// it, e.g. `synced 2 files (index.html, app.js)`.
    pub fn line(&self, service: &str, done: &str, files: &BTreeSet<String>) -> String {
        format!("watch: {service}: {done} ({})", names(files))
    }

    /// The line of an action that files asked for without being copied:
    /// `rebuilt and recreated (Dockerfile changed)`.
    pub fn changed_line(&self, service: &str, done: &str, files: &BTreeSet<String>) -> String {
        format!("watch: {service}: {done} ({} changed)", names(files))
    }

    /// Every file that caused work.
    #[cfg(test)]
    pub fn files(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.sync.iter().map(|m| m.shown.clone()).collect();
        out.extend(self.rebuild.iter().cloned());
        out.extend(self.restart.iter().cloned());
        out
    }
}

/// `a, b, c`, or the first few and "and N more".
pub fn names(files: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = files.iter().take(NAMES_SHOWN).map(String::as_str).collect();
    let mut out = shown.join(", ");
    if files.len() > NAMES_SHOWN {
        out.push_str(&format!(", and {} more", files.len() - NAMES_SHOWN));
    }
    out
}

/// "1 file", "3 files".
pub fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The files of `sync` that exist, packed as a tar to extract at `/` (host
/// modes, owners and times kept, as compose sends them), and the container
/// paths of those that no longer exist, to delete.
pub fn sync_tar(sync: &BTreeSet<Mapping>) -> io::Result<(Vec<u8>, Vec<String>)> {
    use std::os::unix::fs::MetadataExt;
    let mut tar = tar::Builder::new(Vec::new());
    let mut deleted = Vec::new();
    for m in sync {
        let meta = match std::fs::symlink_metadata(&m.host) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                deleted.push(m.container.clone());
                continue;
            }
            Err(e) => return Err(e),
        };
        let name = m.container.trim_start_matches('/');
        let mut h = tar::Header::new_gnu();
        h.set_mode(meta.mode() & 0o7777);
        h.set_uid(meta.uid().into());
        h.set_gid(meta.gid().into());
        h.set_mtime(meta.mtime().max(0) as u64);
        if meta.file_type().is_symlink() {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            tar.append_link(&mut h, name, std::fs::read_link(&m.host)?)?;
        } else if meta.is_file() {
            let data = match std::fs::read(&m.host) {
                Ok(d) => d,
                // Deleted between the look and the read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    deleted.push(m.container.clone());
                    continue;
                }
                Err(e) => return Err(e),
            };
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(data.len() as u64);
            tar.append_data(&mut h, name, data.as_slice())?;
        }
    }
    Ok((tar.into_inner()?, deleted))
}

/// The build context of a service that builds, with the `.dockerignore`
/// compose reads for it: `<dockerfile>.dockerignore`, else `.dockerignore`.
fn build_ignore(svc: &Service) -> io::Result<Option<(PathBuf, DockerIgnore)>> {
    let Some(build) = &svc.extras().build else {
        return Ok(None);
    };
    let ctx = PathBuf::from(&build.context);
    let dockerfile = &build.dockerfile;
    for name in [format!("{dockerfile}.dockerignore"), ".dockerignore".into()] {
        match std::fs::read_to_string(ctx.join(name)) {
            Ok(text) => return Ok(Some((ctx, DockerIgnore::parse(&text)))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // A context that is not a directory (a git URL) has no ignore file.
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some((ctx, DockerIgnore::default())))
}

/// Whether one of the service's bind mounts has `path` at or under its source.
fn bind_mount_covers(svc: &Service, path: &Path) -> bool {
    svc.volumes.iter().any(|v| {
        v.kind == MountType::Bind && v.source.as_deref().is_some_and(|src| path.starts_with(src))
    })
}

fn ephemeral() -> &'static DockerIgnore {
    static SET: std::sync::OnceLock<DockerIgnore> = std::sync::OnceLock::new();
    SET.get_or_init(|| DockerIgnore::parse(EPHEMERAL))
}

fn slash(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::develop::{Develop, WatchRule};

    fn rule(action: WatchAction, path: &Path, target: Option<&str>) -> WatchRule {
        WatchRule {
            path: slash(path),
            action,
            target: target.map(str::to_string),
            exec: ServiceHook::default(),
            include: vec![],
            ignore: vec![],
            initial_sync: false,
            span: Default::default(),
        }
    }

    fn stack_with(service: &str, rules: Vec<WatchRule>) -> Stack {
        let mut svc = Service {
            name: service.into(),
            ..Service::default()
        };
        svc.extras_mut().develop = Some(Box::new(Develop { watch: rules }));
        let mut stack = Stack::default();
        stack.services.insert(service.into(), svc);
        stack
    }

    fn set(paths: &[&Path]) -> BTreeSet<PathBuf> {
        paths.iter().map(|p| p.to_path_buf()).collect()
    }

    #[test]
    fn a_sync_maps_changed_files_under_the_target_and_skips_ignored_and_editor_files() {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        std::fs::create_dir_all(www.join("css")).unwrap();
        std::fs::create_dir_all(www.join("node_modules")).unwrap();
        for f in [
            "index.html",
            "css/app.css",
            "node_modules/x.js",
            ".index.html.swp",
        ] {
            std::fs::write(www.join(f), "x").unwrap();
        }
        let mut r = rule(WatchAction::Sync, &www, Some("/srv/"));
        r.ignore = vec!["node_modules/".into()];
        let rules = Rules::of(&stack_with("web", vec![r]), &[]).unwrap();
        let changed = set(&[
            &www.join("index.html"),
            &www.join("css"),
            &www.join("node_modules/x.js"),
            &www.join(".index.html.swp"),
            &dir.path().join("elsewhere.txt"),
        ]);
        let work = &rules.batch(&changed)["web"];
        let got: Vec<(&str, &str)> = work
            .sync
            .iter()
            .map(|m| (m.container.as_str(), m.shown.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/srv/css/app.css", "css/app.css"),
                ("/srv/index.html", "index.html")
            ]
        );
        assert!(work.rebuild.is_empty() && work.restart.is_empty());
    }

    #[test]
    fn include_limits_a_rule_to_matching_files_at_its_top() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = rule(WatchAction::Restart, dir.path(), None);
        r.include = vec!["*.conf".into()];
        let rules = Rules::of(&stack_with("web", vec![r]), &[]).unwrap();
        let changed = set(&[
            &dir.path().join("a.conf"),
            &dir.path().join("sub/b.conf"),
            &dir.path().join("c.txt"),
        ]);
        let work = &rules.batch(&changed)["web"];
        assert_eq!(work.restart, BTreeSet::from(["a.conf".to_string()]));
    }

    #[test]
    fn a_rebuild_rule_on_a_file_names_the_file_and_the_dockerignore_of_the_context_applies() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log\n").unwrap();
        let mut stack = stack_with(
            "api",
            vec![
                rule(WatchAction::Rebuild, &dir.path().join("Dockerfile"), None),
                rule(WatchAction::Rebuild, dir.path(), None),
            ],
        );
        let svc = stack.services.get_mut("api").unwrap();
        svc.extras_mut().build = Some(Box::new(crate::model::stack::Build {
            context: slash(dir.path()),
            ..Default::default()
        }));
        let rules = Rules::of(&stack, &[]).unwrap();
        let changed = set(&[
            &dir.path().join("Dockerfile"),
            &dir.path().join("debug.log"),
        ]);
        let work = &rules.batch(&changed)["api"];
        assert_eq!(work.rebuild, BTreeSet::from(["Dockerfile".to_string()]));
        assert_eq!(
            work.changed_line("api", "rebuilt and recreated", &work.files()),
            "watch: api: rebuilt and recreated (Dockerfile changed)"
        );
    }

    #[test]
    fn a_deleted_file_is_deleted_and_an_existing_one_is_packed_with_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.sh");
        std::fs::write(&file, "echo hi").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sync = BTreeSet::from([
            Mapping {
                host: file.clone(),
                container: "/app/run.sh".into(),
                shown: "run.sh".into(),
            },
            Mapping {
                host: dir.path().join("gone.txt"),
                container: "/app/gone.txt".into(),
                shown: "gone.txt".into(),
            },
        ]);
        let (tar, deleted) = sync_tar(&sync).unwrap();
        assert_eq!(deleted, vec!["/app/gone.txt".to_string()]);
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries, vec![("app/run.sh".to_string(), 0o755, 7)]);
    }

    #[test]
    fn a_sync_rule_under_a_bind_mount_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let mut stack = stack_with(
            "web",
            vec![
                rule(WatchAction::Sync, &src.join("pages"), Some("/app/pages")),
                rule(WatchAction::Restart, &src, None),
            ],
        );
        let svc = stack.services.get_mut("web").unwrap();
        svc.volumes.push(crate::model::stack::ServiceVolume {
            kind: MountType::Bind,
            source: Some(slash(&src)),
            target: "/app".into(),
            read_only: false,
            consistency: None,
            bind: None,
            volume: None,
            tmpfs: None,
            image: None,
            span: Default::default(),
        });
        let rules = Rules::of(&stack, &[]).unwrap();
        assert_eq!(
            rules.bind_mounted,
            vec![("web".to_string(), slash(&src.join("pages")))]
        );
        let kept: Vec<WatchAction> = rules.rules.iter().map(|r| r.rule.action).collect();
        assert_eq!(kept, vec![WatchAction::Restart]);
    }

    #[test]
    fn many_files_are_named_up_to_five_then_counted() {
        let files: BTreeSet<String> = (1..=7).map(|n| format!("f{n}")).collect();
        assert_eq!(names(&files), "f1, f2, f3, f4, f5, and 2 more");
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(2, "file"), "2 files");
    }
}
