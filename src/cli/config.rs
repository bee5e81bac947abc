//! `berth config` and `berth validate`: print or check the normalised stack.

use std::path::PathBuf;

use super::{Global, Outcome, load_stack, print_out};

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
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Stack file (same as -f)
    pub file: Option<PathBuf>,
}

pub fn validate(global: &Global, args: ValidateArgs) -> Outcome {
    match load_stack(global, args.file.as_ref()) {
        Some(_) => Outcome::Success,
        None => Outcome::Invalid,
    }
}

pub fn run(global: &Global, args: ConfigArgs) -> Outcome {
    let Some(loaded) = load_stack(global, args.file.as_ref()) else {
        return Outcome::Invalid;
    };
    if args.quiet {
        return Outcome::Success;
    }
    let stack = &loaded.stack;
    if args.services {
        let mut out = String::new();
        for name in stack.services.keys() {
            out.push_str(name);
            out.push('\n');
        }
        print_out(&out);
        return Outcome::Success;
    }
    if args.volumes {
        let mut out = String::new();
        for name in stack.volumes.keys() {
            out.push_str(name);
            out.push('\n');
        }
        print_out(&out);
        return Outcome::Success;
    }
    match args.format {
        Format::Json => {
            // A closed pipe (`berth config | head`) is not an error.
            let _ = crate::output::write_json(stack, std::io::stdout().lock());
        }
        Format::Yaml => {
            let value = crate::output::canonical_json(stack);
            print_out(&crate::output::to_yaml(&value));
        }
    }
    Outcome::Success
}
