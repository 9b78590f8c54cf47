//! Locates the real data for tests: `$SWAPNAS_DATA`, else `../shared/data` beside the clone.

use swapnas_benchmarks::DataDir;

pub fn data_dir() -> DataDir {
    let dir = std::env::var_os("SWAPNAS_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(
        dir.join("benchmarks").is_dir(),
        "tests need the real data: set SWAPNAS_DATA or put it at {} (see README.md, Data)",
        dir.display()
    );
    DataDir::at(dir)
}
