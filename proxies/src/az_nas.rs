//! AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search",
//! CVPR 2024): four components, each its own proxy ([`crate::az_expressivity`],
//! [`crate::az_progressivity`], [`crate::az_trainability`], [`crate::az_complexity`]), and
//! `az_nas`, the named rank ensemble of the four combined as the paper does — Σ over
//! components of log(rank / n), ranks taken among the archs scored together
//! ([`ENSEMBLE`]). This file computes the three components that share one pass.
//!
//! Definition (official `cvlab-yonsei/AZ-NAS`, `NB201/ZeroShotProxy/compute_az_nas_score.py`,
//! `NB201/custom/tss_model.py::extract_cell_features`, notebook `NB201/tss_general.ipynb`):
//! * network: conv and linear weights `kaiming_normal_(fan_in)`, biases 0, BN 1/0, BN on batch
//!   statistics; input 64 images of N(0, 1) noise at the task's resolution; float32;
//! * features: the stem's output and each of the 17 cells' outputs (reductions included);
//! * expressivity: per feature, the entropy −Σ p log(p + 1e-8) of the normalised eigenvalues
//!   p = s / Σs of the channel covariance over batch × positions (centred, divided by
//!   B·H·W); summed over the 18 features;
//! * progressivity: the smallest increase of that entropy from one feature to the next;
//! * trainability: per cell (17), a Rademacher vector g_out of the cell output's shape is
//!   back-propagated to the cell's own input (g_in = Jᵀ g_out; at a reduction g_in is
//!   pixel-unshuffled to the output's grid); σ = the largest singular value of
//!   g_inᵀ g_out / (B·H·W), the cell scores −σ − 1/(σ + 1e-6) + 2 (−∞ when g_in = g_out
//!   exactly: the cell is an identity); the mean over cells;
//! * a NaN component is −∞.
//!
//! Deviations: the reference seeds once per run (one noise batch and one weight stream for
//! all archs in sequence); here the noise, the weights and the Rademacher vectors derive
//! from each arch's seed, so an arch's score does not depend on which archs came before.
//! Complexity is our FLOP count (Suite-Zero's `flops`), where the reference reads the
//! NAS-Bench-201 API's FLOPs — both count the same network, and only the rank is used.
//!
//! Blocks beyond NB201 ([`swapnas_benchmarks::Taps::blocks`]; the reference defines NB201's
//! cells and MobileNetV2's blocks only, so these are our reading of "the stem's output and each
//! cell's output"): NB101 — the stem, then its 9 cells, a stack's down-sampling max pool
//! counted in the first cell after it; NB301/DARTS — the stem, then each cell, the cell's
//! input being its predecessor's output (the skip input from two cells back is cut from the
//! graph, so each cell's gradient is its own; the first cell reads the stem twice and its
//! gradient takes the predecessor path only, where an intact graph would sum both — tried
//! both ways on 30 seeded NB301 archs, trainability's ρ 0.141 vs 0.065, noise either way);
//! TransNAS-Bench-101 — the encoder's convs, which the space initialises by fan-out, re-drawn
//! by fan-in as every conv (the reference's `init_model` walks every `nn.Conv2d`); the stem, then
//! each of its cells (micro) or residual blocks (macro); the task decoders are not blocks (so
//! the pass leaves a dense decoder out: [`swapnas_benchmarks::ForwardCtx::may_skip_decoder`]), and
//! the jigsaw network records its first tile's pass through the shared encoder (the nine noise
//! tiles are alike). A network that records no blocks cannot be scored.

use crate::measure::{gaussian, real_batch, symmetric_eigenvalues, to_host};
use crate::setting::Setting;
use crate::{derive_seed, Ensemble, ProxyContext};
use anyhow::{bail, ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, BuildOptions, InitScheme, Taps, WeightInit};

/// Noise images per pass (the reference's batch size).
pub const BATCH: usize = 64;

/// The input of the shared pass: the reference's N(0, 1) noise (`noise`, the default), or the
/// task's first 64 real training images (`real`), as a pipeline that feeds every proxy one data
/// batch would (NAS-Bench-Suite-Zero's, on which L-SWAG's authors reran AZ-NAS) — a variant to
/// measure, not the reference. Measured on 100 seeded NB301 archs: with real images every
/// expressivity is NaN (−∞): a feature's channel covariance can be rank-deficient (the stem's 96
/// channels from 27-value patches) and real images' fast-decaying spectrum leaves eigenvalues
/// below −10⁻⁸ of the sum, whose log the reference's formula (`eigvalsh`, `log(p + 1e-8)`)
/// takes too; trainability 0.125 against noise's 0.128 — so real input does not explain our
/// NB301 AZ-NAS (0.482) being below L-SWAG's 0.70.
pub const INPUT: Setting<bool> = Setting {
    name: "az_input",
    value: "noise|real",
    about: "AZ-NAS' input: `noise` (the reference's 64 N(0, 1) images) or `real` (the task's first 64 training images, as a pipeline that feeds every proxy a data batch would; not the reference)",
    default: "noise",
    parse: |t| match t {
        "noise" => Ok(false),
        "real" => Ok(true),
        _ => bail!("`{t}` is neither noise nor real"),
    },
};

