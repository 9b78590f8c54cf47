//! The DARTS network (`NetworkCIFAR` of the DARTS code, without the auxiliary head), as a burn
//! module, in the two configurations the benchmarks use:
//!
//! * [`DartsConfig::nb301`]: the network NASLib builds for NAS-Bench-301 and that Suite-Zero's
//!   `zc_nasbench301.json` scored (NASLib `NasBench301SearchSpace`): C = 32, 8 cells (reductions
//!   at cells 2 and 5), stem conv3×3(3→96) + BN; inside the cells every BN is
//!   `affine=False` and each pool is followed by a BN (`MaxPool`/`AvgPool` with `use_bn`).
//!   Its parameter count equals Suite-Zero's `params` for every arch of the file.
//! * [`DartsConfig::swap`]: the SWAP reference's `Network(C=3, num_classes=10, layers=1,
//!   genotype)` (pym1024/SWAP `src/search_space/networks.py`): no stem, a single cell, which
//!   is a reduction cell (`0 ∈ [1 // 3, 2 // 3]`), applied to the image; DARTS' original ops
//!   (affine BNs, bare pools). The reference's `forward` returns the pooled features and never
//!   runs the classifier; ours returns logits (the linear head sees the same features), and
//!   the classifier's parameters count, as they do in the reference's `count_parameters`.
//!
//! Both follow DARTS: a cell preprocesses its two inputs (ReLU-Conv1×1-BN, or
//! FactorizedReduce for the first input when the previous cell reduced), computes 4 nodes as
//! sums of two edge ops, and concatenates them; a reduction cell doubles the channels and
//! applies its ops with stride 2 to the two inputs. Edge ops: max / avg pool 3×3
//! (`count_include_pad=False`), skip (identity, or FactorizedReduce with stride 2), sep_conv
//! (ReLU-dwconv-conv1×1-BN twice), dil_conv (ReLU-dwconv dilation 2-conv1×1-BN), none (zero).
//!
//! FactorizedReduce takes the second half of its output from the input shifted by one pixel;
//! on an odd side the shifted input is zero-padded at the end (the SWAP reference's variant),
//! which is where DARTS' own version fails; on even sides both are the same.
//!
//! Forward taps: every ReLU goes through `ctx.relu`, convs/BNs/linear/pools through
//! [`crate::nn::layers`] (FLOPs as tensorwatch counts them; non-affine BN one op per element),
//! pre-GAP features are recorded. Module outputs are recorded for the leaf layers only.

use super::arch::{DartsArch, DartsCell, DartsOp, EDGES_PER_CELL};
use crate::nn::init::WeightInit;
use crate::nn::layers::{FactorizedReduce, Norm, ReluConvBn, avg_pool, max_pool, pool_and_classify, BatchNorm, Conv, ConvSpec, LayerBuilder, Linear, PlainBatchNorm};
use crate::nn::network::{BuildOptions, ForwardCtx, Output};
use burn::prelude::*;
use burn::tensor::s;

/// Macro-structure of a DARTS network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DartsConfig {
    /// C: channels of the first cells' nodes, doubled at each reduction cell.
    pub channels: usize,
    /// Number of cells; reduction cells at `layers / 3` and `2 * layers / 3`.
    pub layers: usize,
    /// A stem conv3×3 (3 → m·C) + BN with multiplier m, or no stem (cells see the image).
    pub stem_multiplier: Option<usize>,
    /// Whether the BNs inside edge ops are affine (DARTS, SWAP) or not (NASLib's NB301).
    pub affine_ops: bool,
    /// Whether pools are followed by a BN without affine parameters (NASLib's NB301).
    pub pool_bn: bool,
}

impl DartsConfig {
    /// NASLib's NAS-Bench-301 network, as Suite-Zero scored it.
    pub fn nb301() -> Self {
        Self { channels: 32, layers: 8, stem_multiplier: Some(3), affine_ops: false, pool_bn: true }
    }

