//! Engine calls for operating a running stack day to day: container logs,
//! exec, and restart. Like the rest of [`super`], these decide nothing; the
//! commands in `cli` choose what to call them on.

use bollard::container::LogOutput;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::{LogsOptionsBuilder, RestartContainerOptionsBuilder};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{Engine, EngineError, Result};

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

/// A command to run in a running container.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub tty: bool,
    pub attach_stdin: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
}

impl Engine {
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

    /// Stops (within `timeout_s`, else the container's own grace period)
    /// and starts again; a stopped container is simply started.
    pub async fn restart_container(&self, id: &str, timeout_s: Option<i64>) -> Result<()> {
        let mut opts = RestartContainerOptionsBuilder::new();
        if let Some(t) = timeout_s {
            opts = opts.t(t.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
        }
        self.docker
            .restart_container(id, Some(opts.build()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Creates an exec instance in container `id`; returns its id.
    pub async fn create_exec(&self, id: &str, req: &ExecRequest) -> Result<String> {
        let config = ExecConfig {
            attach_stdin: Some(req.attach_stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(req.tty),
            env: (!req.env.is_empty()).then(|| req.env.clone()),
            cmd: Some(req.cmd.clone()),
            user: req.user.clone(),
            working_dir: req.workdir.clone(),
            ..Default::default()
        };
        self.docker
            .create_exec(id, config)
            .await
            .map(|r| r.id)
            .map_err(|e| self.error(e))
    }

    /// Starts an exec instance attached: its output stream and its input.
    pub async fn start_exec(&self, exec_id: &str, tty: bool) -> Result<StartExecResults> {
        let opts = StartExecOptions {
            detach: false,
            tty,
            output_capacity: None,
        };
        self.docker
            .start_exec(exec_id, Some(opts))
            .await
            .map_err(|e| self.error(e))
    }

    /// The exit code of a finished exec instance; None while it still runs.
    pub async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        let inspect = self
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| self.error(e))?;
        if inspect.running == Some(true) {
            return Ok(None);
        }
        inspect.exit_code.map(Some).ok_or_else(|| EngineError::Api {
            status: 0,
            message: format!("the engine reported no exit code for exec {exec_id}"),
        })
    }

    /// Tells the exec's TTY the size of the local terminal.
    pub async fn resize_exec(&self, exec_id: &str, height: u16, width: u16) -> Result<()> {
        self.docker
            .resize_exec(exec_id, ResizeExecOptions { height, width })
            .await
            .map_err(|e| self.error(e))
    }
}
