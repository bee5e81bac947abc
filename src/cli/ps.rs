//! `berth ps`: the project's containers, one row each: service, container,
//! state, health, published ports. Those the engine lists by default
//! (running, paused, restarting) unless `--all` or `--status`, as compose.
//! `--format json` prints compose's fields ([`crate::output::ps_json`]); `-q`
//! the ids, `--services` the services, as `docker compose ps` does. The
//! tables and the `--swarm` rows are [`crate::output::ps`]'s.
//!
//! Reads one label-filtered container list; health comes from the list's
//! status text ("Up 2 minutes (healthy)"), so no inspect is needed (the JSON
//! inspects only a `dead` container, for its exit code).
//!
//! `--swarm`: the project's Swarm services instead, one row each (mode,
//! replicas running of desired, image, ports), then their tasks, each named
//! `service.slot` (`service.node` for a global service) as `logs --swarm`
//! prefixes its lines: the service, node and task lists, one call each.
//! Only the tasks the swarm wants running, unless `--all`.

use bollard::models::ContainerSummary;

use super::error::Error;
use super::session::{Needs, Session};
use super::{Global, Outcome, print_out};
use crate::engine::clock::now_secs;
use crate::observe::{self, ContainerState, Status};
use crate::output::ps::{container_table, ingress_notes, service_rows, swarm_json, swarm_table};
use crate::output::ps_json;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    /// One JSON object per container per line, in the shape of `docker
    /// compose ps --format json` (with --swarm: per service, its tasks in
    /// `Tasks`)
    Json,
}

/// A container state that `--status` and `--filter status=` select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    Paused,
    Restarting,
    Removing,
    Running,
    Dead,
    Created,
    Exited,
}

impl StatusFilter {
    fn matches(self, status: Status) -> bool {
        self.name() == status.as_str()
    }

