//! `berth graph` shows the start order and the conditions, in three formats.

use crate::support::*;

/// `berth graph ARGS` on a shop whose services wait for each other in
/// every way compose knows.
fn graph(args: &[&str]) -> Run {
    Berth::new()
        .file(
            "compose.yaml",
            "name: shop\n\
             services:\n\
             \x20 web:\n    image: web\n    depends_on:\n      api: {condition: service_healthy}\n      cache: {condition: service_started, required: false}\n\
             \x20 api:\n    image: api\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n      db: {condition: service_healthy}\n\
             \x20 migrate:\n    image: api\n    depends_on: [db]\n\
             \x20 db:\n    image: mysql\n\
             \x20 cache:\n    image: redis\n",
        )
        .arg("graph")
        .args(args)
        .run()
}

#[test]
fn text_graph_numbers_start_waves_and_names_conditions() {
    let run = graph(&[]).ok();
    assert_eq!(
        run.stdout(),
        "shop: start order (5 services)\n\
         \x20  1. db\n\
         \x20  1. cache\n\
         \x20  2. migrate  waits for db to start\n\
         \x20  3. api      waits for migrate to complete successfully, db to be healthy\n\
         \x20  4. web      waits for api to be healthy, cache to start (optional)\n\
         Services with the same number start in parallel.\n"
    );
}

#[test]
fn dot_graph_has_one_labelled_edge_per_dependency() {
    let run = graph(&["--format", "dot"]).ok();
    assert_eq!(
        run.stdout(),
        "digraph \"shop\" {\n  rankdir=BT;\n\
         \x20 \"web\";\n\
         \x20 \"web\" -> \"api\" [label=\"healthy\"];\n\
         \x20 \"web\" -> \"cache\" [label=\"started\", style=dashed];\n\
         \x20 \"api\";\n\
         \x20 \"api\" -> \"migrate\" [label=\"completed successfully\"];\n\
         \x20 \"api\" -> \"db\" [label=\"healthy\"];\n\
         \x20 \"migrate\";\n\
         \x20 \"migrate\" -> \"db\" [label=\"started\"];\n\
         \x20 \"db\";\n\
         \x20 \"cache\";\n\
         }\n"
    );
}

#[test]
fn mermaid_graph_marks_optional_dependencies_dotted() {
    let run = graph(&["--format", "mermaid"]).ok();
    let text = run.stdout();
    assert!(text.starts_with("graph BT\n"), "{text}");
    assert!(text.contains("  web -.->|started| cache\n"), "{text}");
    assert!(
        text.contains("  api -->|completed successfully| migrate\n"),
        "{text}"
    );
}

#[test]
fn graph_of_a_cyclic_stack_fails_with_the_cycle() {
    let run = Berth::new()
        .file(
            "compose.yaml",
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
        )
        .arg("graph")
        .run()
        .code_is(1);
    assert!(
        run.stderr().contains("dependency cycle: a -> b -> a"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
}
