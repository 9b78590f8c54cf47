//! The TransNAS-Bench-101 networks as the official code builds them (`net_infer/`
//! `MacroNet` encoder + `model_builder`'s task decoders; NASLib uses exactly these for the
//! benchmark's seven tasks), as burn modules.
//!
//! Encoder: stem conv3×3(3→32, s2)-BN-ReLU-conv3×3(32→64, s2)-BN; then 5 micro layers
//! `41414` of 2 cells each (4 = channels ×2 and stride 2, 1 = plain), or 4–6 macro stages of 2
//! residual blocks each (codes 1..4). Encoder convs are bias-free and drawn
//! `kaiming_normal_(fan_out, relu)` (`MacroNet._kaiming_init`); BN affine, weight 1, bias 0.
//! Heads (PyTorch default init, convs with bias): GAP + linear for class_object (100
//! classes), class_scene (63) and room_layout (9); the siamese jigsaw head (the encoder on each
//! of 9 tiles, concatenated, GAP + linear to 1000); the segmentation decoder (17 classes at
//! 256×256); the generative decoder (3 channels + tanh at 256×256) for normal and autoencoder.
//! The GAN discriminator the official autoencoder/normal models carry never runs in their
//! forward pass, so it is not built (Suite-Zero's `params` do not count it either).
//!
//! Deviations: the jigsaw network takes its 9 tiles as one `3 × 3·t × 3·t` image (tile i at
//! grid cell i, raster order) and cuts them itself, so every network takes `[n, 3, h, w]`.
//! Module outputs (MeCo) are recorded for leaf layers and cells / blocks, not for every
//! container of the reference.

use super::arch::{MacroArch, MicroArch, MicroOp, MICRO_EDGES};
use crate::nn::init::WeightInit;
use crate::nn::layers::{FactorizedReduce, Norm, ReluConvBn, cell_dag, pool_and_classify, BatchNorm, Conv, ConvSpec, ConvTranspose, LayerBuilder, Linear};
use crate::nn::network::{BuildOptions, ForwardCtx, ModuleNetwork, Output, SpaceNetwork};
use burn::prelude::*;

/// The seven tasks, each with its own decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TnbTask {
    ClassObject,
    ClassScene,
    RoomLayout,
    Jigsaw,
    SegmentSemantic,
    Normal,
    Autoencoder,
}

impl TnbTask {
    pub const ALL: [TnbTask; 7] = [
        TnbTask::ClassObject,
        TnbTask::ClassScene,
        TnbTask::RoomLayout,
        TnbTask::Jigsaw,
        TnbTask::SegmentSemantic,
        TnbTask::Normal,
        TnbTask::Autoencoder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TnbTask::ClassObject => "class_object",
            TnbTask::ClassScene => "class_scene",
            TnbTask::RoomLayout => "room_layout",
            TnbTask::Jigsaw => "jigsaw",
            TnbTask::SegmentSemantic => "segmentsemantic",
            TnbTask::Normal => "normal",
            TnbTask::Autoencoder => "autoencoder",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Output width of the head: classes, values or channels (NASLib's `model_builder`), as
    /// the space declares the task's head.
    pub fn outputs(self) -> usize {
        super::declared(self.name()).head.width()
    }
}

/// Side of the network's input: 256 (jigsaw: 64 per tile).
pub const INPUT_SIDE: usize = 256;
/// Side of a jigsaw tile, and tiles per side of the jigsaw grid.
pub const TILE: usize = 64;
pub const GRID: usize = 3;

/// Either space's architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TnbArch {
    Micro(MicroArch),
    Macro(MacroArch),
}

impl std::fmt::Display for TnbArch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TnbArch::Micro(a) => a.fmt(f),
            TnbArch::Macro(a) => a.fmt(f),
        }
    }
}

