//! Running a command in a running container (`berth exec`): create the exec
//! instance, attach to it, resize its TTY, read its exit code.

use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;

use super::{Engine, EngineError, Result};

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
