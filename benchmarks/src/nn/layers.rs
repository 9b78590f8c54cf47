//! Layer primitives the search spaces are built from.
//!
//! They mirror `torch.nn.Conv2d`, `BatchNorm2d` (train mode: batch statistics) and `Linear`,
//! take their initial values from a [`WeightInit`], and report FLOPs the way Suite-Zero's
//! `params` and `flops` were counted (NASLib's `get_model_stats`, i.e. tensorwatch), so parameter
//! and FLOP counts can be checked against the benchmark tables.

use crate::nn::cpu::{self, Buf, Window};
use crate::nn::grad;
use crate::nn::init::WeightInit;
use crate::nn::network::{BnMode, ConvGeometry, ForwardCtx, LayerInput, Probe};
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{DType, TensorData};

/// Everything a layer needs at construction: where to put it, in which float type, and where
/// its initial weights come from.
pub struct LayerBuilder<'a> {
    pub device: &'a Device,
    pub dtype: DType,
    pub init: &'a mut WeightInit,
}

impl LayerBuilder<'_> {
    fn tensor<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::from_data(TensorData::new(values, shape), (self.device, self.dtype))
    }

    fn param<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
        Param::from_tensor(self.tensor(values, shape))
    }

    /// Networks side by side in every layer (the init's [`WeightInit::stack`]): each conv
    /// holds their R convs as one grouped conv over R·channels, each BN and linear layer their
    /// R copies.
    fn stack(&self) -> usize {
        self.init.stack()
    }

    pub fn conv(&mut self, spec: ConvSpec) -> Conv {
        let ConvSpec { c_in, c_out, kernel, stride, padding, dilation, groups, bias } = spec;
        let fan_in = c_in / groups * kernel * kernel;
        let numel = c_out * fan_in;
        let r = self.stack();
        let weight = self.init.weight(numel, fan_in);
        let weight = self.param(weight, [r * c_out, c_in / groups, kernel, kernel]);
        let bias = bias.then(|| {
            let b = self.init.bias(c_out, fan_in);
            self.param(b, [r * c_out])
        });
        Conv { weight, bias, stride, padding, dilation, groups: r * groups }
    }

    /// A bias-free conv whose weights the reference draws with `kaiming_normal_(fan_out, relu)`
    /// (see [`WeightInit::kaiming_fan_out`]).
    pub fn conv_kaiming_fan_out(&mut self, spec: ConvSpec) -> Conv {
        let ConvSpec { c_in, c_out, kernel, stride, padding, dilation, groups, bias } = spec;
        assert!(!bias, "the kaiming fan-out convs have no bias");
        let numel = c_out * (c_in / groups) * kernel * kernel;
        let r = self.stack();
        let weight = self.init.kaiming_fan_out(numel, c_in / groups * kernel * kernel, c_out / groups * kernel * kernel);
        let weight = self.param(weight, [r * c_out, c_in / groups, kernel, kernel]);
        Conv { weight, bias: None, stride, padding, dilation, groups: r * groups }
    }

    /// `ConvTranspose2d(c_in, c_out, kernel, stride, padding, output_padding, bias=True)`,
    /// PyTorch default init (its fan-in is `c_out·k²`, from the weight's second dimension).
    pub fn conv_transpose(
        &mut self,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
    ) -> ConvTranspose {
        let fan_in = c_out * kernel * kernel;
        let r = self.stack();
        let weight = self.init.weight(c_in * c_out * kernel * kernel, fan_in);
        let bias = self.init.bias(c_out, fan_in);
        ConvTranspose {
            weight: self.param(weight, [r * c_in, c_out, kernel, kernel]),
            bias: self.param(bias, [r * c_out]),
            stride,
            padding,
            output_padding,
            groups: r,
        }
    }

    /// `BatchNorm2d(affine=…)`.
    pub fn norm(&mut self, channels: usize, affine: bool) -> Norm {
        if affine {
            Norm::Affine(self.batch_norm(channels))
        } else {
            Norm::Plain(self.batch_norm_plain(channels))
        }
    }

    /// `BatchNorm2d(affine=False)`: normalisation only, no parameters.
    pub fn batch_norm_plain(&mut self, channels: usize) -> PlainBatchNorm {
        PlainBatchNorm { channels: self.stack() * channels }
    }

    pub fn batch_norm(&mut self, channels: usize) -> BatchNorm {
        let c = self.stack() * channels;
        BatchNorm { gamma: self.param(vec![1.0; c], [c]), beta: self.param(vec![0.0; c], [c]) }
    }

    /// A parameter drawn from N(0, std²) whatever the scheme ([`WeightInit::normal`]).
    pub fn normal<const D: usize>(&mut self, shape: [usize; D], std: f64) -> Param<Tensor<D>> {
        assert_eq!(self.stack(), 1, "a network with its own initialisation is not stacked");
        let values = self.init.normal(shape.iter().product(), std);
        self.param(values, shape)
    }

    /// A parameter drawn from U(−bound, bound) whatever the scheme ([`WeightInit::uniform`]).
    pub fn uniform<const D: usize>(&mut self, shape: [usize; D], bound: f32) -> Param<Tensor<D>> {
        assert_eq!(self.stack(), 1, "a network with its own initialisation is not stacked");
        let values = self.init.uniform(shape.iter().product(), bound);
        self.param(values, shape)
    }

    /// A parameter of one value (LayerNorm's γ = 1 and β = 0, zero biases).
    pub fn constant<const D: usize>(&self, shape: [usize; D], value: f32) -> Param<Tensor<D>> {
        self.param(vec![value; shape.iter().product()], shape)
    }

    /// `nn.Linear` with weights N(0, std²) and zero bias whatever the scheme (a transformer's
    /// `_init_weights`).
    pub fn linear_normal(&mut self, d_in: usize, d_out: usize, std: f64) -> Linear {
        Linear { weight: self.normal([d_out, d_in], std), bias: self.constant([d_out], 0.0), stack: 1 }
    }

    pub fn linear(&mut self, d_in: usize, d_out: usize) -> Linear {
        let r = self.stack();
        let weight = self.init.weight(d_in * d_out, d_in);
        let bias = self.init.bias(d_out, d_in);
        Linear { weight: self.param(weight, [r * d_out, d_in]), bias: self.param(bias, [r * d_out]), stack: r }
    }
}