impl TnbArch {
    /// The encoder's layers after the stem, as `(c_in, c_out, stride)`: each stage code is
    /// two layers (cells or blocks) — code 2 or 4 doubles the channels, 3 or 4 has stride 2 —
    /// starting from the stem's 64 channels (micro: the codes `41414`).
    pub fn layer_plan(&self) -> Vec<(usize, usize, usize)> {
        let codes: Vec<u8> = match self {
            TnbArch::Micro(_) => vec![4, 1, 4, 1, 4],
            TnbArch::Macro(m) => m.codes().to_vec(),
        };
        let mut plan = Vec::with_capacity(2 * codes.len());
        let mut c = 64;
        for code in codes {
            let c_out = if code % 2 == 0 { 2 * c } else { c };
            let stride = if code > 2 { 2 } else { 1 };
            plan.push((c, c_out, stride));
            plan.push((c_out, c_out, 1));
            c = c_out;
        }
        plan
    }

    /// Stride-2 layers of the encoder after the stem (micro: 3; macro: codes 3 and 4).
    pub fn reductions(&self) -> usize {
        match self {
            TnbArch::Micro(_) => 3,
            TnbArch::Macro(m) => m.codes().iter().filter(|&&c| c > 2).count(),
        }
    }
}

/// What a network is built for: the task (its decoder).
#[derive(Debug, Clone, Copy)]
pub struct TnbConfig {
    pub task: TnbTask,
}

/// The space's `ReLUConvBN`.
fn relu_conv_bn(b: &mut LayerBuilder, spec: ConvSpec) -> ReluConvBn {
    ReluConvBn { conv: b.conv_kaiming_fan_out(spec), bn: b.batch_norm(spec.c_out), containers: 0 }
}

/// `FactorizedReduce(C_in, C_out, 2, affine=True)` with the encoder's kaiming fan-out convs.
fn factorized_reduce(b: &mut LayerBuilder, c_in: usize, c_out: usize) -> FactorizedReduce {
    let [s1, s2] = FactorizedReduce::conv_specs(c_in, c_out);
    FactorizedReduce { conv_1: b.conv_kaiming_fan_out(s1), conv_2: b.conv_kaiming_fan_out(s2), bn: Norm::Affine(b.batch_norm(c_out)) }
}

/// One edge of a micro cell.
#[derive(Module, Debug)]
struct MicroEdge {
    conv: Option<ReluConvBn>,
    reduce: Option<FactorizedReduce>,
    #[module(skip)]
    op: MicroOp,
    #[module(skip)]
    stride: usize,
    #[module(skip)]
    c_out: usize,
}

impl MicroEdge {
    fn new(b: &mut LayerBuilder, op: MicroOp, c_in: usize, c_out: usize, stride: usize) -> Self {
        let same = stride == 1 && c_in == c_out;
        let (conv, reduce) = match op {
            MicroOp::Conv1x1 => (Some(relu_conv_bn(b, ConvSpec::new(c_in, c_out, 1).stride(stride))), None),
            MicroOp::Conv3x3 => (Some(relu_conv_bn(b, ConvSpec::new(c_in, c_out, 3).stride(stride))), None),
            MicroOp::Skip if !same => (None, Some(factorized_reduce(b, c_in, c_out))),
            MicroOp::Skip | MicroOp::Zero => (None, None),
        };
        Self { conv, reduce, op, stride, c_out }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        if let Some(conv) = &self.conv {
            return conv.forward(x, ctx);
        }
        if let Some(reduce) = &self.reduce {
            return reduce.forward(x, ctx);
        }
        match self.op {
            MicroOp::Skip => x,
            _ => {
                let [n, c, h, w] = x.dims();
                if self.stride == 1 && c == self.c_out {
                    x.mul_scalar(0.0)
                } else {
                    let s = self.stride;
                    Tensor::zeros([n, self.c_out, h.div_ceil(s), w.div_ceil(s)], (&x.device(), x.dtype()))
                }
            }
        }
    }
}

/// A micro cell: node 1 = a(n0), node 2 = b(n0) + c(n1), node 3 = d(n0) + e(n1) + f(n2) (the
/// output). Edges leaving node 0 carry the cell's stride and channel change.
#[derive(Module, Debug)]
struct MicroCell {
    edges: Vec<MicroEdge>,
}

