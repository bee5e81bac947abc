//! `berth completions SHELL` and the hidden `berth man`: both generated from
//! the clap definitions, so they never drift from the real options.

use clap::CommandFactory;

use super::{Cli, Error, Outcome, print_out};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completions(args: CompletionsArgs) -> Result<Outcome, Error> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "berth", &mut buf);
    print_out(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Success)
}

/// The man page (roff), for `berth man > berth.1`.
pub fn man() -> Result<Outcome, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::message(format!("cannot render the man page: {e}")))?;
    print_out(&String::from_utf8_lossy(&buf))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(shell: clap_complete::Shell) -> String {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "berth", &mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn completion_scripts_know_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = render(shell);
            for cmd in ["up", "down", "logs", "exec", "restart"] {
                assert!(script.contains(cmd), "{shell} script lacks {cmd}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_commands() {
        let mut buf = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut buf)
            .unwrap();
        let page = String::from_utf8(buf).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains(".TH berth 1"), "{page}");
        assert!(page.contains("logs"), "{page}");
    }
}