/// Shape of a 2-D convolution (square kernel, symmetric padding).
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
    pub bias: bool,
}

impl ConvSpec {
    /// A bias-free convolution with stride 1, "same" padding, no dilation, one group.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> Self {
        Self { c_in, c_out, kernel, stride: 1, padding: kernel / 2, dilation: 1, groups: 1, bias: false }
    }

    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }

    /// `groups = c_in` makes a depthwise convolution.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

#[derive(Module, Debug)]
pub struct Conv {
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Conv {
    /// The window of the native kernels, for a one-group conv with a square kernel.
    fn window(&self) -> Option<Window> {
        let [_, _, kh, kw] = self.weight.dims();
        (self.groups == 1 && kh == kw).then_some(Window {
            kernel: kh,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        })
    }

    /// The window of a depthwise conv (one filter per channel: groups = channels, square kernel).
    fn depthwise_window(&self) -> Option<Window> {
        let [c_out, per_group, kh, kw] = self.weight.dims();
        (self.groups > 1 && self.groups == c_out && per_group == 1 && kh == kw).then_some(Window {
            kernel: kh,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        })
    }

    /// `y` plus the bias, if any (burn's ops).
    fn add_bias(&self, y: Tensor<4>) -> Tensor<4> {
        match &self.bias {
            Some(bias) => {
                let c_out = bias.dims()[0];
                y.add(bias.val().reshape([1, c_out, 1, 1]))
            }
            None => y,
        }
    }

    /// The native kernel's window, where it runs this conv (one group, a native pass).
    fn native(&self, x: &Tensor<4>, ctx: &ForwardCtx) -> Option<Window> {
        self.window().filter(|_| ctx.kernels.native_for(x))
    }

    /// On the autodiff flex device (a gradient pass), the native forward and backward
    /// ([`grad::conv2d`], [`grad::depthwise_conv2d`]; bias added by burn's ops); burn's conv
    /// elsewhere.
    fn native_grad_conv(&self, x: Tensor<4>, ctx: &ForwardCtx) -> Tensor<4> {
        if ctx.kernels.native_grad_for(&x) {
            let y = match (self.window(), self.depthwise_window()) {
                (Some(win), _) => grad::conv2d(x.clone(), self.weight.val(), win, ctx.replicas),
                (None, Some(win)) => grad::depthwise_conv2d(x.clone(), self.weight.val(), win, ctx.replicas),
                (None, None) => None,
            };
            if let Some(y) = y {
                return self.add_bias(y);
            }
        }
        self.burn_conv(x)
    }

    fn burn_conv(&self, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new([self.stride; 2], [self.padding; 2], [self.dilation; 2], self.groups);
        conv2d(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()), options)
    }

