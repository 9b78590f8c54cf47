//! The interface between search spaces and proxies.
//!
//! burn has no forward hooks, so a network's `forward` takes a [`ForwardCtx`]: the proxy says
//! what it wants recorded ([`Taps`]) and how BatchNorm behaves ([`BnMode`]), and the layers
//! push their activations into it as they run. One forward pass then serves SWAP (ReLU
//! outputs), NWOT (the same ReLU signs), Zen (pre-GAP features) or a FLOP count.
//!
//! # The recording API
//! A network records only through [`ForwardCtx`]'s methods, each a no-op unless its tap is on:
//! * [`ForwardCtx::relu`] applies every `nn.ReLU` (ReLU outputs, their sign codes, FLOPs);
//!   [`ForwardCtx::gelu`] a transformer's GELU and [`ForwardCtx::cell_activation`] a recurrent
//!   cell's tanh, sigmoid or leaky ReLU, recorded by the same taps;
//! * [`ForwardCtx::recurrent_state`] the state each step of a recurrent layer receives;
//! * [`ForwardCtx::leaky_relu_output`], [`ForwardCtx::pre_gap_features`] (the features
//!   before global pooling, or the dense decoder's input), [`ForwardCtx::classifier_input`]
//!   (the classification head's linear layer and its input);
//! * [`ForwardCtx::block_input`] / [`ForwardCtx::block_output`] around each cell or block,
//!   [`ForwardCtx::module_output`] for containers whose output a PyTorch hook would see;
//! * the shared layers (`nn::layers`: conv, linear, BN, pooling) record their own outputs,
//!   batch variances and FLOPs.
//!
//! A proxy turns taps on in [`Taps`] and reads the recorded fields after the pass.
//! `harness/tests/architecture.rs` checks that no network under `spaces/` writes a
//! recorded field itself.
//!
//! Adding a kind of tap happens in this file: a flag in [`Taps`], the field it fills in
//! [`ForwardCtx`] (and its empty value in [`ForwardCtx::new`]), and a method that records it
//! when the flag is on. Then call that method where the value is made: in `nn::layers` for
//! a layer, or in a network for a network-level value.

use crate::nn::codes::DeviceCodes;
use crate::nn::cpu::{self, Buf, Kernels, SignCodes};
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
    /// PyTorch `eval()` mode on a fresh network: the initial running statistics (mean 0,
    /// variance 1), so each sample is normalised alone, `x / √(1 + eps)`, then the affine map
    /// (VKDNW's per-sample Jacobians).
    Initial,
}

/// Which activations a forward pass taps (records). All off by default: recording costs
/// memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taps {
    /// The output of every ReLU applied to a 4-D tensor, in execution order.
    pub relu: bool,
    /// The same outputs as packed sign codes, no output kept (SWAP): packed on the host as the
    /// native kernels run the ReLU ([`SignCodes`], in `relu_codes`), elsewhere on the
    /// activations' device (in `device_codes`; always in a stacked pass, per network).
    pub relu_codes: bool,
    /// The output of every LeakyReLU (not a ReLU module: SWAP does not count it; NASLib's NWOT
    /// hooks it).
    pub leaky_relu: bool,
    /// The features right before global average pooling.
    pub pre_gap: bool,
    /// Every conv and linear output, with a zero leaf added to it that requires grad: after a
    /// backward pass the leaf's gradient is the gradient of the output (burn has no hooks).
    /// Needs an autodiff device.
    pub layer_outputs: bool,
    /// With `layer_outputs`: each conv's and linear's input too (detached) with the conv's
    /// geometry, in its probe ([`Probe::input`]): per-sample weight gradients (the NTK).
    pub layer_inputs: bool,
    /// Each BatchNorm's per-channel batch variance (biased) in execution order, and the
    /// number of values each channel's statistics were taken over (n·h·w).
    pub bn_variance: bool,
    /// Count FLOPs (multiply-adds, per sample) as Suite-Zero's `flops` column does
    /// (NASLib `get_model_stats` = tensorwatch: conv and linear multiply-adds, 2 per element for
    /// affine BN, 1 per element for ReLU, k² per pooled output).
    pub flops: bool,
    /// The 4-D output of every module that runs, as a PyTorch forward hook registered on every
    /// `nn.Module` of the reference network sees them: leaf layers (conv, BN, ReLU, pooling)
    /// record themselves; a network records its containers' outputs (cells, blocks, and the
    /// wrappers whose output repeats their last child's) with [`ForwardCtx::module_output`].
    pub module_outputs: bool,
    /// The stem's output and every block's (cell's) output, each block's input cut from the
    /// graph into a fresh leaf that requires grad: after a backward pass a block input's
    /// gradient is that block's own vector–Jacobian product (AZ-NAS's per-cell features and
    /// gradients). Needs an autodiff device.
    pub blocks: bool,
    /// For every float parameter the pass uses, a zero leaf s ∈ ℝ^B added to its layer's
    /// output as s_b · ∂y_b/∂θ₀, θ₀ the parameter's first scalar (`θ.flatten()[0]`): after a
    /// backward pass the leaf's gradient holds each sample's derivative with respect to θ₀
    /// (per sample where samples do not interact: BN not on batch statistics). Needs an
    /// autodiff device; not for stacked passes.
    pub first_params: bool,
    /// Per recurrent layer, the hidden state (`h_prev_0`, the layer's output path) each step
    /// receives: the zero initial state, then each step's output but the last.
    pub hidden_states: bool,
    /// The classification head's linear layer with its input ([`ClassifierTap`]): the logits
    /// are `features · Wᵀ + b`, so a proxy can back-propagate from the D features instead of
    /// the C logits. Not for stacked passes.
    pub classifier: bool,
}

