//! Which stack is loaded: its files (`-f`, `COMPOSE_FILE`, or the default
//! names found in the working directory or a parent, with an override file
//! next to them) and its project name (`-p`, `COMPOSE_PROJECT_NAME`, the
//! files' `name:`, or the project directory's name), found as compose finds
//! them. Reading the files is the reader's; this only names them.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::load::input;
use crate::load::paths::{clean, display_name};
use crate::load::reader::{Reader, interpolate_tree};
use crate::load::yaml::Node;

/// The stack file names compose looks for, in its order: the first found is
/// the stack.
const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file names, looked for next to the stack file in the same
/// way: the first found is merged over it.
const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Finds the stack files as compose does: those `given` with `-f` (relative to
/// `cwd`), else those in
/// `COMPOSE_FILE`, else the first default name found in the working directory
/// or one of its parents, with the first override file next to it.
pub(super) fn find_files(
    given: &[PathBuf],
    cwd: &Path,
    work_dir: &Path,
    env: &IndexMap<String, String>,
    diags: &mut Diagnostics,
) -> Result<Vec<PathBuf>, Diagnostic> {
    if !given.is_empty() {
        return Ok(given.iter().map(|f| clean(&cwd.join(f))).collect());
    }
    if let Some(list) = env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .map_or(":", String::as_str);
        return Ok(list
            .split(sep)
            .filter(|f| !f.is_empty())
            .map(|f| clean(&cwd.join(f)))
            .collect());
    }
    let mut dir = Some(work_dir);
    while let Some(d) = dir {
        let found = |names: &[&str]| -> Vec<PathBuf> {
            names
                .iter()
                .map(|n| d.join(n))
                .filter(|p| input::found(p))
                .collect()
        };
        let mains = found(DEFAULT_FILES);
        if let Some(main) = mains.first() {
            let mut files = vec![main.clone()];
            let overrides = found(OVERRIDE_FILES);
            for (what, list) in [("stack", &mains), ("override", &overrides)] {
                if list.len() > 1 {
                    let names: Vec<String> = list.iter().map(|p| display_name(p, cwd)).collect();
                    diags.push(
                        Diagnostic::warning(format!(
                            "found several {what} files: {}; using {}",
                            names.join(", "),
                            names[0]
                        ))
                        .help("remove the ones not in use, or name the files with -f"),
                    );
                }
            }
            files.extend(overrides.into_iter().take(1));
            return Ok(files);
        }
        dir = d.parent();
    }
    Err(Diagnostic::error(format!(
        "no stack file found in {} or its parents",
        work_dir.display()
    ))
    .help("name one with `-f FILE` (or as an argument), or create compose.yaml"))
}

/// compose's project name rule: lower case, only `a-z0-9_-`, starting with a
/// letter or digit.
pub fn normalize_project_name(name: &str) -> String {
    let lower: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// The project name: `-p` (`cli_name`), else `COMPOSE_PROJECT_NAME`, else the last `name:`
/// of the files (interpolated, then normalised), else the project
/// directory's name, normalised. A name given on the command line or in the
/// environment must already be normal, as compose insists.
pub(super) fn project_name(
    cli_name: Option<&String>,
    env: &IndexMap<String, String>,
    names: &[Node],
    project_dir: &Path,
    reader: &Reader,
) -> Result<String, Diagnostic> {
    let budget = reader.budget;
    let given = cli_name.map(|n| (n, "-p")).or_else(|| {
        env.get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
            .map(|n| (n, "COMPOSE_PROJECT_NAME"))
    });
    if let Some((name, source)) = given {
        if normalize_project_name(name) != *name || name.is_empty() {
            return Err(Diagnostic::error(format!(
                "invalid project name `{name}` (from {source})"
            ))
            .help(
                "a project name has only lower-case letters, digits, `-` and `_`, and starts with a letter or digit",
            ));
        }
        return Ok(name.clone());
    }
    let from_file = names
        .iter()
        .filter_map(|node| {
            let mut node = node.clone();
            let text = reader.sources.get(node.span.file).text.clone();
            // Warnings about the name's variables come with the whole file.
            interpolate_tree(
                &mut node,
                &text,
                false,
                env,
                &mut Diagnostics::default(),
                budget,
            );
            node.as_str().map(str::to_string)
        })
        .rfind(|n| !n.is_empty())
        .map(|n| normalize_project_name(&n))
        .filter(|n| !n.is_empty());
    if let Some(name) = from_file {
        return Ok(name);
    }
    let dir = project_dir
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let name = normalize_project_name(&dir);
    if name.is_empty() {
        return Err(Diagnostic::error(format!(
            "no project name: the directory name `{dir}` has no letters or digits"
        ))
        .help("set `name:` in the stack file or pass `-p NAME`"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use crate::load::load;
    use crate::load::tests::{errors, opts};
    use crate::testutil::dir;

    #[test]
    fn the_override_file_is_found_whatever_its_spelling() {
        let d = dir(&[
            ("compose.yaml", "services:\n  web: {image: a}\n"),
            (
                "docker-compose.override.yml",
                "services:\n  web: {image: b}\n",
            ),
        ]);
        let loaded = load(&opts(&d)).ok().unwrap();
        assert_eq!(loaded.stack.services["web"].image.as_deref(), Some("b"));
    }

    #[test]
    fn project_name_precedence() {
        let d = dir(&[
            (
                "compose.yaml",
                "name: From_File\nservices:\n  web: {image: a}\n",
            ),
            (".env", "COMPOSE_PROJECT_NAME=from-dotenv\n"),
        ]);
        let mut o = opts(&d);
        assert_eq!(load(&o).ok().unwrap().stack.name, "from-dotenv");
        o.project_name = Some("cli".into());
        assert_eq!(load(&o).ok().unwrap().stack.name, "cli");
        std::fs::remove_file(d.0.join(".env")).unwrap();
        o.project_name = None;
        assert_eq!(load(&o).ok().unwrap().stack.name, "from_file");
    }

    #[test]
    fn a_project_name_given_must_already_be_normal() {
        let d = dir(&[("compose.yaml", "services:\n  web: {image: a}\n")]);
        let mut o = opts(&d);
        o.project_name = Some("My_App".into());
        assert_eq!(
            errors(load(&o)),
            ["invalid project name `My_App` (from -p)"]
        );
        o.project_name = None;
        o.environ
            .insert("COMPOSE_PROJECT_NAME".into(), "a.b".into());
        assert_eq!(
            errors(load(&o)),
            ["invalid project name `a.b` (from COMPOSE_PROJECT_NAME)"]
        );
    }
}
