//! The dependency graph: which service waits for which, and in what order they
//! can start.
//!
//! Services are nodes; `depends_on`, `links`, `volumes_from` and
//! `network_mode`, `ipc` and `pid: service:x` are edges from the dependent to
//! its dependency. A cycle is reported with its whole path and a label on each
//! edge where it was written. The order it gives is for display and for `up`'s scheduler; it does
//! not decide what to create.
//!
//! Stack files may come from anyone, and a chain of dependencies is as long as
//! the file makes it: nothing here recurses on the graph (petgraph's
//! `tarjan_scc` does, so components come from the iterative `kosaraju_scc`),
//! and every walk is linear in the number of services and edges.

use std::collections::VecDeque;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diag::Diagnostic;
use crate::model::stack::{Condition, Edge, Stack};

/// A cycle longer than this is shown by its first and last services: a ring
/// of thousands would otherwise make a message of thousands of names.
const CYCLE_SHOWN: usize = 16;

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
        // Which component each node is in, so that the path search stays
        // inside its component in constant time per edge.
        let mut component = vec![usize::MAX; self.graph.node_count()];
        let mut sccs = petgraph::algo::kosaraju_scc(&self.graph);
        // kosaraju gives components in no useful order; report them in file
        // order, by the first service of each.
        for scc in &mut sccs {
            scc.sort_unstable();
        }
        sccs.sort_unstable_by_key(|scc| scc[0]);
        for (id, scc) in sccs.iter().enumerate() {
            for n in scc {
                component[n.index()] = id;
            }
        }
        for (id, scc) in sccs.iter().enumerate() {
            let self_loop = scc.len() == 1 && self.graph.find_edge(scc[0], scc[0]).is_some();
            if scc.len() < 2 && !self_loop {
                continue;
            }
            // Walk the cycle from the service defined first in the file.
            let path = self.cycle_path(scc[0], &component, id);
            out.push(self.cycle_diagnostic(&path, self_loop));
        }
        out
    }

    fn cycle_diagnostic(&self, path: &[(NodeIndex, EdgeIndex)], self_loop: bool) -> Diagnostic {
        let name = |i: usize| self.graph[path[i % path.len()].0].as_str();
        if self_loop {
            let e = &self.graph[path[0].1];
            return Diagnostic::error(format!("service `{}` depends on itself", name(0)))
                .help("remove this dependency: a service cannot wait for itself to start")
                .label(e.span, format!("{} {} itself", name(0), describe(e)));
        }
        // Positions on the cycle that are shown: all of a short one, the
        // head and the tail of a long one.
        let n = path.len();
        let shown = |i: usize| n <= CYCLE_SHOWN || i < CYCLE_SHOWN - 2 || i >= n - 2;
        let mut text = String::new();
        for i in 0..=n {
            if !shown(i) {
                if i == CYCLE_SHOWN - 2 {
                    text.push_str(&format!(" -> ... {} more ...", n - CYCLE_SHOWN));
                }
                continue;
            }
            if i > 0 {
                text.push_str(" -> ");
            }
            text.push_str(name(i));
        }
        let mut d = Diagnostic::error(if n <= CYCLE_SHOWN {
            format!("dependency cycle: {text}")
        } else {
            format!("dependency cycle of {n} services: {text}")
        })
        .help("remove one of these dependencies: services in a cycle can never start");
        for (i, &(_, edge)) in path.iter().enumerate() {
            if shown(i) {
                let e = &self.graph[edge];
                d = d.label(
                    e.span,
                    format!("{} {} {}", name(i), describe(e), name(i + 1)),
                );
            }
        }
        d
    }

    /// A shortest path from `start` back to itself inside its component: each
    /// service on it with the edge it leaves by. Breadth-first, so linear in
    /// the component's size; edges are tried in the order they were written.
    fn cycle_path(
        &self,
        start: NodeIndex,
        component: &[usize],
        id: usize,
    ) -> Vec<(NodeIndex, EdgeIndex)> {
        let mut came_from: Vec<Option<(NodeIndex, EdgeIndex)>> =
            vec![None; self.graph.node_count()];
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        'search: while let Some(at) = queue.pop_front() {
            let mut edges: Vec<_> = self.graph.edges(at).collect();
            edges.sort_by_key(|e| e.id().index());
            for e in edges {
                let next = e.target();
                if next == start {
                    closing = Some((at, e.id()));
                    break 'search;
                }
                if component[next.index()] == id && came_from[next.index()].is_none() {
                    came_from[next.index()] = Some((at, e.id()));
                    queue.push_back(next);
                }
            }
        }
        // Every node of a component lies on a cycle through any other, so the
        // search always closes; an empty path is never returned for one.
        let mut path: Vec<(NodeIndex, EdgeIndex)> = closing.into_iter().collect();
        while let Some(&(at, _)) = path.last() {
            match came_from[at.index()] {
                Some(step) if at != start => path.push(step),
                _ => break,
            }
        }
        path.reverse();
        path
    }

    /// Start order in waves: every service of a wave may start once the waves
    /// before it are up. A service's wave is one more than the highest wave
    /// of what it waits for. Assumes no cycles (an edge that closes one is
    /// ignored).
    pub fn waves(&self) -> Vec<Vec<String>> {
        let g = &self.graph;
        let mut depth: Vec<Option<usize>> = vec![None; g.node_count()];
        let mut on_stack = vec![false; g.node_count()];
        // Depth-first, post-order, with an explicit stack: each frame is a
        // service, the dependencies not yet looked at, and its wave so far.
        let mut stack = Vec::new();
        for &root in self.index.values() {
            if depth[root.index()].is_some() {
                continue;
            }
            on_stack[root.index()] = true;
            stack.push((root, g.neighbors(root), 0usize));
            while let Some((n, neighbors, best)) = stack.last_mut() {
                match neighbors.next() {
                    Some(m) => {
                        if let Some(d) = depth[m.index()] {
                            *best = (*best).max(d + 1);
                        } else if !on_stack[m.index()] {
                            on_stack[m.index()] = true;
                            stack.push((m, g.neighbors(m), 0));
                        }
                    }
                    None => {
                        let (n, best) = (*n, *best);
                        depth[n.index()] = Some(best);
                        on_stack[n.index()] = false;
                        stack.pop();
                        if let Some((_, _, parent)) = stack.last_mut() {
                            *parent = (*parent).max(best + 1);
                        }
                    }
                }
            }
        }
        let max = depth.iter().flatten().copied().max().unwrap_or(0);
        let mut waves = vec![Vec::new(); if self.index.is_empty() { 0 } else { max + 1 }];
        for (name, n) in &self.index {
            waves[depth[n.index()].unwrap_or(0)].push(name.clone());
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
        crate::model::stack::EdgeKind::Ipc => "shares the IPC namespace of",
        crate::model::stack::EdgeKind::Pid => "shares the process namespace of",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::{EdgeKind, Service};
    use crate::source::Span;

    /// Services `s0`..`s{n-1}`, each `s{i}` depending on `s{i+1}`; with
    /// `ring`, the last depends on `s0`.
    fn chain(n: usize, ring: bool) -> Stack {
        let mut stack = Stack::default();
        for i in 0..n {
            let to = if i + 1 < n {
                Some(i + 1)
            } else {
                ring.then_some(0)
            };
            let svc = Service {
                name: format!("s{i}"),
                edges: to
                    .map(|t| Edge {
                        to: format!("s{t}"),
                        kind: EdgeKind::DependsOn,
                        span: Span::default(),
                    })
                    .into_iter()
                    .collect(),
                ..Service::default()
            };
            stack.services.insert(format!("s{i}"), svc);
        }
        stack
    }

    /// Runs `f` on a thread with the stack of an ordinary thread (2 MiB), so
    /// that recursion on the length of a chain overflows it.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn a_chain_of_100000_services_is_ordered_without_recursion() {
        let (cycles, waves) = on_small_stack(|| {
            let g = Graph::new(&chain(100_000, false));
            (g.cycles().len(), g.waves())
        });
        assert_eq!(cycles, 0);
        assert_eq!(waves.len(), 100_000);
        assert_eq!(waves[0], ["s99999"]);
        assert_eq!(waves[99_999], ["s0"]);
    }

    #[test]
    fn a_ring_of_50000_services_is_one_cycle_named_by_its_ends() {
        let started = std::time::Instant::now();
        let cycles = on_small_stack(|| Graph::new(&chain(50_000, true)).cycles());
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].message,
            "dependency cycle of 50000 services: s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 \
             -> s7 -> s8 -> s9 -> s10 -> s11 -> s12 -> s13 -> ... 49984 more ... \
             -> s49998 -> s49999 -> s0"
        );
        assert_eq!(cycles[0].labels.len(), CYCLE_SHOWN);
        // The path search was quadratic: a ring of 10,000 took 13 s.
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn a_short_cycle_is_named_whole_from_the_first_service() {
        let mut stack = chain(4, true);
        // A detour: s1 also depends on s3, so the shortest way round skips s2.
        stack.services["s1"].edges.push(Edge {
            to: "s3".into(),
            kind: EdgeKind::Link,
            span: Span::default(),
        });
        let cycles = Graph::new(&stack).cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].message, "dependency cycle: s0 -> s1 -> s3 -> s0");
        let labels: Vec<&str> = cycles[0].labels.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            labels,
            ["s0 depends on s1", "s1 links to s3", "s3 depends on s0"]
        );
    }

    #[test]
    fn waves_put_a_service_after_all_it_waits_for() {
        let mut stack = chain(3, false);
        stack.services.insert("lone".into(), Service::default());
        stack.services["s0"].edges.push(Edge {
            to: "s2".into(),
            kind: EdgeKind::DependsOn,
            span: Span::default(),
        });
        let waves = Graph::new(&stack).waves();
        assert_eq!(waves, [vec!["s2", "lone"], vec!["s1"], vec!["s0"]]);
    }
}