/// A recurrent cell's nonlinearity ([`ForwardCtx::cell_activation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellActivation {
    Tanh,
    Sigmoid,
    /// `nn.LeakyReLU()`: slope 0.01 below zero.
    LeakyRelu,
}

/// A parameter's first-scalar probe ([`Taps::first_params`]).
#[derive(Debug, Clone)]
pub struct FirstParamProbe {
    /// The parameter (its place in [`Network::parameter_ids`]).
    pub id: burn::module::ParamId,
    /// The zero leaf, one entry per sample.
    pub leaf: Tensor<1>,
}

/// Forward-mode derivatives carried beside a pass ([`ForwardCtx::tangents`]; VKDNW's tangent
/// pass): the batch's first `batch` rows are the samples (the primal pass), and rows
/// (j + 1)·`batch` … (j + 2)·`batch` − 1 carry, for the same samples, the derivative of every
/// activation with respect to the first scalar of `params[j]` (zero rows at the input). ReLU
/// multiplies every group by the primal rows' gate (x > 0, PyTorch's ReLU′(0) = 0); each
/// [`ForwardCtx::first_param`] of `params[j]` adds its term, computed from the primal rows,
/// to group j's channel 0 (a parameter used several times adds each use's term); every other
/// layer of the convolutional spaces is linear and applies to all rows alike. Exact — the
/// derivative of a ReLU network whose biases and BN shifts are 0 and whose BN is eval-mode on
/// fresh statistics (a fixed scale), as VKDNW's initialisation makes them; a shift would be
/// added to the tangent rows too. An activation with another derivative (LeakyReLU, GELU, a
/// recurrent cell's, max pooling) marks the pass [`Tangents::unsupported`] and is not
/// differentiated.
#[derive(Debug, Clone)]
pub struct Tangents {
    /// Samples per group.
    pub batch: usize,
    /// The parameter each tangent group follows.
    pub params: Vec<burn::module::ParamId>,
    /// The first operation the pass met whose derivative it does not carry (the tangent rows
    /// are then wrong and the caller must not read them).
    pub unsupported: Option<&'static str>,
}

impl Tangents {
    pub fn new(batch: usize, params: Vec<burn::module::ParamId>) -> Self {
        Self { batch, params, unsupported: None }
    }

    /// ReLU on the primal rows, their gate on every tangent group: in place on the host for
    /// a native pass, burn's ops elsewhere.
    fn relu(&self, x: Tensor<4>, native: bool) -> Tensor<4> {
        use rayon::prelude::*;
        let n = x.dims()[0];
        if !native || !n.is_multiple_of(self.batch) {
            let gate = x.clone().narrow(0, 0, self.batch.min(n)).greater_elem(0.0).float();
            return x.mul(gate.repeat_dim(0, n / self.batch.min(n).max(1)));
        }
        let mut buf = Buf::<f32>::take(x);
        let len = self.batch * buf.dims[1] * buf.dims[2] * buf.dims[3];
        let (primal, groups) = buf.data.split_at_mut(len);
        groups.par_chunks_mut(len).for_each(|group| {
            for (t, p) in group.iter_mut().zip(primal.iter()) {
                if *p <= 0.0 {
                    *t = 0.0;
                }
            }
        });
        primal.iter_mut().for_each(|v| {
            if *v <= 0.0 {
                *v = 0.0;
            }
        });
        buf.into_tensor()
    }

    fn mark(&mut self, op: &'static str) {
        self.unsupported.get_or_insert(op);
    }
}

/// The classification head's linear layer and what it reads ([`Taps::classifier`]): the
/// pass's logits are exactly `features · weightᵀ + bias` (plus the zero first-scalar probes).
#[derive(Debug, Clone)]
pub struct ClassifierTap {
    /// The layer's input `[B, D]`, in the graph (a backward pass may start from it).
    pub features: Tensor<2>,
    /// The layer's weight `[C, D]` (PyTorch's layout), detached.
    pub weight: Tensor<2>,
    /// The weight's and the bias's parameters (their first scalars' derivatives do not pass
    /// through `features`).
    pub weight_id: burn::module::ParamId,
    pub bias_id: burn::module::ParamId,
}

