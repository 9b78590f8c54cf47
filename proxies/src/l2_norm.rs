//! l2_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/l2_norm.py`, `l.weight.norm()` summed by
//! `sum_arr`): PyTorch default init, no data; the score is Σ over conv and linear layers of
//! ‖W‖₂ (Frobenius norm of the weight, not squared; no biases, no BN parameters).
//!
//! Deviation (TransNAS-Bench-101 normal / autoencoder): the official models also carry a GAN
//! discriminator that never runs; NASLib's sum includes its conv weights (≈ +56 on ≈ 390 for
//! a micro arch, nearly the same for every arch), we do not build it (it is not part of the
//! network that is scored, and Suite-Zero's `params` leave it out too). Transposed convs are
//! left out as in the reference (`nn.ConvTranspose2d` is not an `nn.Conv2d`).

use crate::measure::{default_network, sum_over_layers};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use burn::tensor::DType;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "l2_norm",
    about: "Σ‖W‖ of conv/linear weights at default init (Abdelfattah et al. 2021)",
    needs: Needs { token_inputs: true, ..Needs::NOTHING },
    settings: &[],
    version: 1,
    function_only: false,
    key: |_| "init=pytorch".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let net = default_network(ctx, ctx.device, DType::F32);
    let weights = net.weights();
    ensure!(!weights.is_empty(), "the network of {} has no conv or linear weight", ctx.builder.arch_label());
    sum_over_layers(weights.iter().map(|w| w.tensor.flat().powi_scalar(2).sum().sqrt()))
}