/// The key the three components of the shared pass write (their scores come from one pass).
pub fn key(s: &crate::ProxySettings) -> String {
    let input = if INPUT.get(s) { "real" } else { "noise" };
    format!("{input} B={BATCH} init=kaiming_fan_in bn=batch")
}

/// The registry entry of a component of the shared pass: `component!("az_x", field, "about")`
/// is the whole of its file.
macro_rules! component {
    ($name:literal, $field:ident, $about:literal) => {
        crate::ProxyDecl {
            name: $name,
            about: $about,
            needs: crate::Needs::INPUT_GRADIENTS,
            settings: &[&crate::az_nas::INPUT],
            // 2: TransNAS-Bench-101's fan-out convs re-drawn by fan-in, as every conv.
            version: 2,
            function_only: true,
            key: crate::az_nas::key,
            batch: |s| if crate::az_nas::INPUT.get(s) { crate::az_nas::BATCH } else { 1 },
            score: |ctx| Ok(crate::az_nas::components(ctx)?.$field),
        }
    };
}
pub(crate) use component;

/// The named ensemble: AZ-NAS as its paper combines the four components.
pub const ENSEMBLE: Ensemble = Ensemble {
    name: "az_nas",
    about: "AZ-NAS: Σ log(rank/n) of expressivity, progressivity, trainability, complexity (Lee & Ham 2024)",
    members: &["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"],
    over_applicable: false,
};

/// The three components one pass gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Components {
    pub expressivity: f64,
    pub progressivity: f64,
    pub trainability: f64,
}

/// Seed streams of the noise input and the Rademacher vectors.
const NOISE_STREAM: u64 = 0xa2_0001;
const RADEMACHER_STREAM: u64 = 0xa2_0002;

/// The components of the context's arch, computed once per arch (the context's memo).
pub fn components(ctx: &ProxyContext) -> Result<Components> {
    let key = format!("az_nas:{}", ctx.seed);
    ctx.memo.get_or_insert_with(&key, || compute(ctx))
}

fn nan_to_neg_inf(v: f64) -> f64 {
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

fn compute(ctx: &ProxyContext) -> Result<Components> {
    let device = ctx.device.clone().autodiff();
    let mut init = WeightInit::new(InitScheme::KaimingNormalFanIn, ctx.seed);
    let net = ctx.builder.build(&mut init, &BuildOptions::new(ctx.builder.num_classes()), &device);
    let side = ctx.batch.side;
    let x: Tensor<4> = if INPUT.get(ctx.settings) {
        real_batch(ctx, BATCH, &device, DType::F32)?.0
    } else {
        let noise = gaussian(derive_seed(ctx.seed, NOISE_STREAM), BATCH * 3 * side * side);
        Tensor::from_data(TensorData::new(noise, [BATCH, 3, side, side]), (&device, DType::F32))
    };
    let mut fwd = ctx.forward_ctx(BnMode::Batch, Taps { blocks: true, ..Taps::default() });
    // Only the blocks are read: a network may leave out a dense decoder, which holds none.
    fwd.output_unused = true;
    let _ = net.forward(x, &mut fwd);
    let features = fwd.block_outputs;
    let inputs = fwd.block_inputs;
    ensure!(
        features.len() >= 2 && inputs.len() + 1 == features.len(),
        "the {} network records no blocks (Taps::blocks): AZ-NAS needs per-cell features",
        ctx.builder.arch_label()
    );

    // Expressivity and progressivity: entropies of the features' channel spectra.
    let entropies: Vec<f64> = features.iter().map(|f| spectrum_entropy(f.clone().detach())).collect::<Result<_>>()?;
    let expressivity = nan_to_neg_inf(entropies.iter().sum());
    let progressivity = nan_to_neg_inf(entropies.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, |a, b| {
        if b.is_nan() || a.is_nan() {
            f64::NAN
        } else {
            a.min(b)
        }
    }));

    // Trainability: every cell's input is a leaf, so one backward pass of Σ_i ⟨f_out_i, g_i⟩
    // gives each cell's own Jᵀ g_i.
    let mut rademacher = WeightInit::new(InitScheme::PytorchDefault, derive_seed(ctx.seed, RADEMACHER_STREAM));
    let mut total: Option<Tensor<1>> = None;
    let mut signs = Vec::with_capacity(inputs.len());
    for out in &features[1..] {
        let shape = out.dims();
        let n: usize = shape.iter().product();
        let g: Vec<f32> = rademacher.weight(n, 1).into_iter().map(|u| if u >= 0.0 { 1.0 } else { -1.0 }).collect();
        let g: Tensor<4> = Tensor::from_data(TensorData::new(g, shape), (&device, DType::F32));
        let term = out.clone().mul(g.clone()).sum();
        total = Some(match total {
            Some(t) => t.add(term),
            None => term,
        });
        signs.push(g);
    }
    let grads = total.context("no cells")?.backward();
    let mut scores = Vec::with_capacity(inputs.len());
    for (leaf, g_out) in inputs.iter().zip(&signs) {
        let g_in = leaf.grad(&grads).unwrap_or_else(|| leaf.zeros_like().detach());
        scores.push(cell_trainability(g_in.detach(), g_out.clone().detach())?);
    }
    let trainability = nan_to_neg_inf(scores.iter().sum::<f64>() / scores.len() as f64);
    Ok(Components { expressivity, progressivity, trainability })
}

