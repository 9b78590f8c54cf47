//! ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
//! ICLR 2023).
//!
//! Definition (official `SLDGroup/ZiCo`, `ZeroShotProxy/compute_zico.py`): PyTorch default init,
//! BN in train mode, mean cross-entropy on 2 real batches, one backward pass each *without*
//! zeroing gradients, so the per-weight snapshots are G = [g₁, g₁ + g₂] (replicated); per conv /
//! linear layer, S = Σ over weights with σ(G) ≠ 0 of mean|G| / σ(G) (population σ); the score
//! is Σ over layers with S ≠ 0 of log S.
//!
//! Deviation: the two batches of B (the baseline batch) are the first 2·B training images in
//! file order (default `--input first`), not random augmented batches.

use crate::measure::PROXY_BATCH;
use crate::measure::{batch_weight_grads, std_over_rows, sum_where_nonzero};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::prelude::*;

/// Number of batches (the reference's `--maxbatch`).
pub const BATCHES: usize = 2;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "zico",
    about: "ZiCo: Σ_layers log Σ mean|g|/std(g) over 2 real batches (Li et al. 2023)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: |s| format!("B={}x{} init=pytorch bn=batch loss={} grads=cumulative", BATCHES, PROXY_BATCH.get(s), s.loss.name()),
    batch: |s| BATCHES * PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    // No zero_grad in the reference: .grad holds the running sum over batches.
    let mut snapshots: Vec<Vec<Tensor<1>>> = Vec::with_capacity(BATCHES);
    for grads in batch_weight_grads(ctx, BATCHES)? {
        let cumulative = match snapshots.last() {
            None => grads,
            Some(previous) => previous.iter().zip(grads).map(|(p, g)| p.clone().add(g)).collect(),
        };
        snapshots.push(cumulative);
    }
    let layers = snapshots[0].len();
    let mut total = 0.0;
    for l in 0..layers {
        let per_layer: Vec<Tensor<1>> = snapshots.iter().map(|s| s[l].clone()).collect();
        let s = layer_sum(per_layer).with_context(|| format!("zico: layer {l}"))?;
        if s != 0.0 {
            total += s.ln();
        }
    }
    Ok(total)
}

/// Σ over weights with σ ≠ 0 of mean|G| / σ(G), for one layer's gradient snapshots (each the
/// layer's weights flattened): numpy's `mean(abs(G), 0)` and `std(G, 0)` (ddof 0).
pub fn layer_sum(snapshots: Vec<Tensor<1>>) -> Result<f64> {
    ensure!(!snapshots.is_empty(), "no gradient snapshots");
    let g: Tensor<2> = Tensor::stack(snapshots, 0);
    let n = g.dims()[1];
    let mean_abs = g.clone().abs().mean_dim(0).reshape([n]);
    sum_where_nonzero(mean_abs, std_over_rows(g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn t(v: Vec<f32>) -> Tensor<1> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n]), &Device::flex())
    }

    /// Weights (snapshots a, b): (1, 3) → mean|·| 2, σ 1 → 2; (−1, 1) → 1 / 1 = 1;
    /// (2, 2) → σ 0, skipped. Sum 3.
    #[test]
    fn layer_sum_by_hand() {
        let s = layer_sum(vec![t(vec![1.0, -1.0, 2.0]), t(vec![3.0, 1.0, 2.0])]).unwrap();
        assert!((s - 3.0).abs() < 1e-6, "{s}");
    }
}
