//! The release store against a real engine: what the command-line tests
//! cannot reach cheaply (a record too large for its label, a project name
//! that is no repository name as it is).

use std::process::Command;

use super::{IMAGE, engine};
use crate::releases::{Draft, LoadError, ServiceImage, Target, names, store};

/// Removes a project's release images (by reference) when dropped.
struct Releases(String);

impl Drop for Releases {
    fn drop(&mut self) {
        let repo = names::records_repo(&self.0);
        let out = Command::new("docker")
            .args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
            .args(["--filter", &format!("reference={repo}")])
            .args(["--filter", &format!("reference={repo}/*")])
            .output();
        let refs = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for r in refs.split_whitespace() {
            let _ = Command::new("docker").args(["image", "rm", r]).output();
        }
    }
}

#[tokio::test]
async fn a_record_too_large_for_its_label_is_listed_and_loaded_from_its_file() {
    let e = engine().await;
    // A trailing `_` is no repository name: the project's is hashed.
    let project = format!("berth-engtest-{}-rel_", std::process::id());
    let guard = Releases(project.clone());
    assert_ne!(
        names::records_repo(&project),
        format!("berth-releases/{project}")
    );
    let busybox = e.image_id(IMAGE).await.unwrap().expect("the test image");
    let stack = serde_json::json!({
        "name": project,
        "services": {"web": {"image": IMAGE, "environment": {"A": "$$HOME"}}},
    });
    let draft = |changes: Vec<String>| Draft {
        project: project.clone(),
        time: "2026-05-01T10:11:12Z".into(),
        target: Target::Swarm,
        changes,
        services: [(
            "web".to_string(),
            ServiceImage {
                image: IMAGE.into(),
                id: Some(busybox.clone()),
                tag: None,
            },
        )]
        .into(),
        stack: stack.clone(),
    };
    let first = store::record(&e, draft(vec!["create service web: not found".into()]))
        .await
        .unwrap();
    assert_eq!((first.number, first.kept.as_slice()), (1, &[1][..]));
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    // Some 150 KiB of changes: more than a label carries.
    let many: Vec<String> = (0..3000)
        .map(|i| format!("update service {project}_web{i}: replicas 1 -> 2"))
        .collect();
    let second = store::record(&e, draft(many.clone())).await.unwrap();
    assert_eq!((second.number, second.kept.as_slice()), (2, &[1, 2][..]));

    let listing = store::list(&e, &project).await.unwrap();
    assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
    assert_eq!(listing.numbers(), [1, 2]);
    let listed = listing.get(2).unwrap();
    assert_eq!(listed.release.changes, many);
    assert_eq!(listed.release.stack, None);
    assert_eq!(listed.release.target, Target::Swarm);
    assert!(listed.kept.contains("web"));

    let loaded = store::load(&e, &project, 2).await.unwrap();
    assert_eq!(loaded.stack.as_ref(), Some(&stack));
    assert_eq!(
        loaded.services["web"].tag.as_deref(),
        Some(names::image_tag(&project, "web", 2).as_str())
    );
    assert_eq!(
        e.image_id(&names::image_tag(&project, "web", 2))
            .await
            .unwrap(),
        Some(busybox)
    );
    match store::load(&e, &project, 7).await {
        Err(LoadError::Unknown { known, .. }) => assert_eq!(known, [1, 2]),
        other => panic!("{other:?}"),
    }
    drop(guard);
    assert!(store::list(&e, &project).await.unwrap().releases.is_empty());
}
