//! `swapnas`: score benchmark architectures with zero-cost proxies and report how well each
//! proxy ranks them against trained accuracy.

mod bench;
mod cache;
mod check;
mod device;
mod fetch;
mod cli;
mod reproduce;
mod run;
mod suites;
mod sample;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = run::main(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
