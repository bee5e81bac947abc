//! The CLI session: what every command that talks to the engine sets up
//! before it does its own work, in one place.
//!
//! [`Session::open`] selects the project (a stack file when one is named or
//! found, else `-p NAME` alone), loads the stack (printing its warnings),
//! takes the project's lock when the command changes the engine, and builds
//! the runtime. [`Session::block_on`] runs the command's future with Ctrl-C
//! handling installed when asked for; [`Session::connect`] connects to the
//! engine. [`Session::context`] is what the pipeline (`converge`) needs of
//! the session, [`Session::carry_out`] the one way a command carries out (or,
//! with `--dry-run`, prints) a plan, and [`Session::failed`] turns the
//! pipeline's failures into the command's error. Errors are returned as
//! [`Error`], never printed here: `main` prints each once and picks the exit
//! code.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};

use sha2::Digest;
use tokio::sync::watch;

use super::error::Error;
use super::{Global, Outcome};
use crate::apply::ApplyError;
use crate::converge::{self, Context, Failure};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::load::{self, Loaded};
use crate::model::stack::Stack;
use crate::observe::{ContainerState, Status};
use crate::output::{Progress, ProgressMode};
use crate::plan::Plan;

/// Whether a command can run on a project without its stack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedsStack {
    /// `up`, `plan`, `build`, `pull`: the stack file says what to do.
    Yes,
    /// `down`, `ps`, `logs`, `stop`...: `-p NAME` alone is enough.
    OrProject,
}

/// What a command asks of its session.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub stack: NeedsStack,
    /// Take the project's lock: the command changes the engine.
    pub lock: bool,
    /// The first Ctrl-C raises [`Session::cancel`]; the second quits.
    pub ctrl_c: bool,
    pub progress: ProgressMode,
}

impl Needs {
    /// A command that only reads the engine (`ps`, `logs`, `exec`): a stack
    /// file or `-p NAME`, no lock, Ctrl-C ends it at once.
    pub fn read() -> Needs {
        Needs {
            stack: NeedsStack::OrProject,
            lock: false,
            ctrl_c: false,
            progress: ProgressMode::detect(),
        }
    }

    /// A command that changes the engine: it takes the project's lock
    /// (unless it only prints its plan) and handles Ctrl-C.
    pub fn change(stack: NeedsStack, dry_run: bool, progress: Option<ProgressMode>) -> Needs {
        Needs {
            stack,
            lock: !dry_run,
            ctrl_c: true,
            progress: progress.unwrap_or_else(ProgressMode::detect),
        }
    }
}

pub struct Session {
    pub loaded: Option<Loaded>,
    pub project: String,
    pub progress: Progress,
    runtime: tokio::runtime::Runtime,
    cancel: Option<(watch::Sender<bool>, watch::Receiver<bool>)>,
    /// Held for the whole command: a second berth on the project waits.
    _lock: Option<File>,
}

impl Session {
    pub fn open(global: &Global, needs: Needs) -> Result<Session, Error> {
        let loaded = if needs.stack == NeedsStack::Yes || stack_file_exists(global) {
            Some(load_stack(global, None)?)
        } else {
            None
        };
        let project = match (&loaded, &global.project_name) {
            (Some(l), _) => l.stack.name.clone(),
            (None, Some(name)) => load::normalize_project_name(name),
            (None, None) => {
                return Err(Error::message(
                    "no stack file found, and no project name given; \
                     run berth next to the stack file, or name the project with -p NAME",
                ));
            }
        };
        Session::start(loaded, project, needs)
    }

    /// A session for a project whose stack the command loaded itself
    /// (`config`, which loads with its own options).
    pub fn for_project(project: &str, needs: Needs) -> Result<Session, Error> {
        Session::start(None, project.to_string(), needs)
    }

    fn start(loaded: Option<Loaded>, project: String, needs: Needs) -> Result<Session, Error> {
        let progress = Progress::stderr(needs.progress);
        let lock = if needs.lock {
            Some(lock_project(&project, &progress).map_err(Error::message)?)
        } else {
            None
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::message(format!("cannot start the async runtime: {e}")))?;
        Ok(Session {
            loaded,
            project,
            progress,
            runtime,
            cancel: needs.ctrl_c.then(|| watch::channel(false)),
            _lock: lock,
        })
    }

