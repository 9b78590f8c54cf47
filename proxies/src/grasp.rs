//! GraSP (Wang et al. 2020, as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/grasp.py`, T = 1): PyTorch default init, BN in
//! train mode, the mean cross-entropy L on the real batch, g = ∂L/∂W over all conv and linear
//! weights; the score is the signed Σ −W ⊙ (H g), H the Hessian of L in those weights.
//!
//! Deviations: burn has no double backward, so H g is a central difference of gradients,
//! (∇L(W + εg) − ∇L(W − εg)) / 2ε, ε = 1e-7·‖W‖/‖g‖, in float64, same batch, batch-statistics
//! BN; the two shifted passes replay the ReLU gates of the pass at W, as autograd's H g does
//! (ReLU'' = 0; without it, gates flipped by the step swamp the difference). The score agrees
//! to ~1e-5 between steps 1e-6 and 1e-8 (steps ≥ 1e-4 are off by tens of %). 3 backward
//! passes. The batch is the first `batch` training images in file order (default `--input first`),
//! not a random one.
//!
//! Fidelity: GraSP is init-noisy. Two of our draws (other weights, same images) rank 200 NB201
//! archs alike at only Spearman 0.55 / 0.62 / 0.75 (CIFAR-10 / 100 / ImageNet16 stand-in,
//! `swapnas check --draws 3`), which bounds the agreement with one Suite-Zero draw near
//! √0.55…√0.75; we measure 0.57 / 0.74 / 0.71, and Suite-Zero's ρ with accuracy lies within
//! one SD of our draws'. The arithmetic is pinned by closed-form tests instead.

use crate::measure::PROXY_BATCH;
use crate::measure::{default_network, loss_settings, real_batch, sum_over_layers, LossGradients, Targets};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, Int};
use swapnas_benchmarks::{BnMode, ForwardCtx, Kernels, Loss, Network, ReluReplay, Taps};

/// The finite-difference step, relative: ‖εg‖ = STEP·‖W‖.
pub const STEP: f64 = 1e-7;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "grasp",
    about: "GraSP: Σ −W ⊙ Hg, Hg by central difference in float64 (Wang et al. 2020)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: |s| format!("{} hvp=central-diff,frozen-relu step={STEP:e}·|W|/|g| dtype=f64", loss_settings(s)),
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let device = ctx.device.clone().autodiff();
    let net = default_network(ctx, &device, DType::F64);
    let (x, y) = real_batch(ctx, PROXY_BATCH.get(ctx.settings), &device, DType::F64)?;
    let targets = Targets::of_task(ctx, &x, y)?;
    grasp_score_with(net, &x, &targets, ctx.task.loss, STEP, ctx.settings.kernels)
}

/// [`grasp_score_with`] for class labels `y` and the cross-entropy loss, on the default kernels.
pub fn grasp_score(net: Box<dyn Network>, x: &Tensor<4>, y: &Tensor<1, Int>, step: f64) -> Result<f64> {
    grasp_score_with(net, x, &Targets::Classes(y.clone()), Loss::CrossEntropy, step, Kernels::default())
}

/// Σ −W ⊙ (H g) for `net` (on an autodiff device) on images `x` with `targets` of `loss`, with
/// H g by the central difference of relative step `step` and the ReLU gates of the pass at W,
/// on `kernels`.
pub fn grasp_score_with(
    net: Box<dyn Network>,
    x: &Tensor<4>,
    targets: &Targets,
    loss: Loss,
    step: f64,
    kernels: Kernels,
) -> Result<f64> {
    let mut first = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
    first.kernels = kernels;
    let at_w = LossGradients::of(net, x.clone(), targets, loss, first)?;
    let gates: Vec<Tensor<4>> =
        at_w.forward.relu.iter().map(|r| r.clone().inner().greater_elem(0.0).float().cast(r.dtype())).collect();
    let (weights, g): (Vec<_>, Vec<_>) = at_w.weight_and_grad().into_iter().unzip();
    let gradient_at = |net: Box<dyn Network>| -> Result<Vec<Tensor<1>>> {
        let mut forward = ForwardCtx::new(BnMode::Batch, Taps::default());
        forward.kernels = kernels;
        forward.relu_replay = Some(ReluReplay { masks: gates.iter().cloned().collect(), mismatch: false });
        let lg = LossGradients::of(net, x.clone(), targets, loss, forward)?;
        let replay = lg.forward.relu_replay.as_ref().context("the ReLU replay went missing")?;
        ensure!(!replay.mismatch && replay.masks.is_empty(), "the shifted pass did not replay the ReLU gates one to one");
        Ok(lg.weight_and_grad().into_iter().map(|(_, g)| g).collect())
    };
    let hg = hessian_vector_product(&*at_w.net, &weights, &g, step, gradient_at)?;
    // Σ −W ⊙ Hg, layer by layer: −Σ(W ⊙ Hg) exactly (negation is exact).
    Ok(-sum_over_layers(weights.iter().zip(hg).map(|(w, hg)| w.clone().mul(hg))).context("grasp: reading the score")?)
}

/// H v ≈ (∇L(W + εv) − ∇L(W − εv)) / 2ε, with ε = `step`·‖W‖/‖v‖ over all weights together;
/// `gradient_at` gives ∇L (per weight of `weights()`, flattened) of a network. A zero `v`
/// gives a zero product.
pub fn hessian_vector_product(
    net: &dyn Network,
    weights: &[Tensor<1>],
    v: &[Tensor<1>],
    step: f64,
    gradient_at: impl Fn(Box<dyn Network>) -> Result<Vec<Tensor<1>>>,
) -> Result<Vec<Tensor<1>>> {
    ensure!(weights.len() == v.len(), "grasp: {} weights but {} gradients", weights.len(), v.len());
    let norm = |ts: &[Tensor<1>]| -> Result<f64> { Ok(sum_over_layers(ts.iter().map(|t| t.clone().powi_scalar(2)))?.sqrt()) };
    let (w_norm, v_norm) = (norm(weights)?, norm(v)?);
    if v_norm == 0.0 {
        return Ok(v.to_vec());
    }
    ensure!(v_norm.is_finite() && w_norm.is_finite(), "grasp: non-finite gradient or weight norm");
    let eps = step * w_norm.max(1e-12) / v_norm;
    let shifted = |sign: f64| -> Result<Vec<Tensor<1>>> {
        let net = net.map_params(&mut |slot, value| match slot.weight {
            Some(i) => value.add(v[i].clone().mul_scalar(sign * eps)),
            None => value,
        })?;
        let grads = gradient_at(net)?;
        ensure!(grads.len() == v.len(), "{} gradients after the step, {} before", grads.len(), v.len());
        Ok(grads)
    };
    let plus = shifted(1.0).context("grasp: gradient at W + εg")?;
    let minus = shifted(-1.0).context("grasp: gradient at W − εg")?;
    Ok(plus.into_iter().zip(minus).map(|(p, m)| p.sub(m).div_scalar(2.0 * eps)).collect())
}
