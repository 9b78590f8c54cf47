//! Plumbing the baseline measures share, written once (as zero-cost-nas' `predictive.py`
//! does for its measures): a fresh network with PyTorch's default init, the real batch,
//! cross-entropy, one backward pass, per-weight gradients, and the per-layer sum.
//!
//! References (NASLib `find_measures`, zero-cost-nas): no re-initialisation (PyTorch default
//! init), BN in train mode (batch statistics), one real minibatch with its labels,
//! `F.cross_entropy` (mean over the batch), conv and linear weights only, and
//! `sum over layers of sum over elements` to reduce.

use crate::setting::{self, Setting};
use crate::{derive_seed, ProxyContext, ProxySettings};
use anyhow::{bail, ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::{DType, Gradients, Int};
use swapnas_benchmarks::space::TargetSource;
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, Head, InitScheme, Loss, Network, Output, Taps, Weight, WeightInit};

/// Seed stream of a task's synthetic targets (independent of the weight and input streams).
const TARGET_STREAM: u64 = 0x7a6e7;

/// A fresh network of the context's architecture, PyTorch default init, seeded by the context.
pub fn default_network(ctx: &ProxyContext, device: &Device, dtype: DType) -> Box<dyn Network> {
    let mut init = WeightInit::new(InitScheme::PytorchDefault, ctx.seed);
    let options = BuildOptions { dtype, ..BuildOptions::new(ctx.builder.num_classes()) };
    ctx.builder.build(&mut init, &options, device)
}

/// The first `n` images of the context's batch and their labels, on `device`.
pub fn real_batch(ctx: &ProxyContext, n: usize, device: &Device, dtype: DType) -> Result<(Tensor<4>, Tensor<1, Int>)> {
    ensure!(ctx.batch.len() >= n, "the proxy needs {n} images, {} were loaded", ctx.batch.len());
    Ok(ctx.batch.first_tensors(n, device, dtype))
}

/// What a task's loss compares the network's output with.
#[derive(Debug, Clone)]
pub enum Targets {
    /// One class id per image (`[n]`).
    Classes(Tensor<1, Int>),
    /// Values or a distribution per image (`[n, k]`).
    Values(Tensor<2>),
    /// One class id per pixel (`[n, h, w]`).
    Pixels(Tensor<3, Int>),
    /// An image per image (`[n, c, h, w]`), e.g. the input itself for an autoencoder.
    Images(Tensor<4>),
}

impl Targets {
    /// The targets of the images `x` (`[n, …]`, with the batch's `labels`), as the task
    /// declares them ([`TargetSource`]): the labels (class ids, or the jigsaw permutation
    /// indices), the input itself (autoencoding), or seeded synthetic targets of the head's
    /// shape where the task's real targets are not available (drawn from the context's seed).
    pub fn of_task(ctx: &ProxyContext, x: &Tensor<4>, labels: Tensor<1, Int>) -> Result<Self> {
        let task = ctx.task;
        match (task.targets, task.head, task.loss) {
            (TargetSource::ImageLabels, Head::Classes(_), Loss::CrossEntropy) => Ok(Targets::Classes(labels)),
            (TargetSource::Input, Head::Image(_), Loss::L1 | Loss::Mse) => Ok(Targets::Images(x.clone().detach())),
            (TargetSource::Synthetic, head, loss) => Self::synthetic(head, loss, x, derive_seed(ctx.seed, TARGET_STREAM)),
            (source, head, loss) => bail!(
                "task {}: {source:?} targets cannot feed a {head:?} head's {} loss (a declaration error of the space)",
                task.name,
                loss.name()
            ),
        }
    }

