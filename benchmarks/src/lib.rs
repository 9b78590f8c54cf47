//! Search spaces and benchmark data for swapnas.
//!
//! * [`network`]: the object-safe [`Network`] every search space's burn module implements,
//!   and the [`ForwardCtx`] through which proxies ask for activation taps and BN modes.
//! * [`layers`] and [`init`]: the few layer primitives the spaces are built from, and the
//!   weight initialisations the proxies' references use (PyTorch default, Gaussian N(0, 1)).
//! * [`nb201`]: NAS-Bench-201 — arch encodings, the network, the accuracy table.
//! * [`darts`]: the DARTS space — NAS-Bench-301 and the SWAP authors' DARTS-1000 set.
//! * [`nb101`]: NAS-Bench-101 — the 56-tuple encoding, pruning, the network.
//! * [`images`]: CIFAR-10/100 and ImageNet16 readers with the reference normalisation.
//! * [`data_dir`]: where the data lives, and what to do when a file is missing.

pub mod darts;
pub mod archive;
pub mod data_dir;
pub mod images;
pub mod init;
pub mod layers;
pub mod nb101;
pub mod nb201;
pub mod network;
pub mod suite_zero;

pub use data_dir::DataDir;
pub use images::{ImageBatch, ImageSet};
pub use init::{InitScheme, WeightInit};
pub use network::{
    BnMode, BuildOptions, ForwardCtx, Network, NetworkBuilder, ParamMapFn, ParamSlot, Probe, Record, ReluReplay, SpaceBuilder,
    SpaceNetwork, Weight, WeightKind, WeightTensor,
};
