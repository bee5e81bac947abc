//! The loader against hostile shapes (issue 9): property tests whose
//! generators grow the structures an attacker would (alias fan-out,
//! merge-key chains, `extends` and `depends_on` chains and rings, include
//! trees that reach one file by many paths, deep nesting, long lines full of
//! variables) and check that every input is answered, a stack or located
//! errors, with no panic (rendering included) and within a time bound, on
//! the test thread's ordinary stack, so that any recursion on the input's
//! depth would overflow it.
//!
//! The cases are few and bounded (PROPTEST_CASES overrides), so that CI time
//! stays predictable; the sizes reach the tens of thousands, where the
//! quadratic and exponential paths of issue 9 took seconds to hours.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::diag::{RenderOptions, render};
use crate::testutil::dir;

/// Generous for a debug build on a loaded 2-core machine; the release
/// bench (`bench/hostile.sh`) holds the real budget of 2 s.
const BOUND: Duration = Duration::from_secs(30);

/// One hostile shape: the files (the first is `compose.yaml`).
#[derive(Debug, Clone)]
enum Shape {
    /// `levels` anchors, each a list of `fan` aliases of the one before.
    Laughs { levels: usize, fan: usize },
    /// Each map merges the one before (`<<: *m{i-1}`).
    MergeChain { n: usize },
    /// Service i extends service i-1; `base_last` writes the base at the
    /// end; `ring` makes the first extend the last.
    Extends {
        n: usize,
        base_last: bool,
        ring: bool,
    },
    /// Service i depends on service i-1; `ring` closes the loop.
    DependsOn { n: usize, ring: bool },
    /// `depth` files, each including the next `fan` times (by other paths).
    Includes { depth: usize, fan: usize },
    /// Nested flow lists `depth` deep in an extension.
    Nested { depth: usize },
    /// One command of `n` `$a` and `${UNSET_i}`, on one line.
    LongLine { n: usize },
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        (1usize..12, 1usize..12).prop_map(|(levels, fan)| Shape::Laughs { levels, fan }),
        (1usize..20_000).prop_map(|n| Shape::MergeChain { n }),
        (1usize..10_000, any::<bool>(), any::<bool>())
            .prop_map(|(n, base_last, ring)| Shape::Extends { n, base_last, ring }),
        (1usize..50_000, any::<bool>()).prop_map(|(n, ring)| Shape::DependsOn { n, ring }),
        (1usize..30, 1usize..4).prop_map(|(depth, fan)| Shape::Includes { depth, fan }),
        (1usize..5_000).prop_map(|depth| Shape::Nested { depth }),
        (1usize..200_000).prop_map(|n| Shape::LongLine { n }),
    ]
}

