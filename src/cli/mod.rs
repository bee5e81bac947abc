//! The command line: global options and one file per command.
//!
//! A command file parses its flags, opens a [`session`], and either calls
//! the pipeline (`crate::converge`: `up`, `plan`, `down`, on the target its
//! `--swarm` flag picks) or makes its one plan and carries it out through
//! the session. Flags several commands share are in [`args`]. Every command
//! returns `Result<Outcome, Error>`; `main` prints an [`Error`] once, in the
//! command's progress mode, and turns the result into the exit code
//! ([`exit_code`]).

mod args;
mod build;
mod completions;
mod config;
mod down;
mod edge;
mod error;
mod exec;
mod graph;
mod lifecycle;
mod logs;
mod ls;
mod plan;
mod ps;
mod pull;
mod releases;
mod rollback;
mod session;
mod up;
mod version;
mod watch;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::output::{ProgressMode, print_diagnostics};
pub use error::Error;
pub use session::load_stack;

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Declarative stacks for Docker: plan, apply, and tear down compose-format stacks",
    after_help = "The engine: --context, else DOCKER_HOST (unix://, tcp://, ssh://[user@]host[:port]), \
                  else DOCKER_CONTEXT, else the docker CLI's current context.\n\
                  Over ssh:// berth runs the system ssh (your ~/.ssh/config and agent) and \
                  `docker system dial-stdio` on the host, over one connection per run that \
                  stays BERTH_SSH_PERSIST seconds (default 60) for the next command; \
                  BERTH_SSH_PERSIST=0 closes it with the run."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct Global {
    /// Stack file(s); later files override earlier ones
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name (default: `name:` in the file, else the directory name)
    #[arg(short = 'p', long = "project-name", global = true, value_name = "NAME")]
    pub project_name: Option<String>,
    /// Directory relative paths are resolved against (default: the first file's directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Env file(s) for interpolation, instead of `.env`
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Enable services of this profile
    #[arg(long = "profile", global = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// The Docker context to use (default: DOCKER_HOST, DOCKER_CONTEXT, then
    /// the docker CLI's current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the normalised stack (or only check it with -q)
    Config(config::ConfigArgs),
    /// Check the stack files; exit 0 when valid, 1 with diagnostics otherwise
    Validate(config::ValidateArgs),
    /// Show the dependency graph and the start order
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of the stack file
    #[command(hide = true)]
    Schema,
    /// Create or change what the stack needs, and start it
    Up(up::UpArgs),
    /// Show what `up` would change; exit 0 when nothing, 3 when something
    Plan(plan::PlanArgs),
    /// Stop and remove the stack's containers and networks
    Down(down::DownArgs),
    /// List the stack's containers
    Ps(ps::PsArgs),
    /// List the projects on the engine, berth's and compose's, with their
    /// containers' states
    Ls(ls::LsArgs),
    /// Show the containers' output, each line prefixed with its container
    Logs(logs::LogsArgs),
    /// Run a command in a service's running container
    Exec(exec::ExecArgs),
    /// Start the stack's existing containers, dependencies first
    Start(lifecycle::StartArgs),
    /// Stop the stack's containers, dependents first
    Stop(lifecycle::StopArgs),
    /// Restart the stack's containers, dependencies first
    Restart(lifecycle::StopArgs),
    /// List the releases `up` recorded (what changed, and whether their
    /// images are kept), or show one with its stack
    Releases(releases::ReleasesArgs),
    /// Go back to what a release ran (default: the one before the newest),
    /// as a plan: images pinned, volumes kept
    Rollback(rollback::RollbackArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Print berth's version
    Version(version::VersionArgs),
    /// Print the man page (roff): `berth man > berth.1`
    #[command(hide = true)]
    Man,
    /// Build the images of services that have `build:`
    Build(build::BuildArgs),
    /// Pull the images of the stack's services
    Pull(pull::PullArgs),
    /// Bring the stack up, then sync, rebuild or restart services as their
    /// files change (`develop.watch`); Ctrl-C stops watching
    Watch(watch::WatchArgs),
    /// Forward connections to the live container of a service (runs in the
    /// service's edge container)
    #[command(hide = true)]
    Edge(edge::EdgeArgs),
    /// Work a service's edge by hand: its image, container, target, status
    #[command(hide = true)]
    EdgeTool(edge::EdgeToolArgs),
}

impl Cli {
    /// How the command shows progress, and so its error: its `--progress`
    /// flag where it has one, else what the terminal suggests.
    pub fn progress_mode(&self) -> ProgressMode {
        let flag = match &self.command {
            Command::Up(a) => a.progress,
            Command::Down(a) => a.progress,
            Command::Build(a) => a.progress,
            Command::Pull(a) => a.progress,
            Command::Watch(a) => a.progress,
            _ => None,
        };
        flag.unwrap_or_else(ProgressMode::detect)
    }
}

/// How a command that did not fail ended, for the exit code.
pub enum Outcome {
    Success,
    /// `plan` found changes to make; exit 3.
    Changes,
    /// `exec`: the command's own exit code.
    Exit(i32),
}

/// The exit code of a command's result: 0 done, 1 invalid stack or failed
/// step, 3 changes pending (`plan`), 130 interrupted, or exec's own code.
pub fn exit_code(result: &Result<Outcome, Error>) -> i32 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Changes) => 3,
        Ok(Outcome::Exit(code)) => *code,
        Err(e) => e.code(),
    }
}

pub fn run(cli: Cli) -> Result<Outcome, Error> {
    crate::engine::endpoint::set_context_flag(cli.global.context.clone());
    match cli.command {
        Command::Config(args) => config::run(&cli.global, args),
        Command::Validate(args) => config::validate(&cli.global, args),
        Command::Graph(args) => graph::run(&cli.global, args),
        Command::Up(args) => up::run(&cli.global, args),
        Command::Plan(args) => plan::run(&cli.global, args),
        Command::Down(args) => down::run(&cli.global, args),
        Command::Ps(args) => ps::run(&cli.global, args),
        Command::Ls(args) => ls::run(&cli.global, args),
        Command::Logs(args) => logs::run(&cli.global, args),
        Command::Exec(args) => exec::run(&cli.global, args),
        Command::Start(args) => lifecycle::start(&cli.global, args),
        Command::Stop(args) => lifecycle::stop(&cli.global, args),
        Command::Restart(args) => lifecycle::restart(&cli.global, args),
        Command::Releases(args) => releases::run(&cli.global, args),
        Command::Rollback(args) => rollback::run(&cli.global, args),
        Command::Completions(args) => completions::completions(args),
        Command::Version(args) => version::run(args),
        Command::Man => completions::man(),
        Command::Build(args) => build::run(&cli.global, args),
        Command::Pull(args) => pull::run(&cli.global, args),
        Command::Watch(args) => watch::run(&cli.global, args),
        Command::Edge(args) => edge::run(args),
        Command::EdgeTool(args) => edge::tool(&cli.global, args),
        Command::Schema => {
            print_out(&crate::schema::generate())?;
            Ok(Outcome::Success)
        }
    }
}

/// The command line as clap should parse it (see [`logs::follow_shorthand`]).
pub fn args() -> Vec<std::ffi::OsString> {
    logs::follow_shorthand(std::env::args_os().collect())
}

/// Writes to stdout; a closed pipe (`berth config | head`) ends the command
/// as an ordinary outcome ([`Error::broken_pipe`]).
pub fn print_out(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|_| Error::broken_pipe())
}
