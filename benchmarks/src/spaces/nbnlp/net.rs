//! The language model NAS-Bench-NLP trains around a cell (fmsnew/nas-bench-nlp-release
//! `model.py` `AWDRNNModel` with `CustomRNN` layers, `custom_rnn.py`, `multilinear.py`), in
//! evaluation mode:
//!
//! * `Embedding(V, 400)`, U(−0.1, 0.1); the decoder's weight is tied to it and its bias is 0
//!   (it holds V parameters; the model's `forward` returns the last layer's output, the
//!   decoder runs inside the loss, so a pass never reaches it).
//! * Three recurrent layers (input, hidden) = (400, 600), (600, 600), (600, 400) — the last as
//!   wide as the embedding because the weights are tied — each the cell unrolled over the
//!   sequence from a zero hidden tuple; a step's output is `h_new_0`, the next layer's input.
//! * In each cell every `linear` node is a `MultiLinear`: one weight per input (`H × in` for
//!   `x`, `H × H` otherwise) and one bias; `CustomRNN.reset_parameters` draws all of them from
//!   U(−1/√H, 1/√H), H the layer's hidden size — whatever the proxy's scheme (the reference
//!   fixes it).
//!
//! Evaluation mode: every dropout (embedding, locked, weight drop) is the identity, as in the
//! hidden-covariance reference (`network.eval()`). The output is the last layer's outputs,
//! `[n, steps · 400]`. Each linear node's terms in `x` do not depend on the recurrence, so they
//! are computed for all steps at once (the same sums, grouped otherwise).

use super::recipe::{NodeOp, Recipe, Source};
use super::NlpConfig;
use crate::nn::init::WeightInit;
use crate::nn::layers::LayerBuilder;
use crate::nn::network::{BuildOptions, ForwardCtx, Output};
use burn::module::Param;
use burn::prelude::*;

/// The embedding's and decoder weight's `initrange`.
const EMBEDDING_RANGE: f32 = 0.1;

/// `MultiLinear`: `weights[j]` is input j's `[in_j, H]` (PyTorch's `[H, in_j]` transposed).
#[derive(Module, Debug)]
struct MultiLinear {
    weights: Vec<Param<Tensor<2>>>,
    bias: Param<Tensor<1>>,
}

/// One recurrent layer: the cell's linear nodes in node order.
#[derive(Module, Debug)]
struct RnnLayer {
    linears: Vec<MultiLinear>,
    hidden: usize,
}

/// The language model for one cell.
#[derive(Module, Debug)]
pub struct NlpNet {
    embedding: Param<Tensor<2>>,
    decoder_bias: Param<Tensor<1>>,
    layers: Vec<RnnLayer>,
    #[module(skip)]
    recipe: Recipe,
}

impl NlpNet {
    pub fn new(recipe: &Recipe, config: NlpConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let embedding = b.uniform([config.vocab, config.embedding], EMBEDDING_RANGE);
        let decoder_bias = b.constant([config.vocab], 0.0);
        let layers = config
            .layer_sizes()
            .into_iter()
            .map(|(input, hidden)| {
                let bound = 1.0 / (hidden as f32).sqrt();
                let linears = recipe
                    .linear_inputs(input, hidden)
                    .into_iter()
                    .map(|dims| MultiLinear {
                        weights: dims.into_iter().map(|d| b.uniform([d, hidden], bound)).collect(),
                        bias: b.uniform([hidden], bound),
                    })
                    .collect();
                RnnLayer { linears, hidden }
            })
            .collect();
        Self { embedding, decoder_bias, layers, recipe: recipe.clone() }
    }
}

