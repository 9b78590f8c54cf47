//! EPE-NAS (Lopes et al., "EPE-NAS: Efficient Performance Estimation Without Training", 2021).
//!
//! Definition (NASLib `measures/epe_nas.py`, from the authors' code): the input Jacobian of
//! jacov ([`InputJacobian`]: default init, BN in train mode, real batch), its rows grouped
//! by the images' labels; per class c, s_c = Σ ln(|corrcoef(J_c)| + 1e-5) (a class with one
//! image: corrcoef is the scalar 1). With ≤ 100 classes the score is Σ_c |s_c|; with more
//! (ImageNet16-120), s_c is divided by the class's image count, single-image classes are
//! skipped (the reference's `len()` of a scalar raises), and the score is
//! Σ_c Σ_c' |s_c − s_c'| / #classes — NaN if no class has two images (its division by zero).
//! Deviation (default `--input first`): first B images in file order.

use crate::measure::PROXY_BATCH;
use crate::measure::{corrcoef, InputJacobian};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use nalgebra::DMatrix;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "epe_nas",
    about: "EPE-NAS: per-class input-Jacobian correlations (Lopes et al. 2021)",
    needs: Needs { image_classes: true, ..Needs::INPUT_GRADIENTS },
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: |s| format!("B={} init=pytorch bn=batch", PROXY_BATCH.get(s)),
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    ensure!(PROXY_BATCH.get(ctx.settings) >= 1, "epe_nas needs at least one image");
    let jacobian = InputJacobian::shared(ctx, PROXY_BATCH.get(ctx.settings))?;
    Ok(epe_nas_score(&jacobian.rows, &jacobian.labels, jacobian.num_classes))
}

/// The EPE-NAS score of Jacobian rows with their labels, for a network of `num_classes`
/// outputs.
pub fn epe_nas_score(rows: &DMatrix<f64>, labels: &[i64], num_classes: usize) -> f64 {
    const K: f64 = 1e-5;
    // Classes in order of first appearance, as the reference's dict.
    let mut classes: Vec<(i64, Vec<usize>)> = Vec::new();
    for (i, &label) in labels.iter().enumerate().take(rows.nrows()) {
        match classes.iter_mut().find(|(l, _)| *l == label) {
            Some((_, members)) => members.push(i),
            None => classes.push((label, vec![i])),
        }
    }
    let many = num_classes > 100;
    let mut per_class: Vec<f64> = Vec::new();
    for (_, members) in &classes {
        let s = if members.len() == 1 {
            if many {
                continue; // len() of the scalar corrcoef raises: the class is skipped
            }
            // corrcoef of one row is c / c: 1, or NaN for a zero row.
            let row = rows.row(members[0]);
            let one = if row.variance() > 0.0 { 1.0 } else { f64::NAN };
            (one + K).ln()
        } else {
            let sub = DMatrix::from_fn(members.len(), rows.ncols(), |i, j| rows[(members[i], j)]);
            let corr = corrcoef(&sub);
            let s: f64 = corr.iter().map(|v| (v.abs() + K).ln()).sum();
            if many {
                s / members.len() as f64
            } else {
                s
            }
        };
        per_class.push(s);
    }
    if !many {
        return per_class.iter().map(|s| s.abs()).sum();
    }
    if per_class.is_empty() {
        return f64::NAN;
    }
    let total: f64 = per_class.iter().map(|a| per_class.iter().map(|b| (a - b).abs()).sum::<f64>()).sum();
    total / per_class.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class 0: rows x and −x (correlations ±1): s = 4·ln(1 + k). Class 1: one row: s = ln(1 + k).
    #[test]
    fn score_by_hand() {
        let rows = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 4.0, -1.0, -2.0, -4.0, 5.0, 1.0, 0.0]);
        let k = 1e-5f64;
        let s0 = 4.0 * (1.0 + k).ln();
        let s1 = (1.0 + k).ln();
        assert!((epe_nas_score(&rows, &[0, 0, 1], 10) - (s0 + s1)).abs() < 1e-12);
        // > 100 classes: class 1 is skipped, s0 / 2 alone gives |s0/2 − s0/2| = 0.
        assert_eq!(epe_nas_score(&rows, &[0, 0, 1], 120), 0.0);
        // No class with two images: NaN.
        assert!(epe_nas_score(&rows, &[0, 1, 2], 120).is_nan());
    }
}
