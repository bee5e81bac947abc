//! How diagnostics are printed for hostile stack files: bounded in size, never
//! a panic, never the contents of a file that is not a regular text file or
//! not a stack file (a key or credentials file a stack names), never a value
//! of an env file.

use crate::support::*;

#[test]
fn an_included_procfs_file_is_named_but_its_contents_never_printed() {
    let run = Berth::new()
        .env("BERTH_TEST_SECRET", "hunter2-do-not-print")
        .file(
            "compose.yaml",
            "include:\n  - /proc/self/environ\nservices:\n  web:\n    image: nginx\n",
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(1);
    assert!(!run.output().contains("hunter2"), "{}", run.output());
    assert!(
        run.stderr().contains("/proc/self/environ"),
        "{}",
        run.stderr()
    );
}

#[test]
fn twenty_thousand_invalid_ports_print_twenty_then_a_count() {
    let ports: String = (0..20_000)
        .map(|n| format!("      - \"99999{n}\"\n"))
        .collect();
    let run = Berth::new()
        .file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx\n    ports:\n{ports}"),
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(1);
    let err = run.stderr();
    assert_eq!(err.matches("× invalid port").count(), 20, "{err}");
    assert!(
        err.contains("error: and 19980 more errors like this: invalid port `9999919`"),
        "{err}"
    );
    assert!(err.ends_with("20000 errors in the stack files\n"), "{err}");
}

#[test]
fn a_warning_past_column_65535_prints_a_window_of_the_line() {
    let value = "x".repeat(70_000);
    let run = Berth::new()
        .file(
            "compose.yaml",
            &format!("services:\n  web:\n    image: nginx\n    command: \"{value}${{UNSET_X}}\"\n"),
        )
        .args(["config", "-q"])
        .run();
    let run = run.code_is(0);
    let err = run.stderr();
    assert!(err.contains("[compose.yaml:4:70015]"), "{err}");
    assert!(err.contains(" 4 │ …xxx"), "{err}");
    assert!(err.len() < 2_000, "{} bytes", err.len());
}

/// Runs `berth config -q` with `files` in its directory; asserts it fails,
/// that no secret appears in stdout or stderr, and returns stderr.
#[track_caller]
fn refused_without_quoting(berth: Berth, files: &[(&str, &str)], secrets: &[&str]) -> String {
    let berth = files
        .iter()
        .fold(berth, |b, (name, text)| b.file(name, text));
    let run = berth.args(["config", "-q"]).run().code_is(1);
    for secret in secrets {
        assert!(
            !run.output().contains(secret),
            "`{secret}` printed:\n{}",
            run.output()
        );
    }
    run.stderr().to_string()
}

const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
    QyNTUxOQAAACBSECRETSECRETSECRETSECRETSECRETSECRETSECRETAAAAJgAAAAA\n\
    -----END OPENSSH PRIVATE KEY-----\n";

const AWS_CREDENTIALS: &str = "[default]\n\
    aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
    aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

const GIT_CREDENTIALS: &str = "https://alice:ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com\n";

#[test]
fn an_included_private_key_is_located_but_never_quoted() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            ("id_ed25519", PRIVATE_KEY),
            (
                "compose.yaml",
                "include:\n  - id_ed25519\nservices:\n  web:\n    image: nginx\n",
            ),
        ],
        &["BEGIN OPENSSH", "b3BlbnNz", "SECRET"],
    );
    assert!(
        err.contains(
            "× `id_ed25519`: the top level must be a mapping (of `services`, `networks`, ...); it is a string"
        ),
        "{err}"
    );
    assert!(
        err.contains("at id_ed25519:1:1: the top level starts here"),
        "{err}"
    );
}

#[test]
fn an_extended_aws_credentials_file_is_located_but_never_quoted() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            (".aws/credentials", AWS_CREDENTIALS),
            (
                "compose.yaml",
                "services:\n  web:\n    extends: {file: .aws/credentials, service: web}\n",
            ),
        ],
        &["AKIA", "wJalrXUtnFEMI", "aws_access_key_id", "[default]"],
    );
    assert!(
        err.contains("× `.aws/credentials` is not valid YAML"),
        "{err}"
    );
    // `[default]` is a list; the parser stops where the next line starts.
    assert!(
        err.contains("at .aws/credentials:2:1: the YAML parser stopped here"),
        "{err}"
    );
}

#[test]
fn an_included_git_credentials_file_is_located_but_never_quoted() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            (".git-credentials", GIT_CREDENTIALS),
            (
                "compose.yaml",
                "services:\n  web:\n    image: nginx\ninclude:\n  - path: .git-credentials\n",
            ),
        ],
        &["ghp_", "alice"],
    );
    assert!(
        err.contains("`.git-credentials`: the top level must be a mapping"),
        "{err}"
    );
    assert!(err.contains("at .git-credentials:1:1:"), "{err}");
}

#[test]
fn compose_file_set_by_a_dotenv_to_a_credentials_file_is_located_but_never_quoted() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            (".git-credentials", GIT_CREDENTIALS),
            (".env", "COMPOSE_FILE=.git-credentials\n"),
        ],
        &["ghp_", "alice"],
    );
    assert!(
        err.contains("`.git-credentials`: the top level must be a mapping"),
        "{err}"
    );
    assert!(err.contains("at .git-credentials:1:1:"), "{err}");
}

