//! The NAS-Bench-101 network (`nasbench`'s `model_builder.py`, as NASLib runs it through
//! `nasbench_pytorch`), as a burn module.
//!
//! Stem conv3×3(3→128)-BN-ReLU; 3 stacks of 3 cells, a 2×2 max pool (stride 2) before stacks
//! 2 and 3 with the channels doubling (128, 256, 512); mean over the spatial dimensions; a
//! linear head. In a cell (pruned first), every vertex sums its inputs — interior
//! predecessors truncated to its channel count, and a 1×1 ConvBnReLU projection of the cell
//! input if the input feeds it — and applies its op (conv1×1/conv3×3-BN-ReLU, or a 3×3 max
//! pool, stride 1); the output concatenates the vertices that feed it, plus the projected cell
//! input if the input feeds the output too. Channels per vertex: `compute_vertex_channels`.
//! Convs have no bias; BNs are affine. The parameter count equals Suite-Zero's `params` for
//! every arch of `zc_nasbench101.json`.
//!
//! FLOPs as tensorwatch counts `nn.Module`s: the final mean is a tensor op, not a module, so it
//! costs nothing (unlike NB201/DARTS' `AdaptiveAvgPool2d`). Module outputs are recorded for
//! the leaf layers only.

use super::arch::{Nb101Arch, Nb101Op, Nb101Spec};
use crate::nn::init::WeightInit;
use crate::nn::layers::{max_pool, BatchNorm, Conv, ConvSpec, LayerBuilder, Linear};
use crate::nn::network::{BuildOptions, ForwardCtx, Output};
use burn::prelude::*;

/// Macro-structure of the network. The benchmark's: 128 stem channels, 3 stacks of 3 cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nb101Config {
    pub stem_channels: usize,
    pub stacks: usize,
    pub cells_per_stack: usize,
}

impl Default for Nb101Config {
    fn default() -> Self {
        Self { stem_channels: 128, stacks: 3, cells_per_stack: 3 }
    }
}

#[derive(Module, Debug)]
struct ConvBnRelu {
    conv: Conv,
    bn: BatchNorm,
}

impl ConvBnRelu {
    fn new(b: &mut LayerBuilder, c_in: usize, c_out: usize, kernel: usize) -> Self {
        Self { conv: b.conv(ConvSpec::new(c_in, c_out, kernel)), bn: b.batch_norm(c_out) }
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let x = self.conv.forward(x, ctx);
        let x = self.bn.forward(x, ctx);
        ctx.relu(x)
    }
}

#[derive(Module, Debug)]
struct Cell {
    /// The op of interior vertex `t` at `t - 1`; `None` for a max pool.
    vertex_ops: Vec<Option<ConvBnRelu>>,
    /// The projection of the cell input into vertex `t` (1..n) at `t - 1`, if the input feeds it.
    projections: Vec<Option<ConvBnRelu>>,
    #[module(skip)]
    matrix: Vec<Vec<bool>>,
    #[module(skip)]
    channels: Vec<usize>,
}

impl Cell {
    fn new(b: &mut LayerBuilder, spec: &Nb101Spec, c_in: usize, c_out: usize) -> Self {
        let n = spec.num_vertices();
        let channels = spec.vertex_channels(c_in, c_out);
        let vertex_ops = (1..n - 1)
            .map(|t| {
                let c = channels[t];
                match spec.ops[t] {
                    Nb101Op::Conv1x1 => Some(ConvBnRelu::new(b, c, c, 1)),
                    Nb101Op::Conv3x3 => Some(ConvBnRelu::new(b, c, c, 3)),
                    _ => None,
                }
            })
            .collect();
        let projections = (1..n).map(|t| spec.matrix[0][t].then(|| ConvBnRelu::new(b, c_in, channels[t], 1))).collect();
        Self { vertex_ops, projections, matrix: spec.matrix.clone(), channels }
    }

    fn project(&self, t: usize, x: &Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let p = self.projections[t - 1].as_ref().expect("the input feeds vertex t");
        p.forward(x.clone(), ctx)
    }

    fn forward(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
        let n = self.channels.len();
        let mut tensors: Vec<Tensor<4>> = vec![x.clone()];
        let mut out_concat = Vec::new();
        for t in 1..n - 1 {
            let c = self.channels[t];
            let mut fan_in: Vec<Tensor<4>> = (1..t)
                .filter(|&src| self.matrix[src][t])
                .map(|src| {
                    let v = tensors[src].clone();
                    if v.dims()[1] / ctx.stack > c {
                        ctx.slice_channels(v, 0..c)
                    } else {
                        v
                    }
                })
                .collect();
            if self.matrix[0][t] {
                fan_in.push(self.project(t, &x, ctx));
            }
            let sum = fan_in.into_iter().reduce(|a, b| a.add(b)).expect("a pruned vertex has an input");
            let value = match &self.vertex_ops[t - 1] {
                Some(op) => op.forward(sum, ctx),
                None => max_pool(sum, 3, 1, 1, ctx),
            };
            if self.matrix[t][n - 1] {
                out_concat.push(value.clone());
            }
            tensors.push(value);
        }
        let out = if out_concat.is_empty() {
            self.project(n - 1, &x, ctx)
        } else {
            let cat = if out_concat.len() == 1 { out_concat.remove(0) } else { ctx.cat_channels(out_concat) };
            if self.matrix[0][n - 1] {
                cat.add(self.project(n - 1, &x, ctx))
            } else {
                cat
            }
        };
        ctx.module_output(&out);
        out
    }
}