    /// [`ForwardCtx::first_param`] for the weight and bias: W[0, 0, 0, 0] joins input channel 0
    /// to output channel 0 at the window's first tap, so its derivative is input channel 0 as
    /// the window's first tap sees it (a one-tap conv); the bias's first entry adds 1.
    fn first_params(&self, x: Option<Tensor<4>>, y: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let Some(x) = x else { return y };
        let [_, _, kh, kw] = self.weight.dims();
        let x = ctx.first_copy(x);
        let y = ctx.first_param(self.weight.id, y, || {
            let (x0, tap) = first_tap(x, kh, kw);
            conv2d(x0, tap, None, ConvOptions::new([self.stride; 2], [self.padding; 2], [self.dilation; 2], 1))
        });
        match &self.bias {
            Some(bias) => {
                let [n, _, h, w] = y.dims();
                let b = ctx.first_copy_rows(n);
                ctx.first_param(bias.id, y.clone(), || Tensor::ones([b, 1, h, w], &y.device()))
            }
            None => y,
        }
    }

    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let probed = ctx.wants_first_param(self.weight.id) || self.bias.as_ref().is_some_and(|b| ctx.wants_first_param(b.id));
        let x0 = probed.then(|| x.clone());
        let input = (ctx.taps.layer_outputs && ctx.taps.layer_inputs).then(|| {
            let [_, _, kh, kw] = self.weight.dims();
            LayerInput {
                value: x.clone().detach(),
                conv: Some(ConvGeometry {
                    kernel: [kh, kw],
                    stride: self.stride,
                    padding: self.padding,
                    dilation: self.dilation,
                    groups: self.groups,
                }),
                bias: self.bias.is_some(),
            }
        });
        let depthwise = self.depthwise_window().filter(|_| ctx.kernels.native_for(&x));
        let y = match (self.native(&x, ctx), depthwise) {
            (Some(win), _) => {
                let c_out = self.weight.dims()[0];
                let bias = self.bias.as_ref().map(|b| cpu::values(b.val()));
                let x = Buf::take(x);
                if let Some(batch) = ctx.tangents.as_ref().map(|t| t.batch) {
                    if let Some(live) = live_groups(&x, batch) {
                        // Tangent groups still all 0 (their θ's layer not reached yet) stay 0.
                        return self.finish(self.tangent_conv(x, &live, batch, win), x0, input, ctx);
                    }
                }
                match cpu::conv2d(&x, &cpu::values(self.weight.val()), c_out, bias.as_deref(), win) {
                    Some(y) => y.into_tensor(),
                    // The window does not fit: let burn's conv say so.
                    None => self.burn_conv(x.into_tensor()),
                }
            }
            (None, Some(win)) => {
                let x = Buf::<f32>::take(x);
                match cpu::depthwise_conv2d_slice(&x.data, x.dims, &cpu::values(self.weight.val()), win) {
                    Some(y) => self.add_bias(y.into_tensor()),
                    None => self.burn_conv(x.into_tensor()),
                }
            }
            (None, None) => self.native_grad_conv(x, ctx),
        };
        self.finish(y, x0, input, ctx)
    }

    /// The native conv of the live groups of a tangent pass's rows ([`live_groups`]), zeros
    /// for the others (a zero input's derivative: no bias reaches a tangent).
    fn tangent_conv(&self, x: Buf, live: &[usize], batch: usize, win: Window) -> Tensor<4> {
        let [n, c, h, w] = x.dims;
        let per = batch * c * h * w;
        let compact = Buf {
            data: live.iter().flat_map(|&g| x.data[g * per..(g + 1) * per].iter().copied()).collect(),
            dims: [live.len() * batch, c, h, w],
        };
        let c_out = self.weight.dims()[0];
        let bias = self.bias.as_ref().map(|b| cpu::values(b.val()));
        let Some(y) = cpu::conv2d(&compact, &cpu::values(self.weight.val()), c_out, bias.as_deref(), win) else {
            return self.burn_conv(x.into_tensor());
        };
        let [_, c_out, ho, wo] = y.dims;
        let per_out = batch * c_out * ho * wo;
        let mut data = vec![0.0f32; (n / batch) * per_out];
        for (i, &g) in live.iter().enumerate() {
            data[g * per_out..(g + 1) * per_out].copy_from_slice(&y.data[i * per_out..(i + 1) * per_out]);
        }
        Buf { data, dims: [n, c_out, ho, wo] }.into_tensor()
    }

    /// FLOPs, first-scalar probes and layer taps of the conv's output `y`.
    fn finish(&self, y: Tensor<4>, x0: Option<Tensor<4>>, input: Option<LayerInput<4>>, ctx: &mut ForwardCtx) -> Tensor<4> {
        if ctx.taps.flops {
            let [c_out, c_in_per_group, kh, kw] = self.weight.dims();
            let [n, _, h, w] = y.dims();
            let positions = (n * h * w) as f64;
            let mut flops = (kh * kw * c_in_per_group * c_out) as f64 * positions;
            if self.bias.is_some() {
                flops += c_out as f64 * positions;
            }
            ctx.add_flops(flops);
        }
        let y = self.first_params(x0, y, ctx);
        ctx.module_output(&y);
        if ctx.taps.layer_outputs {
            let [_, c_in_per_group, kh, kw] = self.weight.dims();
            let (probe, y) = Probe::attach_with_input(y, c_in_per_group * kh * kw, input);
            ctx.conv_outputs.push(probe);
            return y;
        }
        y
    }
}

/// In a tangent pass ([`crate::nn::network::Tangents`]) of groups of `batch` rows, the groups
/// whose rows are not all 0 (the primal group always), where some group is all 0; `None`
/// where every group is live.
fn live_groups(x: &Buf, batch: usize) -> Option<Vec<usize>> {
    let [n, c, h, w] = x.dims;
    if batch == 0 || n % batch != 0 {
        return None;
    }
    let per = batch * c * h * w;
    let live: Vec<usize> =
        (0..n / batch).filter(|&g| g == 0 || x.data[g * per..(g + 1) * per].iter().any(|v| *v != 0.0)).collect();
    (live.len() < n / batch).then_some(live)
}

