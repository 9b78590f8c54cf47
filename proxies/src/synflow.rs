//! synflow (Tanaka et al. 2020, as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib `measures/synflow.py` + `ZeroCost.query`): PyTorch default init, then
//! every parameter replaced by its absolute value; BN is the identity; float64; one all-ones
//! input `[1, 3, H, W]`; R = Σ logits; the score is log(Σ over conv and linear weights of
//! |W ⊙ ∂R/∂W|), the natural log that NASLib's predictor (and so Suite-Zero) reports (0 stays 0).
//!
//! No deviation: the score needs no data and no labels. float64 is required (raw scores exceed
//! 1e38); burn's flex backend runs conv2d and its backward natively in f64 (checked in tests).

use crate::measure::{default_network, sum_over_layers};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::DType;
use swapnas_benchmarks::{BnMode, ForwardCtx, Kernels, Network, Taps};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "synflow",
    about: "SynFlow: log Σ|W ⊙ ∂R/∂W|, |W|, BN off, all-ones input, float64 (Tanaka et al. 2020)",
    needs: Needs { gradients: true, ..Needs::NOTHING },
    settings: &[],
    version: 1,
    function_only: true,
    key: |_| "input=ones[1] init=pytorch,abs bn=off dtype=f64 score=log".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    ensure!(ctx.batch.side > 0, "synflow: the image batch has no image size");
    let device = ctx.device.clone().autodiff();
    let net = default_network(ctx, &device, DType::F64);
    let net = net.map_params(&mut |_, value| value.abs()).context("synflow: taking |W|")?;
    let raw = synflow_sum(&*net, ctx.batch.side, ctx.settings.kernels)?;
    Ok(naslib_log(raw))
}

/// Σ over conv and linear weights of |W ⊙ ∂(Σ logits)/∂W| for `net` as it is (the caller
/// has taken |W|), BN off, on one all-ones `side × side` image in `net`'s dtype, on `kernels`.
pub fn synflow_sum(net: &dyn Network, side: usize, kernels: Kernels) -> Result<f64> {
    let device = net.device();
    let weights = net.weights();
    let dtype = weights.first().context("synflow: the network has no conv or linear weight")?.tensor.flat().dtype();
    let x: Tensor<4> = Tensor::ones([1, 3, side, side], (&device, dtype));
    let mut forward = ForwardCtx::new(BnMode::Off, Taps::default());
    forward.kernels = kernels;
    let grads = net.forward(x, &mut forward).sum().backward();
    sum_over_layers(weights.iter().filter_map(|w| Some(w.tensor.flat().inner().mul(w.tensor.grad_flat(&grads)?).abs())))
        .context("synflow: reading the score")
}

/// NASLib `ZeroCost.query`'s transform of a synflow score: log(s) for s > 0, −log(−s) for
/// s < 0, 0 for 0; NaN stays NaN.
pub fn naslib_log(score: f64) -> f64 {
    if score > 0.0 {
        score.ln()
    } else if score < 0.0 {
        -(-score).ln()
    } else {
        score
    }
}

#[cfg(test)]
mod tests {
    use super::naslib_log;

    #[test]
    fn naslib_log_as_zerocost_query() {
        assert!((naslib_log(2.0f64.exp()) - 2.0).abs() < 1e-12);
        assert!((naslib_log(-(1.0f64.exp())) + 1.0).abs() < 1e-12);
        assert_eq!(naslib_log(0.0), 0.0);
        assert!(naslib_log(f64::NAN).is_nan());
        assert_eq!(naslib_log(f64::INFINITY), f64::INFINITY);
    }
}
