//! The content of a secret or config: its file, the variable it names, or
//! its inline `content`, read when a target needs it (a Swarm object is
//! created from it), not while loading, so that `config` and `plan` of a
//! stack without a swarm never read secret files.
//!
//! A file is read by the loader's one reader of input files
//! (`load::input`): a regular file no larger than the target keeps; a
//! device, a FIFO, a procfs file or a huge file is refused before anything
//! is read, and an error never shows the content.

use crate::diag::Diagnostic;
use crate::model::stack::FileObject;

/// The bytes of `obj`, declared as `what` (`secret \`db_pw\``), at most
/// `limit` of them; an error at the object's key otherwise.
pub fn content(obj: &FileObject, what: &str, limit: usize) -> Result<Vec<u8>, Diagnostic> {
    let fail = |message: String, help: &str| {
        let d = Diagnostic::error(format!("{what}: {message}")).help(help.to_string());
        if obj.span.end > obj.span.start {
            d.label(obj.span, "declared here")
        } else {
            d
        }
    };
    let too_big = |size: u64| {
        fail(
            format!("its content is {size} bytes; Swarm keeps at most {limit}"),
            "make it smaller, or mount the data as a volume",
        )
    };
    if let Some(path) = &obj.file {
        // The one reader of input files: regular files only, never procfs,
        // bounded before anything is read.
        return super::input::read_bytes(std::path::Path::new(path), limit as u64).map_err(|e| {
            match e {
                super::input::ReadError::TooLarge { size: Some(n), .. } => too_big(n),
                super::input::ReadError::TooLarge { size: None, .. } => too_big(limit as u64 + 1),
                super::input::ReadError::NotFound => fail(
                    format!("cannot read {path}: it does not exist"),
                    "create the file, or fix `file:`",
                ),
                e => fail(
                    format!("cannot read {path}: {e}"),
                    "point `file:` at a regular file that holds the content",
                ),
            }
        });
    }
    let data = if let Some(inline) = obj.inline_content() {
        inline
            .map_err(|var| {
                fail(
                    format!("the variable {var} it reads is not set"),
                    "set it in the environment or in .env",
                )
            })?
            .to_string()
    } else if obj.driver.is_some() {
        String::new()
    } else {
        return Err(fail(
            "it has no file, environment or content".into(),
            "give it `file:`, `environment:` or `content:`, or mark it `external: true`",
        ));
    };
    if data.len() > limit {
        return Err(too_big(data.len() as u64));
    }
    Ok(data.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj() -> FileObject {
        FileObject {
            name: "p_pw".into(),
            ..FileObject::default()
        }
    }

    #[test]
    fn reads_a_file_a_variable_or_inline_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw.txt");
        std::fs::write(&path, "hunter2\n").unwrap();
        let file = FileObject {
            file: Some(path.display().to_string()),
            ..obj()
        };
        assert_eq!(content(&file, "secret `pw`", 100).unwrap(), b"hunter2\n");
        let var = FileObject {
            environment: Some("PW".into()),
            value: Some("s3cret".into()),
            ..obj()
        };
        assert_eq!(content(&var, "secret `pw`", 100).unwrap(), b"s3cret");
        let inline = FileObject {
            content: Some("x=1".into()),
            ..obj()
        };
        assert_eq!(content(&inline, "config `c`", 100).unwrap(), b"x=1");
    }

    #[test]
    fn refuses_what_is_missing_unset_too_big_or_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 101]).unwrap();
        let cases = [
            (
                FileObject {
                    file: Some(dir.path().join("none").display().to_string()),
                    ..obj()
                },
                "cannot read",
            ),
            (
                FileObject {
                    file: Some("/dev/zero".into()),
                    ..obj()
                },
                "is not a regular file",
            ),
            (
                FileObject {
                    file: Some(dir.path().display().to_string()),
                    ..obj()
                },
                "is not a regular file",
            ),
            (
                FileObject {
                    file: Some(big.display().to_string()),
                    ..obj()
                },
                "101 bytes; Swarm keeps at most 100",
            ),
            (
                FileObject {
                    environment: Some("UNSET".into()),
                    ..obj()
                },
                "UNSET it reads is not set",
            ),
            (
                FileObject {
                    content: Some("b".repeat(101)),
                    ..obj()
                },
                "at most 100",
            ),
            (obj(), "no file, environment or content"),
            (
                FileObject {
                    file: Some("/proc/self/environ".into()),
                    ..obj()
                },
                "kernel pseudo-file",
            ),
        ];
        for (o, want) in cases {
            let err = content(&o, "secret `pw`", 100).unwrap_err();
            assert!(err.message.contains(want), "{}: wanted {want}", err.message);
            assert!(err.message.starts_with("secret `pw`: "), "{}", err.message);
        }
    }
}
