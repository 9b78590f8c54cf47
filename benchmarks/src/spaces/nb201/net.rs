//! The NAS-Bench-201 network (xautodl `TinyNetwork` with `InferCell`s), as a burn module.
//!
//! stem conv3×3(3→C) + BN; three stages of N cells at C, 2C, 4C channels, joined by ResNet
//! basic blocks with stride 2; BN + ReLU + global average pool + linear head. Each cell is a
//! 4-node DAG whose six edges carry none / skip / ReLU-Conv1×1-BN / ReLU-Conv3×3-BN /
//! avg_pool3×3 (count_include_pad = False). Convs have no bias; every BN is affine.
//!
//! With `Taps::module_outputs` the network records what forward hooks on every `nn.Module`
//! of zero-cost-nas' NB201 model (`nasbench2.py`, used by MeCo) see: besides the leaf layers,
//! the stem and ReLUConvBN wrappers (twice each: `Sequential` and wrapper, repeating the BN's
//! output), identity, zero and pooling edges, each cell, each stage's `Sequential` (repeating
//! its last cell), the residual `Sequential` and output of each reduction block, and the head's
//! BN+ReLU `Sequential`. 2-D outputs (GAP, linear, the whole net) are not recorded.

use super::arch::{Nb201Arch, Nb201Op, EDGES};
use crate::nn::init::WeightInit;
use crate::nn::layers::{ReluConvBn, avg_pool, cell_dag, pool_and_classify, BatchNorm, Conv, ConvSpec, LayerBuilder, Linear};
use crate::nn::network::{BuildOptions, ForwardCtx, Output};
use burn::prelude::*;

/// Macro-structure of the network. The benchmark's is C = 16, N = 5.
#[derive(Debug, Clone, Copy)]
pub struct Nb201Config {
    pub channels: usize,
    pub cells_per_stage: usize,
}

impl Default for Nb201Config {
    fn default() -> Self {
        Self { channels: 16, cells_per_stage: 5 }
    }
}

/// The space's `ReLUConvBN`.
fn relu_conv_bn(b: &mut LayerBuilder, spec: ConvSpec) -> ReluConvBn {
    ReluConvBn { conv: b.conv(spec), bn: b.batch_norm(spec.c_out), containers: 2 }
}

#[derive(Module, Debug)]
struct Edge {
    conv: Option<ReluConvBn>,
    #[module(skip)]
    op: Nb201Op,
}

impl Edge {
    fn new(b: &mut LayerBuilder, op: Nb201Op, c: usize) -> Self {
        let conv = match op {
            Nb201Op::Conv3x3 => Some(relu_conv_bn(b, ConvSpec::new(c, c, 3))),
            Nb201Op::Conv1x1 => Some(relu_conv_bn(b, ConvSpec::new(c, c, 1))),
            Nb201Op::Skip | Nb201Op::None | Nb201Op::AvgPool3x3 => None,
        };
        Self { conv, op }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let y = match (&self.conv, self.op) {
            (Some(conv), _) => return conv.forward(x, ctx),
            (None, Nb201Op::Skip) => x,
            (None, Nb201Op::None) => x.mul_scalar(0.0),
            (None, Nb201Op::AvgPool3x3) => avg_pool(x, 3, 1, 1, false, ctx),
            (None, op) => unreachable!("{op:?} is built with a conv"),
        };
        // The Identity / Zero module, or the POOLING wrapper around the pool.
        ctx.module_output(&y);
        y
    }
}

#[derive(Module, Debug)]
struct Cell {
    /// One per edge, in the reference's registration order (`InferCell`: by target node,
    /// 0→1, 0→2, 1→2, 0→3, 1→3, 2→3 — the arch string's order and the order they run in), so
    /// that the network's parameters come in `named_parameters()` order (VKDNW takes the
    /// first 128). Built in [`EDGES`] order, the order the weight stream has always drawn them.
    edges: Vec<Edge>,
}

/// For each stored edge, its index in [`EDGES`].
const REGISTRATION_ORDER: [usize; 6] = [0, 1, 3, 2, 4, 5];