    fn name(self) -> &'static str {
        match self {
            StatusFilter::Paused => "paused",
            StatusFilter::Restarting => "restarting",
            StatusFilter::Removing => "removing",
            StatusFilter::Running => "running",
            StatusFilter::Dead => "dead",
            StatusFilter::Created => "created",
            StatusFilter::Exited => "exited",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Only these services' containers
    #[arg(value_name = "SERVICE")]
    pub services_named: Vec<String>,
    /// Stopped containers too (with --swarm: every task the swarm keeps,
    /// not only those it wants running)
    #[arg(short = 'a', long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only the containers' ids, in full, one per line
    #[arg(short = 'q', long, conflicts_with = "swarm")]
    pub quiet: bool,
    /// Only the services that have a listed container, one per line
    #[arg(long, conflicts_with = "swarm")]
    pub services: bool,
    /// Only containers in this state (repeatable; implies --all)
    #[arg(long, value_enum, value_name = "STATUS", conflicts_with = "swarm")]
    pub status: Vec<StatusFilter>,
    /// `status=STATUS`: the same as --status STATUS
    #[arg(long, value_name = "KEY=VALUE", conflicts_with = "swarm")]
    pub filter: Option<String>,
    /// Whole ids, commands and mount names in --format json
    #[arg(long)]
    pub no_trunc: bool,
    /// The project's Swarm services and their tasks (deployed with `up
    /// --swarm`)
    #[arg(long)]
    pub swarm: bool,
}

/// The states `--status` and `--filter` ask for; empty when neither is
/// given. compose's `--filter` takes one `status=VALUE`.
fn status_filter(args: &PsArgs) -> Result<Vec<StatusFilter>, String> {
    let mut out = args.status.clone();
    if let Some(filter) = &args.filter {
        let Some((key, value)) = filter.split_once('=') else {
            return Err(format!(
                "--filter `{filter}` is not KEY=VALUE; use --filter status=running, say"
            ));
        };
        if key != "status" {
            return Err(format!(
                "unknown filter `{key}`; the only filter is `status` (--filter status=running)"
            ));
        }
        let status = <StatusFilter as clap::ValueEnum>::from_str(value, false).map_err(|_| {
            format!(
                "unknown status `{value}` in --filter; use one of paused, restarting, \
                 removing, running, dead, created, exited"
            )
        })?;
        out.push(status);
    }
    Ok(out)
}

/// Whether a container is listed: without `--all` or a status filter only
/// those the engine lists by default (running, paused or restarting), as
/// compose lists them.
fn listed(status: Status, all: bool, filter: &[StatusFilter]) -> bool {
    if !filter.is_empty() {
        return filter.iter().any(|f| f.matches(status));
    }
    all || matches!(
        status,
        Status::Running | Status::Paused | Status::Restarting
    )
}

pub fn run(global: &Global, args: PsArgs) -> Result<Outcome, Error> {
    let filter = status_filter(&args).map_err(Error::message)?;
    let session = Session::open(global, Needs::read())?;
    if args.swarm {
        return swarm(&session, &args);
    }
    let unknown = session.stack().and_then(|stack| {
        let unknown = args
            .services_named
            .iter()
            .find(|s| !stack.services.contains_key(*s))?;
        let known: Vec<&str> = stack.services.keys().map(String::as_str).collect();
        Some(format!(
            "no such service: {unknown}; the stack's services are {}",
            known.join(", ")
        ))
    });
    if let Some(message) = unknown {
        return Err(Error::message(message));
    }
    let s = &session;
    let wanted = |c: &ContainerState| {
        listed(c.status, args.all, &filter)
            && (args.services_named.is_empty()
                || c.service
                    .as_ref()
                    .is_some_and(|s| args.services_named.contains(s)))
    };
    let json = matches!(args.format, Format::Json) && !args.quiet && !args.services;
    let (listed, exit_codes, remote) = session.block_on(async {
        let engine = s.engine()?;
        let mut listed: Vec<(ContainerState, ContainerSummary)> = engine
            .answering(engine.list_containers(&s.project))
            .await
            .map_err(|e| Error::engine(&e))?
            .into_iter()
            .map(|c| (observe::container_from_summary(&c), c))
            .filter(|(state, _)| wanted(state))
            .collect();
        listed.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        // Only for the JSON's ExitCode of a container whose status text
        // does not say it.
        let mut exit_codes = std::collections::HashMap::new();
        if json {
            let ids: Vec<&str> = listed
                .iter()
                .filter(|(_, c)| ps_json::needs_inspect(c))
                .map(|(state, _)| state.id.as_str())
                .collect();
            let inspects =
                futures_util::future::join_all(ids.iter().map(|id| engine.inspect_container(id)))
                    .await;
            for (id, inspect) in ids.iter().zip(inspects) {
                if let Some(code) = inspect.ok().and_then(|i| i.state?.exit_code) {
                    exit_codes.insert(id.to_string(), code);
                }
            }
        }
        Ok((listed, exit_codes, engine.remote_host()))
    })?;
    let text = if args.quiet {
        listed.iter().map(|(c, _)| format!("{}\n", c.id)).collect()
    } else if args.services {
        let mut services: Vec<&str> = Vec::new();
        for (c, _) in &listed {
            let service = c.service.as_deref().unwrap_or_default();
            if !services.contains(&service) {
                services.push(service);
            }
        }
        services.iter().map(|s| format!("{s}\n")).collect()
    } else {
        match args.format {
            Format::Table => container_table(listed.iter().map(|(c, _)| c), remote.as_deref()),
            Format::Json => {
                let cx = ps_json::Context {
                    trunc: !args.no_trunc,
                    now: now_secs(),
                    zone: &crate::output::go_format::local_zone,
                };
                listed
                    .iter()
                    .map(|(state, c)| {
                        let code = exit_codes.get(&state.id).copied();
                        ps_json::to_json_line(&ps_json::row(c, code, &cx))
                    })
                    .collect()
            }
        }
    };
    print_out(&text)?;
    Ok(Outcome::Success)
}

/// `ps --swarm`.
fn swarm(s: &Session, args: &PsArgs) -> Result<Outcome, Error> {
    let (services, local) = s.block_on(async {
        let engine = s.swarm_manager().await?;
        let services = observe::observe_swarm_tasks(&engine, &s.project)
            .await
            .map_err(|e| Error::engine(&e))?;
        Ok((services, engine.host.starts_with("unix://")))
    })?;
    let rows = service_rows(&services, &s.project, args.all);
    let text = match args.format {
        Format::Table => {
            let mut text = swarm_table(&rows, now_secs());
            // Without IPVS (no /proc/net/ip_vs) the engine on this host
            // cannot route virtual IPs or the ingress mesh.
            if local && !std::path::Path::new("/proc/net/ip_vs").exists() {
                text.push_str(&ingress_notes(&services));
            }
            text
        }
        Format::Json => swarm_json(&rows),
    };
    print_out(&text)?;
    Ok(Outcome::Success)
}
