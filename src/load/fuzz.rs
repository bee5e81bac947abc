//! The loader's contract, checked by property tests over generated and
//! mutated stack files: it never panics, and every input ends in a stack or
//! in diagnostics with at least one error.
//!
//! Inputs are built from compose's own vocabulary (keys, short syntaxes,
//! interpolation, anchors, tags) so that they get deep into the loader, then
//! mutated at the byte level to reach the parser's error paths. The number of
//! cases is bounded (PROPTEST_CASES overrides it) so CI time stays predictable.

use proptest::prelude::*;

use crate::diag::Diagnostic;
use crate::testutil::dir;

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

/// The loader's contract, for one input: it returns a stack (whose
/// diagnostics are only warnings), or fails with at least one error. A
/// failure made of warnings alone would leave the user with nothing to fix.
fn assert_loads_or_reports_an_error(text: &str) -> Result<(), TestCaseError> {
    let d = dir(&[("compose.yaml", text)]);
    match d.load() {
        Ok(loaded) => {
            let errors: Vec<&str> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.as_str())
                .collect();
            prop_assert!(
                errors.is_empty(),
                "the stack loaded, yet with errors {errors:?}"
            );
        }
        Err(failed) => {
            let messages: Vec<&str> = failed
                .diagnostics
                .iter()
                .map(|d| d.message.as_str())
                .collect();
            prop_assert!(
                failed.diagnostics.iter().any(Diagnostic::is_error),
                "loading failed without an error; diagnostics: {messages:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_generated_stack_loads_or_fails_with_an_error(text in stack()) {
        assert_loads_or_reports_an_error(&text)?;
    }

    #[test]
    fn a_mutated_stack_loads_or_fails_with_an_error(text in mutated()) {
        assert_loads_or_reports_an_error(&text)?;
    }

    #[test]
    fn arbitrary_text_loads_or_fails_with_an_error(text in "\\PC{0,200}") {
        assert_loads_or_reports_an_error(&text)?;
    }
}
