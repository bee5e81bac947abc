//! berth's private directory for this user: `$XDG_RUNTIME_DIR/berth`
//! (private to the user by the XDG spec), else `<tmp>/berth-<uid>`. It
//! holds the projects' lock files (`cli::session`) and the ssh control
//! sockets (`engine::ssh`), both of which another local user must not be
//! able to create, hold or open: a control socket is the user's ssh login.
//!
//! It is made with mode 0700 and refused unless it is a directory (not a
//! symlink) that this user owns and no one else can use. It only makes and
//! checks the directory; what goes in it is its users' business.

use std::ffi::OsStr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The directory, made if missing and checked.
pub fn dir() -> Result<PathBuf, String> {
    at(
        std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
        &std::env::temp_dir(),
    )
}

/// The directory under `xdg_runtime_dir`, else under `tmp`.
fn at(xdg_runtime_dir: Option<&OsStr>, tmp: &Path) -> Result<PathBuf, String> {
    let dir = match xdg_runtime_dir.filter(|d| !d.is_empty()) {
        Some(run) => Path::new(run).join("berth"),
        // SAFETY: geteuid has no preconditions and cannot fail.
        None => tmp.join(format!("berth-{}", unsafe { libc::geteuid() })),
    };
    private(&dir)?;
    Ok(dir)
}

/// Makes `dir` (mode 0700) if it is missing, then checks that it is a real
/// directory of this user that no one else can use.
fn private(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create berth's directory {shown}: {e}")),
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot read berth's directory {shown}: {e}"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "berth's directory {shown} (its lock files and ssh control sockets) is not a \
             private directory of this user (another user may have made it, or it is open \
             to others)\n  help: remove it (berth makes it again), or set XDG_RUNTIME_DIR \
             to a directory only you can use"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn it_is_made_private_and_a_foreign_or_open_one_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = at(Some(base.path().as_os_str()), Path::new("/nowhere")).unwrap();
        assert_eq!(dir, base.path().join("berth"));
        let mode = std::fs::metadata(&dir).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        // Again: the existing one is fine.
        assert_eq!(
            at(Some(base.path().as_os_str()), Path::new("/")).unwrap(),
            dir
        );

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = at(Some(base.path().as_os_str()), Path::new("/")).unwrap_err();
        assert!(e.contains("is not a private directory of this user"), "{e}");

        let other = tempfile::tempdir().unwrap();
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(other.path(), linked.path().join("berth")).unwrap();
        assert!(at(Some(linked.path().as_os_str()), Path::new("/")).is_err());
    }

    #[test]
    fn without_xdg_runtime_dir_it_is_under_tmp() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = at(Some(OsStr::new("")), tmp.path()).unwrap();
        let uid = unsafe { libc::geteuid() };
        assert_eq!(dir, tmp.path().join(format!("berth-{uid}")));
    }
}
