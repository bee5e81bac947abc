//! `berth exec`: run a command in a service's running container, attached
//! to berth's standard streams, and exit with the command's exit code.
//!
//! A TTY is allocated when standard input is a terminal (unless `-T`); the
//! local terminal is then in raw mode while attached, so that keys reach
//! the command as typed, and is restored however the command ends.

use std::io::{IsTerminal, Write};

use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::Error;
use super::session::{Needs, Session};
use super::{Global, Outcome};
use crate::engine::Engine;
use crate::engine::exec::ExecRequest;

#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status: the command's own, or 1 when berth could not run it.")]
pub struct ExecArgs {
    /// Do not allocate a TTY (the default when standard input is not a terminal)
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Run as this user (name or uid[:gid])
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Set an environment variable (repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Which replica of the service
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,
    /// The service to run the command in
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The command and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

pub fn run(global: &Global, args: ExecArgs) -> Result<Outcome, Error> {
    let session = Session::open(global, Needs::read())?;
    let tty = !args.no_tty && std::io::stdin().is_terminal();
    let s = &session;
    let (engine, target) = session.block_on(async {
        let engine = s.connect().await?;
        let found = s.replicas(&engine).await?;
        s.check_services(&found, std::slice::from_ref(&args.service))?;
        let target = found
            .into_iter()
            .find(|r| r.service == args.service && r.number == args.index && r.running)
            .ok_or_else(|| {
                Error::message(format!(
                    "service `{}` has no running container{}; start it with `berth up {}`",
                    args.service,
                    if args.index == 1 {
                        String::new()
                    } else {
                        format!(" with index {}", args.index)
                    },
                    args.service
                ))
            })?;
        Ok((engine, target))
    })?;
    let req = ExecRequest {
        cmd: args.command.clone(),
        tty,
        attach_stdin: true,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        env: args.env.clone(),
    };
    // Standard input is read on a blocking thread that may never return:
    // `finish` does not wait for it.
    let code = session
        .finish(attach(&engine, &target.id, &req))
        .map_err(|e| {
            Error::message(format!(
                "cannot run {:?} in {}: {e}",
                args.command.join(" "),
                target.name
            ))
        })?;
    Ok(Outcome::Exit(code))
}

/// Runs the exec attached to the standard streams; returns its exit code.
async fn attach(engine: &Engine, container: &str, req: &ExecRequest) -> crate::engine::Result<i32> {
    let exec_id = engine.create_exec(container, req).await?;
    let _raw = req.tty.then(RawMode::enter).flatten();
    let started = engine.start_exec(&exec_id, req.tty).await?;
    if req.tty {
        if let Some((rows, cols)) = terminal_size() {
            let _ = engine.resize_exec(&exec_id, rows, cols).await;
        }
        follow_resizes(engine.clone(), exec_id.clone());
    }
    if let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    {
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 8192];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if input.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        let _ = input.flush().await;
                    }
                }
            }
            // End of input: the command sees its stdin close.
            let _ = input.shutdown().await;
        });
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(|e| crate::engine::EngineError::Api {
                status: 0,
                message: e.to_string(),
            })?;
            match chunk {
                LogOutput::StdErr { message } => {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(&message).and_then(|_| err.flush());
                }
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&message).and_then(|_| out.flush());
                }
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    // The stream ends as the process does; the engine may take a moment to
    // record its exit code.
    for _ in 0..50 {
        if let Some(code) = engine.exec_exit_code(&exec_id).await? {
            return Ok(code.clamp(0, 255) as i32);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(crate::engine::EngineError::Api {
        status: 0,
        message: "the command's output ended but the engine still reports it running".into(),
    })
}

/// Passes the local terminal's size on to the exec's TTY on every SIGWINCH.
fn follow_resizes(engine: Engine, exec_id: String) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut winch) = signal(SignalKind::window_change()) else {
            return;
        };
        while winch.recv().await.is_some() {
            if let Some((rows, cols)) = terminal_size() {
                let _ = engine.resize_exec(&exec_id, rows, cols).await;
            }
        }
    });
}

fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills the winsize it is given; nothing else is read.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The local terminal in raw mode; the settings before are restored on drop.
struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        // SAFETY: tcgetattr/tcsetattr on stdin with termios structs owned here.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enter`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}
