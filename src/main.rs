//! The `berth` executable: parse the command line, run, exit with its code.

use clap::Parser;

fn main() {
    let cli = berth::cli::Cli::parse_from(berth::cli::args());
    let code = match berth::cli::run(cli) {
        berth::cli::Outcome::Success => 0,
        berth::cli::Outcome::Invalid => 1,
        berth::cli::Outcome::Changes => 3,
        berth::cli::Outcome::Interrupted => 130,
        berth::cli::Outcome::Exit(code) => code,
    };
    std::process::exit(code);
}