impl Cell {
    fn new(b: &mut LayerBuilder, arch: &Nb201Arch, c: usize) -> Self {
        let mut built: Vec<Option<Edge>> = arch.0.iter().map(|&op| Some(Edge::new(b, op, c))).collect();
        let edges = REGISTRATION_ORDER.iter().filter_map(|&e| built[e].take()).collect();
        Self { edges }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        // EDGES numbers the cell input 1.
        let edges = REGISTRATION_ORDER.map(|e| (EDGES[e].0 - 1, EDGES[e].1 - 1));
        let out = cell_dag(x, &edges, |e, x| self.edges[e].forward(x, ctx));
        ctx.module_output(&out);
        out
    }
}

/// xautodl `ResNetBasicblock(C_in, C_out, stride=2)`.
#[derive(Module, Debug)]
struct Reduction {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    shortcut: Conv,
}

impl Reduction {
    fn new(b: &mut LayerBuilder, c_in: usize, c_out: usize) -> Self {
        Self {
            conv_a: relu_conv_bn(b, ConvSpec::new(c_in, c_out, 3).stride(2)),
            conv_b: relu_conv_bn(b, ConvSpec::new(c_out, c_out, 3)),
            shortcut: b.conv(ConvSpec::new(c_in, c_out, 1)),
        }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let residual = avg_pool(x.clone(), 2, 2, 0, true, ctx);
        let residual = self.shortcut.forward(residual, ctx);
        ctx.module_output(&residual); // the residual Sequential(pool, conv)
        let y = self.conv_a.forward(x, ctx);
        let y = self.conv_b.forward(y, ctx);
        let out = residual.add(y);
        ctx.module_output(&out);
        out
    }
}

#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per network
enum Block {
    Cell(Cell),
    Reduction(Reduction),
}

/// A NAS-Bench-201 network for one architecture.
#[derive(Module, Debug)]
pub struct Nb201Net {
    stem_conv: Conv,
    stem_bn: BatchNorm,
    blocks: Vec<Block>,
    last_bn: BatchNorm,
    classifier: Linear,
}

impl Nb201Net {
    pub fn new(arch: &Nb201Arch, config: Nb201Config, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let c = config.channels;
        let stem_conv = b.conv(ConvSpec::new(3, c, 3));
        let stem_bn = b.batch_norm(c);
        let mut blocks = Vec::new();
        let mut c_prev = c;
        for stage in 0..3 {
            let c_stage = c << stage;
            if stage > 0 {
                blocks.push(Block::Reduction(Reduction::new(b, c_prev, c_stage)));
            }
            for _ in 0..config.cells_per_stage {
                blocks.push(Block::Cell(Cell::new(b, arch, c_stage)));
            }
            c_prev = c_stage;
        }
        let last_bn = b.batch_norm(c_prev);
        let classifier = b.linear(c_prev, options.num_classes);
        Self { stem_conv, stem_bn, blocks, last_bn, classifier }
    }
}

impl crate::nn::network::ModuleNetwork for Nb201Net {
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let x = self.stem_conv.forward(x, ctx);
        let mut x = self.stem_bn.forward(x, ctx);
        // The stem's Sequential and the stem module.
        ctx.module_output(&x);
        ctx.module_output(&x);
        ctx.block_output(&x);
        for (i, block) in self.blocks.iter().enumerate() {
            x = ctx.block_input(x);
            x = match block {
                Block::Cell(cell) => cell.forward(x, ctx),
                Block::Reduction(red) => red.forward(x, ctx),
            };
            ctx.block_output(&x);
            // SWAP's count is final: the rest of the pass is not needed (its output is unread).
            if ctx.patterns_complete() {
                return Output::Dense(x);
            }
            let stage_ends = matches!(block, Block::Cell(_)) && !matches!(self.blocks.get(i + 1), Some(Block::Cell(_)));
            if stage_ends {
                ctx.module_output(&x); // the stage's Sequential of cells
            }
        }
        let x = self.last_bn.forward(x, ctx);
        let x = ctx.relu(x);
        ctx.module_output(&x); // the head's Sequential(BN, ReLU)
        Output::Flat(pool_and_classify(x, &self.classifier, ctx))
    }
}

impl crate::nn::network::SpaceNetwork for Nb201Net {
    type Arch = Nb201Arch;
    type Config = Nb201Config;

    fn build_for(arch: &Nb201Arch, config: Nb201Config, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        Self::new(arch, config, options, init, device)
    }
}

/// Builds [`Nb201Net`]s of one architecture.
pub type Nb201Builder = crate::nn::network::SpaceBuilder<Nb201Net>;