    pub fn mode(&self) -> ProgressMode {
        self.progress.mode()
    }

    pub fn stack(&self) -> Option<&Stack> {
        self.loaded.as_ref().map(|l| &l.stack)
    }

    /// The loaded stack of a command opened with [`NeedsStack::Yes`].
    pub fn loaded(&self) -> &Loaded {
        self.loaded
            .as_ref()
            .expect("a command that needs its stack opened the session with NeedsStack::Yes")
    }

    /// The signal the first Ctrl-C raises, when the command asked for it.
    pub fn cancel(&self) -> Option<watch::Receiver<bool>> {
        self.cancel.as_ref().map(|(_, rx)| rx.clone())
    }

    /// Runs the command's future. With Ctrl-C handling, the first Ctrl-C
    /// raises [`Session::cancel`] (no new step starts, steps in flight
    /// finish); a second one ends the command at once.
    pub fn block_on<T, F>(&self, fut: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let Some((tx, _)) = &self.cancel else {
            return self.runtime.block_on(fut);
        };
        let tx = tx.clone();
        let progress = self.progress.clone();
        self.runtime.block_on(async move {
            let second = async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return std::future::pending().await;
                }
                let _ = tx.send(true);
                progress.interrupted();
                if tokio::signal::ctrl_c().await.is_err() {
                    return std::future::pending().await;
                }
                progress.clear();
            };
            tokio::select! {
                result = fut => result,
                () = second => Err(Error::interrupted("interrupted twice: stopped at once; run the command again to finish",
                )),
            }
        })
    }

    /// Runs a future that is not a whole command (exec's attach) on the
    /// session's runtime, then lets blocking threads go without waiting.
    pub fn finish<T>(self, fut: impl Future<Output = T>) -> T {
        let out = self.runtime.block_on(fut);
        // Standard input is read on a blocking thread that may never return.
        self.runtime.shutdown_background();
        out
    }

    /// Connects to the engine the docker CLI would use (`engine::endpoint`).
    pub async fn connect(&self) -> Result<Engine, Error> {
        Engine::connect().await.map_err(|e| Error::engine(&e))
    }

    /// The engine, not pinged yet: for a command whose first calls go out
    /// with the ping ([`Engine::answering`]).
    pub fn engine(&self) -> Result<Engine, Error> {
        Engine::open().map_err(|e| Error::engine(&e))
    }

    /// The project's containers, one per service replica, from one list call.
    pub async fn replicas(&self, engine: &Engine) -> Result<Vec<Replica>, Error> {
        let observed = crate::observe::observe_containers(engine, &self.project)
            .await
            .map_err(|e| Error::engine(&e))?;
        let mut out: Vec<Replica> = observed.containers.iter().filter_map(Replica::of).collect();
        out.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
        Ok(out)
    }

    /// The one unknown-service check, with the stack's services or, without
    /// a stack file, the services the containers' labels name.
    pub fn check_services(&self, found: &[Replica], named: &[String]) -> Result<(), Error> {
        let errors = match self.stack() {
            Some(s) => crate::plan::unknown_services(s, named),
            None => {
                let mut known: Vec<&str> = found.iter().map(|r| r.service.as_str()).collect();
                known.dedup();
                crate::plan::unknown_among(&known, named)
            }
        };
        if errors.is_empty() {
            Ok(())
        } else {
            Err(self.plan_errors(&errors))
        }
    }

    /// Takes the project's lock for a while (`berth watch` holds it only
    /// while it changes the engine); released when the file is dropped.
    pub(super) fn lock(&self) -> Result<File, Error> {
        lock_project(&self.project, &self.progress).map_err(Error::message)
    }

    /// Lets go of the lock the session took (`up --watch`, once up is done).
    pub(super) fn release_lock(&mut self) {
        self._lock = None;
    }

    /// Plan errors as diagnostics pointing into the stack files, then
    /// "nothing was changed".
    pub fn plan_errors(&self, errors: &[crate::plan::PlanError]) -> Error {
        let diags = errors.iter().map(|e| e.to_diagnostic()).collect();
        Error::diagnostics(diags, self.loaded.as_ref()).then("nothing was changed")
    }
}