/// Input channel 0 of `x` and a `kh × kw` kernel that is 1 at its first tap: convolved with
/// the layer's geometry, the derivative of output channel 0 with respect to W[0, 0, 0, 0].
fn first_tap(x: Tensor<4>, kh: usize, kw: usize) -> (Tensor<4>, Tensor<4>) {
    let [b, _, h, w] = x.dims();
    let x0 = x.slice([0..b, 0..1, 0..h, 0..w]);
    let mut tap = vec![0.0f32; kh * kw];
    tap[0] = 1.0;
    let tap = Tensor::from_data(TensorData::new(tap, [1, 1, kh, kw]), (&x0.device(), DType::F32));
    (x0, tap)
}

/// `nn.ConvTranspose2d` with bias. Its weight is 4-D, so it counts among the conv weights
/// the proxies score. FLOPs: tensorwatch does not count transposed convs (0).
#[derive(Module, Debug)]
pub struct ConvTranspose {
    pub weight: Param<Tensor<4>>,
    pub bias: Param<Tensor<1>>,
    pub stride: usize,
    pub padding: usize,
    pub output_padding: usize,
    /// R when R networks are stacked (one group each), else 1.
    pub groups: usize,
}

impl ConvTranspose {
    /// The native kernels' window and the output size for an input `[h, w]`, for one group and
    /// a square kernel: `(h − 1)·s − 2p + k + output_padding`, as PyTorch's.
    fn window(&self, [h, w]: [usize; 2]) -> Option<(Window, [usize; 2])> {
        let [_, _, kh, kw] = self.weight.dims();
        if self.groups != 1 || kh != kw || h == 0 || w == 0 {
            return None;
        }
        let side = |s: usize| ((s - 1) * self.stride + kh + self.output_padding).checked_sub(2 * self.padding);
        let win = Window { kernel: kh, stride: self.stride, padding: self.padding, dilation: 1 };
        Some((win, [side(h)?, side(w)?]))
    }

    fn burn_forward(&self, x: Tensor<4>) -> Tensor<4> {
        let options = burn::tensor::ops::ConvTransposeOptions::new(
            [self.stride; 2],
            [self.padding; 2],
            [self.output_padding; 2],
            [1, 1],
            self.groups,
        );
        burn::tensor::module::conv_transpose2d(x, self.weight.val(), Some(self.bias.val()), options)
    }

    /// The native kernels where they run (a plain pass: [`cpu::conv_transpose2d_slice`] with the
    /// bias; a gradient pass: [`grad::conv_transpose2d`], bias added by burn's
    /// ops), burn's op elsewhere.
    fn convolve(&self, x: Tensor<4>, ctx: &ForwardCtx) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let Some((win, out)) = self.window([h, w]) else { return self.burn_forward(x) };
        let c_out = self.weight.dims()[1];
        if ctx.kernels.native_grad_for(&x) {
            return match grad::conv_transpose2d(x.clone(), self.weight.val(), win, out, ctx.replicas) {
                Some(y) => y.add(self.bias.val().reshape([1, c_out, 1, 1])),
                None => self.burn_forward(x),
            };
        }
        if !ctx.kernels.native_for(&x) {
            return self.burn_forward(x);
        }
        let x = Buf::take(x);
        let bias = cpu::values(self.bias.val());
        match cpu::conv_transpose2d_slice(&x.data, x.dims, &cpu::values(self.weight.val()), c_out, Some(&bias), win, out) {
            Some(y) => y.into_tensor(),
            // The window does not fit: let burn's op say so.
            None => self.burn_forward(x.into_tensor()),
        }
    }

    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x0 = ctx.taps.first_params.then(|| x.clone());
        let y = self.convolve(x, ctx);
        // W[0, 0, 0, 0] carries input channel 0 to output channel 0 at the kernel's first tap
        // (a one-tap transposed conv); the bias's first entry adds 1.
        let y = match x0 {
            Some(x) => {
                let [_, _, kh, kw] = self.weight.dims();
                let y = ctx.first_param(self.weight.id, y, || {
                    let (x0, tap) = first_tap(x, kh, kw);
                    let one = burn::tensor::ops::ConvTransposeOptions::new(
                        [self.stride; 2],
                        [self.padding; 2],
                        [self.output_padding; 2],
                        [1, 1],
                        1,
                    );
                    burn::tensor::module::conv_transpose2d(x0, tap, None, one)
                });
                ctx.first_param(self.bias.id, y.clone(), || {
                    let [b, _, h, w] = y.dims();
                    Tensor::ones([b, 1, h, w], &y.device())
                })
            }
            None => y,
        };
        ctx.module_output(&y);
        if ctx.taps.layer_outputs {
            let [_, c_out, kh, kw] = self.weight.dims();
            let (probe, y) = Probe::attach(y, c_out * kh * kw);
            ctx.conv_outputs.push(probe);
            return y;
        }
        y
    }
}

