//! VKDNW (Týbl & Neumann, "Training-free Neural Architecture Search through Variance of
//! Knowledge of Deep Network Weights", CVPR 2025): the entropy of the deciles of the Fisher
//! information's spectrum, and `vkdnw` = VKDNW_single, the network's count of parameter
//! tensors with ties broken by that entropy. `vkdnw_entropy` ([`crate::vkdnw_entropy`]) is the
//! entropy alone; [`ENSEMBLE`] is VKDNW_agg. This file computes the shared pass.
//!
//! Definition (official `ondratybl/VKDNW`, `NB201/ZeroShotProxy/compute_vkdnw_score.py` and
//! its NB201 driver `tss_general_.py` / `tss_utils.py`, our own code written from them):
//! * network: conv and linear weights `kaiming_normal_(fan_in)`, biases 0, BN 1/0; BN in
//!   `eval()` mode on the fresh running statistics (mean 0, variance 1: each sample is
//!   normalised alone, x / √(1 + 10⁻⁵)); float32;
//! * input: 64 images of N(0, 1) noise at the task's resolution (the driver's default,
//!   `--real_input False`);
//! * θ: the first scalar (`flatten()[0]`) of each of the first 128 parameter tensors in
//!   `named_parameters()` order (the driver's `params_grad_len = 128`, one scalar each);
//! * per sample b, the Jacobian J_b (C × P) of the logits with respect to θ; the smoothed
//!   probabilities p = softmax(logits)·(1 − α) + α/C with α = 0.05 as a float16 scalar (so
//!   1 − α and α/C are float16 values, as the reference's tensor arithmetic rounds them);
//!   L_b the reference's lower-triangular factor (`cholesky_covariance`: q = 1 − cumsum(p),
//!   q_C = 0, d_i = √(p_i q_i / q_{i−1}) with q_0 = 1, L_ij = −p_i/q_j (a division by zero
//!   counts 0) for i > j, L_ii = 1, columns scaled by d; on a 1,000-class head the rounded
//!   probabilities sum to 0.9502 + 1000 · 5.0008·10⁻⁵ = 1.0002, so q turns negative in the
//!   tail wherever the last classes' softmax mass is small, d is NaN there and F non-finite —
//!   the reference's failed SVD, entropy 0: 8 of 10 seeded TransNAS-Bench-101 micro jigsaw
//!   archs score exactly their tensor count (one checked: F non-finite); kept, as the
//!   reference computes it; on 100 classes the floor 5·10⁻⁴ exceeds the excess and q stays
//!   ≥ 0); F = mean_b (L_b J_b)ᵀ(L_b J_b) —
//!   as the code computes it (Jᵀ LᵀL J), which differs from the textbook Jᵀ L Lᵀ J;
//! * λ = the singular values of F (its eigenvalues' magnitudes); the 9 deciles 0.1…0.9 of λ
//!   (linear interpolation, as `torch.quantile`), normalised to sum 1 (+10⁻¹⁰), and the
//!   entropy −Σ t·ln(t + 10⁻¹⁰); a non-finite F scores as the reference's failed SVD
//!   (λ = [0, 0]: entropy 0);
//! * VKDNW_single: the pandas rank of the tuple (tensor count, entropy) — here the score
//!   `count + entropy / (1 + ln 9)`, which ranks the same (the entropy of 9 shares is at most
//!   ln 9);
//! * VKDNW_agg: Σ of log-ranks of VKDNW_single, AZ-NAS' expressivity and trainability, FLOPs
//!   and jacov ([`ENSEMBLE`]).
//!
//! Computed: reverse mode, one backward pass per class but the last (whose Jacobian row L
//! multiplies by 0) — or, where the network's head is a linear layer on D < C − 1 features
//! (NB201 on CIFAR-100 / ImageNet16-120: D = 64), one per feature and J_b = W·G_b (exact;
//! [`of_network_per_class`] is the per-class check) — the batch repeated for several seeds at
//! once where it is small, the per-sample derivatives read from each parameter's first-scalar
//! probe ([`swapnas_benchmarks::Taps::first_params`]; a parameter a pass uses several times, as
//! the jigsaw network's shared encoder, sums its probes). Where the θ are fewer than the
//! classes' passes (P < C − 1: TransNAS-Bench-101's jigsaw head, 1,000 permutations), forward
//! mode instead ([`of_network_by_tangents`]): each forward pass carries, beside the 64 samples,
//! their derivatives with respect to several θ in extra rows of the batch
//! ([`swapnas_benchmarks::Tangents`]: ReLU gates them by the samples' signs, each θ's layer adds
//! its first-scalar term), and J_b's column k is read off group k's logits — P / (groups per
//! pass) forward passes, whatever C; exact for the ReLU networks VKDNW initialises (biases and
//! BN shifts 0), the same Jacobians as the backward passes up to float32 rounding
//! (`tests/vkdnw_reference.rs`, NB201 and TransNAS-Bench-101 micro / macro / jigsaw). The
//! mode is a setting ([`JACOBIAN`], `--vkdnw-jacobian auto|backward|tangents`): `auto` takes
//! tangents where C − 1 > P, the rule measured on one core (README "What is computed": NB201
//! CIFAR-100's 64 feature passes 14.8 s against 25.0 s by tangents; TransNAS-Bench-101 micro
//! class_scene's 62 class passes 630 s against 522 s, about even; jigsaw's 999 passes ≈ 2.8 h
//! against 1.5–5 min). [`of_network`] is the backward pass on a given network and input;
//! `compute` only draws the weights and the noise and chooses the mode.
//! Deviations: the noise and the weights derive from each arch's seed (the reference seeds
//! once per run); the spectrum and entropy are computed in float64 from float32 passes (the
//! reference's exact value: `tests/vkdnw_reference.rs` agrees with its float64 run to 5·10⁻⁴ on
//! the same weights; its float32 run adds rounding to F's smallest eigenvalues, which on a
//! near-singular F can be the whole entropy: on NB201 `(4, 2, 4, 2, 4, 1)`, whose convs do not
//! reach the output, ours is 0 and the reference's float32 0.58 ± 0.70 over 10 draws; on 19
//! other archs × 10 draws each the two give one distribution per arch, README "What is computed");
//! the parameter order is our modules' declared order (on NB201 the reference's registration
//! order: its count is 21 + 45·k for k conv edges, as the reference's `vkdnw_dim`). jacov in
//! VKDNW_agg is our `jacov` (Suite-Zero's settings; the reference feeds its own jacov 64 real
//! images). Defined where the output is class logits (a softmax classifier).

