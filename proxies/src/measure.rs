//! Plumbing the baseline measures share, written once (as zero-cost-nas' `predictive.py`
//! does for its measures): a fresh network with PyTorch's default init, the real batch,
//! cross-entropy, one backward pass, per-weight gradients, and the per-layer sum.
//!
//! References (NASLib `find_measures`, zero-cost-nas): no re-initialisation (PyTorch default
//! init), BN in train mode (batch statistics), one real minibatch with its labels,
//! `F.cross_entropy` (mean over the batch), conv and linear weights only, and
//! `sum over layers of sum over elements` to reduce.

use crate::ProxyContext;
use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::{DType, Gradients, Int};
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, InitScheme, Network, Record, Weight, WeightInit};

/// A fresh network of the context's architecture, PyTorch default init, seeded by the context.
pub fn default_network(ctx: &ProxyContext, device: &Device, dtype: DType) -> Box<dyn Network> {
    let mut init = WeightInit::new(InitScheme::PytorchDefault, ctx.seed);
    let options = BuildOptions { dtype, ..BuildOptions::new(ctx.builder.num_classes()) };
    ctx.builder.build(&mut init, &options, device)
}

/// The first `n` images of the context's batch and their labels, on `device`.
pub fn real_batch(ctx: &ProxyContext, n: usize, device: &Device, dtype: DType) -> Result<(Tensor<4>, Tensor<1, Int>)> {
    ensure!(ctx.batch.len() >= n, "the proxy needs {n} images, {} were loaded", ctx.batch.len());
    let batch = ctx.batch.first(n);
    Ok((batch.images(device, dtype), batch.label_tensor(device)))
}

/// `F.cross_entropy(logits, labels)`: the mean over the batch of −log softmax at the label.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [n, _] = logits.dims();
    let log_probs = burn::tensor::activation::log_softmax(logits, 1);
    let picked = log_probs.gather(1, labels.reshape([n, 1]));
    picked.mean().neg()
}

/// The result of one forward and backward pass of the cross-entropy loss on the real batch.
pub struct LossGradients {
    pub net: Box<dyn Network>,
    pub weights: Vec<Weight>,
    pub grads: Gradients,
    /// What the forward pass recorded (layer outputs, if asked for).
    pub forward: ForwardCtx,
}

impl LossGradients {
    /// Builds the network on the autodiff device, runs the first `n` images through it with
    /// BN on batch statistics, and back-propagates the mean cross-entropy.
    pub fn compute(ctx: &ProxyContext, n: usize, record: Record) -> Result<Self> {
        let device = ctx.device.clone().autodiff();
        let net = default_network(ctx, &device, DType::F32);
        let (x, y) = real_batch(ctx, n, &device, DType::F32)?;
        let mut forward = ForwardCtx::new(BnMode::Batch, record);
        let logits = net.forward(x, &mut forward);
        let grads = cross_entropy(logits, y).backward();
        let weights = net.weights();
        Ok(Self { net, weights, grads, forward })
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
    t.into_data()
        .convert::<f64>()
        .try_into_vec()
        .map_err(|e| anyhow::anyhow!("cannot read a tensor back from the device: {e:?}"))
}