/// `BatchNorm2d(affine=True)` as the references run it: batch statistics (train mode),
/// biased variance, eps 1e-5. Running statistics are never used by the proxies, so there are
/// none.
#[derive(Module, Debug)]
pub struct BatchNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
}

impl BatchNorm {
    pub const EPS: f64 = 1e-5;

    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        if ctx.taps.flops {
            // tensorwatch counts an affine BN as two ops per element.
            ctx.add_flops(2.0 * x.shape().num_elements() as f64);
        }
        let c = self.gamma.dims()[0];
        if ctx.bn == BnMode::Batch {
            ctx.not_differentiated("batch-statistics BN");
        }
        let y = match ctx.bn {
            BnMode::Off => x,
            BnMode::Batch if ctx.kernels.native_for(&x) => {
                let (gamma, beta) = (cpu::values(self.gamma.val()), cpu::values(self.beta.val()));
                native_batch_norm(x, Some((&gamma, &beta)), ctx)
            }
            BnMode::Batch => match native_grad_batch_norm(&x, Some((self.gamma.val(), self.beta.val())), ctx) {
                Some(y) => y,
                None => {
                    let gamma = self.gamma.val().reshape([1, c, 1, 1]);
                    let beta = self.beta.val().reshape([1, c, 1, 1]);
                    batch_normalise(x, ctx).mul(gamma).add(beta)
                }
            },
            BnMode::Initial => {
                // γ₀ scales channel 0 of the normalised input (the first copy's suffices).
                let probed = ctx.wants_first_param(self.gamma.id) || ctx.wants_first_param(self.beta.id);
                let x0 = probed.then(|| {
                    let [b, _, h, w] = x.dims();
                    initial_normalise(ctx.first_copy(x.clone().slice([0..b, 0..1, 0..h, 0..w])).detach())
                });
                let y = self.initial(x, ctx);
                match x0 {
                    Some(x0) => {
                        // β₀ adds 1 to channel 0.
                        let [b, _, h, w] = x0.dims();
                        let y = ctx.first_param(self.gamma.id, y, || x0);
                        ctx.first_param(self.beta.id, y.clone(), || Tensor::ones([b, 1, h, w], &y.device()))
                    }
                    None => y,
                }
            }
        };
        ctx.module_output(&y);
        y
    }

    /// Eval-mode BN on fresh statistics: in place on the host in a plain native pass (VKDNW's
    /// tangent pass), [`native_initial_batch_norm`] where γ and β need no gradient (VKDNW's
    /// untracked weights), burn's ops otherwise — the same values.
    fn initial(&self, x: Tensor<4>, ctx: &ForwardCtx) -> Tensor<4> {
        let (gamma, beta) = (self.gamma.val(), self.beta.val());
        if ctx.kernels.native_for(&x) {
            let scale = (1.0 + BatchNorm::EPS).sqrt() as f32;
            let (gamma, beta) = (cpu::values(gamma), cpu::values(beta));
            let mut buf = Buf::<f32>::take(x);
            let [_, c, h, w] = buf.dims;
            for (i, plane) in buf.data.chunks_mut(h * w).enumerate() {
                let (g, b) = (gamma[i % c], beta[i % c]);
                // burn's ops: (x / √(1 + ε))·γ + β, rounded as they round.
                plane.iter_mut().for_each(|v| *v = *v / scale * g + b);
            }
            return buf.into_tensor();
        }
        if !gamma.is_require_grad() && !beta.is_require_grad() {
            if let Some(y) = native_initial_batch_norm(&x, (&cpu::values(gamma.clone()), &cpu::values(beta.clone())), ctx) {
                return y;
            }
        }
        let c = gamma.dims()[0];
        initial_normalise(x).mul(gamma.reshape([1, c, 1, 1])).add(beta.reshape([1, c, 1, 1]))
    }
}

/// Eval-mode BN on fresh statistics, γ and β constants, as one native operation
/// ([`grad::initial_batch_norm`]) where the pass allows it; `None` otherwise (burn's ops then
/// compute the same values).
fn native_initial_batch_norm(x: &Tensor<4>, (gamma, beta): (&[f32], &[f32]), ctx: &ForwardCtx) -> Option<Tensor<4>> {
    if !ctx.kernels.native_grad_for(x) {
        return None;
    }
    grad::initial_batch_norm(x.clone(), gamma, beta, (1.0 + BatchNorm::EPS).sqrt(), ctx.replicas)
}

/// `x / √(1 + eps)`: eval-mode BN with a fresh network's running statistics (mean 0,
/// variance 1).
fn initial_normalise(x: Tensor<4>) -> Tensor<4> {
    x.div_scalar((1.0 + BatchNorm::EPS).sqrt())
}

