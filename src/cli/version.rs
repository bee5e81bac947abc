//! `berth version`: berth's version, as `docker compose version` prints
//! its own: `berth version X.Y.Z`, the number alone with `--short`, or
//! `{"version":"X.Y.Z"}` with `--format json`. It needs no engine.

use super::{Error, Outcome, print_out};
use crate::identity::BERTH_VERSION;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Pretty,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// (compose's `-f` short form is berth's global `--file`)
    #[arg(long, value_enum, default_value = "pretty")]
    pub format: Format,
    /// Only the version number
    #[arg(long)]
    pub short: bool,
}

/// What the command prints, for these options.
fn text(args: &VersionArgs) -> String {
    if args.short {
        return format!("{BERTH_VERSION}\n");
    }
    match args.format {
        Format::Pretty => format!("berth version {BERTH_VERSION}\n"),
        Format::Json => format!("{}\n", serde_json::json!({ "version": BERTH_VERSION })),
    }
}

pub fn run(args: VersionArgs) -> Result<Outcome, Error> {
    print_out(&text(&args))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_and_short_are_composes_three_shapes() {
        let args = |format, short| VersionArgs { format, short };
        assert_eq!(
            text(&args(Format::Pretty, false)),
            format!("berth version {BERTH_VERSION}\n")
        );
        assert_eq!(
            text(&args(Format::Json, false)),
            format!("{{\"version\":\"{BERTH_VERSION}\"}}\n")
        );
        assert_eq!(
            text(&args(Format::Json, true)),
            format!("{BERTH_VERSION}\n")
        );
    }
}
