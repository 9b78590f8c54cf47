//! Benchmark data: where it lives ([`data_dir`]), the HDF5 archive format ([`archive`]),
//! NAS-Bench-Suite-Zero's reference files ([`suite_zero`]) and the Python-literal parser arch
//! encodings are written in ([`literal`]).

pub mod archive;
pub mod data_dir;
pub mod embedded;
pub mod literal;
pub mod suite_zero;