/// State threaded through one forward pass.
#[derive(Debug)]
pub struct ForwardCtx {
    pub bn: BnMode,
    pub taps: Taps,
    /// ReLU outputs (when `taps.relu`).
    pub relu: Vec<Tensor<4>>,
    /// ReLU outputs' sign codes (when `taps.relu_codes` on the native kernels, unstacked).
    pub relu_codes: SignCodes,
    /// LeakyReLU outputs (when `taps.leaky_relu`).
    pub leaky_relu: Vec<Tensor<4>>,
    /// Pre-GAP features (when `taps.pre_gap`).
    pub pre_gap: Option<Tensor<4>>,
    /// Conv outputs and their zero leaves (when `taps.layer_outputs`).
    pub conv_outputs: Vec<Probe<4>>,
    /// Linear outputs and their zero leaves (when `taps.layer_outputs`).
    pub linear_outputs: Vec<Probe<2>>,
    /// Per-channel batch variances of each BN (when `taps.bn_variance`).
    pub bn_variances: Vec<Tensor<1>>,
    /// Values per channel behind each entry of `bn_variances` (n·h·w).
    pub bn_counts: Vec<usize>,
    /// Module outputs (when `taps.module_outputs`), in completion order.
    pub module_outputs: Vec<Tensor<4>>,
    /// FLOPs summed over the batch (when `taps.flops`); divide by the batch size.
    pub flops: f64,
    /// The stem's output then each block's output (when `taps.blocks`).
    pub block_outputs: Vec<Tensor<4>>,
    /// Each block's input leaf (when `taps.blocks`): `block_inputs[i]` feeds the block whose
    /// output is `block_outputs[i + 1]`.
    pub block_inputs: Vec<Tensor<4>>,
    /// First-scalar probes of the parameters (when `taps.first_params`), in execution order.
    pub first_params: Vec<FirstParamProbe>,
    /// Per recurrent layer, in layer order, the `[B, H]` state each step received (when
    /// `taps.hidden_states`).
    pub hidden_states: Vec<Vec<Tensor<2>>>,
    /// The classification head (when `taps.classifier` and the network ends in one).
    pub classifier: Option<ClassifierTap>,
    /// ReLU gates to replay instead of computing them (see [`ReluReplay`]); `None` normally.
    pub relu_replay: Option<ReluReplay>,
    /// Whose kernels run the layers where both can: the native CPU kernels (default; used
    /// only for f32 tensors on the plain flex device) or burn's ops (the reference path).
    pub kernels: Kernels,
    /// Networks stacked side by side in this pass (1 normally; see [`ForwardCtx::stacked`]).
    pub stack: usize,
    /// ReLU sign codes gathered on the device, per stacked network (`taps.relu_codes` where
    /// the native kernels do not pack them; created at the first such ReLU).
    pub device_codes: Option<DeviceCodes>,
    /// The batch is this many copies of its first n / `replicas` samples, and samples do not
    /// interact (BN not on batch statistics): the native gradient kernels then compute conv,
    /// pooling, ReLU and BN forward on the first copy and repeat it, and the first-scalar
    /// probes' terms are the first copy's (the same values; VKDNW back-propagates one seed
    /// per copy). 1 normally; the caller that sets it guarantees both conditions.
    pub replicas: usize,
    /// The caller reads only what the taps record, never the network's output (SWAP's and
    /// L-SWAG's pattern passes, AZ-NAS' block pass): see [`ForwardCtx::may_skip_decoder`]. `false` normally.
    pub output_unused: bool,
    /// Forward-mode derivatives carried in extra rows of the batch (see [`Tangents`]; needs
    /// `taps.first_params`); `None` normally.
    pub tangents: Option<Tangents>,
}

/// Frozen ReLU gates: the i-th ReLU of a pass computes x ⊙ mask_i (mask_i a 0/1 tensor of
/// x's shape, e.g. `(y_i > 0)` of another pass's recorded ReLU outputs) instead of max(x, 0).
/// The pass is then smooth in the weights with the activation pattern held fixed, which is
/// what autograd's second derivatives assume (ReLU'' = 0): GraSP's finite-difference H·g.
#[derive(Debug, Default)]
pub struct ReluReplay {
    pub masks: std::collections::VecDeque<Tensor<4>>,
    /// Set when a ReLU found no mask left or one of another shape (it then computed max(x, 0)).
    pub mismatch: bool,
}

impl ForwardCtx {
    pub fn new(bn: BnMode, taps: Taps) -> Self {
        Self {
            bn,
            taps,
            relu: Vec::new(),
            relu_codes: SignCodes::default(),
            leaky_relu: Vec::new(),
            pre_gap: None,
            conv_outputs: Vec::new(),
            linear_outputs: Vec::new(),
            bn_variances: Vec::new(),
            bn_counts: Vec::new(),
            module_outputs: Vec::new(),
            flops: 0.0,
            block_outputs: Vec::new(),
            block_inputs: Vec::new(),
            first_params: Vec::new(),
            hidden_states: Vec::new(),
            classifier: None,
            relu_replay: None,
            kernels: Kernels::Native,
            stack: 1,
            device_codes: None,
            replicas: 1,
            output_unused: false,
            tangents: None,
        }
    }

    /// Whether the rest of the pass can change nothing its caller reads: the caller reads no
    /// output ([`ForwardCtx::output_unused`]) and taps only ReLU sign codes packed on the host
    /// (SWAP's pass on the native kernels), and those hold every pattern its B ≤ 16 samples can
    /// show already ([`SignCodes::is_complete`]), so SWAP's count (and `ap`'s) is final. A
    /// network may then end its pass at a block boundary: TransNAS-Bench-101's encoders do, as
    /// at 224² and B = 16 they often reach the ceiling of 2^16 patterns within their cells.
    pub fn patterns_complete(&self) -> bool {
        self.output_unused && self.taps == Taps { relu_codes: true, ..Taps::default() } && self.relu_codes.is_complete()
    }