#[test]
fn a_stack_file_that_is_a_list_or_a_scalar_is_located_but_never_quoted() {
    for (text, kind, at) in [
        ("- AKIAIOSFODNN7EXAMPLE\n- two\n", "a list", "1:1"),
        ("AKIAIOSFODNN7EXAMPLE\n", "a string", "1:1"),
        ("4111111111111111\n", "a number", "1:1"),
    ] {
        let err = refused_without_quoting(
            Berth::new().args(["-f", "stack.yaml"]),
            &[("stack.yaml", text)],
            &["AKIA", "4111111111111111"],
        );
        assert!(
            err.contains(&format!(
                "× `stack.yaml`: the top level must be a mapping (of `services`, `networks`, ...); it is {kind}"
            )),
            "{err}"
        );
        assert!(err.contains(&format!("at stack.yaml:{at}:")), "{err}");
    }
}

#[test]
fn a_mapping_without_a_stack_key_is_located_but_never_quoted() {
    // `~/.config/gh/hosts.yml`: YAML with a mapping at the top, and a token.
    let err = refused_without_quoting(
        Berth::new(),
        &[
            (
                "hosts.yml",
                "github.com:\n    oauth_token: gho_16C7e42F292c6912E7710c838347Ae178B4a\n    user: alice\n",
            ),
            (
                "compose.yaml",
                "include:\n  - hosts.yml\nservices:\n  web:\n    image: nginx\n",
            ),
        ],
        &["gho_", "oauth_token"],
    );
    assert!(err.contains("× unknown key `github.com`"), "{err}");
    assert!(err.contains("at hosts.yml:1:1: not a key here"), "{err}");
}

#[test]
fn an_env_file_line_with_a_secret_is_located_but_never_quoted() {
    for (env, at) in [
        // A quote never closed.
        ("A=1\nDB_PASSWORD=\"hunter2-s3cret\nB=2\n", ".env:2:13"),
        // An interpolation that does not parse: `${` in a password.
        ("A=1\nDB_PASSWORD=pa${ss hunter2-s3cret\n", ".env:2:15"),
        ("A=1\nDB_PASSWORD=pa${ss:-hunter2-s3cret\n", ".env:2:15"),
    ] {
        let err = refused_without_quoting(
            Berth::new(),
            &[
                (".env", env),
                ("compose.yaml", "services:\n  web:\n    image: nginx\n"),
            ],
            &["hunter2", "s3cret", "pa$"],
        );
        assert!(
            err.contains(&format!("cannot read env file `{at}`")),
            "{env}:\n{err}"
        );
    }
}

#[test]
fn a_service_env_file_with_an_interpolation_error_names_its_line_not_its_value() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            ("app.env", "TOKEN=x${1hunter2-s3cret}\n"),
            (
                "compose.yaml",
                "services:\n  web:\n    image: nginx\n    env_file: app.env\n",
            ),
        ],
        &["hunter2", "s3cret"],
    );
    assert!(
        err.contains(
            "× cannot read env file `app.env:1:8`: invalid interpolation format: a variable name starts with"
        ),
        "{err}"
    );
}

#[test]
fn a_stack_file_with_a_syntax_error_after_its_services_key_keeps_its_snippet() {
    let run = Berth::new()
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: nginx\n   ports: [\"80:80\"]\n",
        )
        .args(["config", "-q"])
        .run()
        .code_is(1);
    let err = run.stderr();
    assert!(
        err.contains("× invalid YAML: this line is not indented like the lines around it"),
        "{err}"
    );
    assert!(err.contains("╭─[compose.yaml:4:4]"), "{err}");
    assert!(err.contains(" 4 │    ports: [\"80:80\"]"), "{err}");
}

#[test]
fn a_file_with_a_syntax_error_before_any_stack_key_shows_no_line() {
    let err = refused_without_quoting(
        Berth::new(),
        &[(
            "compose.yaml",
            "token: gho_16C7e42F292c6912E7710c838347Ae178B4a\n  bad: [\nservices: {}\n",
        )],
        &["gho_", "token"],
    );
    assert!(err.contains("× `compose.yaml` is not valid YAML"), "{err}");
    assert!(
        err.contains("at compose.yaml:2:6: the YAML parser stopped here"),
        "{err}"
    );
}

#[test]
fn a_command_cut_at_an_operator_names_the_operator_not_the_interpolated_rest() {
    let run = Berth::new()
        .env("TOKEN", "hunter2-s3cret")
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: nginx\n    command: setup && login --token ${TOKEN}\n",
        )
        .args(["config", "-q"])
        .run()
        .code_is(0);
    assert!(!run.output().contains("hunter2"), "{}", run.output());
    assert!(
        run.stderr()
            .contains("⚠ `command` stops at `&&`; compose and berth ignore the rest of the line"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_dollar_in_an_env_file_password_is_warned_about_by_its_place_not_its_text() {
    let run = Berth::new()
        .file(".env", "DB_PASSWORD=Xy7$Qz9hunter\n")
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: nginx\n    environment: {P: \"${DB_PASSWORD}\"}\n",
        )
        .args(["config", "-q"])
        .run()
        .code_is(0);
    assert!(!run.output().contains("Qz9"), "{}", run.output());
    assert!(
        run.stderr().contains(
            "⚠ env file `.env:1:16` uses a variable that is not set; using an empty string"
        ),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_dollar_in_a_value_of_a_file_that_is_not_a_stack_is_warned_about_by_its_place() {
    let err = refused_without_quoting(
        Berth::new(),
        &[
            ("db.yml", "db:\n  password: Xy7$Qz9hunter\n"),
            (
                "compose.yaml",
                "include:\n  - db.yml\nservices:\n  web:\n    image: nginx\n",
            ),
        ],
        &["Qz9", "Xy7", "password"],
    );
    assert!(
        err.contains("⚠ a variable that is not set is used; using an empty string"),
        "{err}"
    );
    assert!(err.contains("at db.yml:2:16: not set"), "{err}");
    assert!(err.contains("× unknown key `db`"), "{err}");
}