use crate::measure::{gaussian, symmetric_eigenvalues, to_host};
use crate::{derive_seed, Ensemble, Needs, ProxyContext, ProxyDecl};
use anyhow::{bail, ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, BuildOptions, ClassifierTap, InitScheme, Network, Output, Tangents, Taps, WeightInit};

/// Noise images per pass (the reference driver's batch size).
pub const BATCH: usize = 64;
/// Parameter tensors whose first scalar enters the Fisher matrix (`params_grad_len`).
pub const TENSORS: usize = 128;
/// Pixels (images × side²) one pass may hold: small inputs take several classes per pass.
const PASS_PIXELS: usize = 4 * BATCH * 32 * 32;
/// Pixels one tangent pass may hold, its primal rows included: 8 batches at 224² (7 tangent
/// groups per pass; ≈ 0.8 GB per 32-channel activation at 112²).
const TANGENT_PIXELS: usize = 8 * BATCH * 224 * 224;
const NOISE_STREAM: u64 = 0x7d_0001;

/// How the per-sample Jacobians are computed ([`JACOBIAN`]): the same values either way, up
/// to float32 rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JacobianMode {
    /// Tangents where the classes' backward passes outnumber the θ (C − 1 > P), else backward.
    Auto,
    Backward,
    Tangents,
}

fn jacobian_mode(text: &str) -> Result<JacobianMode> {
    match text {
        "auto" => Ok(JacobianMode::Auto),
        "backward" => Ok(JacobianMode::Backward),
        "tangents" => Ok(JacobianMode::Tangents),
        _ => bail!("expected auto, backward or tangents, got {text:?}"),
    }
}