    /// Whether a network may end its pass before a dense decoder (TransNAS-Bench-101's: convs,
    /// transposed convs, BN, LeakyReLU — no `nn.ReLU`, no block) and return what it has
    /// instead of the output: the caller reads no output ([`ForwardCtx::output_unused`]) and
    /// taps only what such a decoder cannot add to — ReLU outputs or their codes (exact for
    /// SWAP: its reference hooks `isinstance(m, nn.ReLU)`, which a LeakyReLU is not), blocks
    /// (AZ-NAS' are the encoder's), the decoder's input (`pre_gap`) — or FLOPs, which are then
    /// the shortened pass's own (`bench` counts SWAP's arithmetic so).
    pub fn may_skip_decoder(&self) -> bool {
        let t = self.taps;
        let allowed = Taps {
            relu: t.relu,
            relu_codes: t.relu_codes,
            blocks: t.blocks,
            pre_gap: t.pre_gap,
            flops: t.flops,
            ..Taps::default()
        };
        self.output_unused && t == allowed
    }

    /// A pass through R networks stacked side by side (built from
    /// [`WeightInit::stacked`](crate::nn::init::WeightInit::stacked)): every activation is
    /// `[B, R·C, H, W]`, network r's channels the r-th block of C, and the input is the images
    /// repeated R times along channels. With `taps.relu_codes` each network's ReLU sign codes
    /// are gathered apart, on the activations' device ([`DeviceCodes`]).
    pub fn stacked(bn: BnMode, taps: Taps, stack: usize) -> Self {
        let mut ctx = Self::new(bn, taps);
        ctx.stack = stack;
        ctx
    }

    /// `cat(xs, dim=1)` of each network's channels: in a stacked pass network r's output is
    /// the concatenation of the inputs' r-th channel blocks.
    pub fn cat_channels(&self, xs: Vec<Tensor<4>>) -> Tensor<4> {
        let r = self.stack;
        if r == 1 {
            return Tensor::cat(xs, 1);
        }
        let [n, _, h, w] = xs[0].dims();
        let per_net: Vec<Tensor<4>> = xs
            .into_iter()
            .map(|x| {
                let c = x.dims()[1] / r;
                x.reshape([n, r, c, h * w])
            })
            .collect();
        let y = Tensor::cat(per_net, 2);
        let c = y.dims()[2];
        y.reshape([n, r * c, h, w])
    }

    /// Channels `range` of each network (`x[:, range]`).
    pub fn slice_channels(&self, x: Tensor<4>, range: std::ops::Range<usize>) -> Tensor<4> {
        let r = self.stack;
        if r == 1 {
            return x.slice(burn::tensor::s![.., range]);
        }
        let [n, rc, h, w] = x.dims();
        let c = range.len();
        x.reshape([n, r, rc / r, h * w]).slice(burn::tensor::s![.., .., range]).reshape([n, r * c, h, w])
    }

    /// Applies ReLU, recording its output if asked to.
    pub fn relu(&mut self, x: Tensor<4>) -> Tensor<4> {
        if self.taps.flops {
            self.flops += x.shape().num_elements() as f64;
        }
        if let Some(tangents) = &self.tangents {
            return tangents.relu(x.clone(), self.kernels.native_for(&x));
        }
        let native = self.relu_replay.is_none() && self.kernels.native_for(&x);
        // Signs packed on the host as the native ReLU runs (one network), else on the device.
        let host_codes = self.taps.relu_codes && native && self.stack == 1;
        let native_grad = self.relu_replay.is_none() && self.kernels.native_grad_for(&x);
        let y = match self.relu_replay.as_mut() {
            None if native_grad => {
                crate::nn::grad::relu(x.clone(), self.replicas).unwrap_or_else(|| burn::tensor::activation::relu(x))
            }
            None if native => {
                let mut buf = Buf::take(x);
                if host_codes {
                    self.relu_codes.push_relu(&mut buf.data, buf.dims[0]);
                } else {
                    cpu::relu(&mut buf);
                }
                buf.into_tensor()
            }
            None => burn::tensor::activation::relu(x),
            Some(replay) => match replay.masks.pop_front() {
                Some(mask) if mask.dims() == x.dims() => x.mul(mask),
                _ => {
                    replay.mismatch = true;
                    burn::tensor::activation::relu(x)
                }
            },
        };
        if self.taps.relu_codes && !host_codes {
            let stack = self.stack;
            self.device_codes.get_or_insert_with(|| DeviceCodes::new(stack)).push(&y);
        }
        if self.taps.relu {
            self.relu.push(y.clone());
        }
        self.module_output(&y);
        y
    }

    /// Applies LeakyReLU with `slope` (TransNAS-Bench-101's decoders: `nn.LeakyReLU(0.2)`). Not
    /// a ReLU module, so not a ReLU tap (SWAP counts `nn.ReLU` outputs); its own tap
    /// (`taps.leaky_relu`, for NASLib's NWOT, which hooks it); FLOPs one per element. Native
    /// both ways in a gradient pass ([`crate::nn::grad::leaky_relu`]) and in place in a plain
    /// native one, burn's op otherwise — the same values.
    pub fn leaky_relu(&mut self, x: Tensor<4>, slope: f64) -> Tensor<4> {
        self.add_flops(x.shape().num_elements() as f64);
        self.not_differentiated("LeakyReLU");
        let y = if self.kernels.native_grad_for(&x) {
            crate::nn::grad::leaky_relu(x.clone(), slope, self.replicas)
                .unwrap_or_else(|| burn::tensor::activation::leaky_relu(x, slope))
        } else if self.kernels.native_for(&x) {
            let mut buf = Buf::take(x);
            cpu::leaky_relu(&mut buf, slope);
            buf.into_tensor()
        } else {
            burn::tensor::activation::leaky_relu(x, slope)
        };
        self.leaky_relu_output(&y);
        y
    }

