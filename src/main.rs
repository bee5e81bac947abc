//! berth: declarative stacks for Docker.

mod cli;
mod diag;
mod graph;
mod load;
mod model;
mod output;
mod source;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli::run(cli) {
        cli::Outcome::Success => 0,
        cli::Outcome::Invalid => 1,
    };
    std::process::exit(code);
}
