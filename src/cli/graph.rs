//! `berth graph`: the dependency graph and the start order.

use std::fmt::Write;
use std::path::PathBuf;

use super::{Error, Global, Outcome, load_stack, print_out};
use crate::graph::Graph;
use crate::model::stack::{Condition, Stack};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(global: &Global, args: GraphArgs) -> Result<Outcome, Error> {
    let loaded = load_stack(global, args.file.as_ref())?;
    let stack = &loaded.stack;
    let graph = Graph::new(stack);
    let text = match args.format {
        Format::Text => text(stack, &graph),
        Format::Dot => dot(stack),
        Format::Mermaid => mermaid(stack),
    };
    print_out(&text)?;
    Ok(Outcome::Success)
}

fn condition_word(c: Condition) -> &'static str {
    match c {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed successfully",
    }
}

fn condition_phrase(c: Condition) -> &'static str {
    match c {
        Condition::ServiceStarted => "to start",
        Condition::ServiceHealthy => "to be healthy",
        Condition::ServiceCompletedSuccessfully => "to complete successfully",
    }
}

/// One line per service, numbered by start wave: services with the same
/// number may start in parallel, each once what it waits for is ready.
fn text(stack: &Stack, graph: &Graph) -> String {
    let mut out = String::new();
    let waves = graph.waves();
    let _ = writeln!(
        out,
        "{}: start order ({} services)",
        stack.name,
        stack.services.len()
    );
    let width = stack.services.keys().map(|k| k.len()).max().unwrap_or(0);
    for (i, wave) in waves.iter().enumerate() {
        for name in wave {
            let waits: Vec<String> = graph
                .waits_for(stack, name)
                .iter()
                .map(|(d, c, required)| {
                    let optional = if *required { "" } else { " (optional)" };
                    format!("{d} {}{optional}", condition_phrase(*c))
                })
                .collect();
            if waits.is_empty() {
                let _ = writeln!(out, "  {:>2}. {name}", i + 1);
            } else {
                let _ = writeln!(
                    out,
                    "  {:>2}. {name:<width$}  waits for {}",
                    i + 1,
                    waits.join(", ")
                );
            }
        }
    }
    if waves.iter().any(|w| w.len() > 1) {
        out.push_str("Services with the same number start in parallel.\n");
    }
    out
}

fn dot(stack: &Stack) -> String {
    let mut out = format!("digraph \"{}\" {{\n  rankdir=BT;\n", stack.name);
    for (name, svc) in &stack.services {
        let _ = writeln!(out, "  \"{name}\";");
        for (dep, d) in &svc.depends_on {
            let style = if d.required { "" } else { ", style=dashed" };
            let _ = writeln!(
                out,
                "  \"{name}\" -> \"{dep}\" [label=\"{}\"{style}];",
                condition_word(d.condition)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid(stack: &Stack) -> String {
    let id = |s: &str| s.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
    let mut out = String::from("graph BT\n");
    for (name, svc) in &stack.services {
        let _ = writeln!(out, "  {}[\"{name}\"]", id(name));
        for (dep, d) in &svc.depends_on {
            let arrow = if d.required { "-->" } else { "-.->" };
            let _ = writeln!(
                out,
                "  {} {arrow}|{}| {}",
                id(name),
                condition_word(d.condition),
                id(dep)
            );
        }
    }
    out
}
