//! Zero-cost proxies: the [`Proxy`] trait, the [`registry`] of proxies by name, one file per
//! proxy.
//!
//! A proxy gets a [`ProxyContext`]: a [`NetworkBuilder`] for the architecture (so it can build
//! the network as often, on whichever device, in whichever dtype and with whichever
//! initialisation its reference uses), the first training images with their labels, the
//! device and a seed. What a proxy needs beyond that (gradients, float64, BN off, all-ones or
//! Gaussian input, pre-GAP features) it asks of the builder and of
//! [`swapnas_benchmarks::ForwardCtx`], so the trait does not change as proxies are added.

mod grad_norm;
mod snip;
mod grasp;
mod fisher;
mod synflow;
mod plain;
mod zico;
pub mod measure;
mod memo;
mod registry;
mod reg_swap;
mod swap;
mod params;
mod flops;
mod l2_norm;
mod nwot;
mod jacov;
mod epe_nas;
mod zen;
mod meco;

pub use memo::Memo;
pub use registry::{find, names, registry, ProxyEntry};
pub use grad_norm::GradNorm;
pub use snip::Snip;
pub use grasp::{grasp_score, hessian_vector_product, Grasp};
pub use fisher::Fisher;
pub use synflow::{synflow_sum, Synflow};
pub use plain::Plain;
pub use zico::Zico;
pub use reg_swap::{RegSwap, RegSwapPrior};
pub use swap::{count_distinct_patterns, Swap, MAX_BATCH as SWAP_MAX_BATCH};
pub use params::Params;
pub use flops::Flops;
pub use l2_norm::L2Norm;
pub use nwot::Nwot;
pub use jacov::Jacov;
pub use epe_nas::EpeNas;
pub use zen::Zen;
pub use meco::Meco;

use anyhow::Result;
use burn::tensor::Device;
use swapnas_benchmarks::{ImageBatch, NetworkBuilder};

/// Everything a proxy is given to score one architecture.
pub struct ProxyContext<'a> {
    pub builder: &'a dyn NetworkBuilder,
    /// This arch's images with labels (at least [`Proxy::batch_size`] of them): the first
    /// training images in file order, or with `--input random-augmented` a random augmented
    /// batch drawn with the arch's seed, as the zero-cost-nas / NASLib references draw one.
    pub batch: &'a ImageBatch,
    /// The device to compute on (without autodiff; proxies that need gradients call
    /// `.autodiff()` on it).
    pub device: &'a Device,
    /// Seed for this (architecture, proxy) evaluation: weight init and any noise derive from it.
    pub seed: u64,
    /// Results shared between the proxies scoring this architecture.
    pub memo: &'a Memo,
}

/// Settings shared by the proxies, set from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    /// SWAP's batch of images (the reference's `--input_samples`, 16).
    pub swap_batch: usize,
    /// SWAP's re-initialisations averaged over (the reference's `--repeats`, 32).
    pub swap_repeats: usize,
    /// reg-SWAP's μ and σ, in millions of parameters.
    pub reg_swap: RegSwapPrior,
    /// Batch of real training images for the baseline proxies: 32, as NAS-Bench-Suite-Zero's
    /// reference scores were computed (NASLib's configs use 32; zero-cost-nas' script 64).
    pub batch: usize,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self { swap_batch: 16, swap_repeats: 32, reg_swap: RegSwapPrior { mu: 1.5, sigma: 1.5 }, batch: 32 }
    }
}

/// A zero-cost proxy: a score for an untrained network, higher meaning "predicted better".
pub trait Proxy: Send + Sync {
    /// The registry name (`swap`, `reg_swap`, …).
    fn name(&self) -> &'static str;
    /// The settings that change this proxy's scores, in a canonical one-line form; part of
    /// the score-cache key and of report headers.
    fn settings(&self) -> String;
    /// How many images of [`ProxyContext::batch`] the proxy uses.
    fn batch_size(&self) -> usize;
    /// Scores one architecture. Errors name the arch; a NaN/inf score is returned as is and
    /// the caller records it.
    fn score(&self, ctx: &ProxyContext) -> Result<f64>;
}

/// Derives a child seed (per repeat, per batch, …) from a parent seed: SplitMix64.
pub fn derive_seed(parent: u64, stream: u64) -> u64 {
    let mut z = parent ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
