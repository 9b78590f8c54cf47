//! jacov — Jacobian covariance (Mellor et al., NASWOT v1, 2020; as in Abdelfattah et al. 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/jacob_cov.py`): PyTorch default init, BN in
//! train mode, the real batch of B images; J = ∂(Σ logits)/∂x per image ([`InputJacobian`],
//! shared with epe_nas); the B × B `corrcoef` of J's rows with eigenvalues λ; the score is
//! −Σ [ln(λ + 1e-5) + 1/(λ + 1e-5)]. A NaN correlation (a zero Jacobian row) gives NaN, as
//! the reference's failed `eig` does. Deviations: first B images in file order (default `--input first`); the
//! symmetric eigensolver instead of `np.linalg.eig` (same eigenvalues for a symmetric matrix).

use crate::measure::PROXY_BATCH;
use crate::measure::{corrcoef, symmetric_eigenvalues, InputJacobian};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use nalgebra::DMatrix;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "jacov",
    about: "Jacobian covariance: eigenvalues of input-Jacobian correlations (Mellor et al. 2020)",
    needs: Needs::INPUT_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: |s| format!("B={} init=pytorch bn=batch", PROXY_BATCH.get(s)),
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    ensure!(PROXY_BATCH.get(ctx.settings) >= 2, "jacov needs at least two images, got {}", PROXY_BATCH.get(ctx.settings));
    let jacobian = InputJacobian::shared(ctx, PROXY_BATCH.get(ctx.settings))?;
    jacov_score(&jacobian.rows)
}

/// −Σ [ln(λ + k) + 1/(λ + k)] over the eigenvalues λ of the rows' correlation matrix, k = 1e-5;
/// NaN if a correlation is undefined.
pub fn jacov_score(rows: &DMatrix<f64>) -> Result<f64> {
    const K: f64 = 1e-5;
    let corr = corrcoef(rows);
    if corr.iter().any(|v| !v.is_finite()) {
        return Ok(f64::NAN);
    }
    let eigenvalues = symmetric_eigenvalues(&corr)?;
    Ok(-eigenvalues.iter().map(|v| (v + K).ln() + 1.0 / (v + K)).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows x, 2x + 1 (correlation 1) and a row orthogonal to both after centring
    /// (correlation 0): corrcoef = [[1,1,0],[1,1,0],[0,0,1]], eigenvalues 0, 1, 2.
    #[test]
    fn score_by_hand() {
        let rows = DMatrix::from_row_slice(3, 4, &[1.0, 2.0, 3.0, 4.0, 3.0, 5.0, 7.0, 9.0, 1.0, -1.0, -1.0, 1.0]);
        let corr = corrcoef(&rows);
        let expected = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert!((corr.clone() - expected).abs().max() < 1e-12, "{corr}");
        let k = 1e-5f64;
        let by_hand = -[0.0f64, 1.0, 2.0].iter().map(|v| (v + k).ln() + 1.0 / (v + k)).sum::<f64>();
        let score = jacov_score(&rows).unwrap();
        assert!((score - by_hand).abs() < 1e-6 * by_hand.abs(), "{score} vs {by_hand}");
    }

    #[test]
    fn constant_row_gives_nan() {
        let rows = DMatrix::from_row_slice(2, 3, &[0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        assert!(jacov_score(&rows).unwrap().is_nan());
    }
}
