//! The loader never panics: property tests over generated and mutated stack
//! files. Every input must end in a stack or in diagnostics.
//!
//! Inputs are built from compose's own vocabulary (keys, short syntaxes,
//! interpolation, anchors, tags) so that they get deep into the loader, then
//! mutated at the byte level to reach the parser's error paths. The number of
//! cases is bounded (PROPTEST_CASES overrides it) so CI time stays predictable.

use proptest::prelude::*;

use crate::load::{Options, load};

const KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "networks",
    "depends_on",
    "links",
    "restart",
    "healthcheck",
    "labels",
    "container_name",
    "cpus",
    "cpuset",
    "cpu_shares",
    "mem_limit",
    "memswap_limit",
    "blkio_config",
    "ulimits",
    "sysctls",
    "devices",
    "dns",
    "extra_hosts",
    "network_mode",
    "volumes_from",
    "logging",
    "profiles",
    "scale",
    "secrets",
    "configs",
    "deploy",
    "extends",
    "stop_grace_period",
    "x-ext",
    "<<",
    "bogus",
];

const VALUES: &[&str] = &[
    "nginx",
    "8080:80",
    "\"127.0.0.1:8080:80/udp\"",
    "9000-9001:90-91",
    "[\"80\", 81]",
    "4m",
    "6m",
    "1g",
    "-1",
    "0.5",
    "0-1",
    "abc",
    "1m30s",
    "always",
    "on-failure:3",
    "nope",
    "${X}",
    "${X:-d}",
    "${X:?boom}",
    "$$",
    "${",
    "[a, b]",
    "{a: b}",
    "[db]",
    "{db: {condition: service_healthy}}",
    "./data:/data:ro",
    "named:/data",
    "/anon",
    "~/x:/x",
    "{type: bind, source: ., target: /t}",
    "[web]",
    "service:web",
    "true",
    "null",
    "~",
    "''",
    "!reset []",
    "!override {a: 1}",
    "&a {x: 1}",
    "*a",
    "[\"CMD\", \"true\"]",
    "{test: [CMD, x], interval: 10s}",
    "{nofile: {soft: 1, hard: 2}}",
    "[A=1, B]",
    "{A: 1, B: null}",
    "é",
    "\"\\u0000\"",
    "[[[",
    "}}",
    "- -",
    ": :",
];

fn service() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(KEYS), prop::sample::select(VALUES)),
        0..8,
    )
    .prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v)| format!("    {k}: {v}\n"))
            .collect::<String>()
    })
}

fn stack() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                prop::sample::select(&["web", "db", "api", "x-common", "a"][..]),
                service(),
            ),
            0..4,
        ),
        prop::sample::select(
            &[
                "",
                "networks: {front: {}}\n",
                "volumes: {data: {}}\n",
                "version: '3'\n",
                "name: ${P:-demo}\n",
                "include: [nope.yaml]\n",
            ][..],
        ),
    )
        .prop_map(|(svcs, tail)| {
            let mut s = String::from("services:\n");
            for (name, body) in svcs {
                s.push_str(&format!("  {name}:\n{body}"));
            }
            s.push_str(tail);
            s
        })
}

/// Byte-level damage: cut, insert, or duplicate a piece.
fn mutated() -> impl Strategy<Value = String> {
    (
        stack(),
        any::<u16>(),
        any::<u16>(),
        prop::sample::select(
            &[
                "", ":", "-", "\t", "[", "{", "\"", "'", "&", "*", "!", "#", "\n  ", "${",
            ][..],
        ),
    )
        .prop_map(|(s, a, b, ins)| {
            let bytes = s.as_bytes();
            if bytes.is_empty() {
                return ins.to_string();
            }
            let i = a as usize % bytes.len();
            let j = (i + b as usize % 16).min(bytes.len());
            let mut out = bytes[..i].to_vec();
            out.extend_from_slice(ins.as_bytes());
            out.extend_from_slice(&bytes[j..]);
            String::from_utf8_lossy(&out).into_owned()
        })
}

fn load_text(dir: &std::path::Path, text: &str) {
    let file = dir.join("compose.yaml");
    std::fs::write(&file, text).unwrap();
    let opts = Options {
        files: vec![file],
        cwd: dir.to_path_buf(),
        ..Options::default()
    };
    // Either outcome is fine; panicking is not.
    let _ = load(&opts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn loading_generated_stacks_never_panics(text in stack()) {
        let dir = tempfile::tempdir().unwrap();
        load_text(dir.path(), &text);
    }

    #[test]
    fn loading_mutated_stacks_never_panics(text in mutated()) {
        let dir = tempfile::tempdir().unwrap();
        load_text(dir.path(), &text);
    }

    #[test]
    fn loading_arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        load_text(dir.path(), &text);
    }
}
