//! The dependency graph: which service waits for which, and in what order they
//! can start.
//!
//! Services are nodes; `depends_on`, `links`, `volumes_from` and
//! `network_mode: service:x` are edges from the dependent to its dependency. A
//! cycle is reported with its whole path and a label on each edge where it was
//! written. The order it gives is for display and for `up`'s scheduler; it does
//! not decide what to create.

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::diag::Diagnostic;
use crate::model::stack::{Condition, Edge, Stack};

pub struct Graph {
    pub graph: DiGraph<String, Edge>,
    pub index: IndexMap<String, NodeIndex>,
}

impl Graph {
    pub fn new(stack: &Stack) -> Graph {
        let mut graph = DiGraph::new();
        let mut index = IndexMap::new();
        for name in stack.services.keys() {
            index.insert(name.clone(), graph.add_node(name.clone()));
        }
        for (name, svc) in &stack.services {
            for edge in &svc.edges {
                if let Some(&to) = index.get(&edge.to) {
                    graph.add_edge(index[name], to, edge.clone());
                }
            }
        }
        Graph { graph, index }
    }

    /// Every dependency cycle, each as one diagnostic with its whole path.
    pub fn cycles(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.find_edge(scc[0], scc[0]).is_some();
            if scc.len() < 2 && !self_loop {
                continue;
            }
            // Walk the cycle from the service defined first in the file.
            let start = *scc.iter().min_by_key(|n| n.index()).expect("non-empty");
            let path = self.cycle_path(start, &scc);
            let names: Vec<&str> = path.iter().map(|&(n, _)| self.graph[n].as_str()).collect();
            let mut text: Vec<&str> = names.clone();
            text.push(names[0]);
            let mut d = if self_loop {
                Diagnostic::error(format!("service `{}` depends on itself", names[0]))
                    .help("remove this dependency: a service cannot wait for itself to start")
            } else {
                Diagnostic::error(format!("dependency cycle: {}", text.join(" -> ")))
                    .help("remove one of these dependencies: services in a cycle can never start")
            };
            for (i, &(_, edge)) in path.iter().enumerate() {
                let e = &self.graph[edge];
                let to = if self_loop { "itself" } else { text[i + 1] };
                d = d.label(e.span, format!("{} {} {to}", text[i], describe(e)));
            }
            out.push(d);
        }
        out
    }

    fn cycle_path(
        &self,
        start: NodeIndex,
        scc: &[NodeIndex],
    ) -> Vec<(NodeIndex, petgraph::graph::EdgeIndex)> {
        // Depth-first search inside the component for a path back to start.
        fn dfs(
            g: &DiGraph<String, Edge>,
            at: NodeIndex,
            start: NodeIndex,
            scc: &[NodeIndex],
            seen: &mut Vec<NodeIndex>,
            path: &mut Vec<(NodeIndex, petgraph::graph::EdgeIndex)>,
        ) -> bool {
            let mut edges: Vec<_> = g.edges(at).collect();
            edges.sort_by_key(|e| petgraph::visit::EdgeRef::id(e).index());
            for e in edges {
                use petgraph::visit::EdgeRef;
                let next = e.target();
                if !scc.contains(&next) {
                    continue;
                }
                path.push((at, e.id()));
                if next == start {
                    return true;
                }
                if !seen.contains(&next) {
                    seen.push(next);
                    if dfs(g, next, start, scc, seen, path) {
                        return true;
                    }
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        let mut seen = vec![start];
        dfs(&self.graph, start, start, scc, &mut seen, &mut path);
        path
    }

    /// Start order in waves: every service of a wave may start once the waves
    /// before it are up. Assumes no cycles.
    pub fn waves(&self) -> Vec<Vec<String>> {
        let mut depth: IndexMap<NodeIndex, usize> = IndexMap::new();
        fn visit(
            g: &DiGraph<String, Edge>,
            n: NodeIndex,
            depth: &mut IndexMap<NodeIndex, usize>,
            guard: usize,
        ) -> usize {
            if let Some(&d) = depth.get(&n) {
                return d;
            }
            if guard > g.node_count() {
                return 0;
            }
            let d = g
                .neighbors(n)
                .map(|m| visit(g, m, depth, guard + 1) + 1)
                .max()
                .unwrap_or(0);
            depth.insert(n, d);
            d
        }
        for &n in self.index.values() {
            visit(&self.graph, n, &mut depth, 0);
        }
        let max = depth.values().copied().max().unwrap_or(0);
        let mut waves = vec![Vec::new(); if self.index.is_empty() { 0 } else { max + 1 }];
        for (name, n) in &self.index {
            waves[depth[n]].push(name.clone());
        }
        waves
    }

    /// What one service waits for, with the condition.
    pub fn waits_for(&self, stack: &Stack, name: &str) -> Vec<(String, Condition, bool)> {
        let svc = &stack.services[name];
        svc.depends_on
            .iter()
            .map(|(dep, d)| (dep.clone(), d.condition, d.required))
            .collect()
    }
}

fn describe(e: &Edge) -> &'static str {
    match e.kind {
        crate::model::stack::EdgeKind::DependsOn => "depends on",
        crate::model::stack::EdgeKind::Link => "links to",
        crate::model::stack::EdgeKind::VolumesFrom => "takes volumes from",
        crate::model::stack::EdgeKind::NetworkMode => "shares the network of",
    }
}
