//! Search spaces and benchmark data for swapnas.
//!
//! * [`network`]: the object-safe [`Network`] every search space's burn module implements,
//!   and the [`ForwardCtx`] through which proxies ask for activation taps and BN modes.
//! * [`layers`] and [`init`]: the few layer primitives the spaces are built from, and the
//!   weight initialisations the proxies' references use (PyTorch default, Gaussian N(0, 1)).
//! * [`nb201`]: NAS-Bench-201 — arch encodings, the network, the accuracy table.
//! * [`images`]: CIFAR-10/100 and ImageNet16 readers with the reference normalisation.
//! * [`data_dir`]: where the data lives, and what to do when a file is missing.

pub mod data_dir;
pub mod images;
pub mod init;
pub mod layers;
pub mod nb201;
pub mod network;
pub mod suite_zero;

pub use data_dir::DataDir;
pub use images::{ImageBatch, ImageSet};
pub use init::{InitScheme, WeightInit};
pub use network::{BnMode, BuildOptions, ForwardCtx, Network, NetworkBuilder, Probe, Record, Weight, WeightKind, WeightTensor};