    /// Seeded targets of `head`'s shape for images `x`: class ids or distributions
    /// (softmax of N(0, 1) logits), N(0, 1) values (standardised, as room layouts are),
    /// per-pixel class ids at the input's size, or U(0, 1) images (surface normals' range).
    pub fn synthetic(head: Head, loss: Loss, x: &Tensor<4>, seed: u64) -> Result<Self> {
        let [n, _, h, w] = x.dims();
        let device = x.device();
        let dtype = x.dtype();
        let uniform = |len: usize| WeightInit::new(InitScheme::PytorchDefault, seed).weight(len, 1);
        let ids = |len: usize, k: usize| -> Vec<i64> {
            uniform(len).into_iter().map(|u| (((u + 1.0) / 2.0 * k as f32) as i64).clamp(0, k as i64 - 1)).collect()
        };
        let floats = |v: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(v, shape), (&device, dtype));
        Ok(match (head, loss) {
            (Head::Classes(k), Loss::CrossEntropy) => {
                Targets::Classes(Tensor::from_data(TensorData::new(ids(n, k), [n]), &device))
            }
            (Head::Classes(k), Loss::SoftCrossEntropy) => {
                let logits = gaussian(seed, n * k);
                let mut probs = Vec::with_capacity(n * k);
                for row in logits.chunks_exact(k) {
                    let max = row.iter().cloned().fold(f32::MIN, f32::max);
                    let e: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
                    let total: f32 = e.iter().sum();
                    probs.extend(e.iter().map(|v| v / total));
                }
                Targets::Values(floats(probs, [n, k]))
            }
            (Head::Regression(k), _) => Targets::Values(floats(gaussian(seed, n * k), [n, k])),
            (Head::PixelClasses(k), _) => {
                Targets::Pixels(Tensor::from_data(TensorData::new(ids(n * h * w, k), [n, h, w]), &device))
            }
            (Head::Image(c), _) => {
                let unit: Vec<f32> = uniform(n * c * h * w).into_iter().map(|u| (u + 1.0) / 2.0).collect();
                Targets::Images(Tensor::<4>::from_data(TensorData::new(unit, [n, c, h, w]), (&device, dtype)))
            }
            (head, loss) => bail!("no synthetic targets for a {head:?} head with the {} loss", loss.name()),
        })
    }

    /// The targets of the samples in `range`.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        match self {
            Targets::Classes(t) => Targets::Classes(t.clone().slice(range)),
            Targets::Values(t) => Targets::Values(t.clone().slice(range)),
            Targets::Pixels(t) => Targets::Pixels(t.clone().slice(range)),
            Targets::Images(t) => Targets::Images(t.clone().slice(range)),
        }
    }
}

/// `--proxy-batch`: the baseline proxies' minibatch, read through this one declaration.
pub const PROXY_BATCH: Setting<usize> = Setting {
    name: "proxy_batch",
    value: "N",
    about: "Baseline proxies: number of real training images in their minibatch (32 is what NAS-Bench-Suite-Zero's reference scores were computed with: its jacov never exceeds −32); at least 2 (correlation-based proxies need two images)",
    default: "32",
    parse: |t| setting::at_least(t, 2),
};

/// The settings string (part of every cache key) of a proxy that back-propagates the task's
/// loss on `batch` real images through a PyTorch-initialised network, BN on batch
/// statistics: grad_norm, snip, plain, fisher, and the start of grasp's (`loss=ce` on the
/// classification tasks, as before the loss became the task's).
pub fn loss_settings(s: &ProxySettings) -> String {
    format!("B={} init=pytorch bn=batch loss={}", PROXY_BATCH.get(s), s.loss.name())
}

/// `F.cross_entropy(logits, labels)`: the mean over the batch of −log softmax at the label.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [n, _] = logits.dims();
    let log_probs = burn::tensor::activation::log_softmax(logits, 1);
    let picked = log_probs.gather(1, labels.reshape([n, 1]));
    picked.mean().neg()
}

