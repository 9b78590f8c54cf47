//! The interface between search spaces and proxies.
//!
//! burn has no forward hooks, so a network's `forward` takes a [`ForwardCtx`]: the proxy says
//! what it wants recorded ([`Record`]) and how BatchNorm behaves ([`BnMode`]), and the layers
//! push their activations into it as they run. One forward pass then serves SWAP (ReLU
//! outputs), NWOT (the same ReLU signs), Zen (pre-GAP features) or a FLOP count.

use burn::prelude::*;
use burn::tensor::{DType, Device};

/// How BatchNorm layers behave in a forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BnMode {
    /// Normalise with the statistics of the current batch (PyTorch `train()` mode), as the
    /// SWAP and zero-cost references do.
    Batch,
    /// BatchNorm is the identity (synflow's "no BN" copy of the network).
    Off,
}

/// What a forward pass records. All off by default: recording costs memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    /// The output of every ReLU applied to a 4-D tensor, in execution order.
    pub relu: bool,
    /// The features right before global average pooling.
    pub pre_gap: bool,
    /// Every conv and linear output, with a zero leaf added to it that requires grad: after a
    /// backward pass the leaf's gradient is the gradient of the output (burn has no hooks).
    /// Needs an autodiff device.
    pub layer_outputs: bool,
    /// Each BatchNorm's per-channel batch variance (biased) in execution order.
    pub bn_variance: bool,
    /// Count FLOPs (multiply-adds, per sample) as Suite-Zero's `flops` column does
    /// (NASLib `get_model_stats` = tensorwatch: conv and linear multiply-adds, 2 per element for
    /// affine BN, 1 per element for ReLU, k² per pooled output).
    pub flops: bool,
}

/// State threaded through one forward pass.
#[derive(Debug)]
pub struct ForwardCtx {
    pub bn: BnMode,
    pub record: Record,
    /// ReLU outputs (when `record.relu`).
    pub relu: Vec<Tensor<4>>,
    /// Pre-GAP features (when `record.pre_gap`).
    pub pre_gap: Option<Tensor<4>>,
    /// Conv outputs and their zero leaves (when `record.layer_outputs`).
    pub conv_outputs: Vec<Probe<4>>,
    /// Linear outputs and their zero leaves (when `record.layer_outputs`).
    pub linear_outputs: Vec<Probe<2>>,
    /// Per-channel batch variances of each BN (when `record.bn_variance`).
    pub bn_variances: Vec<Tensor<1>>,
    /// FLOPs summed over the batch (when `record.flops`); divide by the batch size.
    pub flops: f64,
}

impl ForwardCtx {
    pub fn new(bn: BnMode, record: Record) -> Self {
        Self {
            bn,
            record,
            relu: Vec::new(),
            pre_gap: None,
            conv_outputs: Vec::new(),
            linear_outputs: Vec::new(),
            bn_variances: Vec::new(),
            flops: 0.0,
        }
    }

    /// Applies ReLU, recording its output if asked to.
    pub fn relu(&mut self, x: Tensor<4>) -> Tensor<4> {
        if self.record.flops {
            self.flops += x.shape().num_elements() as f64;
        }
        let y = burn::tensor::activation::relu(x);
        if self.record.relu {
            self.relu.push(y.clone());
        }
        y
    }

    pub(crate) fn add_flops(&mut self, flops: f64) {
        if self.record.flops {
            self.flops += flops;
        }
    }
}

/// A recorded layer output and the zero leaf added to it (its gradient is the output's).
#[derive(Debug, Clone)]
pub struct Probe<const D: usize> {
    /// The output value (without the leaf).
    pub output: Tensor<D>,
    /// A zero tensor that requires grad, added to the output in the forward pass.
    pub leaf: Tensor<D>,
}

impl<const D: usize> Probe<D> {
    /// Adds a zero leaf to `output`, returning the probe and the value to continue with.
    pub fn attach(output: Tensor<D>) -> (Self, Tensor<D>) {
        let leaf = output.zeros_like().detach().require_grad();
        let next = output.clone().add(leaf.clone());
        (Self { output, leaf }, next)
    }

    /// d(loss)/d(output), once a backward pass has run.
    pub fn grad(&self, grads: &burn::tensor::Gradients) -> Option<Tensor<D>> {
        self.leaf.grad(grads)
    }
}

/// Which kind of layer a weight belongs to (the zero-cost references score conv and linear
/// weights only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightKind {
    Conv,
    Linear,
}

/// A conv or linear weight, as the tensor that autodiff tracks (so `grad` works on it).
#[derive(Debug, Clone)]
pub struct Weight {
    pub kind: WeightKind,
    pub tensor: WeightTensor,
}

#[derive(Debug, Clone)]
pub enum WeightTensor {
    Conv(Tensor<4>),
    Linear(Tensor<2>),
}

impl WeightTensor {
    /// The weight as a flat vector.
    pub fn flat(&self) -> Tensor<1> {
        match self {
            WeightTensor::Conv(t) => t.clone().flatten(0, 3),
            WeightTensor::Linear(t) => t.clone().flatten(0, 1),
        }
    }

    /// The gradient of this weight, flattened, if autodiff computed one.
    pub fn grad_flat(&self, grads: &burn::tensor::Gradients) -> Option<Tensor<1>> {
        match self {
            WeightTensor::Conv(t) => t.grad(grads).map(|g| g.flatten(0, 3)),
            WeightTensor::Linear(t) => t.grad(grads).map(|g| g.flatten(0, 1)),
        }
    }
}

/// Options for building a network.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub num_classes: usize,
    /// Float type of the parameters (synflow runs in float64).
    pub dtype: DType,
}

impl BuildOptions {
    pub fn new(num_classes: usize) -> Self {
        Self { num_classes, dtype: DType::F32 }
    }
}

/// A network of some search space, built for one architecture.
pub trait Network: Send + std::fmt::Debug {
    /// Logits for a batch `[n, 3, h, w]`.
    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<2>;
    /// Number of trainable parameters (every conv, linear and BN affine parameter).
    fn parameter_count(&self) -> usize;
    /// Conv and linear weights, in construction order.
    fn weights(&self) -> Vec<Weight>;
    /// The device the parameters live on.
    fn device(&self) -> Device;
}

/// Builds the network of one architecture, as often as a proxy needs (each SWAP repeat
/// re-initialises; gradient proxies want a fresh copy, another dtype or the autodiff device).
pub trait NetworkBuilder: Sync {
    /// A fresh network with weights from `init`.
    fn build(&self, init: &mut crate::WeightInit, options: &BuildOptions, device: &Device) -> Box<dyn Network>;
    /// Classes of the benchmark task (the width of the linear head).
    fn num_classes(&self) -> usize;
    /// The architecture, for messages ("scoring arch … failed").
    fn arch_label(&self) -> String;
}
