//! The stacks this project exists for load without a single error.

use crate::support::*;

#[test]
fn every_checked_in_stack_validates() {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("stacks")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() >= 7,
        "expected the wordpress, guestbook and lab stacks, found {files:?}"
    );
    for f in files {
        let run = Berth::new()
            .current_dir(repo())
            .arg("validate")
            .arg(&f)
            .run()
            .ok();
        assert_eq!(run.stderr(), "", "{} gives warnings", f.display());
    }
}