/// `(x − mean) / sqrt(var + eps)` per channel over the batch's n·h·w values (biased variance,
/// as PyTorch's train mode normalises), recording the variances when the pass taps them. The
/// one place BN statistics are computed, for the affine and the plain BN alike.
fn batch_normalise(x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let per_channel = x.clone().swap_dims(0, 1).reshape([c, n * h * w]);
    let (var, mean) = per_channel.var_mean_bias(1);
    if ctx.taps.bn_variance {
        ctx.bn_variances.push(var.clone().reshape([c]));
        ctx.bn_counts.push(n * h * w);
    }
    let mean = mean.reshape([1, c, 1, 1]);
    let std = var.add_scalar(BatchNorm::EPS).sqrt().reshape([1, c, 1, 1]);
    x.sub(mean).div(std)
}

/// [`batch_normalise`] (and the affine map) on the native kernel, recording the same taps.
fn native_batch_norm(x: Tensor<4>, affine: Option<(&[f32], &[f32])>, ctx: &mut ForwardCtx) -> Tensor<4> {
    let mut buf = Buf::take(x);
    let [n, c, h, w] = buf.dims;
    let variances = cpu::batch_norm(&mut buf, BatchNorm::EPS, affine);
    if ctx.taps.bn_variance {
        ctx.bn_variances.push(Tensor::from_data(TensorData::new(variances, [c]), (&Device::flex(), DType::F32)));
        ctx.bn_counts.push(n * h * w);
    }
    buf.into_tensor()
}

/// On the autodiff flex device (a gradient pass), [`batch_normalise`] and the affine map as one
/// native autodiff operation ([`grad::batch_norm`]), recording the same taps (the variances as
/// constants); `None` where it does not run (the caller then uses burn's ops).
fn native_grad_batch_norm(x: &Tensor<4>, affine: Option<(Tensor<1>, Tensor<1>)>, ctx: &mut ForwardCtx) -> Option<Tensor<4>> {
    if !ctx.kernels.native_grad_for(x) {
        return None;
    }
    let [n, c, h, w] = x.dims();
    let (y, variances) = grad::batch_norm(x.clone(), affine, BatchNorm::EPS)?;
    if ctx.taps.bn_variance {
        ctx.bn_variances.push(Tensor::from_data(TensorData::new(variances, [c]), (&x.device(), y.dtype())));
        ctx.bn_counts.push(n * h * w);
    }
    Some(y)
}

/// `nn.Linear`. Stacked (R networks side by side, `stack` = R), the weight holds the R
/// weights `[d_out, d_in]` one after another and the input the R inputs along its features:
/// one batched matmul computes the R layers.
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
    pub stack: usize,
}

impl Linear {
    pub fn forward(&self, x: Tensor<2>, ctx: &mut ForwardCtx) -> Tensor<2> {
        let [n, _] = x.dims();
        let r = self.stack;
        let [rows, d_in] = self.weight.dims();
        let d_out = rows / r;
        // tensorwatch counts the multiplies only, not the bias adds.
        ctx.add_flops((n * d_in * d_out) as f64);
        let x_first = (ctx.taps.first_params && r == 1).then(|| ctx.first_copy(x.clone().slice([0..n, 0..1])));
        let input = (ctx.taps.layer_outputs && ctx.taps.layer_inputs && r == 1).then(|| LayerInput {
            value: x.clone().detach(),
            conv: None,
            bias: true,
        });
        let y = if r == 1 {
            x.matmul(self.weight.val().transpose())
        } else {
            let x = x.reshape([n, r, d_in]).swap_dims(0, 1);
            let w = self.weight.val().reshape([r, d_out, d_in]).swap_dims(1, 2);
            x.matmul(w).swap_dims(0, 1).reshape([n, r * d_out])
        };
        let y = y.add(self.bias.val().unsqueeze_dim(0));
        // W[0, 0] carries input feature 0 to output 0; the bias's first entry adds 1 to it.
        let y = match x_first {
            Some(x0) => {
                let rows = x0.dims()[0];
                let y = ctx.first_param(self.weight.id, y, || x0);
                ctx.first_param(self.bias.id, y, || Tensor::ones([rows, 1], &self.bias.val().device()))
            }
            None => y,
        };
        if ctx.taps.layer_outputs {
            let (probe, y) = Probe::attach_with_input(y, d_in, input);
            ctx.linear_outputs.push(probe);
            return y;
        }
        y
    }
}

