//! Images as a store of berth's own (the release records, and the tags that
//! keep a release's images): load a tarball, list by reference, tag,
//! remove a reference, export one image. One engine call each.
//!
//! What the images hold and what to tag or remove is `crate::releases`'s
//! business; this file only sends the calls and classifies the answers.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::ImageSummary;
use bollard::query_parameters::{
    ImportImageOptions, ListImagesOptions, RemoveImageOptions, TagImageOptions,
};
use futures_util::StreamExt;

use super::{Engine, EngineError, Result};

/// What removing a reference did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// The tag is gone (and the image with it, when nothing else held it).
    Gone,
    /// There was no such reference.
    Absent,
    /// The engine kept it: a container uses the image it is the last
    /// reference to.
    InUse,
}

impl Engine {
    /// `POST /images/load`: loads an image tarball in `docker save`'s
    /// format, with the tags its manifest names.
    pub async fn load_image(&self, tar: Vec<u8>) -> Result<()> {
        let options = ImportImageOptions {
            quiet: true,
            ..Default::default()
        };
        let mut stream = self
            .docker
            .import_image(options, bollard::body_full(tar.into()), None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(e) = info.error_detail.and_then(|d| d.message) {
                        return Err(EngineError::Api {
                            status: 0,
                            message: e.trim().to_string(),
                        });
                    }
                }
                Err(BollardError::DockerStreamError { error }) => {
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

    /// `GET /images/json` filtered by reference: the images any of
    /// `patterns` names (a pattern as `docker images --filter reference=`
    /// takes it). Each image's `RepoTags` are those that match on Docker;
    /// podman lists all of an image's tags.
    ///
    /// One call per pattern, all at once: Docker takes several values of a
    /// filter as any of them, podman 4.3 as all of them (and lists nothing).
    /// An image more than one pattern names is listed once, with the tags
    /// each call gave.
    pub async fn images_named(&self, patterns: &[String]) -> Result<Vec<ImageSummary>> {
        let calls = patterns.iter().map(|p| {
            let options = ListImagesOptions {
                filters: Some(HashMap::from([("reference".to_string(), vec![p.clone()])])),
                ..Default::default()
            };
            self.docker.list_images(Some(options))
        });
        let mut out: Vec<ImageSummary> = Vec::new();
        for listed in futures_util::future::join_all(calls).await {
            for image in listed.map_err(|e| self.error(e))? {
                match out.iter_mut().find(|o| o.id == image.id) {
                    Some(o) => {
                        for tag in image.repo_tags {
                            if !o.repo_tags.contains(&tag) {
                                o.repo_tags.push(tag);
                            }
                        }
                    }
                    None => out.push(image),
                }
            }
        }
        Ok(out)
    }

    /// `POST /images/{image}/tag`: tags `image` (an id or a reference) as
    /// `reference` (`repo:tag`), moving the tag if another image had it.
    pub async fn tag_image(&self, image: &str, reference: &str) -> Result<()> {
        let (repo, tag) = super::images::split_reference(reference);
        let options = TagImageOptions {
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    /// `DELETE /images/{reference}`, never forced: the tag goes, and the
    /// image with it when no other tag or container holds it.
    pub async fn remove_reference(&self, reference: &str) -> Result<Removed> {
        let options = RemoveImageOptions::default();
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(Removed::Gone),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(Removed::Absent),
                EngineError::Conflict(_) => Ok(Removed::InUse),
                other => Err(other),
            },
        }
    }

    /// `GET /images/{image}/get`: the image as `docker save` writes it, up
    /// to `limit` bytes (a larger one is an error, not read to its end).
    pub async fn export_image(&self, image: &str, limit: usize) -> Result<Vec<u8>> {
        let mut stream = self.docker.export_image(image);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(e))?;
            if out.len() + chunk.len() > limit {
                return Err(EngineError::Api {
                    status: 0,
                    message: format!(
                        "the image {image} is larger than the {} MiB berth reads of it",
                        limit >> 20
                    ),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}