    /// The SWAP reference's `Network(C=3, num_classes, layers=1, genotype)`.
    pub fn swap() -> Self {
        Self { channels: 3, layers: 1, stem_multiplier: None, affine_ops: true, pool_bn: false }
    }

    /// The DARTS paper's CIFAR-10 evaluation network (C = 36, 20 cells), without its auxiliary
    /// head.
    pub fn darts_eval() -> Self {
        Self { channels: 36, layers: 20, stem_multiplier: Some(3), affine_ops: true, pool_bn: false }
    }

    /// Whether cell `i` is a reduction cell.
    pub fn is_reduction(&self, i: usize) -> bool {
        i == self.layers / 3 || i == 2 * self.layers / 3
    }
}

/// FactorizedReduce with PyTorch-default convs, affine BN or not.
fn factorized_reduce(b: &mut LayerBuilder, c_in: usize, c_out: usize, affine: bool) -> FactorizedReduce {
    let [s1, s2] = FactorizedReduce::conv_specs(c_in, c_out);
    FactorizedReduce { conv_1: b.conv(s1), conv_2: b.conv(s2), bn: b.norm(c_out, affine) }
}

/// ReLU-Conv1×1-BN (preprocessing; always affine).
fn relu_conv_bn(b: &mut LayerBuilder, c_in: usize, c_out: usize) -> ReluConvBn {
    ReluConvBn { conv: b.conv(ConvSpec::new(c_in, c_out, 1)), bn: b.batch_norm(c_out), containers: 0 }
}

/// ReLU, depthwise k×k (stride s), 1×1, BN — twice (the second with stride 1).
#[derive(Module, Debug)]
struct SepConv {
    dw_1: Conv,
    pw_1: Conv,
    bn_1: Norm,
    dw_2: Conv,
    pw_2: Conv,
    bn_2: Norm,
}

impl SepConv {
    fn new(b: &mut LayerBuilder, c: usize, kernel: usize, stride: usize, affine: bool) -> Self {
        let dw = |stride| ConvSpec::new(c, c, kernel).stride(stride).padding(kernel / 2).groups(c);
        Self {
            dw_1: b.conv(dw(stride)),
            pw_1: b.conv(ConvSpec::new(c, c, 1)),
            bn_1: b.norm(c, affine),
            dw_2: b.conv(dw(1)),
            pw_2: b.conv(ConvSpec::new(c, c, 1)),
            bn_2: b.norm(c, affine),
        }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = ctx.relu(x);
        let x = self.dw_1.forward(x, ctx);
        let x = self.pw_1.forward(x, ctx);
        let x = self.bn_1.forward(x, ctx);
        let x = ctx.relu(x);
        let x = self.dw_2.forward(x, ctx);
        let x = self.pw_2.forward(x, ctx);
        self.bn_2.forward(x, ctx)
    }
}

/// ReLU, depthwise k×k with dilation 2 (stride s), 1×1, BN.
#[derive(Module, Debug)]
struct DilConv {
    dw: Conv,
    pw: Conv,
    bn: Norm,
}

impl DilConv {
    fn new(b: &mut LayerBuilder, c: usize, kernel: usize, stride: usize, affine: bool) -> Self {
        let spec = ConvSpec::new(c, c, kernel).stride(stride).padding(kernel - 1).dilation(2).groups(c);
        Self { dw: b.conv(spec), pw: b.conv(ConvSpec::new(c, c, 1)), bn: b.norm(c, affine) }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = ctx.relu(x);
        let x = self.dw.forward(x, ctx);
        let x = self.pw.forward(x, ctx);
        self.bn.forward(x, ctx)
    }
}

/// Max or average pool 3×3 (padding 1), optionally followed by a non-affine BN.
#[derive(Module, Debug)]
struct Pool {
    bn: Option<PlainBatchNorm>,
    #[module(skip)]
    max: bool,
    #[module(skip)]
    stride: usize,
}

