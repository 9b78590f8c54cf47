//! ntk — the NTK trace norm HNAS unifies gradient-based proxies with (Shu, Dai, Wu, Low,
//! NeurIPS 2022; reference code shuyao95/HNAS `foresight/pruners/measures/ntk_trace.py`).
//!
//! Definition: PyTorch default init, BN on batch statistics, N = 64 real images; one backward
//! pass of Σ_i f_{y_i}(x_i) (each image's true-class logit); each image's gradient row
//! J_i with respect to the weights and biases of every conv and linear layer, taken as
//! `autograd_hacks.compute_grad1` takes it (the layer's input of image i against the
//! gradient of the layer's output of image i); Θ = J Jᵀ (N × N). `ntk` is M = √(tr Θ / N);
//! [`crate::ntk_condnum`] is −κ, κ = λ_max / λ_min of Θ (NaN → 10⁵, as the reference's
//! `nan_to_num`; negated so that larger is better, as every proxy's score). Both read one shared pass per arch.
//!
//! Θ is accumulated layer by layer without forming J: a conv's per-image weight gradient is
//! `unfold(x_i)ᵀ · g_i` (`[C_in·k², C_out]` per group), its bias's `Σ_s g_i(s)`; a linear's
//! Gram is `(X Xᵀ) ∘ (G Gᵀ)` and its bias's `G Gᵀ`.
//!
//! Deviations: the first 64 training images in file order (the reference: a random augmented
//! batch); the space's own network, whose convs carry the biases its reference network has
//! (HNAS's NB201 copy gives the cells' convs biases; NASLib's, which swapnas builds, does not).

use crate::measure::{default_network, real_batch, symmetric_eigenvalues, to_host};
use crate::setting::{self, Setting};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, Output, Taps};

/// Images in the NTK's batch.
pub const BATCH: Setting<usize> = Setting {
    name: "ntk_batch",
    value: "N",
    about: "ntk / ntk_condnum: images whose per-image gradients span the NTK (HNAS: 64); at least 2",
    default: "64",
    parse: |t| setting::at_least(t, 2),
};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "ntk",
    about: "NTK trace norm √(tr Θ / N), Θ = J Jᵀ of per-image true-class-logit gradients (HNAS, NeurIPS 2022)",
    needs: Needs { gradients: true, image_classes: true, class_logits: true, ..Needs::NOTHING },
    settings: &[&BATCH],
    version: 1,
    function_only: true,
    key: settings_key,
    batch: |s| BATCH.get(s),
    score: |ctx| Ok(Ntk::shared(ctx)?.trace_norm),
};

/// The settings string both NTK proxies key their scores by.
pub fn settings_key(s: &crate::ProxySettings) -> String {
    format!("B={} init=pytorch bn=batch objective=true-logit", BATCH.get(s))
}

/// The NTK's two numbers for one arch.
#[derive(Debug, Clone, Copy)]
pub struct Ntk {
    /// √(tr Θ / N).
    pub trace_norm: f64,
    /// λ_max / λ_min (10⁵ where that is NaN).
    pub condnum: f64,
}

impl Ntk {
    /// The pass, computed once per arch and shared by `ntk` and `ntk_condnum`.
    pub fn shared(ctx: &ProxyContext) -> Result<Ntk> {
        let n = BATCH.get(ctx.settings);
        ctx.memo.get_or_insert_with(&format!("ntk:{}", settings_key(ctx.settings)), || {
            let theta = gram(ctx, n)?;
            Self::of(&theta)
        })
    }

    /// Both numbers of a Gram matrix.
    pub fn of(theta: &DMatrix<f64>) -> Result<Ntk> {
        let n = theta.nrows() as f64;
        let eig = symmetric_eigenvalues(theta)?;
        let trace_norm = (eig.iter().sum::<f64>() / n).sqrt();
        let ratio = eig[eig.len() - 1] / eig[0];
        Ok(Ntk { trace_norm, condnum: if ratio.is_nan() { 1e5 } else { ratio } })
    }
}

