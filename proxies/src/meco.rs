//! MeCo (Jiang et al., "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
//! Eigenvalue of Correlation", NeurIPS 2023).
//!
//! Definition (`HamsterMimi/MeCo`, `correlation/NAS_Bench_201.py`: batch size 1, default init,
//! train mode): one forward pass of one real image; for the output of every module, the
//! C × C `corrcoef` of its channels over spatial positions (sample 0), NaN/inf entries set to
//! 0, and its minimum eigenvalue; the score is the sum over modules (NaN/inf terms dropped).
//!
//! burn has no hooks: the network records module outputs itself (`Taps::module_outputs`),
//! the leaf layers and the containers PyTorch would hook (duplicates included, see the NB201
//! net). Deviations: 2-D outputs (GAP, linear, the whole net) are skipped: their corrcoef is
//! all NaN → 0 and contributes 0 in the reference too. The image is the first in file order.

use crate::measure::{corrcoef, default_network, real_batch, symmetric_eigenvalues, to_host};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{bail, Context, Result};
use burn::tensor::DType;
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, Taps};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "meco",
    about: "MeCo: Σ min eigenvalue of channel correlations over module outputs, one image (Jiang et al. 2023)",
    needs: Needs::NOTHING,
    settings: &[],
    version: 1,
    function_only: false,
    key: |_| "B=1 init=pytorch bn=batch modules=all".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let net = default_network(ctx, ctx.device, DType::F32);
    let (x, _) = real_batch(ctx, 1, ctx.device, DType::F32)?;
    let mut forward = ctx.forward_ctx(BnMode::Batch, Taps { module_outputs: true, ..Taps::default() });
    let _ = net.forward(x, &mut forward);
    if forward.module_outputs.is_empty() {
        bail!("the network of {} recorded no module outputs", ctx.builder.arch_label());
    }
    let mut total = 0.0;
    for (i, output) in forward.module_outputs.into_iter().enumerate() {
        let [_, c, h, w] = output.dims();
        let sample0 = output.narrow(0, 0, 1).reshape([c, h * w]);
        let values = to_host(sample0).with_context(|| format!("module output {i}"))?;
        let lambda = min_correlation_eigenvalue(&DMatrix::from_row_slice(c, h * w, &values))
            .with_context(|| format!("module output {i} ({c}×{h}×{w})"))?;
        if lambda.is_finite() {
            total += lambda;
        }
    }
    Ok(total)
}

/// The minimum eigenvalue of the correlation matrix of `features`' rows (channels × positions),
/// with NaN/inf correlations set to 0, as MeCo's hook computes it.
pub fn min_correlation_eigenvalue(features: &DMatrix<f64>) -> Result<f64> {
    let corr = corrcoef(features).map(|v| if v.is_finite() { v } else { 0.0 });
    let eigenvalues = symmetric_eigenvalues(&corr)?;
    eigenvalues.first().copied().context("empty correlation matrix")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channels x, −x, y with y uncorrelated to x: corr = [[1,−1,0],[−1,1,0],[0,0,1]],
    /// eigenvalues 0, 1, 2 → 0. A constant channel adds a zero row/column → 0. Two
    /// uncorrelated channels: the identity → 1. Two channels with correlation ρ: 1 − ρ.
    #[test]
    fn min_eigenvalue_by_hand() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [1.0, -1.0, -1.0, 1.0];
        let m = DMatrix::from_row_slice(3, 4, &[x[0], x[1], x[2], x[3], -x[0], -x[1], -x[2], -x[3], y[0], y[1], y[2], y[3]]);
        assert!(min_correlation_eigenvalue(&m).unwrap().abs() < 1e-12);
        let two = DMatrix::from_row_slice(2, 4, &[x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3]]);
        assert!((min_correlation_eigenvalue(&two).unwrap() - 1.0).abs() < 1e-12);
        let constant = DMatrix::from_row_slice(2, 4, &[x[0], x[1], x[2], x[3], 5.0, 5.0, 5.0, 5.0]);
        assert!(min_correlation_eigenvalue(&constant).unwrap().abs() < 1e-12);
        // a = (1, −1, 0, 0), b = (1, −1, 1, −1): a·b = 2, ‖a‖² = 2, ‖b‖² = 4, ρ = 1/√2.
        let half = DMatrix::from_row_slice(2, 4, &[1.0, -1.0, 0.0, 0.0, 1.0, -1.0, 1.0, -1.0]);
        let rho = corrcoef(&half)[(0, 1)];
        assert!((rho - 0.5f64.sqrt()).abs() < 1e-12, "{rho}");
        assert!((min_correlation_eigenvalue(&half).unwrap() - (1.0 - rho)).abs() < 1e-12);
    }
}
