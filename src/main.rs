//! The `berth` executable: parse the command line, run, print the error once,
//! exit with its code.

use clap::Parser;

fn main() {
    let cli = berth::cli::Cli::parse_from(berth::cli::args());
    let mode = cli.progress_mode();
    let result = berth::cli::run(cli);
    if let Err(e) = &result {
        e.print(mode);
    }
    std::process::exit(berth::cli::exit_code(&result));
}