/// The task's loss of `output` against `targets`, as NASLib's zero-cost code computes each
/// (all means over every value): cross-entropy, soft-target cross-entropy
/// (−Σ_k t_k log(softmax_k + 1e-5), mean over images), MSE, per-pixel cross-entropy, L1.
pub fn task_loss(loss: Loss, output: Output, targets: &Targets) -> Result<Tensor<1>> {
    Ok(match (loss, output, targets) {
        (Loss::CrossEntropy, Output::Flat(logits), Targets::Classes(labels)) => cross_entropy(logits, labels.clone()),
        // NASLib's SoftmaxCrossEntropyWithLogits: log(softmax + 1e-5), not log_softmax.
        (Loss::SoftCrossEntropy, Output::Flat(logits), Targets::Values(t)) => {
            burn::tensor::activation::softmax(logits, 1).add_scalar(1e-5).log().mul(t.clone()).sum_dim(1).mean().neg()
        }
        (Loss::Mse, Output::Flat(o), Targets::Values(t)) => o.sub(t.clone()).powi_scalar(2).mean(),
        (Loss::Mse, Output::Dense(o), Targets::Images(t)) => o.sub(t.clone()).powi_scalar(2).mean(),
        (Loss::L1, Output::Flat(o), Targets::Values(t)) => o.sub(t.clone()).abs().mean(),
        (Loss::L1, Output::Dense(o), Targets::Images(t)) => o.sub(t.clone()).abs().mean(),
        (Loss::PixelCrossEntropy, Output::Dense(logits), Targets::Pixels(labels)) => {
            let [n, k, h, w] = logits.dims();
            let per_pixel = logits.permute([0, 2, 3, 1]).reshape([n * h * w, k]);
            cross_entropy(per_pixel, labels.clone().reshape([n * h * w]))
        }
        (loss, output, targets) => bail!(
            "the {} loss cannot compare a {} output with {} targets",
            loss.name(),
            if matches!(output, Output::Flat(_)) { "flat" } else { "dense" },
            match targets {
                Targets::Classes(_) => "class",
                Targets::Values(_) => "value",
                Targets::Pixels(_) => "per-pixel class",
                Targets::Images(_) => "image",
            }
        ),
    })
}

/// The result of one forward and backward pass of the task's loss on the real batch.
pub struct LossGradients {
    pub net: Box<dyn Network>,
    pub weights: Vec<Weight>,
    pub grads: Gradients,
    /// What the forward pass recorded (layer outputs, if asked for).
    pub forward: ForwardCtx,
}

impl LossGradients {
    /// Builds the network on the autodiff device, runs the first `n` images through it with
    /// BN on batch statistics, and back-propagates the task's loss.
    pub fn compute(ctx: &ProxyContext, n: usize, taps: Taps) -> Result<Self> {
        let device = ctx.device.clone().autodiff();
        let net = default_network(ctx, &device, DType::F32);
        let (x, y) = real_batch(ctx, n, &device, DType::F32)?;
        let targets = Targets::of_task(ctx, &x, y)?;
        Self::of(net, x, &targets, ctx.task.loss, ctx.forward_ctx(BnMode::Batch, taps))
    }

    /// One pass of `net` (built on an autodiff device) on images `x` with `targets`, as
    /// `forward` says (BN mode, taps, replayed ReLU gates): the mean `loss`, backward.
    pub fn of(net: Box<dyn Network>, x: Tensor<4>, targets: &Targets, loss: Loss, mut forward: ForwardCtx) -> Result<Self> {
        let output = net.forward(x, &mut forward);
        let grads = task_loss(loss, output, targets)?.backward();
        let weights = net.weights();
        Ok(Self { net, weights, grads, forward })
    }

    /// [`Self::weight_and_grad`] of the pass on the first `n` images (float32, nothing
    /// tapped), computed once per architecture and shared by grad_norm, snip and plain.
    pub fn shared(ctx: &ProxyContext, n: usize) -> Result<std::sync::Arc<Vec<(Tensor<1>, Tensor<1>)>>> {
        ctx.memo
            .get_or_insert_with(&format!("weight_grads:B={n}:init=pytorch:bn=batch:f32:loss={}", ctx.task.loss.name()), || {
                Ok(std::sync::Arc::new(Self::compute(ctx, n, Taps::default())?.weight_and_grad()))
            })
    }

    /// Each conv/linear weight with its gradient, both flattened. A weight the loss does not
    /// reach gets a zero gradient, as NASLib's `zeros_like` fallback does.
    pub fn weight_and_grad(&self) -> Vec<(Tensor<1>, Tensor<1>)> {
        self.weights
            .iter()
            .map(|w| {
                let value = w.tensor.flat().inner();
                let grad = w.tensor.grad_flat(&self.grads).unwrap_or_else(|| value.zeros_like());
                (value, grad)
            })
            .collect()
    }
}