impl MicroCell {
    fn new(b: &mut LayerBuilder, arch: &MicroArch, c_in: usize, c_out: usize, stride: usize) -> Self {
        let edges = arch
            .0
            .iter()
            .zip(MICRO_EDGES)
            .map(|(&op, (from, _))| if from == 0 { MicroEdge::new(b, op, c_in, c_out, stride) } else { MicroEdge::new(b, op, c_out, c_out, 1) })
            .collect();
        Self { edges }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let out = cell_dag(x, &MICRO_EDGES, |e, x| self.edges[e].forward(x, ctx));
        ctx.module_output(&out);
        out
    }
}

/// `ResNetBasicblock(inplanes, planes, stride)`: ReLU-conv3×3-BN twice, plus the input (a
/// 1×1 conv + BN of it when the shape changes); no ReLU after the sum.
#[derive(Module, Debug)]
struct BasicBlock {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    down_conv: Option<Conv>,
    down_bn: Option<BatchNorm>,
}

impl BasicBlock {
    fn new(b: &mut LayerBuilder, c_in: usize, c_out: usize, stride: usize) -> Self {
        let conv_a = relu_conv_bn(b, ConvSpec::new(c_in, c_out, 3).stride(stride));
        let conv_b = relu_conv_bn(b, ConvSpec::new(c_out, c_out, 3));
        let (down_conv, down_bn) = if stride != 1 || c_in != c_out {
            (Some(b.conv_kaiming_fan_out(ConvSpec::new(c_in, c_out, 1).stride(stride))), Some(b.batch_norm(c_out)))
        } else {
            (None, None)
        };
        Self { conv_a, conv_b, down_conv, down_bn }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let feat = self.conv_a.forward(x.clone(), ctx);
        let feat = self.conv_b.forward(feat, ctx);
        let res = match (&self.down_conv, &self.down_bn) {
            (Some(conv), Some(bn)) => {
                let r = conv.forward(x, ctx);
                bn.forward(r, ctx)
            }
            _ => x,
        };
        let out = res.add(feat);
        ctx.module_output(&out);
        out
    }
}

#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per network
enum Layer {
    Cell(MicroCell),
    Block(BasicBlock),
}

/// The encoder: stem, then cells or residual blocks.
#[derive(Module, Debug)]
struct Encoder {
    stem_conv: Conv,
    stem_bn: BatchNorm,
    stem_2: ReluConvBn,
    layers: Vec<Layer>,
}

impl Encoder {
    /// The encoder and its output channels.
    fn new(b: &mut LayerBuilder, arch: &TnbArch) -> (Self, usize) {
        let stem_conv = b.conv_kaiming_fan_out(ConvSpec::new(3, 32, 3).stride(2));
        let stem_bn = b.batch_norm(32);
        let stem_2 = relu_conv_bn(b, ConvSpec::new(32, 64, 3).stride(2));
        let plan = arch.layer_plan();
        let c = plan.last().map_or(64, |&(_, c_out, _)| c_out);
        let layers = plan
            .into_iter()
            .map(|(c_in, c_out, s)| match arch {
                TnbArch::Micro(m) => Layer::Cell(MicroCell::new(b, m, c_in, c_out, s)),
                TnbArch::Macro(_) => Layer::Block(BasicBlock::new(b, c_in, c_out, s)),
            })
            .collect();
        (Self { stem_conv, stem_bn, stem_2, layers }, c)
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = self.stem_conv.forward(x, ctx);
        let x = self.stem_bn.forward(x, ctx);
        let mut x = self.stem_2.forward(x, ctx);
        // Blocks (AZ-NAS): the stem, then each cell or residual block of the encoder (the
        // decoders are not blocks).
        ctx.block_output(&x);
        for layer in &self.layers {
            x = ctx.block_input(x);
            x = match layer {
                Layer::Cell(cell) => cell.forward(x, ctx),
                Layer::Block(block) => block.forward(x, ctx),
            };
            ctx.block_output(&x);
            // SWAP's count is final: the rest of the pass is not needed.
            if ctx.patterns_complete() {
                break;
            }
        }
        x
    }
}