    /// Applies a GELU (exact, erf-based: PyTorch's `nn.GELU()`, HF's `gelu`) where a
    /// transformer's feed-forward block has one. SWAP's transformer reference hooks GELU
    /// outputs as it hooks ReLUs, so the ReLU taps record it too (its sign is the sign of its
    /// input: GELU(x) > 0 exactly when x > 0); FLOPs count one per element, as for a ReLU.
    pub fn gelu(&mut self, x: Tensor<4>) -> Tensor<4> {
        self.add_flops(x.shape().num_elements() as f64);
        self.not_differentiated("GELU");
        let y = burn::tensor::activation::gelu(x);
        self.pattern_output(&y);
        y
    }

    /// Applies a recurrent cell's activation node to `x` (`[B, H]`, one step). swapnas reads
    /// a cell's activations as SWAP reads a ReLU network's: every activation node's output, at
    /// every step, is recorded by the ReLU taps (its sign code: tanh and leaky ReLU are
    /// positive exactly where their input is; a sigmoid is positive everywhere, so it adds at
    /// most the all-active pattern). FLOPs: one per element.
    pub fn cell_activation(&mut self, activation: CellActivation, x: Tensor<2>) -> Tensor<2> {
        self.add_flops(x.shape().num_elements() as f64);
        self.not_differentiated("a recurrent cell's activation");
        let y = match activation {
            CellActivation::Tanh => burn::tensor::activation::tanh(x),
            CellActivation::Sigmoid => burn::tensor::activation::sigmoid(x),
            CellActivation::LeakyRelu => burn::tensor::activation::leaky_relu(x, 0.01),
        };
        let [b, h] = y.dims();
        self.pattern_output(&y.clone().reshape([b, h, 1, 1]));
        y
    }

    /// Marks a pass carrying [`Tangents`] as unable to differentiate `op` (the first one met is kept).
    pub fn not_differentiated(&mut self, op: &'static str) {
        if let Some(tangents) = self.tangents.as_mut() {
            tangents.mark(op);
        }
    }

    /// Records an activation other than a native ReLU for the pattern taps (SWAP's codes,
    /// NWOT's outputs) and as a module output.
    fn pattern_output(&mut self, y: &Tensor<4>) {
        if self.taps.relu_codes {
            let stack = self.stack;
            self.device_codes.get_or_insert_with(|| DeviceCodes::new(stack)).push(y);
        }
        if self.taps.relu {
            self.relu.push(y.clone());
        }
        self.module_output(y);
    }

    /// The state `h` (`[B, H]`) step t of recurrent layer `layer` receives (recorded with
    /// `taps.hidden_states`); layers are numbered from 0 in execution order, steps recorded in
    /// order.
    pub fn recurrent_state(&mut self, layer: usize, h: &Tensor<2>) {
        if self.taps.hidden_states {
            if self.hidden_states.len() <= layer {
                self.hidden_states.resize_with(layer + 1, Vec::new);
            }
            self.hidden_states[layer].push(h.clone());
        }
    }

    /// A block's input: with `taps.blocks`, cut from the graph into a recorded leaf that
    /// requires grad; otherwise `x` unchanged.
    pub fn block_input(&mut self, x: Tensor<4>) -> Tensor<4> {
        if !self.taps.blocks {
            return x;
        }
        let leaf = x.detach().require_grad();
        self.block_inputs.push(leaf.clone());
        leaf
    }

    /// A block's further input (a DARTS cell's skip input from two cells back): with
    /// `taps.blocks`, cut from the graph and not recorded, so that the gradient at
    /// [`ForwardCtx::block_input`]'s leaf is that block's own vector–Jacobian product and no
    /// other block's; otherwise `x` unchanged.
    pub fn block_side_input(&mut self, x: Tensor<4>) -> Tensor<4> {
        if self.taps.blocks {
            x.detach()
        } else {
            x
        }
    }