/// VKDNW's Jacobian mode (a speed choice: the scores agree up to float32 rounding, so the
/// cache key does not name it).
pub const JACOBIAN: crate::setting::Setting<JacobianMode> = crate::setting::Setting {
    name: "vkdnw_jacobian",
    value: "MODE",
    about: "VKDNW: how the per-sample Jacobians are computed — `backward` (one backward pass per class but the last, or per head feature where fewer), `tangents` (forward passes carrying the derivatives with respect to several θ at once: P = 128 θ whatever the classes; ReLU networks only), or `auto`: tangents where the classes' passes outnumber the θ (TransNAS-Bench-101 jigsaw's 1,000 permutations). Equal up to float32 rounding",
    default: "auto",
    parse: jacobian_mode,
};

/// The key the VKDNW proxies write (both come from one pass).
pub fn key(_: &crate::ProxySettings) -> String {
    format!("noise B={BATCH} tensors={TENSORS} scalar=first init=kaiming_fan_in bn=eval")
}

/// What a VKDNW proxy needs: gradients of the class logits.
pub const NEEDS: Needs = Needs { class_logits: true, ..Needs::INPUT_GRADIENTS };

/// The registry entry of VKDNW_single.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "vkdnw",
    about: "VKDNW_single: parameter tensors, ties broken by the Fisher spectrum's decile entropy (Týbl & Neumann 2025)",
    needs: NEEDS,
    settings: &[&JACOBIAN],
    // 2: NB201's parameters in the reference's named_parameters() order (the first 128 differ);
    // 3: TransNAS-Bench-101's fan-out convs re-drawn by fan-in, as every conv.
    version: 3,
    function_only: false,
    key,
    batch: |_| 1,
    score: |ctx| Ok(shared(ctx)?.single()),
};

/// VKDNW_agg, as the reference's NB201 analysis combines it.
pub const ENSEMBLE: Ensemble = Ensemble {
    name: "vkdnw_agg",
    about: "VKDNW_agg: Σ log-rank of vkdnw, AZ-NAS expressivity and trainability, FLOPs, jacov (Týbl & Neumann 2025)",
    members: &["vkdnw", "az_expressivity", "az_trainability", "flops", "jacov"],
    over_applicable: false,
};

/// The shared pass's results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vkdnw {
    /// The decile entropy of the Fisher spectrum.
    pub entropy: f64,
    /// The network's parameter tensors (`len(named_parameters())`).
    pub tensors: usize,
    /// Backward passes the Jacobians took (each back-propagating several seeds at once).
    pub backward_passes: usize,
    /// Forward passes carrying tangents the Jacobians took instead ([`of_network_by_tangents`]).
    pub tangent_passes: usize,
}

impl Vkdnw {
    /// VKDNW_single as one number that ranks as the tuple (tensors, entropy).
    pub fn single(&self) -> f64 {
        self.tensors as f64 + self.entropy / (1.0 + 9f64.ln())
    }
}

/// The context's arch's VKDNW, computed once per arch (the context's memo).
pub fn shared(ctx: &ProxyContext) -> Result<Vkdnw> {
    let key = format!("vkdnw:{}", ctx.seed);
    ctx.memo.get_or_insert_with(&key, || compute(ctx))
}

fn compute(ctx: &ProxyContext) -> Result<Vkdnw> {
    let classes = ctx.builder.num_classes();
    let init = || WeightInit::new(InitScheme::KaimingNormalFanIn, ctx.seed);
    let side = ctx.batch.side;
    let noise = gaussian(derive_seed(ctx.seed, NOISE_STREAM), BATCH * 3 * side * side);
    let input = |device: &Device| -> Tensor<4> {
        Tensor::from_data(TensorData::new(noise.clone(), [BATCH, 3, side, side]), (device, DType::F32))
    };
    // Tangents where the θ are fewer than the classes' passes (the jigsaw head's 1,000): the
    // same Jacobians, P forward passes' worth instead of C − 1 backward ones.
    let plain = ctx.builder.build(&mut init(), &BuildOptions::new(classes), ctx.device);
    let tangents = match JACOBIAN.get(ctx.settings) {
        JacobianMode::Auto => thetas(plain.as_ref()).0.len() < classes.saturating_sub(1),
        JacobianMode::Backward => false,
        JacobianMode::Tangents => true,
    };
    if tangents {
        return of_network_by_tangents(ctx, plain.as_ref(), input(ctx.device));
    }
    let device = ctx.device.clone().autodiff();
    // Only the probes' gradients are read: the weights need none.
    let net = ctx.builder.build(&mut init(), &BuildOptions::new(classes), &device).weights_untracked();
    of_network(ctx, net.as_ref(), input(&device))
}