/// The conv/linear weight gradients of `batches` consecutive real batches of the baseline
/// batch size B (batch b = images b·B..(b+1)·B), each from a fresh network with the same
/// weights (PyTorch default init, the context's seed), BN on batch statistics, the task's
/// mean loss: `[batch][layer]` flattened. Batch 0 is the pass grad_norm, snip and plain share.
pub fn batch_weight_grads(ctx: &ProxyContext, batches: usize) -> Result<Vec<Vec<Tensor<1>>>> {
    let per_batch = PROXY_BATCH.get(ctx.settings);
    ensure!(per_batch >= 1, "batches of {per_batch} images: at least one per batch is needed");
    let device = ctx.device.clone().autodiff();
    let (x, y) = real_batch(ctx, per_batch * batches, &device, DType::F32)?;
    let targets = Targets::of_task(ctx, &x, y)?;
    let mut out: Vec<Vec<Tensor<1>>> = Vec::with_capacity(batches);
    out.push(LossGradients::shared(ctx, per_batch)?.iter().map(|(_, g)| g.clone()).collect());
    for b in 1..batches {
        let range = b * per_batch..(b + 1) * per_batch;
        let net = default_network(ctx, &device, DType::F32);
        let forward = ctx.forward_ctx(BnMode::Batch, Taps::default());
        let lg = LossGradients::of(net, x.clone().slice(range.clone()), &targets.slice(range), ctx.task.loss, forward)?;
        out.push(lg.weight_and_grad().into_iter().map(|(_, g)| g).collect());
    }
    Ok(out)
}

/// Per weight (column), the population standard deviation over the rows of `g` (numpy's
/// `std(g, 0)`, ddof 0).
pub fn std_over_rows(g: Tensor<2>) -> Tensor<1> {
    let n = g.dims()[1];
    let mean = g.clone().mean_dim(0);
    g.sub(mean).powi_scalar(2).mean_dim(0).sqrt().reshape([n])
}

/// Σ over the entries with `den` ≠ 0 of `num / den` (entries with `den` = 0 are skipped, as
/// ZiCo skips weights whose gradient does not vary).
pub fn sum_where_nonzero(num: Tensor<1>, den: Tensor<1>) -> Result<f64> {
    let zero = den.clone().equal_elem(0.0);
    scalar(num.div(den.mask_fill(zero.clone(), 1.0)).mask_fill(zero, 0.0).sum())
}

/// NASLib's `sum_arr`: the sum over layers of the sum over each layer's elements.
pub fn sum_over_layers(per_layer: impl IntoIterator<Item = Tensor<1>>) -> Result<f64> {
    let mut total = 0.0;
    for t in per_layer {
        total += scalar(t.sum())?;
    }
    Ok(total)
}

/// A one-element tensor as f64.
pub fn scalar(t: Tensor<1>) -> Result<f64> {
    let v: Vec<f64> = t
        .into_data()
        .convert::<f64>()
        .try_into_vec()
        .map_err(|e| anyhow::anyhow!("cannot read a score back from the device: {e:?}"))?;
    v.first().copied().context("empty score tensor")
}

/// A tensor's values as f64 on the host.
pub fn to_host<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>> {
    t.into_data().convert::<f64>().try_into_vec().map_err(|e| anyhow::anyhow!("cannot read a tensor back from the device: {e:?}"))
}

/// The input Jacobian of the first images of the real batch: row i is ∂(Σ_k logits_k)/∂x_i
/// flattened (`y.backward(ones_like(y)); x.grad`), for a fresh network with PyTorch default
/// init and BN on batch statistics. Shared by jacov and epe_nas through the context's memo.
#[derive(Debug)]
pub struct InputJacobian {
    /// `[samples × inputs]`, one row per image.
    pub rows: nalgebra::DMatrix<f64>,
    /// The images' labels.
    pub labels: Vec<i64>,
    /// Width of the network's output (`y.shape[-1]`).
    pub num_classes: usize,
}

impl InputJacobian {
    /// The Jacobian of the first `n` images, computed once per architecture and batch size.
    pub fn shared(ctx: &ProxyContext, n: usize) -> Result<std::sync::Arc<Self>> {
        ctx.memo.get_or_insert_with(&format!("input_jacobian:B={n}:init=pytorch:bn=batch"), || {
            Self::compute(ctx, n).map(std::sync::Arc::new)
        })
    }

