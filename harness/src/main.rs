//! `swapnas`: score benchmark architectures with zero-cost proxies and report how well each
//! proxy ranks them against trained accuracy.
//!
//! This file only dispatches ([`commands`]: one file per subcommand, each resolving its flags
//! into typed specs and running on the one scoring engine, [`engine`]). Module dependencies
//! flow one way: `main` → `commands` → `spec` → `engine` → `cache`/`device`/`fetch`, with
//! `cli` (flag groups) read only by `commands` and `spec`, and `outputs` (the one writer of
//! a command's files) beside them.

mod cache;
mod cli;
mod commands;
mod device;
mod engine;
mod fetch;
mod memory;
mod outputs;
mod spec;

use clap::Parser;

fn main() {
    // A full disk or a file-size limit makes a write fail with an error the run reports (and
    // resumes from), instead of SIGXFSZ killing the process mid-line.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = commands::Cli::parse();
    if let Err(err) = commands::dispatch(&cli) {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