/// `[B, C, H, W]` → `[B·H·W, C]`.
fn positions_by_channels(t: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = t.dims();
    t.permute([0, 2, 3, 1]).reshape([b * h * w, c])
}

/// The entropy of a feature's normalised channel-covariance eigenvalues (NaN for a zero
/// feature, as the reference's 0/0).
fn spectrum_entropy(f: Tensor<4>) -> Result<f64> {
    let m = positions_by_channels(f);
    let [n, c] = m.dims();
    let centred = m.clone().sub(m.mean_dim(0));
    let sigma = centred.clone().transpose().matmul(centred).div_scalar(n as f64);
    let sigma = DMatrix::from_row_slice(c, c, &to_host(sigma)?);
    // A zero or non-finite feature: the reference's eigenvalues sum to 0 (NaN) or fail.
    if sigma.iter().any(|v| !v.is_finite()) {
        return Ok(f64::NAN);
    }
    let s = symmetric_eigenvalues(&sigma)?;
    let total: f64 = s.iter().sum();
    Ok(s.iter().map(|&v| v / total).map(|p| -p * (p + 1e-8).ln()).sum())
}

/// One cell's trainability from its input gradient and the Rademacher vector.
fn cell_trainability(g_in: Tensor<4>, g_out: Tensor<4>) -> Result<f64> {
    let [b, ci, hi, wi] = g_in.dims();
    let [_, co, ho, wo] = g_out.dims();
    if g_in.dims() == g_out.dims() {
        let same = to_host(g_in.clone())? == to_host(g_out.clone())?;
        if same {
            return Ok(f64::NEG_INFINITY);
        }
    }
    let g_in = if hi != ho {
        // PixelUnshuffle(r): [B, C, r·H, r·W] → [B, C·r², H, W] (channel order is irrelevant to
        // the singular values).
        ensure!(hi % ho == 0 && wi % wo == 0 && hi / ho == wi / wo, "cell maps {hi}×{wi} to {ho}×{wo}");
        let r = hi / ho;
        g_in.reshape([b, ci, ho, r, wo, r]).permute([0, 2, 4, 1, 3, 5]).reshape([b * ho * wo, ci * r * r])
    } else {
        positions_by_channels(g_in)
    };
    let g_out = positions_by_channels(g_out);
    let n = g_out.dims()[0];
    let k = g_in.dims()[1];
    let mat = g_in.transpose().matmul(g_out).div_scalar(n as f64);
    let mat = DMatrix::from_row_slice(k, co, &to_host(mat)?);
    if mat.iter().any(|v| !v.is_finite()) {
        return Ok(f64::NAN);
    }
    let sigma = mat.singular_values().iter().copied().fold(0.0, f64::max);
    Ok(-sigma - 1.0 / (sigma + 1e-6) + 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's noise keeps its cache key (scores written before the setting stay
    /// valid); real images are keyed apart and ask the run for 64 images.
    #[test]
    fn the_input_setting_keys_real_images_apart() {
        let mut s = crate::ProxySettings::default();
        assert_eq!(key(&s), "noise B=64 init=kaiming_fan_in bn=batch");
        let decl: crate::ProxyDecl = component!("az_x", expressivity, "test");
        assert_eq!((decl.batch)(&s), 1);
        s.set("az_input", "real").unwrap();
        assert_eq!(key(&s), "real B=64 init=kaiming_fan_in bn=batch");
        assert_eq!((decl.batch)(&s), BATCH);
        assert!(s.set("az_input", "images").is_err());
    }
}