    fn compute(ctx: &ProxyContext, n: usize) -> Result<Self> {
        ensure!(n >= 1, "the input Jacobian needs at least one image");
        let device = ctx.device.clone().autodiff();
        let net = default_network(ctx, &device, DType::F32);
        let (x, _) = real_batch(ctx, n, &device, DType::F32)?;
        let x = x.require_grad();
        let mut forward = ctx.forward_ctx(BnMode::Batch, Taps::default());
        let output = net.forward(x.clone(), &mut forward);
        let num_classes = output.width();
        let grads = output.sum().backward();
        let [_, c, h, w] = x.dims();
        let cols = c * h * w;
        // An output that does not depend on the input has no gradient path: a zero Jacobian.
        let values = match x.grad(&grads) {
            Some(g) => to_host(g).context("input Jacobian")?,
            None => vec![0.0; n * cols],
        };
        ensure!(values.len() == n * cols, "input Jacobian has {} values, expected {}", values.len(), n * cols);
        let labels = ctx.batch.labels[..n].to_vec();
        Ok(Self { rows: nalgebra::DMatrix::from_row_slice(n, cols, &values), labels, num_classes })
    }
}

/// `np.corrcoef` of the rows of `m` (each row a variable, columns observations): Pearson
/// correlations, clipped to [−1, 1]. A constant row gives NaN in its row and column, as numpy.
pub fn corrcoef(m: &nalgebra::DMatrix<f64>) -> nalgebra::DMatrix<f64> {
    let mut centred = m.clone();
    for mut row in centred.row_iter_mut() {
        let mean = row.mean();
        row.add_scalar_mut(-mean);
    }
    let cov = &centred * centred.transpose();
    let d = cov.diagonal().map(f64::sqrt);
    nalgebra::DMatrix::from_fn(cov.nrows(), cov.ncols(), |i, j| (cov[(i, j)] / d[i] / d[j]).clamp(-1.0, 1.0))
}

/// Eigenvalues of a symmetric matrix, ascending; an error if it holds NaN/inf or the solver
/// does not converge.
pub fn symmetric_eigenvalues(m: &nalgebra::DMatrix<f64>) -> Result<Vec<f64>> {
    ensure!(m.iter().all(|v| v.is_finite()), "the matrix has non-finite entries");
    ensure!(m.is_square(), "the matrix is {}×{}, not square", m.nrows(), m.ncols());
    let eigen = nalgebra::SymmetricEigen::try_new(m.clone(), f64::EPSILON, 100_000)
        .context("the symmetric eigensolver did not converge")?;
    let mut values: Vec<f64> = eigen.eigenvalues.iter().copied().collect();
    values.sort_by(f64::total_cmp);
    Ok(values)
}

/// `np.linalg.slogdet(m)[1]`: log |det m| by LU with partial pivoting; −inf if singular.
pub fn log_abs_det(m: &nalgebra::DMatrix<f64>) -> Result<f64> {
    ensure!(m.is_square(), "the matrix is {}×{}, not square", m.nrows(), m.ncols());
    let lu = m.clone().lu();
    Ok(lu.u().diagonal().iter().map(|u| u.abs().ln()).sum())
}