/// Θ = J Jᵀ over the first `n` images.
fn gram(ctx: &ProxyContext, n: usize) -> Result<DMatrix<f64>> {
    ensure!(n >= 2, "ntk needs at least two images, got {n}");
    let device = ctx.device.clone().autodiff();
    let net = default_network(ctx, &device, DType::F32);
    let (x, labels) = real_batch(ctx, n, &device, DType::F32)?;
    let mut fwd = ctx.forward_ctx(BnMode::Batch, Taps { layer_outputs: true, layer_inputs: true, ..Taps::default() });
    let Output::Flat(logits) = net.forward(x, &mut fwd) else {
        anyhow::bail!("ntk needs class logits; the network's output is a dense map")
    };
    let true_logits = logits.gather(1, labels.reshape([n, 1]));
    let grads = true_logits.sum().backward();
    let mut theta = DMatrix::<f64>::zeros(n, n);
    for probe in &fwd.conv_outputs {
        let Some(go) = probe.grad(&grads) else { continue };
        let input = probe.input.as_ref().context("the conv kept no input")?;
        let geo = input.conv.context("a conv probe without its geometry")?;
        let a = input.value.clone().inner();
        let [_, c_in, _, _] = a.dims();
        let [_, c_out, h, w] = go.dims();
        let (cig, cog) = (c_in / geo.groups, c_out / geo.groups);
        let options = UnfoldOptions::new([geo.stride; 2], [geo.padding; 2], [geo.dilation; 2]);
        for g in 0..geo.groups {
            let ag = a.clone().slice(burn::tensor::s![.., g * cig..(g + 1) * cig, .., ..]);
            let gg = go.clone().slice(burn::tensor::s![.., g * cog..(g + 1) * cog, .., ..]).reshape([n, cog, h * w]);
            let cols = unfold4d(ag, geo.kernel, options.clone()); // [n, cig·k², h·w]
            let [_, rows, l] = cols.dims();
            ensure!(l == h * w, "unfold gave {l} positions for a {h}×{w} output");
            let per_image = cols.matmul(gg.clone().swap_dims(1, 2)); // [n, cig·k², cog]
            add(&mut theta, per_image.reshape([n, rows * cog]))?;
            if input.bias {
                add(&mut theta, gg.sum_dim(2).reshape([n, cog]))?;
            }
        }
    }
    for probe in &fwd.linear_outputs {
        let Some(go) = probe.grad(&grads) else { continue };
        let input = probe.input.as_ref().context("the linear kept no input")?;
        let xin = input.value.clone().inner();
        let xx = to_host(xin.clone().matmul(xin.transpose()))?;
        let gg = to_host(go.clone().matmul(go.transpose()))?;
        for (i, t) in theta.iter_mut().enumerate() {
            *t += xx[i] * gg[i] + if input.bias { gg[i] } else { 0.0 };
        }
    }
    Ok(theta)
}

/// Θ += g gᵀ for `g` (`[n, p]`): the per-image gradients of one parameter tensor (or group).
fn add(theta: &mut DMatrix<f64>, g: Tensor<2>) -> Result<()> {
    let v = to_host(g.clone().matmul(g.transpose()))?;
    for (t, v) in theta.iter_mut().zip(v) {
        *t += v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tr Θ = Σ eigenvalues; κ of a diagonal Gram is max/min; a singular one gives κ = ∞ and
    /// a zero one NaN → 10⁵.
    #[test]
    fn numbers_of_a_gram_by_hand() {
        let t = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 1.0]);
        let k = Ntk::of(&t).unwrap();
        assert!((k.trace_norm - (5.0f64 / 2.0).sqrt()).abs() < 1e-12);
        assert!((k.condnum - 4.0).abs() < 1e-12);
        assert_eq!(Ntk::of(&DMatrix::zeros(2, 2)).unwrap().condnum, 1e5);
    }
}
