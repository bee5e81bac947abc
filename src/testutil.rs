//! Helpers for unit tests: throwaway directories of stack files, and stacks
//! loaded from them the way `berth -f compose.yaml` would load them.
//!
//! Loading here uses an empty process environment, so that nothing from the
//! developer's shell (a `COMPOSE_PROJECT_NAME`, a variable a stack file
//! interpolates) changes what a test sees.

use std::path::{Path, PathBuf};

use crate::diag::{RenderOptions, render};
use crate::load::{Failed, Loaded, Options, load};
use crate::model::stack::Stack;

/// A temporary directory, removed when dropped.
pub struct Dir(pub PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Dir {
    /// Loads `compose.yaml` in this directory, as `berth -f compose.yaml`
    /// run here would.
    pub fn load(&self) -> Result<Loaded, Failed> {
        load_file(&self.0)
    }

    /// Like [`Dir::load`], but panics (at the caller) with the rendered
    /// diagnostics when the stack does not load.
    #[track_caller]
    pub fn loaded(&self) -> Loaded {
        match self.load() {
            Ok(l) => l,
            Err(f) => panic_with(&f),
        }
    }
}

/// A fresh directory holding `files` (relative path, text).
pub fn dir(files: &[(&str, &str)]) -> Dir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "berth-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    for (name, text) in files {
        let p = d.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

/// `yaml` loaded as `compose.yaml`, with its sources and warnings; panics
/// with the rendered diagnostics when it does not load.
///
/// The file sits in a directory named `t`, so the project is `t` unless the
/// file names one. The directory is gone when this returns: a test that
/// needs files next to the stack (bind sources, say) uses [`Dir::loaded`].
#[track_caller]
pub fn loaded(yaml: &str) -> Loaded {
    let d = dir(&[("t/compose.yaml", yaml)]);
    match load_file(&d.0.join("t")) {
        Ok(l) => l,
        Err(f) => panic_with(&f),
    }
}

/// `yaml` loaded as `compose.yaml` (see [`loaded`]): the validated stack.
#[track_caller]
pub fn stack(yaml: &str) -> Stack {
    loaded(yaml).stack
}

fn load_file(dir: &Path) -> Result<Loaded, Failed> {
    load(&Options {
        files: vec![dir.join("compose.yaml")],
        cwd: dir.to_path_buf(),
        ..Options::default()
    })
}

#[track_caller]
fn panic_with(f: &Failed) -> ! {
    let opts = RenderOptions {
        color: false,
        width: 100,
    };
    let text: String = f
        .diagnostics
        .iter()
        .map(|d| render(d, &f.sources, opts))
        .collect();
    panic!("the stack does not load:\n{text}")
}