    /// With `taps.first_params`: `y` plus s_b · `term` in channel 0, for a fresh zero leaf s ∈ ℝ^B
    /// recorded as parameter `id`'s probe; `term` (`[B, 1, …]`, or `[B, 1]`) is each sample's
    /// derivative of channel 0 of `y` with respect to the parameter's first scalar (which feeds
    /// output channel 0 only); with [`ForwardCtx::replicas`] r > 1 it may be the first copy's
    /// (`[B / r, 1, …]`, [`ForwardCtx::first_copy`]). Otherwise `y` unchanged; `term` is built only when needed.
    pub fn first_param<const D: usize>(
        &mut self,
        id: burn::module::ParamId,
        y: Tensor<D>,
        term: impl FnOnce() -> Tensor<D>,
    ) -> Tensor<D> {
        if !self.taps.first_params {
            return y;
        }
        if let Some(tangents) = &self.tangents {
            // The groups that follow this parameter: its term (the primal rows') joins their channel 0.
            let batch = tangents.batch;
            let groups: Vec<usize> = (0..tangents.params.len()).filter(|&j| tangents.params[j] == id).collect();
            if groups.is_empty() {
                return y;
            }
            let term = term();
            let mut y = y;
            for j in groups {
                let rows = (j + 1) * batch..(j + 2) * batch;
                let part = y.clone().slice([rows.clone(), 0..1]);
                y = y.slice_assign([rows, 0..1], part.add(term.clone()));
            }
            return y;
        }
        let dims = y.dims();
        let device = y.device();
        let mut term = term();
        if self.kernels.native_grad_for(&y) {
            let leaf: Tensor<1> = Tensor::zeros([dims[0]], (&device, y.dtype())).require_grad();
            if let Some(probed) = crate::nn::grad::first_param_probe(y.clone(), term.clone(), leaf.clone()) {
                self.first_params.push(FirstParamProbe { id, leaf });
                return probed;
            }
        }
        // A term of the first copy's samples ([`ForwardCtx::replicas`]) is repeated for burn's ops.
        let rows = term.dims()[0];
        if rows != dims[0] && rows > 0 && dims[0].is_multiple_of(rows) {
            term = term.repeat_dim(0, dims[0] / rows);
        }
        let full = if dims[1] > 1 {
            let mut rest = dims;
            rest[1] -= 1;
            Tensor::cat(vec![term, Tensor::zeros(rest, &device)], 1)
        } else {
            term
        };
        let leaf: Tensor<1> = Tensor::zeros([dims[0]], &device).require_grad();
        let mut shape = [1; D];
        shape[0] = dims[0];
        let y = y.add(full.mul(leaf.clone().reshape(shape)));
        self.first_params.push(FirstParamProbe { id, leaf });
        y
    }

    /// Whether the pass probes parameter `id`'s first scalar: `taps.first_params`, and in a
    /// tangent pass only the parameters its groups follow (a layer then keeps its input for the
    /// probe's term only where it is read).
    pub fn wants_first_param(&self, id: burn::module::ParamId) -> bool {
        self.taps.first_params && self.tangents.as_ref().is_none_or(|t| t.params.contains(&id))
    }

