//! Two hidden commands. `berth edge` is the forwarder that a start-first
//! service's edge container runs (`crate::edge`). `berth edge-tool` works an
//! edge by hand, one engine call per subcommand, for tests, benchmarks and
//! debugging: import the edge image of this executable, create a service's
//! edge container, point it at a container, read its status. Replacing a
//! service through its edge is the plan's job, not these commands'.

use std::path::PathBuf;
use std::time::Duration;

use super::error::Error;
use super::session::{Needs, NeedsStack, Session};
use super::{Global, Outcome, print_out};
use crate::edge::{self, Forward};
use crate::engine::Engine;
use crate::spec;

#[derive(Debug, clap::Args)]
pub struct EdgeArgs {
    /// The file that names the live container: one line, a host name or an IP
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Where to write what is applied and what is open (JSON)
    #[arg(long, value_name = "FILE")]
    pub status: Option<PathBuf>,
    /// Listen on [IP:]LISTEN and forward to TARGET of the live container
    #[arg(long = "forward", value_name = "[IP:]LISTEN:TARGET", required = true)]
    pub forwards: Vec<Forward>,
    /// Ask the engine at this unix socket for the target's addresses on
    /// --network, instead of the system's resolver (an edge in the host's
    /// network namespace)
    #[arg(long, value_name = "SOCKET", requires = "network")]
    pub engine: Option<PathBuf>,
    /// The network on which the target's addresses are looked up
    #[arg(long, value_name = "NAME", requires = "engine")]
    pub network: Option<String>,
    /// Seconds that connections in flight may take to finish after SIGTERM
    #[arg(long, value_name = "SECONDS", default_value_t = edge::GRACE.as_secs())]
    pub grace: u64,
}

pub fn run(args: EdgeArgs) -> Result<Outcome, Error> {
    let mut options = edge::Options::new(args.state, args.forwards);
    options.status = args.status;
    options.engine = args
        .engine
        .zip(args.network)
        .map(|(socket, network)| edge::EngineAt { socket, network });
    options.grace = Duration::from_secs(args.grace);
    edge::run(options).map_err(|e| Error::message(format!("berth edge: {e}")))?;
    Ok(Outcome::Success)
}

#[derive(Debug, clap::Args)]
pub struct EdgeToolArgs {
    #[command(subcommand)]
    pub command: Tool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Tool {
    /// Import the edge image of this executable unless the engine has it;
    /// print its reference
    Image,
    /// Create (not start) the edge container of a start-first service with
    /// ports; print its name
    Create {
        #[arg(value_name = "SERVICE")]
        service: String,
        /// The edge image (default: this executable's, imported if missing)
        #[arg(long, value_name = "REFERENCE")]
        image: Option<String>,
    },
    /// Send an edge's new connections to TARGET (a container's short id)
    Target {
        #[arg(value_name = "CONTAINER")]
        container: String,
        #[arg(value_name = "TARGET")]
        target: String,
    },
    /// Print an edge's status (JSON)
    Status {
        #[arg(value_name = "CONTAINER")]
        container: String,
    },
}

pub fn tool(global: &Global, args: EdgeToolArgs) -> Result<Outcome, Error> {
    match args.command {
        Tool::Image => {
            let reference =
                block_on(async { connect().await?.ensure_edge_image().await.map_err(engine) })?;
            print_out(&format!("{reference}\n"))?;
        }
        Tool::Create { service, image } => {
            let s = Session::open(global, Needs::change(NeedsStack::Yes, false, None))?;
            let stack = &s.loaded().stack;
            let svc = stack
                .services
                .get(&service)
                .ok_or_else(|| Error::message(format!("no service {service} in the stack")))?;
            if !spec::needs_edge(svc) {
                return Err(Error::message(format!(
                    "service {service} needs no edge: it has no ports, or is not replaced start-first \
                     (deploy.update_config.order: start-first)"
                )));
            }
            let name = spec::edge_name(&stack.name, &service);
            s.block_on(async {
                let e = s.connect().await?;
                let image = match image {
                    Some(i) => i,
                    None => e.ensure_edge_image().await.map_err(engine)?,
                };
                let created =
                    spec::edge_container(stack, svc, &image, e.unix_socket()).map_err(|err| {
                        Error::message(format!("{}\n  help: {}", err.message, err.help))
                    })?;
                e.create_container(&name, None, &created.body)
                    .await
                    .map_err(engine)
            })?;
            print_out(&format!("{name}\n"))?;
        }
        Tool::Target { container, target } => {
            let tar = spec::edge_target_tar(&target).map_err(|e| Error::message(e.to_string()))?;
            block_on(async {
                connect()
                    .await?
                    .upload_to_container(&container, tar)
                    .await
                    .map_err(engine)
            })?;
        }
        Tool::Status { container } => {
            let status = block_on(async {
                connect()
                    .await?
                    .edge_status(&container)
                    .await
                    .map_err(engine)
            })?;
            let text = match status {
                Some(s) => serde_json::to_string(&s).unwrap_or_default(),
                None => "null".to_string(),
            };
            print_out(&format!("{text}\n"))?;
        }
    }
    Ok(Outcome::Success)
}

fn engine(e: crate::engine::EngineError) -> Error {
    Error::engine(&e)
}

async fn connect() -> Result<Engine, Error> {
    Engine::connect().await.map_err(engine)
}

/// Runs one engine call's future on a runtime of its own (these commands
/// need no project, so no session).
fn block_on<T>(fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::message(format!("cannot start the async runtime: {e}")))?
        .block_on(fut)
}
