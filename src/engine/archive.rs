//! Files into a running container (`berth watch`'s sync): a tar extracted
//! by the engine's archive API, and a command run to its end in the
//! container (to delete what was deleted on the host, or a rule's `exec`).

use bollard::models::ExecConfig;
use bollard::query_parameters::UploadToContainerOptions;
use futures_util::StreamExt;

use super::{Engine, EngineError, Result};

/// A command run in a container without a terminal, to its end.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub cmd: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub privileged: bool,
}

impl Engine {
    /// `PUT /containers/{id}/archive?path=/`: extracts `tar` at the root of
    /// the container's filesystem, with the owners the tar names (as
    /// compose's sync asks, `copyUIDGID`).
    pub async fn upload_archive(&self, id: &str, tar: Vec<u8>) -> Result<()> {
        let opts = UploadToContainerOptions {
            path: "/".into(),
            copy_uidgid: Some("true".into()),
            ..Default::default()
        };
        self.docker
            .upload_to_container(id, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Runs `req` in container `id` and waits for it: its exit code and what
    /// it wrote (stdout and stderr together).
    pub async fn run_in(&self, id: &str, req: &RunRequest) -> Result<(i64, String)> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(req.cmd.clone()),
            user: req.user.clone(),
            working_dir: req.workdir.clone(),
            env: (!req.env.is_empty()).then(|| req.env.clone()),
            privileged: Some(req.privileged),
            ..Default::default()
        };
        let exec = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| self.error(e))?
            .id;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream, ..
        } = self.start_exec(&exec, false).await?
        {
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => output.push_str(&String::from_utf8_lossy(&c.into_bytes())),
                    Err(e) => return Err(self.error(e)),
                }
            }
        }
        match self.exec_exit_code(&exec).await? {
            Some(code) => Ok((code, output)),
            None => Err(EngineError::Api {
                status: 0,
                message: format!("the command in {id} still runs after its output ended"),
            }),
        }
    }
}
