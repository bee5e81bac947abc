//! A container's output: the last lines (for error messages) and the
//! stream that `berth logs` prints. Which containers to ask is the caller's
//! choice.

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
        let tail = req
            .tail
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        let mut opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(req.follow)
            .timestamps(req.timestamps)
            .tail(&tail);
        if let Some(since) = req.since {
            opts = opts.since(since.clamp(0, i32::MAX.into()) as i32);
        }
        let engine = self.clone();
        self.docker
            .logs(id, Some(opts.build()))
            .map(move |chunk| chunk.map_err(|e| engine.error(e)))
            .boxed()
    }
}
