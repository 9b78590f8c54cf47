//! Where the tests find their data (shared by every crate's tests through `#[path]`).
//!
//! The full real data (`$SWAPNAS_DATA`, else `../shared/data` beside the clone) when it is
//! there; otherwise an empty data directory, so loaders serve the subset compiled into
//! swapnas (NAS-Bench-201's accuracies, the first CIFAR images) and the suite runs on a fresh
//! clone with no network (the harness tests start swapnas through `common::swapnas()`, which
//! sets `SWAPNAS_OFFLINE` on each command, with or without the full data). A test that needs
//! more asks [`full_data`] and, without it, says in the test output that it skipped.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// The full data directory, if present.
pub fn full_data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SWAPNAS_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    dir.join("benchmarks").is_dir().then_some(dir)
}

/// The full data, or `None` after telling the test output (past libtest's capture) that this
/// test is skipped for want of it and why it needs it.
pub fn full_data(why: &str) -> Option<PathBuf> {
    let dir = full_data_dir();
    if dir.is_none() {
        let test = std::thread::current().name().unwrap_or("a test").to_string();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: needs the full data ({why}); set SWAPNAS_DATA or put it at ../shared/data (README, Data)"
        );
    }
    dir
}

/// The data directory to run on: the full data, else an empty directory (embedded subset),
/// offline.
pub fn data_path() -> PathBuf {
    if let Some(dir) = full_data_dir() {
        return dir;
    }
    let empty = std::env::temp_dir().join(format!("swapnas-embedded-only-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("a temporary directory");
    empty
}