/// `nn.AvgPool2d(kernel, stride, padding, count_include_pad)`, with its FLOPs counted as
/// tensorwatch does (kernel² per output element).
pub fn avg_pool(
    x: Tensor<4>,
    kernel: usize,
    stride: usize,
    padding: usize,
    count_include_pad: bool,
    ctx: &mut ForwardCtx,
) -> Tensor<4> {
    let burn_pool = |x: Tensor<4>| {
        let options = AvgPoolOptions::new([kernel; 2])
            .with_stride([stride; 2])
            .with_padding([padding; 2])
            .with_count_include_pad(count_include_pad);
        avg_pool2d(x, options)
    };
    let win = Window { kernel, stride, padding, dilation: 1 };
    let y = if ctx.kernels.native_for(&x) {
        let x = Buf::<f32>::take(x);
        match cpu::avg_pool(&x, win, count_include_pad) {
            Some(y) => y.into_tensor(),
            // The window does not fit: let burn's pool say so.
            None => burn_pool(x.into_tensor()),
        }
    } else if ctx.kernels.native_grad_for(&x) {
        grad::avg_pool(x.clone(), win, count_include_pad, ctx.replicas).unwrap_or_else(|| burn_pool(x))
    } else {
        burn_pool(x)
    };
    if ctx.taps.flops {
        let [n, c, h, w] = y.dims();
        ctx.add_flops((n * c * h * w * kernel * kernel) as f64);
    }
    ctx.module_output(&y);
    y
}

/// A BatchNorm with or without affine parameters (`BatchNorm2d(affine=…)`).
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Norm {
    Affine(BatchNorm),
    Plain(PlainBatchNorm),
}

impl Norm {
    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        match self {
            Norm::Affine(bn) => bn.forward(x, ctx),
            Norm::Plain(bn) => bn.forward(x, ctx),
        }
    }
}

/// `FactorizedReduce(C_in, C_out, stride 2)` of DARTS and TransNAS-Bench-101: ReLU; a 1×1
/// stride-2 conv on the input and one on the input shifted by a pixel (zero-padded at the far
/// edge where the size is odd), concatenated along channels; BN. The spaces build the convs
/// with their own init from [`FactorizedReduce::conv_specs`].
#[derive(Module, Debug)]
pub struct FactorizedReduce {
    pub conv_1: Conv,
    pub conv_2: Conv,
    pub bn: Norm,
}

impl FactorizedReduce {
    /// The two convs: `C_in → C_out/2` and `C_in → C_out − C_out/2`, 1×1, stride 2, no bias.
    pub fn conv_specs(c_in: usize, c_out: usize) -> [ConvSpec; 2] {
        [ConvSpec::new(c_in, c_out / 2, 1).stride(2), ConvSpec::new(c_in, c_out - c_out / 2, 1).stride(2)]
    }

    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = ctx.relu(x);
        let [_, _, h, w] = x.dims();
        let mut shifted = x.clone().slice(burn::tensor::s![.., .., 1.., 1..]);
        if h % 2 == 1 || w % 2 == 1 {
            shifted = shifted.pad((0, w % 2, 0, h % 2), burn::tensor::ops::PadMode::Constant(0.0));
        }
        let a = self.conv_1.forward(x, ctx);
        let b = self.conv_2.forward(shifted, ctx);
        let y = ctx.cat_channels(vec![a, b]);
        self.bn.forward(y, ctx)
    }
}

/// ReLU → conv → BN: the `ReLUConvBN` of NB201, DARTS and TransNAS-Bench-101. `containers`
/// is the number of reference container modules whose output is the BN's (NB201's wrapper and
/// its `Sequential`: 2), recorded as module outputs when those are tapped (MeCo).
#[derive(Module, Debug)]
pub struct ReluConvBn {
    pub conv: Conv,
    pub bn: BatchNorm,
    #[module(skip)]
    pub containers: usize,
}

impl ReluConvBn {
    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = ctx.relu(x);
        let x = self.conv.forward(x, ctx);
        let x = self.bn.forward(x, ctx);
        for _ in 0..self.containers {
            ctx.module_output(&x);
        }
        x
    }
}

/// A cell's directed acyclic graph: node 0 is `x`; node t ≥ 1 is the sum, in `edges` order, of
/// `edge(e, node from)` over the edges `e = (from, t)`; the cell's output is the last node.
/// Every node must have an input edge.
pub fn cell_dag(x: Tensor<4>, edges: &[(usize, usize)], mut edge: impl FnMut(usize, Tensor<4>) -> Tensor<4>) -> Tensor<4> {
    let last = edges.iter().map(|&(_, t)| t).max().unwrap_or(0);
    // The edge that reads each node last gets the node itself rather than a shared handle,
    // so an in-place kernel (the native ReLU) need not copy it.
    let mut last_read = vec![None; last + 1];
    for to in 1..=last {
        for (e, &(from, _)) in edges.iter().enumerate().filter(|(_, &(_, t))| t == to) {
            last_read[from] = Some(e);
        }
    }
    let mut nodes: Vec<Option<Tensor<4>>> = vec![Some(x)];
    for to in 1..=last {
        let mut sum: Option<Tensor<4>> = None;
        for (e, &(from, _)) in edges.iter().enumerate().filter(|(_, &(_, t))| t == to) {
            let input = if last_read[from] == Some(e) { nodes[from].take() } else { nodes[from].clone() };
            let y = edge(e, input.unwrap_or_else(|| panic!("node {from} of the cell was read after its last use")));
            sum = Some(match sum {
                Some(s) => s.add(y),
                None => y,
            });
        }
        nodes.push(Some(sum.unwrap_or_else(|| panic!("node {to} of the cell has no input edge"))));
    }
    nodes.pop().flatten().expect("at least the input node")
}

