//! Values that come from variables are kept as written (issue 15): a
//! property test over every field the model holds as text.
//!
//! compose interpolates after YAML has typed the document, so a scalar that
//! held `${VAR}` is a string whatever the variable holds: `ZIP: ${ZIP}` with
//! `ZIP=0012` is `0012`, not the octal number 10, and `VER=1.10` stays `1.10`.
//! The generator leans on the texts YAML would otherwise re-type (octal,
//! hex, floats with trailing zeros, booleans, nulls, infinities, numbers
//! with `_`), and adds arbitrary text. Each value goes into each field both
//! unquoted and quoted, alone and inside other text.

use proptest::prelude::*;

use crate::load::{Options, load};
use crate::model::stack::Stack;
use crate::testutil::dir;

/// Texts a YAML 1.1/1.2 resolver would turn into something else.
const RETYPED: &[&str] = &[
    "0012",
    "1.10",
    "0x1F",
    "0o17",
    "0b101",
    "08",
    "1_000",
    "+1",
    "-0",
    "1.",
    ".5",
    "1e3",
    "1E+3",
    "true",
    "False",
    "TRUE",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "",
    ".inf",
    "-.Inf",
    ".nan",
    "NaN",
    "12345678901234567890",
    "0.10",
    "007",
    "  12 ",
    "1:2",
    "0:0",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(RETYPED).prop_map(str::to_string),
        "[-+0-9._xXoObBeE]{1,10}",
        // Anything but NUL, which no environment variable can hold.
        "[^\u{0}]{0,24}",
    ]
}

/// The stack: every text field holds `${V}` (unquoted), `"${V}"` (quoted)
/// or `p-${V}` (inside other text), and each field's expected value is the
/// variable's text, or `p-` and that text.
const STACK: &str = r#"
services:
  web:
    image: busybox
    environment:
      PLAIN: ${V}
      QUOTED: "${V}"
      INSIDE: p-${V}
    labels:
      plain: ${V}
      quoted: "${V}"
    annotations:
      plain: ${V}
    command:
      - ${V}
      - "${V}"
    entrypoint:
      - "${V}"
      - p-${V}
    sysctls:
      net.plain: ${V}
      net.quoted: "${V}"
    extra_hosts:
      plain: ${V}
    user: "${V}"
    hostname: p-${V}
    stop_signal: p-${V}
    logging:
      options:
        plain: ${V}
    healthcheck:
      test:
        - CMD
        - "${V}"
        - p-${V}
    build:
      context: .
      args:
        PLAIN: ${V}
        QUOTED: "${V}"
      labels:
        plain: ${V}
    networks: [n]
    volumes: ["vol:/v"]
  list:
    image: busybox
    environment:
      - PLAIN=${V}
    labels:
      - plain=${V}
networks:
  n:
    driver_opts:
      plain: ${V}
    labels:
      plain: ${V}
volumes:
  vol:
    driver_opts:
      plain: ${V}
    labels:
      plain: ${V}
"#;

fn load_with(v: &str) -> Stack {
    let d = dir(&[("compose.yaml", STACK)]);
    let opts = Options {
        files: vec![d.0.join("compose.yaml")],
        cwd: d.0.clone(),
        environ: [("V".to_string(), v.to_string())].into_iter().collect(),
        ..Options::default()
    };
    match load(&opts) {
        Ok(l) => l.stack,
        Err(f) => panic!(
            "V={v:?} did not load: {:?}",
            f.diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        ),
    }
}

/// Every field's value as text, named by its path.
fn texts(stack: &Stack, v: &str) -> Vec<(&'static str, Option<String>, String)> {
    let web = &stack.services["web"];
    let list = &stack.services["list"];
    let x = web.extras.as_deref().expect("web has extras");
    let build = x.build.as_deref().expect("web builds");
    let p = format!("p-{v}");
    let env = |s: &crate::model::stack::Service, k: &str| s.environment.get(k).cloned().flatten();
    let owned = |o: Option<&String>| o.cloned();
    vec![
        ("environment.PLAIN", env(web, "PLAIN"), v.into()),
        ("environment.QUOTED", env(web, "QUOTED"), v.into()),
        ("environment.INSIDE", env(web, "INSIDE"), p.clone()),
        ("labels.plain", owned(web.labels.get("plain")), v.into()),
        ("labels.quoted", owned(web.labels.get("quoted")), v.into()),
        (
            "annotations.plain",
            owned(x.annotations.as_ref().and_then(|a| a.get("plain"))),
            v.into(),
        ),
        (
            "command[0]",
            web.command.as_ref().and_then(|c| c.first().cloned()),
            v.into(),
        ),
        (
            "command[1]",
            web.command.as_ref().and_then(|c| c.get(1).cloned()),
            v.into(),
        ),
        (
            "entrypoint[0]",
            web.entrypoint.as_ref().and_then(|c| c.first().cloned()),
            v.into(),
        ),
        (
            "entrypoint[1]",
            web.entrypoint.as_ref().and_then(|c| c.get(1).cloned()),
            p.clone(),
        ),
        ("sysctls.plain", owned(x.sysctls.get("net.plain")), v.into()),
        (
            "sysctls.quoted",
            owned(x.sysctls.get("net.quoted")),
            v.into(),
        ),
        (
            "extra_hosts.plain",
            x.extra_hosts.first().cloned(),
            format!("plain={v}"),
        ),
        ("user", x.user.clone(), v.into()),
        ("hostname", x.hostname.clone(), p.clone()),
        ("stop_signal", x.stop_signal.clone(), p.clone()),
        (
            "logging.options.plain",
            owned(x.logging.as_ref().and_then(|l| l.options.get("plain"))),
            v.into(),
        ),
        (
            "healthcheck.test[1]",
            x.healthcheck
                .as_ref()
                .and_then(|h| h.test.as_ref()?.get(1).cloned()),
            v.into(),
        ),
        (
            "healthcheck.test[2]",
            x.healthcheck
                .as_ref()
                .and_then(|h| h.test.as_ref()?.get(2).cloned()),
            p.clone(),
        ),
        ("build.args.PLAIN", owned(build.args.get("PLAIN")), v.into()),
        (
            "build.args.QUOTED",
            owned(build.args.get("QUOTED")),
            v.into(),
        ),
        (
            "build.labels.plain",
            owned(build.labels.get("plain")),
            v.into(),
        ),
        ("list environment", env(list, "PLAIN"), v.into()),
        ("list labels", owned(list.labels.get("plain")), v.into()),
        (
            "networks.n.driver_opts",
            owned(stack.networks["n"].driver_opts.get("plain")),
            v.into(),
        ),
        (
            "networks.n.labels",
            owned(stack.networks["n"].labels.get("plain")),
            v.into(),
        ),
        (
            "volumes.v.driver_opts",
            owned(stack.volumes["vol"].driver_opts.get("plain")),
            v.into(),
        ),
        (
            "volumes.v.labels",
            owned(stack.volumes["vol"].labels.get("plain")),
            v.into(),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_variable_s_text_comes_out_unchanged_in_every_text_field(v in value()) {
        let stack = load_with(&v);
        for (field, got, want) in texts(&stack, &v) {
            prop_assert_eq!(got.as_deref(), Some(want.as_str()), "field {} with V={:?}", field, v);
        }
    }
}

#[test]
fn the_issue_s_values_are_kept_in_environment_and_labels() {
    for v in ["0012", "1.10", "0x1F"] {
        let stack = load_with(v);
        let web = &stack.services["web"];
        assert_eq!(web.environment["PLAIN"].as_deref(), Some(v));
        assert_eq!(web.labels["plain"], v);
    }
}
