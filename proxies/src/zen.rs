//! Zen-NAS (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition",
//! ICCV 2021).
//!
//! Definition (NASLib `measures/zen.py` = ZenNAS `compute_zen_score.py`, repeat 1): conv and
//! linear weights N(0, 1), biases 0, BN weight 1 / bias 0; BN in train mode; Gaussian input x
//! of the real batch's shape `[B, 3, h, w]` and x_mix = x + 0.01·ε; f = the pre-GAP features
//! (after the head BN + ReLU); Δ = mean_n Σ_chw |f(x) − f(x_mix)|; the score is
//! ln Δ + Σ over BNs ln √(mean_c running_var). running_var is what PyTorch's BN (momentum
//! 0.1, starting at 1, unbiased batch variance) holds after the two passes, computed from the
//! biased batch variances v₁, v₂ over m = n·h·w values: 0.81 + 0.09·u₁ + 0.1·u₂, u = v·m/(m−1).
//! Δ = 0 (output independent of the input) gives −inf, returned as is. Deviations: weights,
//! input and noise come from our seeded ChaCha stream, not torch's RNG. On TransNAS-Bench-101's
//! dense tasks the features are the encoder's output (the decoder's input); NASLib took the
//! input of the decoder's last conv, and left transposed convs at their default init.

use crate::measure::PROXY_BATCH;
use crate::measure::{gaussian, scalar, to_host};
use crate::{derive_seed, Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use swapnas_benchmarks::{BnMode, BuildOptions, InitScheme, Taps, WeightInit};

/// ZenNAS' `mixup_gamma`.
const MIXUP: f32 = 0.01;
/// PyTorch BN's default momentum.
const MOMENTUM: f64 = 0.1;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "zen",
    about: "Zen-NAS: log of pre-GAP response to input noise + BN log-stds, Gaussian init (Lin et al. 2021)",
    needs: Needs::NOTHING,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: false,
    key: |s| format!("B={} init=gaussian bn=batch input=gaussian mixup=0.01 repeat=1", PROXY_BATCH.get(s)),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    ensure!(PROXY_BATCH.get(ctx.settings) >= 2, "zen needs a batch of at least two, got {}", PROXY_BATCH.get(ctx.settings));
    let side = ctx.batch.side;
    let shape = [PROXY_BATCH.get(ctx.settings), 3, side, side];
    let numel = shape.iter().product();
    let mut init = WeightInit::new(InitScheme::Gaussian, derive_seed(ctx.seed, 0));
    let net = ctx.builder.build(&mut init, &BuildOptions::new(ctx.builder.num_classes()), ctx.device);
    let x = gaussian(derive_seed(ctx.seed, 1), numel);
    let eps = gaussian(derive_seed(ctx.seed, 2), numel);
    let mix: Vec<f32> = x.iter().zip(&eps).map(|(a, e)| a + MIXUP * e).collect();
    let pass = |input: Vec<f32>| -> Result<(Tensor<4>, Vec<Tensor<1>>, Vec<usize>)> {
        let t = Tensor::from_data(TensorData::new(input, shape), (ctx.device, DType::F32));
        let mut fwd = ctx.forward_ctx(BnMode::Batch, Taps { pre_gap: true, bn_variance: true, ..Taps::default() });
        let _ = net.forward(t, &mut fwd);
        let f = fwd.pre_gap.context("the network recorded no pre-GAP features")?;
        Ok((f, fwd.bn_variances, fwd.bn_counts))
    };
    let (f1, var1, counts) = pass(x)?;
    let (f2, var2, _) = pass(mix)?;
    ensure!(var1.len() == var2.len() && var1.len() == counts.len(), "the two passes recorded different BNs");
    let delta = scalar(f1.sub(f2).abs().sum().div_scalar(PROXY_BATCH.get(ctx.settings) as f64))?;
    let mut log_bn = 0.0;
    for ((v1, v2), m) in var1.into_iter().zip(var2).zip(counts) {
        log_bn += running_var_log_std(&to_host(v1)?, &to_host(v2)?, m);
    }
    Ok(delta.ln() + log_bn)
}

/// ln √(mean_c running_var) of a PyTorch BN (running_var starting at 1) after two train-mode
/// passes with biased per-channel batch variances `v1`, `v2` over `m` values per channel.
pub fn running_var_log_std(v1: &[f64], v2: &[f64], m: usize) -> f64 {
    let unbias = m as f64 / (m as f64 - 1.0);
    let keep = 1.0 - MOMENTUM;
    let mean = v1.iter().zip(v2).map(|(a, b)| keep * (keep + MOMENTUM * a * unbias) + MOMENTUM * b * unbias).sum::<f64>()
        / v1.len() as f64;
    mean.sqrt().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two channels, m = 5 values (unbiased factor 5/4). Channel 0: v1 = 4, v2 = 8 → u = 5, 10:
    /// 0.9·(0.9 + 0.5) + 1.0 = 2.26. Channel 1: v = 0, 0 → 0.81. Mean 1.535.
    #[test]
    fn running_var_by_hand() {
        let got = running_var_log_std(&[4.0, 0.0], &[8.0, 0.0], 5);
        assert!((got - 1.535f64.sqrt().ln()).abs() < 1e-12, "{got}");
    }
}