/// The decoders' `nn.LeakyReLU(0.2)` ([`ForwardCtx::leaky_relu`]).
fn leaky(x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
    ctx.leaky_relu(x, 0.2)
}

/// `ConvLayer` (conv3×3 with bias, BN, LeakyReLU 0.2) or `DeconvLayer` (transposed conv3×3,
/// stride 2, output padding 1, with bias; BN; LeakyReLU 0.2).
#[derive(Module, Debug)]
struct DecoderLayer {
    conv: Option<Conv>,
    deconv: Option<ConvTranspose>,
    bn: BatchNorm,
}

impl DecoderLayer {
    fn new(b: &mut LayerBuilder, c_in: usize, c_out: usize, up: bool) -> Self {
        let (conv, deconv) = if up {
            (None, Some(b.conv_transpose(c_in, c_out, 3, 2, 1, 1)))
        } else {
            (Some(b.conv(ConvSpec { bias: true, ..ConvSpec::new(c_in, c_out, 3) })), None)
        };
        Self { conv, deconv, bn: b.batch_norm(c_out) }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = match (&self.conv, &self.deconv) {
            (Some(conv), _) => conv.forward(x, ctx),
            (None, Some(deconv)) => deconv.forward(x, ctx),
            (None, None) => unreachable!("a decoder layer has a conv or a deconv"),
        };
        let x = self.bn.forward(x, ctx);
        leaky(x, ctx)
    }
}

/// The dense decoders: the layers, then a conv3×3 with bias to the output channels (tanh for
/// the generative decoder).
#[derive(Module, Debug)]
struct DenseDecoder {
    layers: Vec<DecoderLayer>,
    out: Conv,
    #[module(skip)]
    tanh: bool,
}

impl DenseDecoder {
    /// `GenerativeDecoder`: with nu upsamplings, conv3 / conv5 / conv7 / conv9 are deconvs when
    /// nu ≥ 6 / 5 / 4 / 3; conv11 and conv13 always are.
    fn generative(b: &mut LayerBuilder, c: usize, nu: usize, outputs: usize) -> Self {
        let plan: [(usize, usize, bool); 13] = [
            (c, 1024, false),
            (1024, 1024, false),
            (1024, 512, nu >= 6),
            (512, 512, false),
            (512, 256, nu >= 5),
            (256, 128, false),
            (128, 64, nu >= 4),
            (64, 64, false),
            (64, 32, nu >= 3),
            (32, 32, false),
            (32, 16, true),
            (16, 32, false),
            (32, 16, true),
        ];
        let layers = plan.iter().map(|&(i, o, up)| DecoderLayer::new(b, i, o, up)).collect();
        let out = b.conv(ConvSpec { bias: true, ..ConvSpec::new(16, outputs, 3) });
        Self { layers, out, tanh: true }
    }

    /// `SegmentationDecoder`: conv to 1024, then six halvings of which the last nu are deconvs
    /// (channels 1024 → 512 → 256 → 128 → 64 → 32), a deconv 32 → 32, and the class conv.
    fn segmentation(b: &mut LayerBuilder, c: usize, nu: usize, outputs: usize) -> Self {
        let mut layers = vec![DecoderLayer::new(b, c, 1024, false)];
        let mut t = 1024;
        let convs = 6usize.saturating_sub(nu);
        for i in 0..5 {
            layers.push(DecoderLayer::new(b, t, t / 2, i >= convs));
            t /= 2;
        }
        layers.push(DecoderLayer::new(b, t, t, true));
        let out = b.conv(ConvSpec { bias: true, ..ConvSpec::new(t, outputs, 3) });
        Self { layers, out, tanh: false }
    }

    fn forward(&self, mut x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        for layer in &self.layers {
            x = layer.forward(x, ctx);
        }
        let y = self.out.forward(x, ctx);
        if self.tanh {
            let y = burn::tensor::activation::tanh(y);
            ctx.module_output(&y);
            y
        } else {
            y
        }
    }
}