/// The VKDNW pass of a given network (built for the context's arch, weights untracked, on
/// the autodiff device) on a given batch `x`: `compute` with the weights and the input
/// chosen by the caller (a test holds it against the reference on the same weights).
pub fn of_network(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>) -> Result<Vkdnw> {
    passes(ctx, net, x, true)?.score()
}

/// [`of_network`] with one backward pass per class but the last even where the head's
/// features are fewer (the check of the feature passes: equal up to rounding).
pub fn of_network_per_class(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>) -> Result<Vkdnw> {
    passes(ctx, net, x, false)?.score()
}

/// The per-sample Jacobians of the logits with respect to θ and what F needs with them.
#[derive(Debug, Clone)]
pub struct Jacobians {
    /// `values[(b·C + c)·P + k]`: ∂ logit c of sample b / ∂ θ_k.
    pub values: Vec<f64>,
    /// The logits `[B, C]`, row-major.
    pub logits: Vec<f64>,
    pub classes: usize,
    pub batch: usize,
    /// P, the θ taken.
    pub thetas: usize,
    /// The network's parameter tensors.
    pub tensors: usize,
    pub backward_passes: usize,
    pub tangent_passes: usize,
}

impl Jacobians {
    /// The backward passes' Jacobians ([`of_network`]'s; the network on the autodiff device).
    pub fn by_backward(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>) -> Result<Self> {
        passes(ctx, net, x, true)
    }

    /// The tangent passes' Jacobians ([`of_network_by_tangents`]'s; the network on the plain
    /// device), `group` θ per pass where given (else as many as fit).
    pub fn by_tangents(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>, group: Option<usize>) -> Result<Self> {
        tangents(ctx, net, x, group)
    }

    /// The decile entropy of the Fisher matrix they make.
    pub fn entropy(&self) -> Result<f64> {
        fisher_entropy(&self.values, &self.logits, self.classes, self.batch, self.thetas)
    }

    fn score(self) -> Result<Vkdnw> {
        Ok(Vkdnw {
            entropy: self.entropy()?,
            tensors: self.tensors,
            backward_passes: self.backward_passes,
            tangent_passes: self.tangent_passes,
        })
    }
}

/// [`of_network`] in forward mode, for a network on the plain device whose biases and BN shifts
/// are 0 (VKDNW's initialisation; [`swapnas_benchmarks::Tangents`] says why): each pass carries
/// the samples and, in extra rows, their derivatives with respect to several θ, and the
/// Jacobians are read off the tangent rows' logits — P / (groups per pass) passes, whatever the
/// classes. The same Jacobians as the backward passes up to float32 rounding
/// (`tests/vkdnw_reference.rs`). Fails where the network has an activation other than ReLU.
pub fn of_network_by_tangents(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>) -> Result<Vkdnw> {
    tangents(ctx, net, x, None)?.score()
}

