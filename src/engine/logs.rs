//! A container's output: the last lines (for error messages) and the
//! stream that `berth logs` prints; and a Swarm service's output, for
//! `berth logs --swarm`. Which containers or services to ask is the
//! caller's choice.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{Engine, Result};

/// What `logs` asks the engine for, per container.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub follow: bool,
    /// Lines from the end (`all` when None).
    pub tail: Option<usize>,
    /// Only lines after this Unix time, in seconds.
    pub since: Option<i64>,
    pub timestamps: bool,
}

impl LogRequest {
    fn options(&self) -> bollard::query_parameters::LogsOptions {
        let tail = self
            .tail
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        let mut opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(self.follow)
            .timestamps(self.timestamps)
            .tail(&tail);
        if let Some(since) = self.since {
            opts = opts.since(since.clamp(0, i32::MAX.into()) as i32);
        }
        opts.build()
    }
}

impl Engine {
    /// The last `lines` lines of stdout+stderr, as text.
    pub async fn logs_tail(&self, id: &str, lines: usize) -> Result<String> {
        let opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(id, Some(opts));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(e))?;
            out.extend_from_slice(&chunk.into_bytes());
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The container's output as a stream of chunks (stdout and stderr
    /// apart; a TTY container's output arrives as `Console`).
    pub fn container_logs(
        &self,
        id: &str,
        req: &LogRequest,
    ) -> BoxStream<'static, Result<LogOutput>> {
        let engine = self.clone();
        self.docker
            .logs(id, Some(req.options()))
            .map(move |chunk| chunk.map_err(|e| engine.error(e)))
            .boxed()
    }

    /// A Swarm service's output, all its tasks' (`/services/{id}/logs`, the
    /// call `docker service logs` makes), as one stream of chunks; with
    /// `follow` the engine adds the lines of tasks started later. Each line
    /// carries its details, `com.docker.swarm.node.id=..,
    /// com.docker.swarm.service.id=..,com.docker.swarm.task.id=.. ` (after
    /// the timestamp, when asked for), which is how a line's task is known:
    /// bollard's options have no `details`, so it is added to the query
    /// here.
    pub fn service_logs(
        &self,
        id: &str,
        req: &LogRequest,
    ) -> BoxStream<'static, Result<LogOutput>> {
        let engine = self.clone();
        let docker = self.docker.clone().with_request_modifier(|mut request| {
            let uri = request.uri().to_string();
            if uri.contains("/services/") && !uri.contains("details=") {
                let sep = if uri.contains('?') { '&' } else { '?' };
                if let Ok(with) = format!("{uri}{sep}details=true").parse() {
                    *request.uri_mut() = with;
                }
            }
            request
        });
        docker
            .service_logs(id, Some(req.options()))
            .map(move |chunk| chunk.map_err(|e| engine.error(e)))
            .boxed()
    }
}