#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per network
enum Head {
    /// GAP + linear (also the jigsaw head, over the 9 tiles' concatenated features).
    Linear(Linear),
    Dense(DenseDecoder),
}

/// A TransNAS-Bench-101 network for one architecture and task.
#[derive(Module, Debug)]
pub struct TnbNet {
    encoder: Encoder,
    head: Head,
    #[module(skip)]
    jigsaw: bool,
}

impl TnbNet {
    pub fn new(arch: &TnbArch, config: TnbConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let (encoder, c) = Encoder::new(b, arch);
        let outputs = options.num_classes;
        // Upsamplings: the official decoders take log2(256 / w) for the encoder's output width
        // w at a nominal 224 input, i.e. two more than the encoder's stride-2 layers.
        let nu = arch.reductions() + 2;
        let head = match config.task {
            TnbTask::ClassObject | TnbTask::ClassScene | TnbTask::RoomLayout => Head::Linear(b.linear(c, outputs)),
            TnbTask::Jigsaw => Head::Linear(b.linear(GRID * GRID * c, outputs)),
            TnbTask::SegmentSemantic => Head::Dense(DenseDecoder::segmentation(b, c, nu, outputs)),
            TnbTask::Normal | TnbTask::Autoencoder => Head::Dense(DenseDecoder::generative(b, c, nu, outputs)),
        };
        Self { encoder, head, jigsaw: config.task == TnbTask::Jigsaw }
    }

    /// The siamese pass: the 3×3 grid of tiles of `x`, each through the encoder (tensorwatch
    /// counts the shared encoder's FLOPs once), concatenated along channels in raster order.
    fn tiles(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let (th, tw) = (h / GRID, w / GRID);
        // FLOPs are counted once, and blocks recorded once (the first tile's pass: one chain of
        // features through the one encoder).
        let (counting, blocks) = (ctx.taps.flops, ctx.taps.blocks);
        let mut features = Vec::with_capacity(GRID * GRID);
        for i in 0..GRID * GRID {
            let (r, c) = (i / GRID, i % GRID);
            let tile = x.clone().slice(s![.., .., r * th..(r + 1) * th, c * tw..(c + 1) * tw]);
            let tile_features = self.encoder.forward(tile, ctx);
            ctx.taps.flops = false;
            ctx.taps.blocks = false;
            if ctx.patterns_complete() {
                // SWAP's count is final, and the encoder may have ended this tile's pass inside
                // (an inner block's features, another shape): they stand in for the unread output.
                ctx.taps.flops = counting;
                ctx.taps.blocks = blocks;
                return tile_features;
            }
            features.push(tile_features);
        }
        ctx.taps.flops = counting;
        ctx.taps.blocks = blocks;
        ctx.cat_channels(features)
    }
}

impl ModuleNetwork for TnbNet {
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let features = if self.jigsaw { self.tiles(x, ctx) } else { self.encoder.forward(x, ctx) };
        // SWAP's count is final (the encoder may have ended its pass early): the features,
        // perhaps an inner block's, stand in for the unread output.
        if ctx.patterns_complete() {
            return Output::Dense(features);
        }
        match &self.head {
            Head::Linear(linear) => Output::Flat(pool_and_classify(features, linear, ctx)),
            Head::Dense(decoder) => {
                ctx.pre_gap_features(&features);
                // A pass that reads nothing a decoder records ends here (the encoder's
                // features stand in for the unread output).
                if ctx.may_skip_decoder() {
                    return Output::Dense(features);
                }
                Output::Dense(decoder.forward(features, ctx))
            }
        }
    }
}

impl SpaceNetwork for TnbNet {
    type Arch = TnbArch;
    type Config = TnbConfig;

    fn build_for(arch: &TnbArch, config: TnbConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        Self::new(arch, config, options, init, device)
    }
}

/// Builds [`TnbNet`]s of one architecture.
pub type TnbBuilder = crate::nn::network::SpaceBuilder<TnbNet>;