fn tangents(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>, group: Option<usize>) -> Result<Jacobians> {
    let device = x.device();
    let classes = ctx.builder.num_classes();
    let (chosen, tensors) = thetas(net);
    let chosen = &chosen[..];
    let p = chosen.len();
    let [batch, channels, height, width] = x.dims();
    let fits = (TANGENT_PIXELS / (batch * height * width)).saturating_sub(1);
    let group = group.unwrap_or(fits).clamp(1, p.max(1));
    let mut jac = vec![0.0f64; batch * classes * p];
    let mut logits_host = Vec::new();
    let mut tangent_passes = 0;
    for (i, params) in chosen.chunks(group).enumerate() {
        let m = params.len();
        let zeros = Tensor::zeros([m * batch, channels, height, width], (&device, DType::F32));
        let xs = Tensor::cat(vec![x.clone(), zeros], 0);
        let mut fwd = ctx.forward_ctx(BnMode::Initial, Taps { first_params: true, ..Taps::default() });
        fwd.tangents = Some(Tangents::new(batch, params.to_vec()));
        let logits = class_logits(ctx, net.forward(xs, &mut fwd))?;
        if let Some(op) = fwd.tangents.as_ref().and_then(|t| t.unsupported) {
            bail!("VKDNW's tangent pass cannot differentiate the {} network's {op}", ctx.builder.arch_label());
        }
        ensure!(
            logits.dims() == [(m + 1) * batch, classes],
            "logits {:?}, expected [{}, {classes}]",
            logits.dims(),
            (m + 1) * batch
        );
        let host = to_host(logits)?;
        if i == 0 {
            logits_host = host[..batch * classes].to_vec();
        }
        for j in 0..m {
            let k = i * group + j;
            for b in 0..batch {
                for c in 0..classes {
                    jac[(b * classes + c) * p + k] = host[((j + 1) * batch + b) * classes + c];
                }
            }
        }
        tangent_passes += 1;
    }
    Ok(Jacobians { values: jac, logits: logits_host, classes, batch, thetas: p, tensors, backward_passes: 0, tangent_passes })
}

/// Where the backward passes start.
enum Seeds {
    /// Each class's logit but the last: row c of each J_b directly. L's last column is 0
    /// (q_C = 0, so d_C = 0 and d_C / q_C counts 0), so J_b's last row is never read.
    Classes,
    /// The head's D input features, where D < C − 1 (NB201 on CIFAR-100 and ImageNet16-120:
    /// 64 passes instead of 99 and 119): the logits are f·Wᵀ + b, so J_b = W·G_b with G_b
    /// (D × P) the features' Jacobian, and the head's own first scalars have the closed
    /// form ∂logit_c/∂W₀₀ = δ_c0·f_b0, ∂logit_c/∂b₀ = δ_c0.
    Features {
        /// W, `[C, D]` row-major.
        weight: Vec<f64>,
        width: usize,
        weight_id: burn::module::ParamId,
        bias_id: burn::module::ParamId,
        /// f_b0 per sample.
        first_feature: Vec<f64>,
    },
}

impl Seeds {
    /// Features where the pass recorded a head with fewer than C − 1 inputs (and `allowed`).
    fn choose(tap: Option<&ClassifierTap>, classes: usize, batch: usize, allowed: bool) -> Result<Self> {
        let Some(tap) = tap.filter(|_| allowed) else { return Ok(Seeds::Classes) };
        let [rows, width] = tap.weight.dims();
        if rows != classes || width + 1 >= classes {
            return Ok(Seeds::Classes);
        }
        Ok(Seeds::Features {
            weight: to_host(tap.weight.clone())?,
            width,
            weight_id: tap.weight_id,
            bias_id: tap.bias_id,
            first_feature: to_host(tap.features.clone().detach().slice([0..batch, 0..1]))?,
        })
    }

    /// Seeds to back-propagate (several per pass), and the width of the output they seed.
    fn count(&self, classes: usize) -> (usize, usize) {
        match self {
            Seeds::Classes => (classes.saturating_sub(1).max(1), classes),
            Seeds::Features { width, .. } => (*width, *width),
        }
    }

    /// The per-sample Jacobians of the logits, `jac[(b·C + c)·P + k]`, from the passes' rows
    /// `rows[(b·width + i)·P + k]`.
    fn jacobian(self, rows: Vec<f64>, chosen: &[burn::module::ParamId], classes: usize, batch: usize) -> Vec<f64> {
        let Seeds::Features { weight, width, weight_id, bias_id, first_feature } = self else { return rows };
        let p = chosen.len();
        let w = DMatrix::from_row_slice(classes, width, &weight);
        let mut jac = vec![0.0f64; batch * classes * p];
        for b in 0..batch {
            let g_b = DMatrix::from_row_slice(width, p, &rows[b * width * p..(b + 1) * width * p]);
            let j_b = &w * g_b;
            for c in 0..classes {
                let head = if c == 0 { 1.0 } else { 0.0 };
                for (k, id) in chosen.iter().enumerate() {
                    jac[(b * classes + c) * p + k] = if *id == weight_id {
                        head * first_feature[b]
                    } else if *id == bias_id {
                        head
                    } else {
                        j_b[(c, k)]
                    };
                }
            }
        }
        jac
    }
}