impl RnnLayer {
    /// The layer over `xs` (`[steps, n, in]`), recurrent layer `index`: `[steps, n, H]`.
    fn forward(&self, recipe: &Recipe, xs: Tensor<3>, index: usize, ctx: &mut ForwardCtx) -> Tensor<3> {
        let [steps, n, d_in] = xs.dims();
        let h = self.hidden;
        let device = xs.device();
        let flat = xs.reshape([steps * n, d_in]);
        // Per linear node, its x term plus the bias for every step (`[steps, n, H]`), or the
        // bias alone.
        let mut lin = 0;
        let mut fixed: Vec<Option<Tensor<3>>> = Vec::with_capacity(recipe.nodes.len());
        for node in &recipe.nodes {
            if node.op != NodeOp::Linear {
                fixed.push(None);
                continue;
            }
            let l = &self.linears[lin];
            lin += 1;
            let mut term = l.bias.val().reshape([1, 1, h]).expand([steps, n, h]);
            for (j, s) in node.inputs.iter().enumerate() {
                if *s == Source::X {
                    ctx.add_flops((steps * n * d_in * h) as f64);
                    term = term.add(flat.clone().matmul(l.weights[j].val()).reshape([steps, n, h]));
                }
            }
            fixed.push(Some(term));
        }
        let mut tuple: Vec<Tensor<2>> = (0..recipe.hidden_tuple()).map(|_| Tensor::zeros([n, h], (&device, flat.dtype()))).collect();
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            ctx.recurrent_state(index, &tuple[0]);
            let mut values: Vec<Tensor<2>> = Vec::with_capacity(recipe.nodes.len());
            let mut lin = 0;
            for (k, node) in recipe.nodes.iter().enumerate() {
                let input = |s: &Source, values: &Vec<Tensor<2>>| match s {
                    Source::X => unreachable!("x feeds linear nodes only (checked when the recipe is read)"),
                    Source::Prev(i) => tuple[*i].clone(),
                    Source::Node(j) => values[*j].clone(),
                };
                let y = match node.op {
                    NodeOp::Linear => {
                        let l = &self.linears[lin];
                        lin += 1;
                        let mut y = fixed[k].as_ref().expect("a linear node's fixed term").clone().slice([t..t + 1, 0..n, 0..h]).reshape([n, h]);
                        for (j, s) in node.inputs.iter().enumerate() {
                            if *s != Source::X {
                                ctx.add_flops((n * h * h) as f64);
                                y = y.add(input(s, &values).matmul(l.weights[j].val()));
                            }
                        }
                        y
                    }
                    NodeOp::Activation(a) => {
                        let x = input(&node.inputs[0], &values);
                        ctx.cell_activation(a, x)
                    }
                    NodeOp::Sum => input(&node.inputs[0], &values).add(input(&node.inputs[1], &values)),
                    NodeOp::Prod => input(&node.inputs[0], &values).mul(input(&node.inputs[1], &values)),
                    NodeOp::Blend => {
                        let z = input(&node.inputs[0], &values);
                        let a = input(&node.inputs[1], &values);
                        let b = input(&node.inputs[2], &values);
                        z.clone().mul(a).add(z.neg().add_scalar(1.0).mul(b))
                    }
                };
                values.push(y);
            }
            tuple = recipe.outputs.iter().map(|&o| values[o].clone()).collect();
            outputs.push(tuple[0].clone().reshape([1, n, h]));
        }
        Tensor::cat(outputs, 0)
    }
}

impl crate::nn::network::ModuleNetwork for NlpNet {
    /// `x`: `[n, 1, 1, steps]` word ids (a text set's batch).
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let [n, _, _, steps] = x.dims();
        let ids = x.reshape([n, steps]).int().swap_dims(0, 1).reshape([steps * n]);
        let e = self.embedding.dims()[1];
        let mut h = self.embedding.val().select(0, ids).reshape([steps, n, e]);
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&self.recipe, h, i, ctx);
        }
        let width = h.dims()[2];
        Output::Flat(h.swap_dims(0, 1).reshape([n, steps * width]))
    }
}

impl crate::nn::network::SpaceNetwork for NlpNet {
    type Arch = Recipe;
    type Config = NlpConfig;
    // Its inputs are word ids, which do not stack along channels.
    const STACKABLE: bool = false;

