//! `berth ls`: the projects on the engine, as `docker compose ls` lists
//! them: berth's (`io.berth.project`) and compose's
//! (`com.docker.compose.project`), one row each with its containers' states
//! counted and its config files (compose's projects only: berth records no
//! files on its containers). Projects with a running container unless
//! `--all`; `--filter name=NAME` keeps the projects whose name contains
//! NAME; `--format json` and `-q` as compose. The rows are
//! [`crate::output::ls`]'s.
//!
//! Reads one container list per label kind (the engine ANDs label filters,
//! so one call cannot ask for either), and inspects nothing. It does not
//! need a stack file or a project name.

use bollard::models::ContainerSummary;

use super::error::Error;
use super::session::{Needs, Session};
use super::{Global, Outcome, print_out};
use crate::identity;
use crate::output::ls::{self, Member};

/// The label compose puts its project's name in.
const COMPOSE_PROJECT: &str = "com.docker.compose.project";
/// The label compose puts the files a project was brought up from in,
/// comma-separated.
const COMPOSE_CONFIG_FILES: &str = "com.docker.compose.project.config_files";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    /// One JSON array of `{"Name", "Status", "ConfigFiles"}`, as `docker
    /// compose ls --format json`
    Json,
}

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Stopped projects too
    #[arg(short = 'a', long)]
    pub all: bool,
    /// `name=NAME`: only projects whose name contains NAME (repeatable: any)
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only the projects' names, one per line
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// The names `--filter` asks for; empty when it is not given.
fn name_filter(filters: &[String]) -> Result<Vec<String>, String> {
    filters
        .iter()
        .map(|filter| {
            let Some((key, value)) = filter.split_once('=') else {
                return Err(format!(
                    "--filter `{filter}` is not KEY=VALUE; use --filter name=myproject, say"
                ));
            };
            if key != "name" {
                return Err(format!(
                    "unknown filter `{key}`; the only filter is `name` (--filter name=myproject)"
                ));
            }
            Ok(value.to_string())
        })
        .collect()
}

/// The container as the listing sees it, by the project label `key`.
fn member(c: &ContainerSummary, key: &str) -> Option<Member> {
    let labels = c.labels.as_ref()?;
    Some(Member {
        project: labels.get(key)?.clone(),
        state: c.state.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        config_files: labels.get(COMPOSE_CONFIG_FILES).cloned(),
    })
}

pub fn run(_global: &Global, args: LsArgs) -> Result<Outcome, Error> {
    let names = name_filter(&args.filter).map_err(Error::message)?;
    // No project of its own: the session only brings the runtime.
    let session = Session::for_project("", Needs::read())?;
    let members = session.block_on(async {
        let engine = session.connect().await?;
        let mut members = Vec::new();
        for key in [identity::PROJECT, COMPOSE_PROJECT] {
            let listed = engine
                .list_labelled(key, args.all)
                .await
                .map_err(|e| Error::engine(&e))?;
            members.extend(listed.iter().filter_map(|c| member(c, key)));
        }
        Ok(members)
    })?;
    let rows: Vec<_> = ls::projects(&members)
        .into_iter()
        .filter(|r| names.is_empty() || names.iter().any(|n| r.name.contains(n.as_str())))
        .collect();
    let text = if args.quiet {
        ls::names(&rows)
    } else {
        match args.format {
            Format::Table => ls::table(&rows),
            Format::Json => ls::json(&rows),
        }
    };
    print_out(&text)?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_filter_is_name() {
        assert_eq!(
            name_filter(&["name=web".into(), "name=db".into()]).unwrap(),
            vec!["web", "db"]
        );
        assert!(
            name_filter(&["status=running".into()])
                .unwrap_err()
                .contains("unknown filter")
        );
        assert!(
            name_filter(&["name".into()])
                .unwrap_err()
                .contains("not KEY=VALUE")
        );
    }
}
