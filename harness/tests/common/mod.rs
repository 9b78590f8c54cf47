//! Locates the real data for the harness tests: `$SWAPNAS_DATA`, else `../shared/data` beside
//! the clone.

use std::path::PathBuf;

pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("SWAPNAS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(dir.join("benchmarks").is_dir(), "tests need the real data: set SWAPNAS_DATA (see README.md)");
    dir
}