/// The classification head: the pre-GAP features tapped if asked for, global average
/// pooling, the linear layer (it and its input tapped if asked for).
pub fn pool_and_classify(features: Tensor<4>, classifier: &Linear, ctx: &mut ForwardCtx) -> Tensor<2> {
    ctx.pre_gap_features(&features);
    let pooled = global_avg_pool(features, ctx);
    ctx.classifier_input(&pooled, classifier.weight.val(), classifier.weight.id, classifier.bias.id);
    classifier.forward(pooled, ctx)
}

/// Global average pooling (`AdaptiveAvgPool2d(1)` + flatten) to `[n, c]`.
///
/// FLOPs: tensorwatch charges `(h + 1)·(w + 1)` per channel for it; that is what makes our
/// counts equal Suite-Zero's `flops` column for every NB201 arch (checked in the tests).
pub fn global_avg_pool(x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    ctx.add_flops((n * c * (h + 1) * (w + 1)) as f64);
    x.mean_dim(3).mean_dim(2).reshape([n, c])
}

/// `BatchNorm2d(affine=False)` in train mode: batch statistics, biased variance, eps 1e-5,
/// no learnable parameters (NASLib's DARTS cell ops). tensorwatch counts one op per element.
#[derive(Module, Debug)]
pub struct PlainBatchNorm {
    pub channels: usize,
}

impl PlainBatchNorm {
    pub fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        if ctx.taps.flops {
            ctx.add_flops(x.shape().num_elements() as f64);
        }
        if ctx.bn == BnMode::Batch {
            ctx.not_differentiated("batch-statistics BN");
        }
        let y = match ctx.bn {
            BnMode::Off => x,
            BnMode::Batch if ctx.kernels.native_for(&x) => native_batch_norm(x, None, ctx),
            BnMode::Batch => match native_grad_batch_norm(&x, None, ctx) {
                Some(y) => y,
                None => batch_normalise(x, ctx),
            },
            BnMode::Initial => {
                let (ones, zeros) = (vec![1.0; self.channels], vec![0.0; self.channels]);
                native_initial_batch_norm(&x, (&ones, &zeros), ctx).unwrap_or_else(|| initial_normalise(x))
            }
        };
        ctx.module_output(&y);
        y
    }
}

/// `nn.MaxPool2d(kernel, stride, padding)`: padding never wins the max (PyTorch pads with
/// -inf). FLOPs as tensorwatch counts them: kernel² per output element.
pub fn max_pool(x: Tensor<4>, kernel: usize, stride: usize, padding: usize, ctx: &mut ForwardCtx) -> Tensor<4> {
    let options = MaxPoolOptions::new([kernel; 2]).with_stride([stride; 2]).with_padding([padding; 2]);
    let win = Window { kernel, stride, padding, dilation: 1 };
    ctx.not_differentiated("max pooling");
    let y = if ctx.kernels.native_for(&x) {
        let x = Buf::<f32>::take(x);
        match cpu::max_pool_values(&x.data, x.dims, win) {
            Some(y) => y.into_tensor(),
            // The window does not fit: let burn's pool say so.
            None => max_pool2d(x.into_tensor(), options),
        }
    } else if ctx.kernels.native_grad_for(&x) {
        grad::max_pool(x.clone(), win, ctx.replicas).unwrap_or_else(|| max_pool2d(x, options))
    } else {
        max_pool2d(x, options)
    };
    if ctx.taps.flops {
        let [n, c, h, w] = y.dims();
        ctx.add_flops((n * c * h * w * kernel * kernel) as f64);
    }
    ctx.module_output(&y);
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::network::Taps;

    #[test]
    fn max_pool_ignores_padding_and_plain_bn_normalises() {
        let device = Device::flex();
        // All values negative: a zero-padded pool would return 0 at the borders.
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![-1.0f32, -4.0, -3.0, -2.0, -5.0, -6.0, -7.0, -8.0, -9.0], [1, 1, 3, 3]),
            &device,
        );
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
        let y: Vec<f32> = max_pool(x.clone(), 3, 1, 1, &mut ctx).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(y, vec![-1.0, -1.0, -3.0, -1.0, -1.0, -3.0, -2.0, -2.0, -5.0]);
        assert_eq!(ctx.flops, 81.0);
        let s: Vec<f32> = max_pool(x.clone(), 3, 2, 1, &mut ctx).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(s, vec![-1.0, -3.0, -2.0, -5.0]);
        let z: Vec<f32> = PlainBatchNorm { channels: 1 }.forward(x, &mut ctx).into_data().try_into_vec::<f32>().unwrap();
        let mean = z.iter().sum::<f32>() / 9.0;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 9.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "mean {mean} var {var}");
    }
}
