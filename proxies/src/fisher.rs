//! fisher (Theis et al. 2018; Turner et al. 2020; as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/fisher.py`): PyTorch default init, BN in train
//! mode, one backward pass of the mean cross-entropy on the real batch. For every output channel
//! k of every conv and linear layer, with a = the layer's output and g = ∂L/∂a:
//! F_k = 0.5 · mean_n (Σ_{h,w} a_nkhw · g_nkhw)² (linear: no spatial sum); NASLib then broadcasts
//! F_k over the channel's weights, so the score is Σ_layers Σ_k F_k · fan_in (fan_in =
//! C_in/groups·kh·kw for a conv, in_features for a linear).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch.

use crate::measure::PROXY_BATCH;
use crate::measure::{loss_settings, scalar, LossGradients};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{Context, Result};
use burn::prelude::*;
use swapnas_benchmarks::Taps;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "fisher",
    about: "Fisher: Σ per-channel 0.5·mean(Σ act·∂L/∂act)² × fan-in (Turner et al. 2020)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: loss_settings,
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let record = Taps { layer_outputs: true, ..Taps::default() };
    let lg = LossGradients::compute(ctx, PROXY_BATCH.get(ctx.settings), record).context("fisher: cross-entropy backward pass")?;
    let mut total = 0.0;
    // A layer the loss does not reach has g = 0, hence F = 0.
    for probe in &lg.forward.conv_outputs {
        let Some(grad) = probe.grad(&lg.grads) else { continue };
        let act = probe.output.clone().inner();
        let [n, c, _, _] = act.dims();
        let per_sample = act.mul(grad).sum_dim(3).sum_dim(2).reshape([n, c]);
        total += channel_fisher(per_sample, probe.fan_in)?;
    }
    for probe in &lg.forward.linear_outputs {
        let Some(grad) = probe.grad(&lg.grads) else { continue };
        let act = probe.output.clone().inner();
        total += channel_fisher(act.mul(grad), probe.fan_in)?;
    }
    Ok(total)
}

/// Σ_k 0.5 · mean_n(s_nk)² · fan_in for the per-sample, per-channel sums `s` (`[n, channels]`).
pub fn channel_fisher(per_sample: Tensor<2>, fan_in: usize) -> Result<f64> {
    let per_channel = per_sample.powi_scalar(2).mean_dim(0).mul_scalar(0.5);
    Ok(scalar(per_channel.sum())? * fan_in as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// s = [[1, 2], [3, 0]]: channel 0 → 0.5·(1 + 9)/2 = 2.5, channel 1 → 0.5·(4 + 0)/2 = 1;
    /// × fan_in 3 → 10.5.
    #[test]
    fn channel_fisher_by_hand() {
        let s: Tensor<2> = Tensor::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 0.0], [2, 2]), &Device::flex());
        assert!((channel_fisher(s, 3).unwrap() - 10.5).abs() < 1e-6);
    }
}
