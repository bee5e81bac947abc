//! The edge on the engine: its image, imported from the running executable
//! when the engine does not have it yet (`docker import` of
//! `crate::edge::image`'s tar: no registry, no base image), and its status,
//! read back from its container through the archive API.
//!
//! Creating the edge container is an ordinary create (`crate::spec::edge`
//! makes the body); setting its target is an ordinary upload
//! ([`Engine::upload_to_container`] of `crate::spec::edge_target_tar`).

use bollard::query_parameters::{CreateImageOptions, DownloadFromContainerOptions};
use futures_util::StreamExt;

use super::{Engine, EngineError, Result};
use crate::edge::image::EdgeImage;
use crate::edge::{EXECUTABLE, IMAGE_REPOSITORY, STATUS_PATH, Status};
use crate::identity;

/// The most of a status archive that is read: a status is a few hundred
/// bytes; a container that says more is not telling a status.
const MAX_STATUS_ARCHIVE: usize = 1 << 20;

impl Engine {
    /// The edge image of the running executable: imported unless the engine
    /// has it. Returns its reference (`berth/edge:<12 hex>`).
    pub async fn ensure_edge_image(&self) -> Result<String> {
        let local = |e: String| EngineError::Api {
            status: 0,
            message: format!("cannot make the edge image from berth's executable: {e}"),
        };
        // Reading and hashing the executable is tens of megabytes of work:
        // not on the runtime's threads.
        let image = tokio::task::spawn_blocking(EdgeImage::of_this_process)
            .await
            .map_err(|e| local(e.to_string()))?
            .map_err(|e| local(e.to_string()))?;
        if self.image_id(&image.reference).await?.is_some() {
            return Ok(image.reference);
        }
        let changes = edge_image_changes(&image);
        let reference = image.reference.clone();
        let tag = image.tag().to_string();
        let tar = tokio::task::spawn_blocking(move || image.tar())
            .await
            .map_err(|e| local(e.to_string()))?
            .map_err(|e| local(e.to_string()))?;
        self.import_image(tar, IMAGE_REPOSITORY, &tag, changes)
            .await?;
        Ok(reference)
    }

    /// `POST /images/create?fromSrc=-`: a root filesystem tar as the image
    /// `repo:tag` (`docker import`), with Dockerfile-style `changes` (ENV,
    /// LABEL, CMD...).
    pub async fn import_image(
        &self,
        tar: Vec<u8>,
        repo: &str,
        tag: &str,
        changes: Vec<String>,
    ) -> Result<()> {
        // `repo:tag` in `repo`, as the docker CLI sends it: podman 4.3
        // ignores a separate `tag` and names the image `repo:latest`.
        let opts = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(format!("{repo}:{tag}")),
            changes,
            ..Default::default()
        };
        let mut stream =
            self.docker
                .create_image(Some(opts), Some(bollard::body_full(tar.into())), None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => {}
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::Api {
                        status: 0,
                        message: error.trim().to_string(),
                    });
                }
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(())
    }

    /// What the edge in `container` has applied and what it has open; None
    /// when it has written no status yet (or wrote something else).
    pub async fn edge_status(&self, container: &str) -> Result<Option<Status>> {
        let opts = DownloadFromContainerOptions {
            path: STATUS_PATH.into(),
        };
        let mut stream = self.docker.download_from_container(container, Some(opts));
        let mut tar = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    tar.extend_from_slice(&bytes);
                    if tar.len() > MAX_STATUS_ARCHIVE {
                        return Ok(None);
                    }
                }
                Err(e) => {
                    return match self.error(e) {
                        // The file is not there yet; a missing container
                        // is an error.
                        EngineError::NotFound(m) if !m.contains("No such container") => Ok(None),
                        other => Err(other),
                    };
                }
            }
        }
        Ok(first_file(&tar).and_then(|b| Status::parse(&b)))
    }
}

/// The image config `docker import` sets: where the loader finds the
/// libraries, berth's label, and a harmless default command.
pub fn edge_image_changes(image: &EdgeImage) -> Vec<String> {
    // JSON's string quoting is the Dockerfile's: a path may hold spaces.
    let quoted = serde_json::to_string(&image.library_path()).unwrap_or_default();
    vec![
        format!("ENV LD_LIBRARY_PATH={quoted}"),
        format!("LABEL {}={}", identity::VERSION, identity::BERTH_VERSION),
        format!("CMD [\"{EXECUTABLE}\", \"--version\"]"),
    ]
}

/// The content of the first regular file in a tar.
fn first_file(tar: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().ok()? {
        let mut e = entry.ok()?;
        if e.header().entry_type().is_file() {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut out).ok()?;
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_file_of_an_archive_is_its_content() {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir, "run/", std::io::empty()).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "status", &b"{...}"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        assert_eq!(first_file(&tar), Some(b"{...}".to_vec()));
        assert_eq!(first_file(b"not a tar"), None);
        assert_eq!(first_file(&[]), None);
    }

    #[test]
    fn the_image_config_names_the_library_path_quoted() {
        let image = EdgeImage::new(Vec::new(), "7f00-7f01 r--p 0 fe:01 1 /opt/a b/libc.so.6\n");
        let changes = edge_image_changes(&image);
        assert_eq!(changes[0], "ENV LD_LIBRARY_PATH=\"/opt/a b\"");
        assert!(changes[1].starts_with("LABEL io.berth.version="));
    }
}
