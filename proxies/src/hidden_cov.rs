//! hidden_cov — hidden covariance (Serianni & Kalita, "Training-free Neural Architecture
//! Search for RNNs and Transformers", ACL 2023), for recurrent networks.
//!
//! Definition (aaronserianni/training-free-nas `RNN_metrics.ipynb`): the network in eval mode,
//! one forward pass of a batch of B sequences of T words from a zero hidden state; in one
//! recurrent layer, the hidden state each step *receives* (`h_prev_0` as the cell is called:
//! the zero initial state, then every step's output but the last) — T states of `[B, H]`,
//! stacked into an H × (B·T) matrix whose rows are the hidden units; its `np.corrcoef`
//! (H × H) with eigenvalues λ; the score is −Σ [ln(λ + 1e-5) + 1/(λ + 1e-5)] (the
//! Jacobian-covariance formula, [`crate::jacov::jacov_score`]). A constant unit (an undefined
//! correlation) gives NaN, as the reference. Serianni reports layer 1 (the most predictive of
//! the three on NAS-Bench-NLP PTB); `--hidden-cov-layer` picks another.
//!
//! Deviations: the network's seed is the arch's (the reference seeds 0 before each); the
//! symmetric eigensolver for `np.linalg.eig` (the same eigenvalues for a symmetric matrix).

use crate::jacov::jacov_score;
use crate::measure::{default_network, real_batch, to_host};
use crate::setting::{self, Setting};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::tensor::DType;
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, Taps};

/// `--hidden-cov-batch`.
pub const BATCH: Setting<usize> = Setting {
    name: "hidden_cov_batch",
    value: "N",
    about: "hidden_cov: sequences in its batch (the reference's 50, NAS-Bench-NLP's evaluation batch); at least 2",
    default: "50",
    parse: |t| setting::at_least(t, 2),
};

/// `--hidden-cov-layer`.
pub const LAYER: Setting<usize> = Setting {
    name: "hidden_cov_layer",
    value: "L",
    about: "hidden_cov: the recurrent layer whose states it correlates, from 1 (the reference reports layer 1)",
    default: "1",
    parse: |t| setting::at_least(t, 1),
};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "hidden_cov",
    about: "hidden covariance: eigenvalues of a recurrent layer's hidden-unit correlations over steps (Serianni & Kalita 2023)",
    needs: Needs { recurrent_states: true, token_inputs: true, ..Needs::NOTHING },
    settings: &[&BATCH, &LAYER],
    version: 1,
    function_only: false,
    key: |s| format!("B={} layer={} init=space eval", BATCH.get(s), LAYER.get(s)),
    batch: |s| BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let (batch, layer) = (BATCH.get(ctx.settings), LAYER.get(ctx.settings));
    let net = default_network(ctx, ctx.device, DType::F32);
    let (x, _) = real_batch(ctx, batch, ctx.device, DType::F32)?;
    let mut forward = ctx.forward_ctx(BnMode::Batch, Taps { hidden_states: true, ..Taps::default() });
    let _ = net.forward(x, &mut forward);
    let layers = forward.hidden_states.len();
    ensure!(layers > 0, "the network of {} recorded no recurrent state", ctx.builder.arch_label());
    ensure!(layer <= layers, "--hidden-cov-layer {layer}: the network has {layers} recurrent layers");
    let states = &forward.hidden_states[layer - 1];
    hidden_cov(states.iter().map(|h| to_host(h.clone())).collect::<Result<Vec<_>>>().context("hidden states")?, batch)
}

/// The score of one layer's states (each `[B, H]` row-major, in step order).
pub fn hidden_cov(states: Vec<Vec<f64>>, batch: usize) -> Result<f64> {
    ensure!(!states.is_empty(), "no hidden state was recorded");
    let hidden = states[0].len() / batch;
    ensure!(states.iter().all(|s| s.len() == batch * hidden), "hidden states of different shapes");
    // Rows: units; columns: (sample, step) pairs (the reference's order; correlations do not
    // depend on it).
    let steps = states.len();
    let m = DMatrix::from_fn(hidden, batch * steps, |u, c| states[c % steps][(c / steps) * hidden + u]);
    jacov_score(&m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two units over 2 samples × 2 steps. States (sample rows, unit columns): step 0 = zeros,
    /// step 1 = [[1, 2], [3, 4]]. Unit 0 observes 0, 1, 0, 3; unit 1 observes 0, 2, 0, 4:
    /// correlation r = cov/√(var·var) computed by hand; eigenvalues 1 ± r.
    #[test]
    fn score_by_hand() {
        let states = vec![vec![0.0, 0.0, 0.0, 0.0], vec![1.0, 2.0, 3.0, 4.0]];
        let (a, b) = ([0.0f64, 1.0, 0.0, 3.0], [0.0f64, 2.0, 0.0, 4.0]);
        let mean = |v: &[f64; 4]| v.iter().sum::<f64>() / 4.0;
        let (ma, mb) = (mean(&a), mean(&b));
        let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        let r = cov / (va * vb).sqrt();
        let k = 1e-5;
        let want = -[1.0 - r, 1.0 + r].iter().map(|l| (l + k).ln() + 1.0 / (l + k)).sum::<f64>();
        let got = hidden_cov(states, 2).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // A unit constant over every observation: NaN, as the reference.
        assert!(hidden_cov(vec![vec![0.0, 1.0, 0.0, 2.0], vec![0.0, 3.0, 0.0, 1.0]], 2).unwrap().is_nan());
    }
}