/// θ — the first scalar of each of the network's first [`TENSORS`] parameter tensors — and
/// the network's count of parameter tensors.
fn thetas(net: &dyn Network) -> (Vec<burn::module::ParamId>, usize) {
    let mut ids = net.parameter_ids();
    let tensors = ids.len();
    ids.truncate(TENSORS);
    (ids, tensors)
}

/// A pass's class logits (VKDNW is not defined on a dense output).
fn class_logits(ctx: &ProxyContext, output: Output) -> Result<Tensor<2>> {
    match output {
        Output::Flat(l) => Ok(l),
        Output::Dense(_) => bail!("VKDNW needs class logits; the {} network's output is dense", ctx.builder.arch_label()),
    }
}

fn passes(ctx: &ProxyContext, net: &dyn Network, x: Tensor<4>, features_allowed: bool) -> Result<Jacobians> {
    let device = x.device();
    let classes = ctx.builder.num_classes();
    let (chosen, tensors) = thetas(net);
    let chosen = &chosen[..];
    let p = chosen.len();
    let [batch, _, side, _] = x.dims();
    let per_pass = (PASS_PIXELS / (batch * side * side)).max(1);

    // The first pass chooses the seeds (it records the head); each later pass back-propagates
    // `g` seeds at once, copy j of the batch (rows j·B … j·B + B − 1) seed `first + j`.
    let mut seeds: Option<Seeds> = None;
    let mut rows = Vec::new();
    let mut logits_host = Vec::new();
    let mut first = 0;
    let mut backward_passes = 0;
    loop {
        let (count, _) = seeds.as_ref().unwrap_or(&Seeds::Classes).count(classes);
        if first >= count {
            break;
        }
        let g = per_pass.min(count - first);
        let xs = if g == 1 { x.clone() } else { x.clone().repeat_dim(0, g) };
        let taps = Taps { first_params: true, classifier: !matches!(seeds, Some(Seeds::Classes)), ..Taps::default() };
        let mut fwd = ctx.forward_ctx(BnMode::Initial, taps);
        // Eval-mode BN keeps the copies apart: each layer's forward is computed once.
        fwd.replicas = g;
        let logits = class_logits(ctx, net.forward(xs, &mut fwd))?;
        ensure!(logits.dims() == [g * batch, classes], "logits {:?}, expected [{}, {classes}]", logits.dims(), g * batch);
        if seeds.is_none() {
            logits_host = to_host(logits.clone().detach().slice([0..batch, 0..classes]))?;
            seeds = Some(Seeds::choose(fwd.classifier.as_ref(), classes, batch, features_allowed)?);
        }
        let chosen_seeds = seeds.as_ref().unwrap_or(&Seeds::Classes);
        let (count, width) = chosen_seeds.count(classes);
        rows.resize(batch * width * p, 0.0);
        let used = g.min(count - first); // copies past `used` (a first pass wider than D) seed nothing
        let output = match chosen_seeds {
            Seeds::Classes => logits,
            Seeds::Features { .. } => fwd.classifier.take().map(|tap| tap.features).context("the head was not recorded")?,
        };
        ensure!(output.dims() == [g * batch, width], "seeded output {:?}, expected [{}, {width}]", output.dims(), g * batch);
        let mut select = vec![0.0f32; g * batch * width];
        for j in 0..used {
            for b in 0..batch {
                select[(j * batch + b) * width + first + j] = 1.0;
            }
        }
        let select: Tensor<2> = Tensor::from_data(TensorData::new(select, [g * batch, width]), (&device, DType::F32));
        let grads = output.mul(select).sum().backward();
        backward_passes += 1;
        for (k, id) in chosen.iter().enumerate() {
            let mut per_row = vec![0.0f64; g * batch];
            for probe in fwd.first_params.iter().filter(|probe| probe.id == *id) {
                if let Some(grad) = probe.leaf.grad(&grads) {
                    for (acc, v) in per_row.iter_mut().zip(to_host(grad)?) {
                        *acc += v;
                    }
                }
            }
            for j in 0..used {
                for b in 0..batch {
                    rows[(b * width + first + j) * p + k] = per_row[j * batch + b];
                }
            }
        }
        first += used;
    }
    let jac = seeds.unwrap_or(Seeds::Classes).jacobian(rows, chosen, classes, batch);
    Ok(Jacobians { values: jac, logits: logits_host, classes, batch, thetas: p, tensors, backward_passes, tangent_passes: 0 })
}