impl Pool {
    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let y = if self.max { max_pool(x, 3, self.stride, 1, ctx) } else { avg_pool(x, 3, self.stride, 1, false, ctx) };
        match &self.bn {
            Some(bn) => bn.forward(y, ctx),
            None => y,
        }
    }
}

/// The ops without parameters: identity (stride 1 skip) and zero.
#[derive(Module, Debug)]
struct Parameterless {
    #[module(skip)]
    zero: bool,
    #[module(skip)]
    stride: usize,
}

impl Parameterless {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match (self.zero, self.stride) {
            (false, _) => x,
            (true, 1) => x.mul_scalar(0.0),
            (true, _) => x.slice(s![.., .., ..;2, ..;2]).mul_scalar(0.0),
        }
    }
}

#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
enum EdgeOp {
    Pool(Pool),
    Reduce(FactorizedReduce),
    Sep(SepConv),
    Dil(DilConv),
    Parameterless(Parameterless),
}

impl EdgeOp {
    fn new(b: &mut LayerBuilder, op: DartsOp, c: usize, stride: usize, config: &DartsConfig) -> Self {
        let affine = config.affine_ops;
        match op {
            DartsOp::None => EdgeOp::Parameterless(Parameterless { zero: true, stride }),
            DartsOp::SkipConnect if stride == 1 => EdgeOp::Parameterless(Parameterless { zero: false, stride }),
            DartsOp::SkipConnect => EdgeOp::Reduce(factorized_reduce(b, c, c, affine)),
            DartsOp::MaxPool3x3 | DartsOp::AvgPool3x3 => {
                EdgeOp::Pool(Pool { bn: config.pool_bn.then(|| b.batch_norm_plain(c)), max: op == DartsOp::MaxPool3x3, stride })
            }
            DartsOp::SepConv3x3 => EdgeOp::Sep(SepConv::new(b, c, 3, stride, affine)),
            DartsOp::SepConv5x5 => EdgeOp::Sep(SepConv::new(b, c, 5, stride, affine)),
            DartsOp::DilConv3x3 => EdgeOp::Dil(DilConv::new(b, c, 3, stride, affine)),
            DartsOp::DilConv5x5 => EdgeOp::Dil(DilConv::new(b, c, 5, stride, affine)),
        }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        match self {
            EdgeOp::Pool(p) => p.forward(x, ctx),
            EdgeOp::Reduce(r) => r.forward(x, ctx),
            EdgeOp::Sep(s) => s.forward(x, ctx),
            EdgeOp::Dil(d) => d.forward(x, ctx),
            EdgeOp::Parameterless(p) => p.forward(x),
        }
    }
}

/// The first input's preprocessing.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
enum Preprocess {
    Conv(ReluConvBn),
    Reduce(FactorizedReduce),
}

#[derive(Module, Debug)]
struct Cell {
    pre_0: Preprocess,
    pre_1: ReluConvBn,
    /// One per edge, in genotype order.
    edges: Vec<EdgeOp>,
    /// The state each edge reads.
    #[module(skip)]
    inputs: Vec<usize>,
}

impl Cell {
    #[allow(clippy::too_many_arguments)]
    fn new(
        b: &mut LayerBuilder,
        genotype: &DartsCell,
        c_prev_prev: usize,
        c_prev: usize,
        c: usize,
        reduction: bool,
        reduction_prev: bool,
        config: &DartsConfig,
    ) -> Self {
        let pre_0 = if reduction_prev {
            Preprocess::Reduce(factorized_reduce(b, c_prev_prev, c, true))
        } else {
            Preprocess::Conv(relu_conv_bn(b, c_prev_prev, c))
        };
        let pre_1 = relu_conv_bn(b, c_prev, c);
        let edges = genotype
            .0
            .iter()
            .map(|&(op, input)| {
                let stride = if reduction && input < 2 { 2 } else { 1 };
                EdgeOp::new(b, op, c, stride, config)
            })
            .collect();
        Self { pre_0, pre_1, edges, inputs: genotype.0.iter().map(|&(_, i)| i).collect() }
    }

    fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let s0 = match &self.pre_0 {
            Preprocess::Conv(p) => p.forward(s0, ctx),
            Preprocess::Reduce(p) => p.forward(s0, ctx),
        };
        let s1 = self.pre_1.forward(s1, ctx);
        let mut states = vec![s0, s1];
        for node in 0..EDGES_PER_CELL / 2 {
            let (a, b) = (2 * node, 2 * node + 1);
            let h1 = self.edges[a].forward(states[self.inputs[a]].clone(), ctx);
            let h2 = self.edges[b].forward(states[self.inputs[b]].clone(), ctx);
            states.push(h1.add(h2));
        }
        let out = ctx.cat_channels(states.split_off(2));
        ctx.module_output(&out);
        out
    }
}

#[derive(Module, Debug)]
struct Stem {
    conv: Conv,
    bn: BatchNorm,
}

/// A DARTS network for one architecture.
#[derive(Module, Debug)]
pub struct DartsNet {
    stem: Option<Stem>,
    cells: Vec<Cell>,
    classifier: Linear,
}

impl DartsNet {
    pub fn new(arch: &DartsArch, config: DartsConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let c = config.channels;
        let (stem, c_stem) = match config.stem_multiplier {
            Some(m) => (Some(Stem { conv: b.conv(ConvSpec::new(3, m * c, 3)), bn: b.batch_norm(m * c) }), m * c),
            None => (None, 3),
        };
        let (mut c_prev_prev, mut c_prev, mut c_cur) = (c_stem, c_stem, c);
        let mut reduction_prev = false;
        let mut cells = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let reduction = config.is_reduction(i);
            if reduction {
                c_cur *= 2;
            }
            let genotype = if reduction { &arch.reduce } else { &arch.normal };
            cells.push(Cell::new(b, genotype, c_prev_prev, c_prev, c_cur, reduction, reduction_prev, &config));
            reduction_prev = reduction;
            (c_prev_prev, c_prev) = (c_prev, 4 * c_cur);
        }
        let classifier = b.linear(c_prev, options.num_classes);
        Self { stem, cells, classifier }
    }
}

impl crate::nn::network::ModuleNetwork for DartsNet {
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let x = match &self.stem {
            Some(stem) => {
                let x = stem.conv.forward(x, ctx);
                stem.bn.forward(x, ctx)
            }
            None => x,
        };
        ctx.block_output(&x);
        let (mut s0, mut s1) = (x.clone(), x);
        for cell in &self.cells {
            // Blocks (AZ-NAS): a cell's input is its predecessor's output; the skip input from
            // two cells back is cut from the graph.
            let (c0, c1) = (ctx.block_side_input(s0), ctx.block_input(s1.clone()));
            let out = cell.forward(c0, c1, ctx);
            ctx.block_output(&out);
            // SWAP's count is final: the rest of the pass is not needed (its output is unread).
            if ctx.patterns_complete() {
                return Output::Dense(out);
            }
            (s0, s1) = (s1, out);
        }
        Output::Flat(pool_and_classify(s1, &self.classifier, ctx))
    }
}

impl crate::nn::network::SpaceNetwork for DartsNet {
    type Arch = DartsArch;
    type Config = DartsConfig;

    fn build_for(arch: &DartsArch, config: DartsConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        Self::new(arch, config, options, init, device)
    }
}

