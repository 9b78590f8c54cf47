//! `swapnas`: score benchmark architectures with zero-cost proxies and report how well each
//! proxy ranks them against trained accuracy.
//!
//! This file only dispatches: each subcommand resolves its own flags into a typed config and
//! runs on the one scoring engine ([`engine`]). Module dependencies flow one way:
//! `main` → `run`/`check`/`bench`/`reproduce`/`search`/`merge`/`ablate`/`fetch` → `engine` → `cache`/`device`, with
//! `cli` (flags) beside them, read into the engine's typed specs by `spec`; `reproduce` also
//! uses `run`.

mod ablate;
mod bench;
mod cache;
mod check;
mod cli;
mod device;
mod engine;
mod fetch;
mod merge;
mod reproduce;
mod run;
mod search;
mod spec;

use clap::Parser;
use cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => run::run(&cli.run),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Reproduce(args)) => reproduce::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Search(args)) => search::run(args),
        Some(Command::Merge(args)) => merge::run(args),
        Some(Command::Ablate(args)) => ablate::run(args),
        Some(Command::Data(cmd)) => fetch::run(cmd),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