/// The decile entropy of F = mean_b (L_b J_b)ᵀ(L_b J_b), from the Jacobians `jac[(b·C + c)·P + k]`
/// and the logits `[B, C]`.
fn fisher_entropy(jac: &[f64], logits: &[f64], classes: usize, batch: usize, p: usize) -> Result<f64> {
    // A = the stacked L_b J_b (B·C × P); F = AᵀA / B.
    let mut a = DMatrix::<f64>::zeros(batch * classes, p);
    for b in 0..batch {
        let factor = CovarianceFactor::new(&logits[b * classes..(b + 1) * classes]);
        let j_b = &jac[b * classes * p..(b + 1) * classes * p];
        factor.apply(j_b, p, |c, k, v| a[(b * classes + c, k)] = v);
    }
    let fisher = a.tr_mul(&a) / batch as f64;
    decile_entropy(&fisher)
}

/// The reference's `cholesky_covariance` of one sample's logits: L = (lower part of
/// −p_i/q_j, unit diagonal) · diag(d).
struct CovarianceFactor {
    p: Vec<f64>,
    d: Vec<f64>,
    /// d_j / q_j where −p_i/q_j is finite, else 0 (`nan_to_num`).
    scale: Vec<f64>,
}

impl CovarianceFactor {
    fn new(logits: &[f64]) -> Self {
        let c = logits.len();
        // α = 0.05 as a float16 scalar: 1 − α and α / C are float16 results.
        let alpha = half::f16::from_f64(0.05);
        let keep = f64::from(half::f16::from_f32(1.0 - alpha.to_f32()));
        let floor = f64::from(half::f16::from_f32(alpha.to_f32() / c as f32));
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        let p: Vec<f64> = exp.iter().map(|e| e / total * keep + floor).collect();
        let mut q = Vec::with_capacity(c);
        let mut cumulative = 0.0;
        for &pi in &p {
            cumulative += pi;
            q.push(1.0 - cumulative);
        }
        q[c - 1] = 0.0;
        let d: Vec<f64> = (0..c).map(|i| (p[i] * q[i] / if i == 0 { 1.0 } else { q[i - 1] }).sqrt()).collect();
        let scale = (0..c).map(|j| if q[j] == 0.0 { 0.0 } else { d[j] / q[j] }).collect();
        Self { p, d, scale }
    }

    /// Row i of L·J for J (C × P, row-major): d_i J_i − p_i Σ_{j<i} (d_j / q_j) J_j.
    fn apply(&self, j: &[f64], cols: usize, mut out: impl FnMut(usize, usize, f64)) {
        let mut below = vec![0.0f64; cols];
        for i in 0..self.p.len() {
            let row = &j[i * cols..(i + 1) * cols];
            for k in 0..cols {
                out(i, k, self.d[i] * row[k] - self.p[i] * below[k]);
            }
            for k in 0..cols {
                below[k] += self.scale[i] * row[k];
            }
        }
    }
}