/// One container of a service, as the day-to-day commands see it.
#[derive(Debug, Clone)]
pub struct Replica {
    pub service: String,
    pub number: u32,
    pub id: String,
    pub name: String,
    pub running: bool,
}

impl Replica {
    fn of(c: &ContainerState) -> Option<Replica> {
        Some(Replica {
            service: c.service.clone()?,
            number: c.number.unwrap_or(1),
            id: c.id.clone(),
            name: c.name.clone(),
            running: c.status == Status::Running,
        })
    }
}

/// Loads the stack for a command, printing warnings; on failure the error
/// carries every diagnostic.
pub fn load_stack(global: &Global, positional: Option<&PathBuf>) -> Result<Loaded, Error> {
    load_stack_as(global, positional, false)
}

/// [`load_stack`], or with `no_interpolate` the merged files as written
/// ([`load::Options::no_interpolate`]).
pub fn load_stack_as(
    global: &Global,
    positional: Option<&PathBuf>,
    no_interpolate: bool,
) -> Result<Loaded, Error> {
    let mut files = global.files.clone();
    if let Some(p) = positional {
        files.push(p.clone());
    }
    let opts = load::Options {
        files,
        project_name: global.project_name.clone(),
        project_directory: global.project_directory.clone(),
        env_files: global.env_files.clone(),
        profiles: global.profiles.clone(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        environ: std::env::vars().collect(),
        no_interpolate,
    };
    match load::load(&opts) {
        Ok(loaded) => {
            super::print_diagnostics(&loaded.diagnostics, &loaded.sources);
            Ok(loaded)
        }
        Err(failed) => Err(Error::load_failed(failed)),
    }
}

/// Whether loading would find a stack file: one named with `-f` or in
/// COMPOSE_FILE, or a default name in the directory or one of its parents.
fn stack_file_exists(global: &Global) -> bool {
    if !global.files.is_empty() || std::env::var_os("COMPOSE_FILE").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    let start = match &global.project_directory {
        Some(d) => d.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| ".".into()),
    };
    let names = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
    ];
    let mut dir: Option<&Path> = Some(&start);
    while let Some(d) = dir {
        if names.iter().any(|n| d.join(n).is_file()) {
            return true;
        }
        dir = d.parent();
    }
    false
}

/// Takes the project's lock file, waiting for another berth that holds it.
/// The OS releases the lock when the process ends, however it ends, so a
/// killed berth never leaves the project locked. The empty file stays:
/// removing it while another berth waits on it would let a third one lock a
/// new file beside it.
///
/// The file is keyed by engine and project (two engines do not block each
/// other) and lives in a directory only this user can write
/// (`crate::runtime_dir`), so that another local user cannot create or hold it.
fn lock_project(project: &str, progress: &Progress) -> Result<File, String> {
    let dir = crate::runtime_dir::dir()?;
    let engine = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| crate::engine::DEFAULT_HOST.to_string());
    let key: String = sha2::Sha256::digest(engine.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let path: PathBuf = dir.join(format!("{project}@{key}.lock"));
    let open = || -> std::io::Result<File> {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    };
    let file = open().map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => progress.status(
            "Waiting",
            &format!("for another berth working on {project} to finish"),
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()));
        }
    }
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

