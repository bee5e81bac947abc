//! `berth ps`: the project's containers, one row each: service, container,
//! state, health, published ports. Running ones only, unless `--all`.
//!
//! Reads one label-filtered container list; health comes from the list's
//! status text ("Up 2 minutes (healthy)"), so no inspect is needed.

use super::error::Error;
use super::session::{Needs, Session};
use super::{Global, Outcome, print_out};
use crate::observe::{ContainerState, Status};

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

pub fn run(global: &Global, args: PsArgs) -> Result<Outcome, Error> {
    let session = Session::open(global, Needs::read())?;
    let s = &session;
    let observed = session.block_on(async {
        let engine = s.connect().await?;
        crate::observe::observe_containers(&engine, &s.project)
            .await
            .map_err(|e| Error::engine(s.mode(), &e))
    })?;
    let mut rows: Vec<Row> = observed
        .containers
        .iter()
        .filter(|c| args.all || c.status == Status::Running)
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
    print_out(&text)?;
    Ok(Outcome::Success)
}

fn row(c: &ContainerState) -> Row {
    Row {
        service: c.service.clone().unwrap_or_default(),
        name: c.name.clone(),
        state: c.status.as_str().to_string(),
        health: c.health.map(|h| h.as_str()).unwrap_or_default().to_string(),
        ports: ports(c),
    }
}

/// `127.0.0.1:32768->8080/tcp, 9000/tcp`, as `docker ps` prints them.
fn ports(c: &ContainerState) -> String {
    let ports: Vec<String> = c
        .ports
        .iter()
        .map(|p| match (p.public, &p.ip) {
            (Some(public), Some(ip)) => format!("{ip}:{public}->{}/{}", p.private, p.protocol),
            (Some(public), None) => format!("{public}->{}/{}", p.private, p.protocol),
            (None, _) => format!("{}/{}", p.private, p.protocol),
        })
        .collect();
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
}
