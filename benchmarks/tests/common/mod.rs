//! The tests' data: the full real data (`$SWAPNAS_DATA`, else `../shared/data` beside the
//! clone) when present, else the embedded subset (see `testsupport/data.rs`).
#![allow(dead_code)]

use swapnas_benchmarks::DataDir;

#[path = "../../../testsupport/data.rs"]
mod data;
#[allow(unused_imports)]
pub use data::{full_data, full_data_dir};

/// The full real data when present, else an empty directory served by the embedded subset.
pub fn data_dir() -> DataDir {
    DataDir::at(data::data_path())
}

/// The full data as a [`DataDir`], or `None` (the test says it skipped).
pub fn full(why: &str) -> Option<DataDir> {
    full_data(why).map(DataDir::at)
}
