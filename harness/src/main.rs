//! `swapnas`: score benchmark architectures with zero-cost proxies and report how well each
//! proxy ranks them against trained accuracy.
//!
//! This file only dispatches ([`swapnas::commands`]: one file per subcommand, each resolving
//! its flags into typed specs and running on the one scoring engine, `swapnas::engine`; the
//! library's root lists the modules and how they depend on each other).

use clap::Parser;
use swapnas::commands;

fn main() {
    // A full disk or a file-size limit makes a write fail with an error the run reports (and
    // resumes from), instead of SIGXFSZ killing the process mid-line.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    swapnas::memory::keep_freed_memory();
    let cli = commands::Cli::parse();
    if let Err(err) = commands::dispatch(&cli) {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