    /// The first copy's samples of `x` where the batch is [`ForwardCtx::replicas`] copies (what
    /// a first-scalar probe's term needs), else `x`.
    pub fn first_copy<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let n = x.dims()[0];
        let rows = self.first_copy_rows(n);
        if rows == n {
            return x;
        }
        x.narrow(0, 0, rows)
    }

    /// The first copy's rows of a batch of `n` (`n` itself where the batch is not copies).
    pub fn first_copy_rows(&self, n: usize) -> usize {
        if let Some(tangents) = &self.tangents {
            return tangents.batch.min(n);
        }
        if self.replicas <= 1 || !n.is_multiple_of(self.replicas) {
            return n;
        }
        n / self.replicas
    }

    /// The stem's or a block's output (recorded with `taps.blocks`).
    pub fn block_output(&mut self, y: &Tensor<4>) {
        if self.taps.blocks {
            self.block_outputs.push(y.clone());
        }
    }

    /// A LeakyReLU's output (recorded with `taps.leaky_relu`; not a ReLU tap, which SWAP
    /// counts), which is also a module output.
    pub fn leaky_relu_output(&mut self, y: &Tensor<4>) {
        if self.taps.leaky_relu {
            self.leaky_relu.push(y.clone());
        }
        self.module_output(y);
    }

    /// The features before global average pooling (or a dense decoder's input), recorded
    /// with `taps.pre_gap`; the last call wins.
    pub fn pre_gap_features(&mut self, x: &Tensor<4>) {
        if self.taps.pre_gap {
            self.pre_gap = Some(x.clone());
        }
    }

    /// The classification head's linear layer (weight `[C, D]` and its parameters) and its
    /// input `features` `[B, D]`, recorded with `taps.classifier` in an unstacked pass; the last
    /// call wins.
    pub fn classifier_input(
        &mut self,
        features: &Tensor<2>,
        weight: Tensor<2>,
        weight_id: burn::module::ParamId,
        bias_id: burn::module::ParamId,
    ) {
        if self.taps.classifier && self.stack == 1 {
            self.classifier = Some(ClassifierTap { features: features.clone(), weight: weight.detach(), weight_id, bias_id });
        }
    }

    /// Records `y` as a module's output, if module outputs are recorded.
    pub fn module_output(&mut self, y: &Tensor<4>) {
        if self.taps.module_outputs {
            self.module_outputs.push(y.clone());
        }
    }

    pub(crate) fn add_flops(&mut self, flops: f64) {
        if self.taps.flops {
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
    /// Weights per output channel of the layer that produced it (`C_in/groups·kh·kw` for a
    /// conv, `in_features` for a linear): fisher spreads each channel's value over them.
    pub fan_in: usize,
    /// The layer's input (when [`Taps::layer_inputs`]).
    pub input: Option<LayerInput<D>>,
}

/// A conv's or linear's input, as [`Probe::input`] keeps it.
#[derive(Debug, Clone)]
pub struct LayerInput<const D: usize> {
    /// The input value (detached).
    pub value: Tensor<D>,
    /// A conv's geometry (None for a linear).
    pub conv: Option<ConvGeometry>,
    /// Whether the layer adds a bias.
    pub bias: bool,
}

/// A conv's window: `[kh, kw]`, stride, padding, dilation, groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub kernel: [usize; 2],
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl<const D: usize> Probe<D> {
    /// Adds a zero leaf to `output` (of a layer with `fan_in` weights per output channel),
    /// returning the probe and the value to continue with.
    pub fn attach(output: Tensor<D>, fan_in: usize) -> (Self, Tensor<D>) {
        let leaf = output.zeros_like().detach().require_grad();
        let next = output.clone().add(leaf.clone());
        (Self { output, leaf, fan_in, input: None }, next)
    }

    /// [`Self::attach`], keeping the layer's input.
    pub fn attach_with_input(output: Tensor<D>, fan_in: usize, input: Option<LayerInput<D>>) -> (Self, Tensor<D>) {
        let (mut probe, next) = Self::attach(output, fan_in);
        probe.input = input;
        (probe, next)
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
    /// The id of the module parameter it is (how [`Network::map_params`] finds it).
    pub id: burn::module::ParamId,
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

/// What a network's head outputs for a batch: what the task's loss compares with its
/// targets.
#[derive(Debug, Clone)]
pub enum Output {
    /// `[n, k]`: class logits or regression values.
    Flat(Tensor<2>),
    /// `[n, c, h, w]`: per-pixel class logits or a generated image.
    Dense(Tensor<4>),
}

impl Output {
    /// The output as `[n, everything else]` (a dense map flattened per sample): what the
    /// input-Jacobian proxies differentiate, whatever the head.
    pub fn flat(self) -> Tensor<2> {
        match self {
            Output::Flat(t) => t,
            Output::Dense(t) => t.flatten(1, 3),
        }
    }

    /// The sum of every output value (synflow's R, the Jacobian's `backward(ones_like(y))`).
    pub fn sum(self) -> Tensor<1> {
        match self {
            Output::Flat(t) => t.sum(),
            Output::Dense(t) => t.sum(),
        }
    }

    /// Values per sample (the width of [`Output::flat`]).
    pub fn width(&self) -> usize {
        match self {
            Output::Flat(t) => t.dims()[1],
            Output::Dense(t) => {
                let [_, c, h, w] = t.dims();
                c * h * w
            }
        }
    }
}

/// A network of some search space, built for one architecture. Every space's network gets
/// it from [`SpaceNetwork`] (a blanket impl): only `forward` is the space's own.
pub trait Network: Send + std::fmt::Debug {
    /// The head's output for a batch `[n, 3, h, w]`.
    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output;
    /// Number of trainable parameters (every conv, linear and BN affine parameter).
    fn parameter_count(&self) -> usize;
    /// Conv and linear weights (4-D and 2-D parameters), in module order.
    fn weights(&self) -> Vec<Weight>;
    /// Every float parameter (PyTorch's `named_parameters()`), in module order: the order its
    /// fields are declared, which each space keeps as its reference registers its modules.
    fn parameter_ids(&self) -> Vec<burn::module::ParamId>;
    /// The device the parameters live on.
    fn device(&self) -> Device;
    /// A copy of the network whose float parameters are `f(slot, value)` (see [`ParamSlot`];
    /// the value comes flattened and detached, the result must have its length and becomes a
    /// fresh leaf that gradients reach). Synflow takes |W|, GraSP perturbs W by ε·∂L/∂W.
    fn map_params(&self, f: &mut ParamMapFn) -> anyhow::Result<Box<dyn Network>>;
    /// A copy of the network whose parameters (same ids, same values) require no gradient: a
    /// backward pass then reaches activations, probes and inputs only, and skips every weight
    /// gradient (VKDNW's per-sample probes need none).
    fn weights_untracked(&self) -> Box<dyn Network>;
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
    /// Whether R of its networks can run side by side as one ([`crate::WeightInit::stacked`],
    /// inputs repeated along channels): true for the convolutional spaces.
    fn stackable(&self) -> bool {
        true
    }
}

/// A float parameter as [`Network::map_params`] shows it to its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSlot {
    /// Its index in [`Network::weights`] if it is a conv or linear weight; `None` for biases
    /// and BatchNorm parameters.
    pub weight: Option<usize>,
    /// Its shape.
    pub dims: Vec<usize>,
}

/// The callback of [`Network::map_params`]: a parameter, flattened, to its new value.
pub type ParamMapFn<'a> = dyn FnMut(&ParamSlot, Tensor<1>) -> Tensor<1> + 'a;

/// [`Network::map_params`] for a burn module: each float parameter is visited once, and is
/// weight `i` when its id is that of `weights()[i]`.
fn map_module_params<N: ModuleNetwork>(module: &N, f: &mut ParamMapFn) -> anyhow::Result<Box<dyn Network>> {
    let weights = module_weights(module);
    let index = weights.iter().enumerate().map(|(i, w)| (w.id, i)).collect();
    let mut mapper = ParamMapper { f, index, seen: vec![false; weights.len()], error: None };
    let mapped = module.clone().map(&mut mapper);
    if let Some(e) = mapper.error {
        anyhow::bail!("replacing the network's parameters failed: {e}");
    }
    let missing = mapper.seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        anyhow::bail!(
            "replacing the network's parameters failed: {missing} of its {} conv/linear weights were not visited",
            weights.len()
        );
    }
    Ok(Box::new(mapped))
}

/// The conv (4-D) and linear (2-D) weights of a burn module, in the order its fields are
/// declared — burn's module visitor walks them, so no network lists its own. Transposed convs
/// are left out: the zero-cost references score `nn.Conv2d` and `nn.Linear` layers only, and
/// `nn.ConvTranspose2d` is neither.
pub fn module_weights<M: burn::module::Module>(module: &M) -> Vec<Weight> {
    struct Collect {
        weights: Vec<Weight>,
        /// How many transposed-conv modules the walk is inside.
        transposed: usize,
    }
    const TRANSPOSED: &str = "Struct:ConvTranspose";
    impl burn::module::ModuleVisitor for Collect {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            if container_type == TRANSPOSED {
                self.transposed += 1;
            }
        }

        fn exit_module(&mut self, _name: &str, container_type: &str) {
            if container_type == TRANSPOSED {
                self.transposed -= 1;
            }
        }

        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if self.transposed > 0 {
                return;
            }
            // A rank-agnostic view of the very same tensor, so autodiff finds its gradient.
            let tensor = match D {
                4 => WeightTensor::Conv(Tensor::from_bridge(param.val().into_bridge())),
                2 => WeightTensor::Linear(Tensor::from_bridge(param.val().into_bridge())),
                _ => return,
            };
            let kind = if D == 4 { WeightKind::Conv } else { WeightKind::Linear };
            self.weights.push(Weight { kind, tensor, id: param.id });
        }
    }
    let mut collect = Collect { weights: Vec::new(), transposed: 0 };
    module.visit(&mut collect);
    collect.weights
}

