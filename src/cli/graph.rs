//! `berth graph`: the dependency graph and the start order.

use std::fmt::Write;
use std::path::PathBuf;

use super::{Global, Outcome, load_stack, print_out};
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

pub fn run(global: &Global, args: GraphArgs) -> Outcome {
    let Some(loaded) = load_stack(global, args.file.as_ref()) else {
        return Outcome::Invalid;
    };
    let stack = &loaded.stack;
    let graph = Graph::new(stack);
    let text = match args.format {
        Format::Text => text(stack, &graph),
        Format::Dot => dot(stack),
        Format::Mermaid => mermaid(stack),
    };
    print_out(&text);
    Outcome::Success
}

fn condition_word(c: Condition) -> &'static str {
    match c {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed successfully",
    }
}

fn text(stack: &Stack, graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "project {}", stack.name);
    for (i, wave) in graph.waves().iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {}",
            i + 1,
            if wave.len() > 1 { "in parallel:" } else { "" }.trim_end()
        );
        for name in wave {
            let waits = graph.waits_for(stack, name);
            if waits.is_empty() {
                let _ = writeln!(out, "   {name}");
            } else {
                let w: Vec<String> = waits
                    .iter()
                    .map(|(d, c, req)| {
                        format!(
                            "{d} {}{}",
                            condition_word(*c),
                            if *req { "" } else { " (optional)" }
                        )
                    })
                    .collect();
                let _ = writeln!(out, "   {name}  (waits for {})", w.join(", "));
            }
        }
    }
    out.replace(". \n", ".\n")
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