fn files(shape: &Shape) -> Vec<(String, String)> {
    let svc = "services:\n  web:\n    image: busybox\n";
    let one = |text: String| vec![("compose.yaml".to_string(), text)];
    match *shape {
        Shape::Laughs { levels, fan } => {
            let mut s = String::from("x-a0: &a0 lol\n");
            for i in 1..=levels {
                let refs = vec![format!("*a{}", i - 1); fan].join(", ");
                s.push_str(&format!("x-a{i}: &a{i} [{refs}]\n"));
            }
            one(s + svc)
        }
        Shape::MergeChain { n } => {
            let mut s = String::from("x-m0: &m0 {k0: v}\n");
            for i in 1..n {
                s.push_str(&format!("x-m{i}: &m{i} {{<<: *m{}, k{i}: v}}\n", i - 1));
            }
            one(s + svc)
        }
        Shape::Extends { n, base_last, ring } => {
            let mut items: Vec<String> = (1..n)
                .map(|i| format!("  s{i}:\n    extends: s{}\n", i - 1))
                .collect();
            let base = if ring {
                format!("  s0:\n    extends: s{}\n", n.saturating_sub(1))
            } else {
                "  s0:\n    image: busybox\n".to_string()
            };
            if base_last {
                items.reverse();
                items.push(base);
            } else {
                items.insert(0, base);
            }
            one(format!("services:\n{}", items.concat()))
        }
        Shape::DependsOn { n, ring } => {
            let mut s = String::from("services:\n");
            for i in 0..n {
                let dep = match (i, ring) {
                    (0, false) => String::new(),
                    (0, true) => format!("    depends_on: [s{}]\n", n - 1),
                    _ => format!("    depends_on: [s{}]\n", i - 1),
                };
                s.push_str(&format!("  s{i}:\n    image: busybox\n{dep}"));
            }
            one(s)
        }
        Shape::Includes { depth, fan } => {
            let mut out = vec![(
                "compose.yaml".to_string(),
                format!("include: [f0.yaml]\n{svc}"),
            )];
            for i in 0..depth {
                let mut s = String::new();
                if i + 1 < depth {
                    s.push_str("include:\n");
                    for k in 0..fan {
                        // The same file by another path each time.
                        s.push_str(&format!("  - {}f{}.yaml\n", "./".repeat(k), i + 1));
                    }
                }
                s.push_str(&format!("services:\n  s{i}:\n    image: busybox\n"));
                out.push((format!("f{i}.yaml"), s));
            }
            out
        }
        Shape::Nested { depth } => one(format!(
            "{svc}x-deep: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        )),
        Shape::LongLine { n } => {
            let mut cmd = String::with_capacity(n * 10);
            for i in 0..n {
                if i % 2 == 0 {
                    cmd.push_str("$a ");
                } else {
                    cmd.push_str(&format!("${{UNSET_{i}}} "));
                }
            }
            one(format!(
                "services:\n  web:\n    image: busybox\n    command: \"{cmd}\"\n"
            ))
        }
    }
}

/// Loads the shape's files and renders every diagnostic: an answer, in
/// time, with errors when it fails.
fn answered(shape: &Shape) -> Result<(), TestCaseError> {
    let files = files(shape);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let d = dir(&refs);
    let start = Instant::now();
    let (diagnostics, sources, failed) = match d.load() {
        Ok(l) => (l.diagnostics, l.sources, false),
        Err(f) => (f.diagnostics, f.sources, true),
    };
    let opts = RenderOptions {
        color: false,
        width: 100,
    };
    let printed: usize = diagnostics
        .iter()
        .map(|diag| render(diag, &sources, opts).len())
        .sum();
    let took = start.elapsed();
    prop_assert!(took < BOUND, "{shape:?} took {took:?}");
    if failed {
        prop_assert!(
            diagnostics.iter().any(|d| d.is_error()),
            "{shape:?} failed without an error"
        );
    }
    // Output stays proportionate to the input, not to its expansion.
    let input: usize = files.iter().map(|(_, t)| t.len()).sum();
    prop_assert!(
        printed <= 64 * input + 1_000_000,
        "{shape:?} printed {printed} bytes for {input} bytes of input"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_hostile_shape_is_answered_in_time_without_a_panic(s in shape()) {
        answered(&s)?;
    }
}

/// The largest of each family once, whatever the generator picks.
#[test]
fn the_largest_of_each_family_is_answered() {
    for s in [
        Shape::Laughs {
            levels: 11,
            fan: 11,
        },
        Shape::MergeChain { n: 20_000 },
        Shape::Extends {
            n: 10_000,
            base_last: true,
            ring: false,
        },
        Shape::Extends {
            n: 10_000,
            base_last: true,
            ring: true,
        },
        Shape::DependsOn {
            n: 50_000,
            ring: false,
        },
        Shape::DependsOn {
            n: 50_000,
            ring: true,
        },
        Shape::Includes { depth: 29, fan: 3 },
        Shape::Nested { depth: 5_000 },
        Shape::LongLine { n: 200_000 },
    ] {
        if let Err(e) = answered(&s) {
            panic!("{e}");
        }
    }
}
