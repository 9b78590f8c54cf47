//! The harness tests' data: the full real data when present, else the embedded subset (see
//! `testsupport/data.rs`).
#![allow(dead_code)]

#[path = "../../../testsupport/data.rs"]
mod data;
#[allow(unused_imports)]
pub use data::{full_data, full_data_dir};

pub fn data_dir() -> std::path::PathBuf {
    data::data_path()
}