/// The entropy of the normalised deciles 0.1…0.9 of F's singular values.
fn decile_entropy(fisher: &DMatrix<f64>) -> Result<f64> {
    let mut lambdas: Vec<f64> = if fisher.iter().all(|v| v.is_finite()) {
        symmetric_eigenvalues(fisher)?.into_iter().map(f64::abs).collect()
    } else {
        vec![0.0, 0.0] // the reference's failed SVD
    };
    lambdas.sort_by(f64::total_cmp);
    let n = lambdas.len();
    let deciles: Vec<f64> = (1..10)
        .map(|i| {
            // torch.arange(0.1, 1., 0.1) is float32.
            let q = f64::from((0.1 + 0.1 * (i - 1) as f64) as f32);
            let position = q * (n - 1) as f64;
            let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
            lambdas[lo] + (lambdas[hi] - lambdas[lo]) * (position - lo as f64)
        })
        .collect();
    let norm: f64 = deciles.iter().map(|v| v.abs()).sum::<f64>() + 1e-10;
    Ok(-deciles.iter().map(|v| v / norm).map(|t| t * (t + 1e-10).ln()).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L Lᵀ is the smoothed softmax's covariance diag(p) − p pᵀ (the reference back-tests
    /// the same), so applying L to the identity gives L itself.
    #[test]
    fn the_factor_reproduces_the_covariance() {
        let logits = [0.3, -1.2, 2.0, 0.0, 0.7];
        let f = CovarianceFactor::new(&logits);
        let c = logits.len();
        let identity: Vec<f64> = (0..c * c).map(|i| if i / c == i % c { 1.0 } else { 0.0 }).collect();
        let mut l = DMatrix::<f64>::zeros(c, c);
        f.apply(&identity, c, |i, k, v| l[(i, k)] = v);
        let cov = &l * l.transpose();
        for i in 0..c {
            for j in 0..c {
                let want = if i == j { f.p[i] - f.p[i] * f.p[j] } else { -f.p[i] * f.p[j] };
                assert!((cov[(i, j)] - want).abs() < 1e-3, "({i}, {j}): {} vs {want}", cov[(i, j)]);
            }
        }
        assert!(l.column(c - 1).iter().all(|v| *v == 0.0), "q_C = 0: the last column is 0");
        assert!((f.p.iter().sum::<f64>() - 1.0).abs() < 1e-3, "smoothed probabilities sum to ≈ 1");
    }

    /// L's last column is 0, so L·J never reads J's last row: the pass skips that class.
    #[test]
    fn the_last_class_row_is_never_read() {
        let logits = [0.3, -1.2, 2.0, 0.0, 0.7];
        let f = CovarianceFactor::new(&logits);
        let (c, cols) = (logits.len(), 3);
        let mut j: Vec<f64> = (0..c * cols).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut first = vec![0.0; c * cols];
        f.apply(&j, cols, |i, k, v| first[i * cols + k] = v);
        for v in &mut j[(c - 1) * cols..] {
            *v = 1e6;
        }
        let mut second = vec![0.0; c * cols];
        f.apply(&j, cols, |i, k, v| second[i * cols + k] = v);
        assert_eq!(first, second);
    }

    /// The reference's float16 smoothing on 1,000 classes: 1 − α rounds to 0.9502 and α / C to
    /// 5.0008·10⁻⁵, so the probabilities sum to 1.0002 and q = 1 − cumsum(p) turns negative in
    /// the tail when the last classes' mass is small (one dominant logit): d is NaN there, as
    /// the reference's `torch.sqrt` makes it. On 100 classes the floor covers the excess.
    #[test]
    fn the_float16_smoothing_breaks_the_factor_on_a_thousand_classes() {
        let peaked = |c: usize| -> Vec<f64> { (0..c).map(|i| if i == 0 { 60.0 } else { 0.0 }).collect() };
        let thousand = CovarianceFactor::new(&peaked(1000));
        let total: f64 = thousand.p.iter().sum();
        assert!((total - 1.0002).abs() < 5e-5, "the probabilities sum to {total}");
        assert!(thousand.d.iter().any(|d| d.is_nan()), "1,000 classes: some d is NaN");
        let hundred = CovarianceFactor::new(&peaked(100));
        assert!(hundred.d.iter().all(|d| d.is_finite()), "100 classes: every d is finite");
    }

    /// Deciles of 1…11 are 2…10 (linear interpolation), then the normalised entropy.
    #[test]
    fn decile_entropy_follows_torch_quantile() {
        let fisher = DMatrix::from_diagonal(&nalgebra::DVector::from_vec((1..=11).map(f64::from).collect()));
        let deciles: Vec<f64> = (2..=10).map(f64::from).collect();
        let total: f64 = deciles.iter().sum::<f64>() + 1e-10;
        let want: f64 = -deciles.iter().map(|v| v / total).map(|t| t * (t + 1e-10).ln()).sum::<f64>();
        let got = decile_entropy(&fisher).unwrap();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        assert_eq!(decile_entropy(&DMatrix::from_element(2, 2, f64::NAN)).unwrap(), 0.0);
    }
}
