//! What `berth ls` prints: the projects on the engine, one row each, as
//! `docker compose ls` prints them: a table (`NAME  STATUS  CONFIG FILES`),
//! a JSON array of `{"Name", "Status", "ConfigFiles"}`, or the names alone.
//!
//! It works on the containers' project, state and config-files label as the
//! command read them from the container list; which containers those are
//! (running only, or all) and which projects a filter keeps is the command's
//! choice, not this file's.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ps::grid;

/// One container, as far as the listing cares: its project, its state
/// (`running`, `exited`...) and the files its project was brought up from,
/// when the container says (compose's `config_files` label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub project: String,
    pub state: String,
    pub config_files: Option<String>,
}

/// One project, in compose's JSON field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectRow {
    pub name: String,
    /// `exited(1), running(2)`: each state with its count, states in
    /// alphabetical order, as compose combines them.
    pub status: String,
    /// The distinct config-file labels of its containers, joined by `,`.
    pub config_files: String,
}

/// The projects the containers belong to, by name.
pub fn projects(members: &[Member]) -> Vec<ProjectRow> {
    let mut by_project: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
    for m in members {
        by_project.entry(&m.project).or_default().push(m);
    }
    by_project
        .into_iter()
        .map(|(name, members)| {
            let mut states: BTreeMap<&str, usize> = BTreeMap::new();
            let mut files: Vec<&str> = Vec::new();
            for m in &members {
                *states.entry(&m.state).or_default() += 1;
                if let Some(f) = m.config_files.as_deref().filter(|f| !f.is_empty())
                    && !files.contains(&f)
                {
                    files.push(f);
                }
            }
            ProjectRow {
                name: name.to_string(),
                status: states
                    .iter()
                    .map(|(state, n)| format!("{state}({n})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                config_files: files.join(","),
            }
        })
        .collect()
}

pub fn table(rows: &[ProjectRow]) -> String {
    let cells: Vec<[&str; 3]> = rows
        .iter()
        .map(|r| [r.name.as_str(), r.status.as_str(), r.config_files.as_str()])
        .collect();
    grid(["NAME", "STATUS", "CONFIG FILES"], &cells)
}

/// One JSON array on one line (`[]` when there is no project), as compose.
pub fn json(rows: &[ProjectRow]) -> String {
    let mut out = serde_json::to_string(rows).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

/// The names, one per line.
pub fn names(rows: &[ProjectRow]) -> String {
    rows.iter().map(|r| format!("{}\n", r.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(project: &str, state: &str, files: Option<&str>) -> Member {
        Member {
            project: project.to_string(),
            state: state.to_string(),
            config_files: files.map(str::to_string),
        }
    }

    fn sample() -> Vec<ProjectRow> {
        projects(&[
            member("web", "running", Some("/s/compose.yaml")),
            member("app", "running", None),
            member("web", "exited", Some("/s/compose.yaml")),
            member("web", "running", Some("/s/compose.yaml,/s/more.yaml")),
            member("app", "running", None),
        ])
    }

    #[test]
    fn projects_are_sorted_with_their_states_counted_in_alphabetical_order() {
        let rows = sample();
        assert_eq!(
            rows,
            vec![
                ProjectRow {
                    name: "app".into(),
                    status: "running(2)".into(),
                    config_files: String::new(),
                },
                ProjectRow {
                    name: "web".into(),
                    status: "exited(1), running(2)".into(),
                    config_files: "/s/compose.yaml,/s/compose.yaml,/s/more.yaml".into(),
                },
            ]
        );
    }

    #[test]
    fn the_table_has_composes_columns() {
        assert_eq!(
            table(&sample()),
            "NAME   STATUS                  CONFIG FILES\n\
             app    running(2)\n\
             web    exited(1), running(2)   /s/compose.yaml,/s/compose.yaml,/s/more.yaml\n"
        );
        assert_eq!(table(&[]), "NAME   STATUS   CONFIG FILES\n");
    }

    #[test]
    fn json_is_one_array_in_composes_field_names() {
        assert_eq!(json(&[]), "[]\n");
        let rows = projects(&[member("app", "running", Some("/a.yaml"))]);
        assert_eq!(
            json(&rows),
            "[{\"Name\":\"app\",\"Status\":\"running(1)\",\"ConfigFiles\":\"/a.yaml\"}]\n"
        );
    }

    #[test]
    fn names_are_one_per_line() {
        assert_eq!(names(&sample()), "app\nweb\n");
    }
}
