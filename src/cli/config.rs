//! `berth config` and `berth validate`: print or check the normalised stack.

use std::path::PathBuf;

use super::{Error, Global, Outcome, load_stack, print_out};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Only validate; print nothing when the stack is valid
    #[arg(short, long)]
    pub quiet: bool,
    /// Print what `up --swarm` would send (overlay networks and service
    /// specs, as JSON), with a warning for each key Swarm cannot honour
    #[arg(long)]
    pub swarm: bool,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
}

pub fn validate(global: &Global, args: ValidateArgs) -> Result<Outcome, Error> {
    load_stack(global, args.file.as_ref())?;
    Ok(Outcome::Success)
}

pub fn run(global: &Global, args: ConfigArgs) -> Result<Outcome, Error> {
    let loaded = load_stack(global, args.file.as_ref())?;
    if args.quiet {
        return Ok(Outcome::Success);
    }
    let stack = &loaded.stack;
    if args.swarm {
        print_out(&super::swarm::config(&loaded)?)?;
        return Ok(Outcome::Success);
    }
    if args.services {
        let mut out = String::new();
        for name in stack.services.keys() {
            out.push_str(name);
            out.push('\n');
        }
        print_out(&out)?;
        return Ok(Outcome::Success);
    }
    if args.volumes {
        let mut out = String::new();
        for name in stack.volumes.keys() {
            out.push_str(name);
            out.push('\n');
        }
        print_out(&out)?;
        return Ok(Outcome::Success);
    }
    match args.format {
        Format::Json => {
            crate::output::write_json(stack, std::io::stdout().lock())
                .map_err(|_| Error::broken_pipe())?;
        }
        Format::Yaml => {
            let value = crate::output::canonical_json(stack);
            print_out(&crate::output::to_yaml(&value))?;
        }
    }
    Ok(Outcome::Success)
}