#[derive(Module, Debug)]
struct Stack {
    cells: Vec<Cell>,
}

/// A NAS-Bench-101 network for one architecture.
#[derive(Module, Debug)]
pub struct Nb101Net {
    stem: ConvBnRelu,
    /// Stack `i > 0` starts with a 2×2 max pool.
    stacks: Vec<Stack>,
    classifier: Linear,
}

impl Nb101Net {
    pub fn new(arch: &Nb101Arch, config: Nb101Config, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let spec = arch.pruned();
        let mut c_in = config.stem_channels;
        let mut c_out = config.stem_channels;
        let stem = ConvBnRelu::new(b, 3, c_out, 3);
        let mut stacks = Vec::with_capacity(config.stacks);
        for s in 0..config.stacks {
            if s > 0 {
                c_out *= 2;
            }
            let mut cells = Vec::with_capacity(config.cells_per_stack);
            for _ in 0..config.cells_per_stack {
                cells.push(Cell::new(b, &spec, c_in, c_out));
                c_in = c_out;
            }
            stacks.push(Stack { cells });
        }
        let classifier = b.linear(c_out, options.num_classes);
        Self { stem, stacks, classifier }
    }
}

impl crate::nn::network::ModuleNetwork for Nb101Net {
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let mut x = self.stem.forward(x, ctx);
        ctx.block_output(&x);
        for (i, stack) in self.stacks.iter().enumerate() {
            for (j, cell) in stack.cells.iter().enumerate() {
                // Blocks (AZ-NAS): the cells, a stack's down-sampling max pool counted in its
                // first cell, so that each block maps one recorded feature to the next.
                x = ctx.block_input(x);
                if i > 0 && j == 0 {
                    x = max_pool(x, 2, 2, 0, ctx);
                }
                x = cell.forward(x, ctx);
                ctx.block_output(&x);
                // SWAP's count is final: the rest of the pass is not needed (its output is unread).
                if ctx.patterns_complete() {
                    return Output::Dense(x);
                }
            }
        }
        ctx.pre_gap_features(&x);
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([n, c]);
        Output::Flat(self.classifier.forward(pooled, ctx))
    }
}

impl crate::nn::network::SpaceNetwork for Nb101Net {
    type Arch = Nb101Arch;
    type Config = Nb101Config;

    fn build_for(arch: &Nb101Arch, config: Nb101Config, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        Self::new(arch, config, options, init, device)
    }
}

/// Builds [`Nb101Net`]s of one architecture.
pub type Nb101Builder = crate::nn::network::SpaceBuilder<Nb101Net>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::network::{BnMode, Network, Taps};
    use crate::InitScheme;

    fn small() -> Nb101Config {
        Nb101Config { stem_channels: 8, stacks: 3, cells_per_stack: 1 }
    }

    /// Input → output directly, input → output with interior vertices, truncation (vertex
    /// channels 3/3/2 of 8), max pools.
    const ARCHS: [&str; 3] = [
        "(0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 1)",
        "(0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 2, 4, 3, 1)",
        "(0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 4, 4, 4, 1)",
    ];

    #[test]
    fn forward_shapes_taps_and_weight_order() {
        let device = Device::flex();
        for s in ARCHS {
            let arch: Nb101Arch = s.parse().unwrap();
            let mut init = WeightInit::new(InitScheme::PytorchDefault, 0);
            let net = Nb101Net::new(&arch, small(), &BuildOptions::new(10), &mut init, &device);
            let record = Taps { relu: true, pre_gap: true, bn_variance: true, ..Taps::default() };
            let mut ctx = ForwardCtx::new(BnMode::Batch, record);
            let x = Tensor::<4>::random([2, 3, 8, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let y = net.forward(x.clone(), &mut ctx).flat();
            assert_eq!(y.dims(), [2, 10]);
            assert_eq!(ctx.pre_gap.as_ref().unwrap().dims(), [2, 32, 2, 2]);
            assert_eq!(ctx.relu.len(), ctx.bn_variances.len(), "{s}: one ReLU per ConvBnReLU");
            let mapped = net.map_params(&mut |_, v| v).unwrap();
            let a: Vec<f32> = y.into_data().try_into_vec::<f32>().unwrap();
            let b: Vec<f32> = mapped
                .forward(x, &mut ForwardCtx::new(BnMode::Batch, Taps::default()))
                .flat()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            assert_eq!(a, b);
        }
    }
}