/// Builds [`DartsNet`]s of one architecture.
pub type DartsBuilder = crate::nn::network::SpaceBuilder<DartsNet>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::network::{BnMode, Network, Taps};
    use crate::InitScheme;

    fn arch() -> DartsArch {
        // Every op, including none and both skips (stride 1 and 2).
        "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
         ('avg_pool_3x3', 1), ('none', 3), ('sep_conv_5x5', 4), ('dil_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], \
         reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('none', 1), ('sep_conv_5x5', 2), \
         ('dil_conv_3x3', 3), ('skip_connect', 2), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
            .parse()
            .unwrap()
    }

    fn small() -> DartsConfig {
        DartsConfig { channels: 4, layers: 3, stem_multiplier: Some(3), affine_ops: false, pool_bn: true }
    }

    #[test]
    fn forward_shapes_taps_and_odd_sides() {
        let device = Device::flex();
        for (config, side) in [(small(), 8), (small(), 7), (DartsConfig::swap(), 9)] {
            let mut init = WeightInit::new(InitScheme::Gaussian, 1);
            let net = DartsNet::new(&arch(), config, &BuildOptions::new(10), &mut init, &device);
            let record = Taps { relu: true, pre_gap: true, bn_variance: true, ..Taps::default() };
            let mut ctx = ForwardCtx::new(BnMode::Batch, record);
            let x = Tensor::<4>::random([2, 3, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let y = net.forward(x, &mut ctx).flat();
            assert_eq!(y.dims(), [2, 10]);
            assert!(!ctx.relu.is_empty() && !ctx.bn_variances.is_empty());
            let pre = ctx.pre_gap.unwrap();
            assert_eq!(pre.dims()[1], 4 * config.channels * if config.layers == 1 { 2 } else { 4 });
        }
    }

    #[test]
    fn swap_network_is_one_reduction_cell_on_the_image() {
        let device = Device::flex();
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        let net = DartsNet::new(&arch(), DartsConfig::swap(), &BuildOptions::new(10), &mut init, &device);
        assert_eq!(net.cells.len(), 1);
        assert!(net.stem.is_none());
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, pre_gap: true, ..Taps::default() });
        let _ = net.forward(Tensor::zeros([2, 3, 32, 32], &device), &mut ctx).flat();
        // Both preprocessing ReLUs see the raw image (3 × 32 × 32), as in the reference.
        assert_eq!(ctx.relu[0].dims(), [2, 3, 32, 32]);
        assert_eq!(ctx.relu[1].dims(), [2, 3, 32, 32]);
        assert_eq!(ctx.pre_gap.unwrap().dims(), [2, 24, 16, 16]);
    }

    /// DARTS (second order) as its paper trained it: 3.349342 M parameters without the
    /// auxiliary head (`param size = 3.349342MB` in the DARTS evaluation log).
    #[test]
    fn darts_v2_eval_network_has_the_published_size() {
        let g: DartsArch = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], \
            normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), \
            ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], \
            reduce_concat=[2, 3, 4, 5])"
            .parse()
            .unwrap();
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        let net = DartsNet::new(&g, DartsConfig::darts_eval(), &BuildOptions::new(10), &mut init, &Device::flex());
        assert_eq!(net.parameter_count(), 3_349_342);
    }

    #[test]
    fn weights_follow_module_order() {
        let device = Device::flex();
        let mut init = WeightInit::new(InitScheme::PytorchDefault, 3);
        let net = DartsNet::new(&arch(), small(), &BuildOptions::new(10), &mut init, &device);
        let mapped = net.map_params(&mut |_, v| v).unwrap();
        assert_eq!(mapped.parameter_count(), net.parameter_count());
        let x = Tensor::<4>::ones([2, 3, 8, 8], &device);
        let mut c1 = ForwardCtx::new(BnMode::Batch, Taps::default());
        let mut c2 = ForwardCtx::new(BnMode::Batch, Taps::default());
        let a: Vec<f32> = net.forward(x.clone(), &mut c1).flat().into_data().try_into_vec::<f32>().unwrap();
        let b: Vec<f32> = mapped.forward(x, &mut c2).flat().into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(a, b);
    }
}
