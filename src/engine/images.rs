//! Images: whether one is present, building one from a context tar, and
//! pulling one from a registry.
//!
//! The build and the pull stream the engine's progress to a callback and end
//! with the engine's or the registry's own error message. Packing the context
//! is [`super::context`]'s job.

use bollard::errors::Error as BollardError;
use bollard::models::CreateImageInfo;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptionsBuilder};
use futures_util::StreamExt;

use super::{Engine, EngineError, Result};
use crate::spec::BuildRequest;

/// One line of a pull's progress, as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PullEvent {
    /// The layer, when the line is about one.
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

impl Engine {
    /// Local image id for a reference; None if not present locally.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The registry digests of a local image (`RepoDigests`: empty for one
    /// built or tagged here and never pushed or pulled); None if it is not
    /// present locally.
    pub async fn repo_digests(&self, reference: &str) -> Result<Option<Vec<String>>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(image.repo_digests.unwrap_or_default())),
            Err(e) => match self.error(e) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Builds an image from a context tar; `on_line` gets each line of the
    /// engine's output. Returns the image id.
    pub async fn build_image(
        &self,
        req: &BuildRequest,
        context: Vec<u8>,
        mut on_line: impl FnMut(&str),
    ) -> Result<String> {
        let opts = BuildImageOptions {
            dockerfile: req.dockerfile.clone(),
            t: Some(req.tag.clone()),
            extrahosts: (!req.extra_hosts.is_empty()).then(|| req.extra_hosts.join(",")),
            nocache: req.no_cache,
            cachefrom: (!req.cache_from.is_empty()).then(|| req.cache_from.clone()),
            pull: req.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(req.args.clone()),
            labels: Some(req.labels.clone()),
            networkmode: req.network.clone(),
            target: req.target.clone().unwrap_or_default(),
            shmsize: req.shm_size,
            ..Default::default()
        };
        let mut stream =
            self.docker
                .build_image(opts, None, Some(bollard::body_full(context.into())));
        let mut id = None;
        let mut pending = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(aux) = info.aux.and_then(|a| a.id) {
                        id = Some(aux);
                    }
                    if let Some(s) = info.stream {
                        pending.push_str(&s);
                        while let Some(nl) = pending.find('\n') {
                            let line: String = pending.drain(..=nl).collect();
                            let line = line.trim_end();
                            if !line.is_empty() {
                                on_line(line);
                            }
                        }
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
        if !pending.trim().is_empty() {
            on_line(pending.trim_end());
        }
        match id {
            Some(id) => Ok(id),
            None => self.image_id(&req.tag).await?.ok_or_else(|| {
                EngineError::NotFound(format!("no image {} after the build", req.tag))
            }),
        }
    }

    /// Pulls `reference` (`name`, `name:tag` or `name@digest`); `on_event`
    /// gets each progress line. The error is the registry's reason.
    pub async fn pull_image(
        &self,
        reference: &str,
        mut on_event: impl FnMut(&PullEvent),
    ) -> Result<()> {
        let (name, tag) = split_reference(reference);
        let opts = CreateImageOptionsBuilder::new()
            .from_image(name)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(CreateImageInfo {
                    id,
                    status,
                    progress_detail,
                    ..
                }) => {
                    let (current, total) = progress_detail
                        .map(|p| (p.current, p.total))
                        .unwrap_or((None, None));
                    on_event(&PullEvent {
                        layer: id,
                        status: status.unwrap_or_default(),
                        current,
                        total,
                    });
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
}

/// `name:tag` -> (`name`, `tag`); `name@sha256:..` -> (`name@sha256:..`, "");
/// a name without a tag is `latest`. A `:` before the last `/` is a
/// registry port, not a tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    if reference.contains('@') {
        return (reference, "");
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rfind(':') {
        Some(i) => {
            let at = reference.len() - last.len() + i;
            (&reference[..at], &reference[at + 1..])
        }
        None => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("mysql:8.0"), ("mysql", "8.0"));
        assert_eq!(split_reference("mysql"), ("mysql", "latest"));
        assert_eq!(
            split_reference("127.0.0.1:5000/busybox"),
            ("127.0.0.1:5000/busybox", "latest")
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/a/b:1"),
            ("127.0.0.1:5000/a/b", "1")
        );
        assert_eq!(split_reference("a@sha256:00"), ("a@sha256:00", ""));
    }
}