/// `n` values N(0, 1) from a seeded ChaCha stream (the stream Gaussian weights come from).
pub fn gaussian(seed: u64, n: usize) -> Vec<f32> {
    WeightInit::new(InitScheme::Gaussian, seed).weight(n, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn value(t: Tensor<1>) -> f64 {
        scalar(t).unwrap()
    }

    fn flat(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    /// Each loss on values small enough to compute by hand.
    #[test]
    fn task_losses_by_hand() {
        let device = Device::flex();
        let ln3 = 3f32.ln();
        let classes = |v: Vec<i64>| Targets::Classes(Tensor::from_data(TensorData::new(v.clone(), [v.len()]), &device));
        // softmax(0, ln 3) = (1/4, 3/4): −ln 3/4 at label 1.
        let ce = task_loss(Loss::CrossEntropy, Output::Flat(flat(vec![0.0, ln3], [1, 2])), &classes(vec![1])).unwrap();
        assert!((value(ce) + 0.75f64.ln()).abs() < 1e-6);
        // Uniform logits against (1/4, 3/4): −Σ t log(½ + 1e-5) (NASLib's +1e-5).
        let soft = Targets::Values(flat(vec![0.25, 0.75], [1, 2]));
        let sce = task_loss(Loss::SoftCrossEntropy, Output::Flat(flat(vec![0.0, 0.0], [1, 2])), &soft).unwrap();
        assert!((value(sce) + (0.5f64 + 1e-5).ln()).abs() < 1e-6);
        let zeros = Targets::Values(flat(vec![0.0, 0.0], [1, 2]));
        let mse = task_loss(Loss::Mse, Output::Flat(flat(vec![1.0, 2.0], [1, 2])), &zeros).unwrap();
        assert!((value(mse) - 2.5).abs() < 1e-6);
        let image = Tensor::<4>::ones([1, 1, 2, 2], &device);
        let l1 = task_loss(Loss::L1, Output::Dense(image.clone()), &Targets::Images(image.zeros_like())).unwrap();
        assert!((value(l1) - 1.0).abs() < 1e-6);
        // Two pixels, logits (0, ln 3) with label 1 and (ln 3, 0) with label 0: both −ln 3/4.
        let logits = Tensor::<4>::from_data(TensorData::new(vec![0.0, ln3, ln3, 0.0], [1, 2, 1, 2]), &device);
        let pixels = Targets::Pixels(Tensor::from_data(TensorData::new(vec![1i64, 0], [1, 1, 2]), &device));
        let pce = task_loss(Loss::PixelCrossEntropy, Output::Dense(logits), &pixels).unwrap();
        assert!((value(pce) + 0.75f64.ln()).abs() < 1e-6);
        // A loss that cannot compare what it is given says so.
        let e = task_loss(Loss::CrossEntropy, Output::Dense(image), &classes(vec![0])).unwrap_err().to_string();
        assert!(e.contains("the ce loss cannot compare a dense output with class targets"), "{e}");
    }

    /// Synthetic targets have the head's shape and range, and depend on the seed alone.
    #[test]
    fn synthetic_targets_have_the_heads_shape() {
        let device = Device::flex();
        let x = Tensor::<4>::zeros([2, 3, 4, 4], &device);
        let host = |t: &Targets| -> Vec<f64> {
            match t {
                Targets::Values(v) => to_host(v.clone()).unwrap(),
                Targets::Images(v) => to_host(v.clone()).unwrap(),
                Targets::Classes(v) => v.clone().into_data().convert::<f64>().try_into_vec().unwrap(),
                Targets::Pixels(v) => v.clone().into_data().convert::<f64>().try_into_vec().unwrap(),
            }
        };
        let soft = Targets::synthetic(Head::Classes(5), Loss::SoftCrossEntropy, &x, 1).unwrap();
        let p = host(&soft);
        assert_eq!(p.len(), 10);
        assert!((p[..5].iter().sum::<f64>() - 1.0).abs() < 1e-5 && p.iter().all(|&v| v > 0.0));
        assert_eq!(host(&soft), host(&Targets::synthetic(Head::Classes(5), Loss::SoftCrossEntropy, &x, 1).unwrap()));
        assert_ne!(host(&soft), host(&Targets::synthetic(Head::Classes(5), Loss::SoftCrossEntropy, &x, 2).unwrap()));
        let ids = host(&Targets::synthetic(Head::Classes(7), Loss::CrossEntropy, &x, 3).unwrap());
        assert!(ids.len() == 2 && ids.iter().all(|&v| (0.0..7.0).contains(&v)));
        let pixels = Targets::synthetic(Head::PixelClasses(17), Loss::PixelCrossEntropy, &x, 4).unwrap();
        assert!(matches!(&pixels, Targets::Pixels(t) if t.dims() == [2, 4, 4]));
        assert!(host(&pixels).iter().all(|&v| (0.0..17.0).contains(&v) && v.fract() == 0.0));
        let images = Targets::synthetic(Head::Image(3), Loss::L1, &x, 5).unwrap();
        assert!(matches!(&images, Targets::Images(t) if t.dims() == [2, 3, 4, 4]));
        assert!(host(&images).iter().all(|&v| (0.0..=1.0).contains(&v)));
        let values = Targets::synthetic(Head::Regression(9), Loss::Mse, &x, 6).unwrap();
        assert!(matches!(&values, Targets::Values(t) if t.dims() == [2, 9]));
    }
}
