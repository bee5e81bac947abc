//! `berth ps`: the project's containers, one row each: service, container,
//! state, health, published ports. Running ones only, unless `--all`.
//!
//! Reads one label-filtered container list; health comes from the list's
//! status text ("Up 2 minutes (healthy)"), so no inspect is needed.

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

use super::down::project;
use super::up::{connect, engine_failed, runtime};
use super::{Global, Outcome, print_out};
use crate::identity;
use crate::output::{Progress, ProgressMode};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    /// One JSON object per container per line
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Stopped containers too
    #[arg(short = 'a', long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// One row of the listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    #[serde(rename = "Service")]
    pub service: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "Health")]
    pub health: String,
    #[serde(rename = "Ports")]
    pub ports: String,
}

pub fn run(global: &Global, args: PsArgs) -> Outcome {
    let progress = Progress::stderr(ProgressMode::detect());
    let (_, project) = match project(global, &progress) {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    let listed = runtime().block_on(async {
        let engine = connect(&progress).await?;
        engine.list_containers(&project).await.map_err(|e| {
            engine_failed(&e, &progress);
            Outcome::Invalid
        })
    });
    let listed = match listed {
        Ok(l) => l,
        Err(outcome) => return outcome,
    };
    let mut rows: Vec<Row> = listed
        .iter()
        .filter(|c| args.all || c.state == Some(ContainerSummaryStateEnum::RUNNING))
        .map(row)
        .collect();
    rows.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
    let text = match args.format {
        Format::Table => table(&rows),
        Format::Json => rows
            .iter()
            .map(|r| format!("{}\n", serde_json::to_string(r).unwrap_or_default()))
            .collect(),
    };
    print_out(&text);
    Outcome::Success
}

fn row(c: &ContainerSummary) -> Row {
    let label = |k: &str| {
        c.labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let name = c
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let status = c.status.clone().unwrap_or_default();
    Row {
        service: label(identity::SERVICE),
        name,
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        health: health(&status).to_string(),
        ports: ports(c),
    }
}

/// The health in the list's status text, as the engine words it there.
fn health(status: &str) -> &'static str {
    if status.contains("(healthy)") {
        "healthy"
    } else if status.contains("(unhealthy)") {
        "unhealthy"
    } else if status.contains("(health: starting)") {
        "starting"
    } else {
        ""
    }
}

/// `127.0.0.1:32768->8080/tcp, 9000/tcp`, as `docker ps` prints them.
fn ports(c: &ContainerSummary) -> String {
    let mut ports: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            match (p.public_port, p.ip.as_deref()) {
                (Some(public), Some(ip)) if !ip.is_empty() => {
                    format!("{ip}:{public}->{}/{proto}", p.private_port)
                }
                (Some(public), _) => format!("{public}->{}/{proto}", p.private_port),
                (None, _) => format!("{}/{proto}", p.private_port),
            }
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports.join(", ")
}

fn table(rows: &[Row]) -> String {
    let header = ["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS"];
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| [&*r.service, &*r.name, &*r.state, &*r.health, &*r.ports])
        .collect();
    let mut widths = header.map(str::len);
    for c in &cells {
        for (w, cell) in widths.iter_mut().zip(c) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(&header).chain(&cells) {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_leaves_no_trailing_spaces() {
        let rows = vec![Row {
            service: "db".into(),
            name: "p-db-1".into(),
            state: "running".into(),
            health: "healthy".into(),
            ports: "127.0.0.1:5432->5432/tcp".into(),
        }];
        assert_eq!(
            table(&rows),
            "SERVICE   CONTAINER   STATE     HEALTH    PORTS\n\
             db        p-db-1      running   healthy   127.0.0.1:5432->5432/tcp\n"
        );
    }

    #[test]
    fn health_is_read_from_the_status_text() {
        assert_eq!(health("Up 3 seconds (health: starting)"), "starting");
        assert_eq!(health("Up 2 minutes (healthy)"), "healthy");
        assert_eq!(health("Up 2 minutes (unhealthy)"), "unhealthy");
        assert_eq!(health("Exited (0) 1 second ago"), "");
    }
}