impl Session {
    /// What the pipeline needs of this session: the stack, the project,
    /// the progress, the Ctrl-C signal, and the command's parallelism and
    /// wait timeout.
    pub fn context(&self, parallel: usize, wait_timeout: std::time::Duration) -> Context<'_> {
        let mut apply = converge::apply_options(&self.project, parallel, wait_timeout);
        apply.cancel = self.cancel();
        Context {
            loaded: self.loaded.as_ref(),
            project: &self.project,
            progress: &self.progress,
            apply,
            quiet: false,
        }
    }

    /// The end of every command that has a plan: with `dry_run`, the plan
    /// on stdout and nothing changed; else the plan carried out on
    /// `engine` (connecting first when none is given).
    pub async fn carry_out(
        &self,
        engine: Option<&Engine>,
        plan: &Plan,
        dry_run: bool,
        parallel: usize,
    ) -> Result<Outcome, Error> {
        if dry_run {
            return self.print_plan(plan);
        }
        let connected;
        let engine = match engine {
            Some(e) => e,
            None => {
                connected = self.connect().await?;
                &connected
            }
        };
        let cx = self.context(parallel, std::time::Duration::from_secs(300));
        converge::apply(&cx, engine, plan)
            .await
            .map_err(|f| self.failed(f))?;
        Ok(Outcome::Success)
    }

    /// `--dry-run`: the plan's warnings, then the plan on stdout.
    pub fn print_plan(&self, plan: &Plan) -> Result<Outcome, Error> {
        for w in &plan.warnings {
            self.progress.warning(w);
        }
        super::print_out(&plan.to_string())?;
        Ok(Outcome::Success)
    }

    /// Connects to the swarm manager at `DOCKER_HOST` (`ps --swarm`,
    /// `logs --swarm`).
    pub async fn swarm_manager(&self) -> Result<Engine, Error> {
        converge::swarm::manager().await.map_err(|f| self.failed(f))
    }

    /// A pipeline failure as the command's error: diagnostics pointing
    /// into the stack files where there are places to point at, then what
    /// was (not) changed.
    pub fn failed(&self, failure: Failure) -> Error {
        match failure {
            Failure::Invalid(errors) => {
                Error::diagnostics(errors, self.loaded.as_ref()).then("nothing was changed")
            }
            Failure::Refused(errors) => self.plan_errors(&errors),
            Failure::Engine(e) => Error::engine(&e),
            Failure::Unsuitable(message) => Error::message(message),
            Failure::Apply { plan, error } => self.apply_failed(&plan, &error),
        }
    }

    /// An apply error as the command's error: each failed step as a
    /// diagnostic pointing at its service in the stack file, then what was
    /// done.
    fn apply_failed(&self, plan: &Plan, e: &ApplyError) -> Error {
        match e {
            ApplyError::Interrupted { .. } => Error::interrupted(e.to_string()),
            ApplyError::Failed {
                failures,
                done,
                not_started,
            } => {
                if self.mode() == ProgressMode::Json {
                    return Error::message(e.to_string());
                }
                let diags: Vec<Diagnostic> = failures
                    .iter()
                    .map(|f| {
                        let d = Diagnostic::error(format!("{} failed: {}", f.what, f.message));
                        let svc = plan.steps[f.step]
                            .action
                            .service()
                            .and_then(|s| self.stack()?.services.get(s));
                        let taken = crate::plan::rules::port_taken(&f.message);
                        let port = svc.zip(taken.as_ref()).and_then(|(svc, t)| {
                            Some((crate::preflight::port_entry(svc, t)?, t.port))
                        });
                        match (svc, port) {
                            (_, Some((span, port))) => {
                                d.label(span, format!("host port {port} is already taken"))
                            }
                            (Some(svc), None) => d.label(svc.span, format!("service {}", svc.name)),
                            (None, None) => d,
                        }
                    })
                    .collect();
                let only_waits = failures
                    .iter()
                    .all(|f| !plan.steps[f.step].action.mutates());
                let closing = if only_waits && *not_started == 0 {
                    "what was asked for is in place, but did not become ready; \
                     fix the cause and run the command again"
                        .to_string()
                } else if *done == 0 {
                    "nothing was changed; fix the cause and run the command again".to_string()
                } else {
                    format!(
                        "{done} step{} done, {not_started} not started because they wait on \
                         what failed; fix the cause and run the command again",
                        if *done == 1 { "" } else { "s" }
                    )
                };
                Error::diagnostics(diags, self.loaded.as_ref()).then(closing)
            }
        }
    }
}