    fn build_for(arch: &Recipe, config: NlpConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        NlpNet::new(arch, config, options, init, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init::InitScheme;
    use crate::nn::network::{BnMode, Network, Taps};
    use burn::tensor::TensorData;

    fn small() -> NlpConfig {
        NlpConfig { vocab: 11, embedding: 3, hidden: 4, layers: 3 }
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// An LSTM written as a recipe (NAS-Bench-NLP's hand-made cell 1000001 has this form)
    /// equals the LSTM equations computed here step by step from the network's own weights.
    #[test]
    fn an_lstm_recipe_is_the_lstm() {
        let recipe: Recipe = "n_i=lin(x,h0);n_f=lin(x,h0);n_g=lin(x,h0);n_o=lin(x,h0);i=sigm(n_i);f=sigm(n_f);g=tanh(n_g);\
                              o=sigm(n_o);c1=prod(f,h1);c2=prod(i,g);o1=sum(c1,c2);ct=tanh(o1);o0=prod(o,ct)"
            .parse()
            .unwrap();
        let device = Device::flex();
        let config = small();
        let net = NlpNet::new(&recipe, config, &BuildOptions::new(0), &mut WeightInit::new(InitScheme::Gaussian, 3), &device);
        assert_eq!(net.parameter_count(), config.param_count(&recipe));
        let ids = [1.0f32, 4.0, 7.0, 2.0, 9.0, 0.0]; // 2 sequences × 3 steps
        let x: Tensor<4> = Tensor::from_data(TensorData::new(ids.to_vec(), [2, 1, 1, 3]), &device);
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { hidden_states: true, relu: true, ..Taps::default() });
        let out = values(net.forward(x, &mut ctx).flat());
        assert_eq!(out.len(), 2 * 3 * 3);
        // 3 layers × 3 steps of received states, the first zero.
        assert_eq!(ctx.hidden_states.len(), 3);
        assert!(ctx.hidden_states.iter().all(|l| l.len() == 3));
        assert!(values(ctx.hidden_states[0][0].clone()).iter().all(|v| *v == 0.0));
        // 4 activations per step (i, f, g, o gates; ct = tanh too): 5 per step, 3 steps, 3 layers.
        assert_eq!(ctx.relu.len(), 5 * 3 * 3);

        // By hand, from the weights.
        let emb = values(net.embedding.val());
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let mut xs: Vec<Vec<Vec<f32>>> = (0..3).map(|t| (0..2).map(|b| {
            let id = ids[b * 3 + t] as usize;
            emb[id * 3..id * 3 + 3].to_vec()
        }).collect()).collect();
        for layer in &net.layers {
            let hsz = layer.hidden;
            let lin = |k: usize, x: &[f32], hp: &[f32]| -> Vec<f32> {
                let l = &layer.linears[k];
                let (wx, wh, bias) = (values(l.weights[0].val()), values(l.weights[1].val()), values(l.bias.val()));
                (0..hsz)
                    .map(|u| bias[u] + (0..x.len()).map(|i| x[i] * wx[i * hsz + u]).sum::<f32>() + (0..hsz).map(|i| hp[i] * wh[i * hsz + u]).sum::<f32>())
                    .collect()
            };
            let mut next = Vec::new();
            let mut state: Vec<(Vec<f32>, Vec<f32>)> = vec![(vec![0.0; hsz], vec![0.0; hsz]); 2];
            for xt in &xs {
                let mut step = Vec::new();
                for (b, x) in xt.iter().enumerate() {
                    let (hp, cp) = &state[b];
                    // Linear nodes in node order: n_f, n_g, n_i, n_o (names sorted).
                    let (f, g, i, o) = (lin(0, x, hp), lin(1, x, hp), lin(2, x, hp), lin(3, x, hp));
                    let c: Vec<f32> = (0..hsz).map(|u| sig(f[u]) * cp[u] + sig(i[u]) * g[u].tanh()).collect();
                    let h: Vec<f32> = (0..hsz).map(|u| sig(o[u]) * c[u].tanh()).collect();
                    state[b] = (h.clone(), c);
                    step.push(h);
                }
                next.push(step);
            }
            xs = next;
        }
        // The output is [n, steps · 3], sample-major.
        for b in 0..2 {
            for t in 0..3 {
                for u in 0..3 {
                    let (got, want) = (out[b * 9 + t * 3 + u], xs[t][b][u]);
                    assert!((got - want).abs() < 1e-5, "b {b} t {t} u {u}: {got} vs {want}");
                }
            }
        }
    }

    /// Blend is z·a + (1 − z)·b (a GRU-style cell), checked on the states layer 1 receives.
    #[test]
    fn blend_mixes_by_its_gate() {
        let recipe: Recipe = "n1=lin(x,h0);z=sigm(n1);n2=lin(x,h0);c=tanh(n2);o0=blend(z,c,h0)".parse().unwrap();
        assert_eq!(recipe.hidden_tuple(), 1);
        let device = Device::flex();
        let net = NlpNet::new(&recipe, small(), &BuildOptions::new(0), &mut WeightInit::new(InitScheme::Gaussian, 1), &device);
        let x: Tensor<4> = Tensor::from_data(TensorData::new(vec![3.0f32, 5.0, 8.0], [1, 1, 1, 3]), &device);
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, hidden_states: true, ..Taps::default() });
        let _ = net.forward(x, &mut ctx);
        let states: Vec<Vec<f32>> = ctx.hidden_states[0].iter().map(|h| values(h.clone())).collect();
        // Per step two activations: tanh c and sigmoid z, in node order.
        let acts: Vec<Vec<f32>> = ctx.relu[..4].iter().map(|a| values(a.clone())).collect();
        let (c_first, z_first) = if recipe.nodes.iter().position(|n| n.name == "c") < recipe.nodes.iter().position(|n| n.name == "z") {
            (0, 1)
        } else {
            (1, 0)
        };
        for step in 0..2 {
            let (c, z) = (&acts[2 * step + c_first], &acts[2 * step + z_first]);
            assert!(z.iter().all(|v| *v > 0.0 && *v < 1.0), "z is a sigmoid");
            for u in 0..4 {
                let want = z[u] * c[u] + (1.0 - z[u]) * states[step][u];
                assert!((states[step + 1][u] - want).abs() < 1e-6, "step {step} unit {u}");
            }
        }
    }
}
