//! L-SWAG (Casarin, Escalera & Lanz, "L-SWAG: Layer-Sample Wise Activation with Gradients
//! information for Zero-Shot NAS on Vision Transformers", CVPR 2025, Eq. 1):
//! L-SWAG = Λ · Ψ over a layer interval [l̂, L̂], with
//! * Λ = Σ_{l = l̂..L̂} log Σ_{w ∈ θ_l} 1 / √Var(|∂L/∂w|) — ZiCo's statistic with 1 in place of the
//!   mean gradient;
//! * Ψ = the number of distinct sample-wise activation patterns (SWAP's count: one binary
//!   vector over the samples per neuron, pooled over the interval's ReLU layers).
//!
//! No official code is public (searched: the authors' GitHub, "lswag", "LIBRA-NAS"); the
//! paper's supplementary material, with the per-benchmark intervals, was not available.
//! Choices we had to make, each where the paper is silent:
//! * Λ's variance is over 2 real batches of B images (the baseline batch, `--proxy-batch`),
//!   per weight, population variance of |g| — ZiCo's protocol (the paper builds on
//!   Suite-Zero, whose ZiCo uses 2 batches); unlike ZiCo's code the two gradients are the
//!   batches' own, not running sums. Weights with zero variance are skipped (as ZiCo), a layer
//!   whose sum is 0 is skipped. Loss: the task's (cross-entropy with the images' labels on
//!   classification); PyTorch default init; BN on batch statistics.
//! * Layers are the conv and linear weights in construction order (≈ depth order); Ψ's layers
//!   are the ReLUs on 4-D tensors in execution order. The interval [l̂, L̂] is a fraction of
//!   each list: layers with index in [⌊lo·n⌋, ⌈hi·n⌉). The paper picks l̂, L̂ per benchmark
//!   from spikes of the gradients' log σ over depth percentiles on 1,000 random networks and
//!   does not print the result, so the default is the whole network (0–100 %, the paper's
//!   "no layer selection" setting); `--lswag-layers LO-HI` sets it.
//! * Ψ is counted on the same network (PyTorch default init, one forward pass of the first B
//!   images — Λ's first batch —, BN on batch statistics), once — not SWAP's 32 Gaussian re-inits;
//!   Def. 1 counts layers 1..L̂ while Eq. 1 sums Λ from l̂: we use [l̂, L̂] for both.

use crate::measure::PROXY_BATCH;
use crate::measure::{batch_weight_grads, default_network, real_batch, std_over_rows, sum_where_nonzero};
use crate::swap::{count_distinct_patterns, relu_patterns};
use crate::setting::Setting;
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use burn::prelude::*;
use burn::tensor::DType;

/// Batches the gradient variance is taken over.
pub const BATCHES: usize = 2;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "lswag",
    about: "L-SWAG: Σ_layers log Σ 1/σ(|g|) × distinct sample-wise patterns, over a layer interval (Casarin et al. 2025)",
    needs: Needs { relu_patterns: true, ..Needs::LOSS_GRADIENTS },
    settings: &[&PROXY_BATCH, &LAYERS],
    version: 1,
    function_only: false,
    key: |s| {
        format!(
            "B={}x{} init=pytorch bn=batch loss={} layers={}-{}%",
            BATCHES,
            PROXY_BATCH.get(s),
            s.loss.name(),
            LAYERS.get(s)[0] * 100.0,
            LAYERS.get(s)[1] * 100.0
        )
    },
    batch: |s| BATCHES * PROXY_BATCH.get(s),
    score,
};

/// `--lswag-layers`: the layer interval [l̂, L̂], as fractions of depth.
pub const LAYERS: Setting<[f64; 2]> = Setting {
    name: "lswag_layers",
    value: "LO-HI",
    about: "L-SWAG's layer interval [l̂, L̂] in percent of the network's depth, LO-HI (the paper picks it per benchmark and does not publish the values; see proxies/src/lswag.rs)",
    default: "0-100",
    parse: parse_layers,
};

/// `LO-HI` (percent of depth) as fractions.
pub fn parse_layers(text: &str) -> Result<[f64; 2]> {
    let parsed = text.split_once('-').and_then(|(a, b)| Some([a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?]));
    match parsed {
        Some([lo, hi]) if (0.0..hi).contains(&lo) && hi <= 100.0 => Ok([lo / 100.0, hi / 100.0]),
        _ => anyhow::bail!("LO-HI in percent of depth with 0 ≤ LO < HI ≤ 100 (e.g. 0-100 or 40-90), got `{text}`"),
    }
}

/// The indices of a list of `n` layers inside the interval.
pub fn interval(n: usize, layers: [f64; 2]) -> std::ops::Range<usize> {
    let lo = ((layers[0] * n as f64).floor() as usize).min(n);
    let hi = ((layers[1] * n as f64).ceil() as usize).clamp(lo, n);
    lo..hi
}

fn score(ctx: &ProxyContext) -> Result<f64> {
    let b = PROXY_BATCH.get(ctx.settings);
    ensure!((1..=crate::SWAP_MAX_BATCH).contains(&b), "lswag counts patterns over B samples, 1..={}; B = {b}", crate::SWAP_MAX_BATCH);
    let grads = batch_weight_grads(ctx, BATCHES)?;
    let layers = grads[0].len();
    let mut lambda = 0.0;
    for l in interval(layers, LAYERS.get(ctx.settings)) {
        let g: Tensor<2> = Tensor::stack(grads.iter().map(|batch| batch[l].clone().abs()).collect::<Vec<_>>(), 0);
        let sd = std_over_rows(g);
        let sum = sum_where_nonzero(sd.ones_like(), sd)?;
        if sum != 0.0 {
            lambda += sum.ln();
        }
    }
    let net = default_network(ctx, ctx.device, DType::F32);
    let (x, _) = real_batch(ctx, b, ctx.device, DType::F32)?;
    let activations = relu_patterns(net.as_ref(), x);
    let range = interval(activations.len(), LAYERS.get(ctx.settings));
    ensure!(!range.is_empty(), "lswag: no ReLU layer in the interval");
    let psi = count_distinct_patterns(&activations[range])? as f64;
    Ok(lambda * psi)
}

#[cfg(test)]
mod tests {
    use super::{interval, parse_layers};

    #[test]
    fn intervals_cover_the_named_fraction() {
        assert_eq!(parse_layers("40-90").unwrap(), [0.4, 0.9]);
        assert!(parse_layers("90-40").is_err() && parse_layers("0-101").is_err() && parse_layers("x").is_err());
        assert_eq!(interval(10, [0.0, 1.0]), 0..10);
        assert_eq!(interval(10, [0.4, 0.9]), 4..9);
        assert_eq!(interval(7, [0.5, 1.0]), 3..7);
        assert_eq!(interval(3, [0.0, 0.1]), 0..1);
    }
}
