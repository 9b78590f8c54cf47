//! The plain activation-pattern count (`ap`): the number of distinct activation patterns of the
//! B samples, a sample's pattern being the signs of all its ReLU outputs — the standard
//! (not sample-wise) pattern set A the SWAP paper (Peng et al. 2024, §3.1) compares SWAP's Â
//! with. Bounded by B: on 32×32 inputs almost every sample has its own pattern and the count
//! saturates; on tiny inputs (the paper's 3×3) patterns coincide and it varies.
//!
//! Computed from the very forward passes SWAP makes (same init, BN on batch statistics, same
//! images, mean over the R repeats; the settings are SWAP's), so scoring `ap` beside `swap`
//! or `reg_swap` costs nothing more.

use crate::{swap, Needs, ProxyDecl};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "ap",
    about: "plain activation-pattern count: distinct per-sample ReLU patterns (≤ B), SWAP's non-sample-wise counterpart",
    needs: Needs::RELU_PATTERNS,
    settings: &[&swap::BATCH, &swap::REPEATS],
    version: 1,
    function_only: false,
    key: swap::key,
    batch: |s| swap::BATCH.get(s),
    score: |ctx| Ok(swap::measured(ctx)?.ap),
};