struct ParamMapper<'a, 'f> {
    f: &'a mut ParamMapFn<'f>,
    index: std::collections::HashMap<burn::module::ParamId, usize>,
    seen: Vec<bool>,
    error: Option<String>,
}

impl burn::module::ModuleMapper for ParamMapper<'_, '_> {
    fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let value = param.val();
        let dims = value.dims();
        let weight = self.index.get(&param.id).copied();
        if let Some(i) = weight {
            if std::mem::replace(&mut self.seen[i], true) {
                self.error = Some(format!("weight {i} is visited twice"));
                return param;
            }
        }
        let numel: usize = dims.iter().product();
        let dtype = value.dtype();
        let slot = ParamSlot { weight, dims: dims.to_vec() };
        let new = (self.f)(&slot, value.detach().reshape([numel]));
        let [len] = new.dims();
        if len != numel {
            self.error = Some(format!("the new value of a {dims:?} parameter has {len} elements"));
            return param;
        }
        burn::module::Param::from_tensor(new.detach().cast(dtype).reshape(dims))
    }
}

/// A burn module that is a network: its forward pass is its own, everything else of
/// [`Network`] (parameter count, weights, device, parameter mapping) is written once, for
/// every such module, below.
pub trait ModuleNetwork: burn::module::Module + Send + std::fmt::Debug + Sized + 'static {
    /// The head's output for a batch `[n, 3, h, w]`.
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output;
}

/// A search space's network type: how to build it for one architecture of the space.
pub trait SpaceNetwork: ModuleNetwork {
    type Arch: Clone + Send + Sync + std::fmt::Display + std::fmt::Debug;
    type Config: Copy + Send + Sync + std::fmt::Debug;
    /// See [`NetworkBuilder::stackable`].
    const STACKABLE: bool = true;

    fn build_for(
        arch: &Self::Arch,
        config: Self::Config,
        options: &BuildOptions,
        init: &mut crate::nn::init::WeightInit,
        device: &Device,
    ) -> Self;
}

impl<N: ModuleNetwork> Network for N {
    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        self.forward_output(x, ctx)
    }

    fn parameter_count(&self) -> usize {
        burn::module::Module::num_params(self)
    }

    fn weights(&self) -> Vec<Weight> {
        module_weights(self)
    }

    fn parameter_ids(&self) -> Vec<burn::module::ParamId> {
        struct Ids(Vec<burn::module::ParamId>);
        impl burn::module::ModuleVisitor for Ids {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                self.0.push(param.id);
            }
        }
        let mut ids = Ids(Vec::new());
        burn::module::Module::visit(self, &mut ids);
        ids.0
    }

    fn device(&self) -> Device {
        burn::module::Module::devices(self).into_iter().next().unwrap_or_else(Device::flex)
    }

    fn map_params(&self, f: &mut ParamMapFn) -> anyhow::Result<Box<dyn Network>> {
        map_module_params(self, f)
    }

    fn weights_untracked(&self) -> Box<dyn Network> {
        Box::new(burn::module::Module::no_grad(self.clone()))
    }
}

/// Builds the networks of one architecture of a search space (the [`NetworkBuilder`] every
/// space uses: `Nb201Builder`, `DartsBuilder`, `Nb101Builder` are this type).
#[derive(Debug, Clone)]
pub struct SpaceBuilder<N: SpaceNetwork> {
    pub arch: N::Arch,
    pub config: N::Config,
    pub num_classes: usize,
}

impl<N: SpaceNetwork> NetworkBuilder for SpaceBuilder<N> {
    fn build(&self, init: &mut crate::WeightInit, options: &BuildOptions, device: &Device) -> Box<dyn Network> {
        Box::new(N::build_for(&self.arch, self.config, options, init, device))
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn arch_label(&self) -> String {
        self.arch.to_string()
    }

    fn stackable(&self) -> bool {
        N::STACKABLE
    }
}
