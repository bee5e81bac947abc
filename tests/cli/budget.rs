//! The load budget (issue 15): small files that expand into a large stack
//! are refused at berth's budget, with an error at the place that spent it,
//! instead of allocating until the process aborts. Each case runs under an
//! address-space limit, so that a regression fails here rather than taking
//! the machine's memory; each stays a few seconds in a debug build.

use crate::support::*;

/// Far above what the budget lets a load reach, far below what the cases
/// would take without it.
const ONE_GIB: u64 = 1 << 30;

/// `config -q` in the files given, capped at [`ONE_GIB`]: refused with exit
/// code 1 (an allocation failure aborts with 134).
fn refused(berth: Berth, args: &[&str]) -> Run {
    berth
        .address_space_limit(ONE_GIB)
        .arg("config")
        .arg("-q")
        .args(args)
        .run()
        .code_is(1)
}

fn lines(n: usize, line: impl Fn(usize) -> String) -> String {
    (0..n).map(line).collect()
}

#[test]
fn env_lines_that_each_double_the_one_before_stop_at_the_budget() {
    let env = format!(
        "A0={}\n{}",
        "x".repeat(32),
        lines(40, |i| format!("A{}=${{A{i}}}${{A{i}}}\n", i + 1))
    );
    let run = refused(
        Berth::new().file(".env", &env).file(
            "compose.yaml",
            "services:\n  web:\n    image: busybox\n    environment:\n      X: ${A40}\n",
        ),
        &[],
    );
    assert_eq!(
        run.stderr(),
        "  × cannot read env file `.env:21:11` (from the working directory): the stack expands past berth's
  │ budget of 64 MiB: a value here would take in more than the 31 MiB left with its variables
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn a_large_variable_referenced_many_times_stops_at_the_budget() {
    let run = refused(
        Berth::new()
            .file(".env", &format!("BIG={}\n", "x".repeat((1 << 20) - 16)))
            .file(
                "compose.yaml",
                &format!(
                    "services:\n  web:\n    image: busybox\n    labels:\n{}",
                    lines(3000, |i| format!("      L{i}: ${{BIG}}\n"))
                ),
            ),
        &[],
    );
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 64 MiB: this value would take in more than the 994
  │ KiB left with its variables
    ╭─[compose.yaml:67:12]
 66 │       L61: ${BIG}
 67 │       L62: ${BIG}
    ·            ───┬──
    ·               ╰── the budget runs out here, after 63 MiB
 68 │       L63: ${BIG}
    ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

fn port_ranges(n: usize) -> String {
    format!(
        "services:\n  web:\n    image: busybox\n    ports:\n{}",
        lines(n, |i| format!(
            "      - '127.0.0.{}:1-65535:1-65535'\n",
            i + 1
        ))
    )
}

#[test]
fn port_ranges_stop_at_the_budget_before_they_are_expanded() {
    let run = refused(Berth::new().file("compose.yaml", &port_ranges(60)), &[]);
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 1,000,000 nodes: the port range
  │ `127.0.0.2:1-65535:1-65535` expands to 65,535 ports
   ╭─[compose.yaml:6:9]
 5 │       - '127.0.0.1:1-65535:1-65535'
 6 │       - '127.0.0.2:1-65535:1-65535'
   ·         ─────────────┬─────────────
   ·                      ╰── the budget runs out here, after 720,954 nodes
 7 │       - '127.0.0.3:1-65535:1-65535'
   ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn port_ranges_stop_at_the_budget_for_swarm_too() {
    let run = refused(
        Berth::new().file("compose.yaml", &port_ranges(20)),
        &["--swarm"],
    );
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 1,000,000 nodes: the port range
  │ `127.0.0.2:1-65535:1-65535` expands to 65,535 ports
   ╭─[compose.yaml:6:9]
 5 │       - '127.0.0.1:1-65535:1-65535'
 6 │       - '127.0.0.2:1-65535:1-65535'
   ·         ─────────────┬─────────────
   ·                      ╰── the budget runs out here, after 720,914 nodes
 7 │       - '127.0.0.3:1-65535:1-65535'
   ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn many_services_extending_a_large_base_stop_at_the_budget() {
    let stack = format!(
        "services:\n  base:\n    image: busybox\n    labels:\n{}{}",
        lines(100_000, |i| format!("      l{i}: v\n")),
        lines(1000, |i| format!("  s{i}:\n    extends: base\n"))
    );
    let run = refused(Berth::new().file("compose.yaml", &stack), &[]);
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 1,000,000 nodes: `services.s3.extends` copies the
  │ 200,005 nodes (672 KiB) of `base`
        ╭─[compose.yaml:100012:14]
 100011 │   s3:
 100012 │     extends: base
        ·              ──┬─
        ·                ╰── the budget runs out here, after 804,024 nodes
 100013 │   s4:
        ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn a_large_env_file_named_by_many_services_stops_at_the_budget() {
    let run = refused(
        Berth::new()
            .file("big.env", &lines(70_000, |i| format!("K{i}=v\n")))
            .file(
                "compose.yaml",
                &format!(
                    "services:\n{}",
                    lines(2000, |i| format!(
                        "  s{i}:\n    image: busybox\n    env_file: big.env\n"
                    ))
                ),
            ),
        &[],
    );
    assert_eq!(
        run.stderr(),
        "  × cannot read env file `big.env:3999:1`: the stack expands past berth's budget of 1,000,000
  │ nodes: `K3998` is set to a value of 1 byte, after 999,999 nodes of the budget were used
    ╭─[compose.yaml:25:15]
 24 │     image: busybox
 25 │     env_file: big.env
    ·               ───┬───
    ·                  ╰── unreadable env file
 26 │   s8:
    ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

fn labels_file(service: &str, labels: usize) -> String {
    format!(
        "services:\n  {service}:\n    image: busybox\n    labels:\n{}",
        lines(labels, |i| format!("      k{i}: v\n"))
    )
}

#[test]
fn includes_of_many_large_files_stop_at_the_budget() {
    let mut berth = Berth::new().file(
        "compose.yaml",
        &format!(
            "include:\n{}services:\n  web:\n    image: busybox\n",
            lines(16, |i| format!("  - inc{i}.yaml\n"))
        ),
    );
    for i in 0..16 {
        berth = berth.file(
            &format!("inc{i}.yaml"),
            &labels_file(&format!("s{i}"), 100_000),
        );
    }
    let run = refused(berth, &[]);
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 1,000,000 nodes: `inc1.yaml` is kept for reading
  │ again, and adds 200,009 nodes (672 KiB)
   ╭─[compose.yaml:3:5]
 2 │   - inc0.yaml
 3 │   - inc1.yaml
   ·     ────┬────
   ·         ╰── the budget runs out here, after 800,061 nodes
 4 │   - inc2.yaml
   ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn one_file_included_under_many_project_directories_stops_at_the_budget() {
    let run = refused(
        Berth::new()
            .file("inc.yaml", &labels_file("s", 100_000))
            .file(
                "compose.yaml",
                &format!(
                    "include:\n{}services:\n  web:\n    image: busybox\n",
                    lines(100, |i| format!(
                        "  - path: inc.yaml\n    project_directory: d{i}\n"
                    ))
                ),
            ),
        &[],
    );
    assert_eq!(
        run.stderr(),
        "  × the stack expands past berth's budget of 1,000,000 nodes: this `include` copies 200,009 nodes
  │ (672 KiB) of the stack it loads
   ╭─[compose.yaml:4:5]
 3 │         project_directory: d0
 4 │ ╭─▶   - path: inc.yaml
 5 │ ├─▶     project_directory: d1
   · ╰──── the budget runs out here, after 800,545 nodes
 6 │       - path: inc.yaml
   ╰────
  help: berth bounds what a stack may expand into (variables, env files, port ranges, `extends`,
        `include`); make this expand to less: a shorter value, a smaller port range, fewer copies
1 error in the stack files
"
    );
}

#[test]
fn one_range_of_every_port_is_within_the_budget() {
    // 65,535 long-form ports: the most one port line can hold, far more
    // than a real stack publishes, and within the budget.
    Berth::new()
        .file("compose.yaml", &port_ranges(1))
        .address_space_limit(ONE_GIB)
        .args(["config", "-q"])
        .run()
        .ok();
}
