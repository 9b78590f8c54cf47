//! The network the FlexiBERT proxy references build for an arch: Serianni's PyTorch port of
//! ELECTRA with FlexiBERT's operations (aaronserianni/training-free-nas `modeling_electra.py`,
//! which pym1024/SWAP_Universal copies): `ElectraModel`, no head.
//!
//! * Embeddings: word (30,522 × 128, row 0 = `[PAD]` zeroed), position (512 × 128) and token
//!   type (2 × 128, every token type 0) summed, LayerNorm (ε 10⁻¹²), then `Linear(128 → 256)`.
//! * Each layer: its operation; SA and DSC layers then a dense H → H, the residual and
//!   LayerNorm (`ElectraSelfOutput`); LT layers go straight on (no dense, residual or norm).
//!   Then the FFN: `dense_in` H → I and n_ff − 1 denses I → I, each followed by GELU (one
//!   module called n_ff times), the output dense I → H, residual, LayerNorm.
//! * SA-SDP: per head softmax(QKᵀ/√d)V, d = H / heads. SA-WMA: the same with the whole query
//!   first multiplied by one bias-free H × H matrix. LT-DFT: a linear map, then per head the
//!   real part of the unnormalised 2-D DFT over (tokens, head dims). LT-DCT: the unnormalised
//!   DCT-II (2·Σ x cos(πk(2n+1)/2N)) over both axes. DSC-k: ConvBERT's mixed attention with
//!   heads/2 attention heads beside as many dynamic-convolution heads (kernel k from a
//!   separable conv of the input times the query, softmax over the k taps), concatenated.
//! * Initialisation `_init_weights`: every linear and embedding weight N(0, 0.02²), biases 0,
//!   LayerNorm γ = 1, β = 0; the separable conv's weights N(0, 0.02²), its bias 0 — whatever
//!   the proxy's scheme: the references never re-initialise a transformer.
//!
//! Deviations: no dropout (the references score in train mode with dropout 0.1, unseeded; here
//! a pass is deterministic), and no attention mask (the references build one but no layer
//! reads it; swapnas' sequences have no padding anyway).

use super::arch::{FlexiArch, FlexiConfig, Op};
use crate::nn::init::WeightInit;
use crate::nn::layers::{LayerBuilder, Linear};
use crate::nn::network::{BuildOptions, ForwardCtx, Output};
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::{DType, TensorData};

/// ELECTRA's `initializer_range`.
const INIT_STD: f64 = 0.02;
/// ELECTRA's `layer_norm_eps`.
const LN_EPS: f64 = 1e-12;

#[derive(Module, Debug)]
struct LayerNorm {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
}

impl LayerNorm {
    fn new(b: &LayerBuilder, width: usize) -> Self {
        Self { gamma: b.constant([width], 1.0), beta: b.constant([width], 0.0) }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let width = self.gamma.dims()[0];
        let centred = x.clone().sub(x.mean_dim(2));
        let var = centred.clone().mul(centred.clone()).mean_dim(2);
        let y = centred.div(var.add_scalar(LN_EPS).sqrt());
        y.mul(self.gamma.val().reshape([1, 1, width])).add(self.beta.val().reshape([1, 1, width]))
    }
}

/// A linear layer on `[b, t, in]`.
fn linear3(l: &Linear, x: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let y = l.forward(x.reshape([b * t, d]), ctx);
    let out = y.dims()[1];
    y.reshape([b, t, out])
}

/// `[b, t, n·d]` → `[b, n, t, d]`.
fn split_heads(x: Tensor<3>, heads: usize) -> Tensor<4> {
    let [b, t, w] = x.dims();
    x.reshape([b, t, heads, w / heads]).swap_dims(1, 2)
}

/// `[b, n, t, d]` → `[b, t, n·d]`.
fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [b, n, t, d] = x.dims();
    x.swap_dims(1, 2).reshape([b, t, n * d])
}

/// softmax(QKᵀ/√d)V per head (FLOPs: the two products' multiply-adds).
fn attend(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, ctx: &mut ForwardCtx) -> Tensor<4> {
    let [b, n, t, d] = q.dims();
    ctx.add_flops((2 * b * n * t * t * d) as f64);
    let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f64).sqrt());
    softmax(scores, 3).matmul(v)
}

#[derive(Module, Debug)]
struct Embeddings {
    word: Param<Tensor<2>>,
    position: Param<Tensor<2>>,
    token_type: Param<Tensor<2>>,
    norm: LayerNorm,
    project: Option<Linear>,
}

impl Embeddings {
    fn new(b: &mut LayerBuilder, c: &FlexiConfig) -> Self {
        let e = c.embedding;
        // nn.Embedding(padding_idx=0): `_init_weights` zeroes the padding row after drawing.
        let word = b.normal([c.vocab, e], INIT_STD);
        let word = word.map(|w| {
            let device = w.device();
            w.slice_assign([0..1, 0..e], Tensor::zeros([1, e], &device))
        });
        Self {
            word,
            position: b.normal([c.max_positions, e], INIT_STD),
            token_type: b.normal([c.type_vocab, e], INIT_STD),
            norm: LayerNorm::new(b, e),
            project: (e != c.hidden).then(|| b.linear_normal(e, c.hidden, INIT_STD)),
        }
    }

    fn forward(&self, ids: Tensor<2, Int>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let [b, t] = ids.dims();
        let e = self.word.dims()[1];
        let words = self.word.val().select(0, ids.reshape([b * t])).reshape([b, t, e]);
        let positions = self.position.val().slice([0..t, 0..e]).reshape([1, t, e]);
        let token_type = self.token_type.val().slice([0..1, 0..e]).reshape([1, 1, e]);
        let x = self.norm.forward(words.add(positions).add(token_type));
        match &self.project {
            Some(p) => linear3(p, x, ctx),
            None => x,
        }
    }
}

/// SA-SDP and SA-WMA.
#[derive(Module, Debug)]
struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    /// WMA's bias-free H × H map of the whole query.
    wma: Option<Param<Tensor<2>>>,
    heads: usize,
}

impl Attention {
    fn forward(&self, x: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let mut q = linear3(&self.query, x.clone(), ctx);
        if let Some(w) = &self.wma {
            let [b, t, h] = q.dims();
            ctx.add_flops((b * t * h * h) as f64);
            q = q.reshape([b * t, h]).matmul(w.val().transpose()).reshape([b, t, h]);
        }
        let k = linear3(&self.key, x.clone(), ctx);
        let v = linear3(&self.value, x, ctx);
        merge_heads(attend(split_heads(q, self.heads), split_heads(k, self.heads), split_heads(v, self.heads), ctx))
    }
}

/// `n × n` matrix `f(row, col)` on the device.
fn matrix(n: usize, m: usize, f: impl Fn(usize, usize) -> f64, like: &Tensor<4>) -> Tensor<2> {
    let values: Vec<f32> = (0..n * m).map(|i| f(i / m, i % m) as f32).collect();
    Tensor::<2>::from_data(TensorData::new(values, [n, m]), (&like.device(), DType::F32)).cast(like.dtype())
}

/// `z · m` over the head dimension: `[b, n, t, d]` × `[d, d']`.
fn right(z: Tensor<4>, m: Tensor<2>) -> Tensor<4> {
    let [b, n, t, d] = z.dims();
    let out = m.dims()[1];
    z.reshape([b * n * t, d]).matmul(m).reshape([b, n, t, out])
}

/// `a · z` over the tokens: `[t', t]` × `[b, n, t, d]`.
fn left(a: Tensor<2>, z: Tensor<4>) -> Tensor<4> {
    let [b, n, t, d] = z.dims();
    let out = a.dims()[0];
    z.swap_dims(2, 3).reshape([b * n * d, t]).matmul(a.transpose()).reshape([b, n, d, out]).swap_dims(2, 3)
}

/// LT-DFT and LT-DCT.
#[derive(Module, Debug)]
struct Transform {
    input: Linear,
    heads: usize,
    cosine: bool,
}

impl Transform {
    fn forward(&self, x: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let z = split_heads(linear3(&self.input, x, ctx), self.heads);
        let [b, n, t, d] = z.dims();
        // Two matmuls per axis: as many multiply-adds as the dense transforms they are.
        ctx.add_flops((b * n * t * d * (t + d)) as f64 * if self.cosine { 1.0 } else { 2.0 });
        let y = if self.cosine {
            // Unnormalised DCT-II on each axis: X[k] = 2 Σₙ x[n] cos(πk(2n+1)/2N).
            let dct = |size: usize| matrix(size, size, move |k, i| 2.0 * (std::f64::consts::PI * (k * (2 * i + 1)) as f64 / (2 * size) as f64).cos(), &z);
            left(dct(t), right(z.clone(), dct(d).transpose()))
        } else {
            // Re(FFT2) = C_T z C_d − S_T z S_d, angles 2π·(ab mod N)/N.
            let trig = |size: usize, sine: bool| {
                matrix(size, size, move |a, c| {
                    let angle = 2.0 * std::f64::consts::PI * ((a * c) % size) as f64 / size as f64;
                    if sine { angle.sin() } else { angle.cos() }
                }, &z)
            };
            let (cos_t, cos_d, sin_t, sin_d) = (trig(t, false), trig(d, false), trig(t, true), trig(d, true));
            let cos = left(cos_t, right(z.clone(), cos_d));
            let sin = left(sin_t, right(z, sin_d));
            cos.sub(sin)
        };
        merge_heads(y)
    }
}

/// DSC-k: ConvBERT's mixed attention (`ElectraConvSelfAttention`).
#[derive(Module, Debug)]
struct ConvMix {
    query: Linear,
    key: Linear,
    value: Linear,
    /// The separable conv: depthwise `[H, k]` (no bias), pointwise `[A, H]` (no bias), bias `[A]`.
    depthwise: Param<Tensor<2>>,
    pointwise: Param<Tensor<2>>,
    sep_bias: Param<Tensor<1>>,
    kernel: Linear,
    out: Linear,
    heads: usize,
    taps: usize,
}

/// Zero padding of `p` tokens on each side of `[b, t, c]`.
fn pad_tokens(x: Tensor<3>, p: usize) -> Tensor<3> {
    let [b, _, c] = x.dims();
    let zeros = Tensor::zeros([b, p, c], (&x.device(), x.dtype()));
    Tensor::cat(vec![zeros.clone(), x, zeros], 1)
}

impl ConvMix {
    fn forward(&self, x: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let [b, t, h] = x.dims();
        let (n, k) = (self.heads, self.taps);
        let q = linear3(&self.query, x.clone(), ctx);
        let key = linear3(&self.key, x.clone(), ctx);
        let v = linear3(&self.value, x.clone(), ctx);
        let a = q.dims()[2];
        let d = a / n;
        let p = k / 2;
        // Depthwise conv over tokens (cross-correlation, padding k/2), then pointwise.
        let padded = pad_tokens(x.clone(), p);
        let dw = self.depthwise.val();
        let mut depth = Tensor::zeros([b, t, h], (&x.device(), x.dtype()));
        for j in 0..k {
            let w = dw.clone().slice([0..h, j..j + 1]).reshape([1, 1, h]);
            depth = depth.add(padded.clone().slice([0..b, j..j + t, 0..h]).mul(w));
        }
        ctx.add_flops((b * t * h * k + b * t * h * a) as f64);
        let key_conv = depth.reshape([b * t, h]).matmul(self.pointwise.val().transpose()).add(self.sep_bias.val().reshape([1, a])).reshape([b, t, a]);
        // Per token and head, softmax weights over the k taps.
        let gates = softmax(linear3(&self.kernel, key_conv.mul(q.clone()), ctx).reshape([b, t, n, k]), 3);
        let o = pad_tokens(linear3(&self.out, x, ctx), (k - 1) / 2);
        let mut conv = Tensor::zeros([b, t, n, d], (&o.device(), o.dtype()));
        for j in 0..k {
            let window = o.clone().slice([0..b, j..j + t, 0..a]).reshape([b, t, n, d]);
            conv = conv.add(window.mul(gates.clone().slice([0..b, 0..t, 0..n, j..j + 1])));
        }
        let context = attend(split_heads(q, n), split_heads(key, n), split_heads(v, n), ctx).swap_dims(1, 2);
        Tensor::cat(vec![context, conv], 2).reshape([b, t, h])
    }
}

#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a few per network
enum Mixer {
    Attention(Attention),
    Transform(Transform),
    Conv(ConvMix),
}

/// `ElectraSelfOutput`: dense, residual, LayerNorm.
#[derive(Module, Debug)]
struct SelfOutput {
    dense: Linear,
    norm: LayerNorm,
}

#[derive(Module, Debug)]
struct Ffn {
    dense_in: Linear,
    dense: Vec<Linear>,
    out: Linear,
    norm: LayerNorm,
}

impl Ffn {
    fn forward(&self, a: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let gelu = |y: Tensor<3>, ctx: &mut ForwardCtx| {
            let [b, t, w] = y.dims();
            ctx.gelu(y.reshape([b, t, w, 1])).reshape([b, t, w])
        };
        let mut f = gelu(linear3(&self.dense_in, a.clone(), ctx), ctx);
        for d in &self.dense {
            f = gelu(linear3(d, f, ctx), ctx);
        }
        self.norm.forward(linear3(&self.out, f, ctx).add(a))
    }
}

#[derive(Module, Debug)]
struct EncoderLayer {
    mixer: Mixer,
    self_output: Option<SelfOutput>,
    ffn: Ffn,
}

impl EncoderLayer {
    fn new(b: &mut LayerBuilder, c: &FlexiConfig, layer: &super::arch::Layer) -> Self {
        let h = c.hidden;
        let lin = |b: &mut LayerBuilder, i: usize, o: usize| b.linear_normal(i, o, INIT_STD);
        let mixer = match layer.op {
            Op::Sdp | Op::Wma => Mixer::Attention(Attention {
                query: lin(b, h, h),
                key: lin(b, h, h),
                value: lin(b, h, h),
                wma: (layer.op == Op::Wma).then(|| b.normal([h, h], INIT_STD)),
                heads: layer.heads,
            }),
            Op::Dft | Op::Dct => Mixer::Transform(Transform { input: lin(b, h, h), heads: layer.heads, cosine: layer.op == Op::Dct }),
            Op::Dsc(k) => {
                let (n, a) = c.dsc_heads(layer.heads);
                Mixer::Conv(ConvMix {
                    query: lin(b, h, a),
                    key: lin(b, h, a),
                    value: lin(b, h, a),
                    depthwise: b.normal([h, k], INIT_STD),
                    pointwise: b.normal([a, h], INIT_STD),
                    sep_bias: b.constant([a], 0.0),
                    kernel: lin(b, a, n * k),
                    out: lin(b, h, a),
                    heads: n,
                    taps: k,
                })
            }
        };
        let self_output = (!matches!(mixer, Mixer::Transform(_))).then(|| SelfOutput { dense: lin(b, h, h), norm: LayerNorm::new(b, h) });
        let i = c.intermediate;
        let ffn = Ffn {
            dense_in: lin(b, h, i),
            dense: (1..layer.n_ff).map(|_| lin(b, i, i)).collect(),
            out: lin(b, i, h),
            norm: LayerNorm::new(b, h),
        };
        Self { mixer, self_output, ffn }
    }

    fn forward(&self, x: Tensor<3>, ctx: &mut ForwardCtx) -> Tensor<3> {
        let mixed = match &self.mixer {
            Mixer::Attention(m) => m.forward(x.clone(), ctx),
            Mixer::Transform(m) => m.forward(x.clone(), ctx),
            Mixer::Conv(m) => m.forward(x.clone(), ctx),
        };
        let a = match &self.self_output {
            Some(o) => o.norm.forward(linear3(&o.dense, mixed, ctx).add(x)),
            None => mixed,
        };
        self.ffn.forward(a, ctx)
    }
}

/// `ElectraModel` for one arch; its output is the last hidden state, `[n, tokens · H]`.
#[derive(Module, Debug)]
pub struct FlexiNet {
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
}

impl FlexiNet {
    pub fn new(arch: &FlexiArch, config: FlexiConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        let b = &mut LayerBuilder { device, dtype: options.dtype, init };
        let embeddings = Embeddings::new(b, &config);
        let layers = arch.layers.iter().map(|l| EncoderLayer::new(b, &config, l)).collect();
        Self { embeddings, layers }
    }
}

impl crate::nn::network::ModuleNetwork for FlexiNet {
    /// `x`: `[n, 1, 1, tokens]` token ids (a text set's batch).
    fn forward_output(&self, x: Tensor<4>, ctx: &mut ForwardCtx) -> Output {
        let [n, _, _, t] = x.dims();
        let ids = x.reshape([n, t]).int();
        let mut h = self.embeddings.forward(ids, ctx);
        for layer in &self.layers {
            h = layer.forward(h, ctx);
        }
        let width = h.dims()[2];
        Output::Flat(h.reshape([n, t * width]))
    }
}

impl crate::nn::network::SpaceNetwork for FlexiNet {
    type Arch = FlexiArch;
    type Config = FlexiConfig;
    // Its inputs are token ids, which do not stack along channels.
    const STACKABLE: bool = false;

    fn build_for(arch: &FlexiArch, config: FlexiConfig, options: &BuildOptions, init: &mut WeightInit, device: &Device) -> Self {
        FlexiNet::new(arch, config, options, init, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init::InitScheme;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()
    }

    fn input(shape: [usize; 3], seed: u64) -> Tensor<3> {
        let n = shape.iter().product();
        let v = WeightInit::new(InitScheme::Gaussian, seed).weight(n, 1);
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    /// LT-DFT is Re(FFT2) over (tokens, head dims) and LT-DCT the unnormalised 2-D DCT-II,
    /// against their definitions summed term by term.
    #[test]
    fn transforms_equal_their_definitions() {
        let device = Device::flex();
        let (t, h, heads) = (5, 6, 2);
        let d = h / heads;
        let x = input([1, t, h], 1);
        for cosine in [false, true] {
            let mut init = WeightInit::new(InitScheme::Gaussian, 2);
            let b = &mut LayerBuilder { device: &device, dtype: DType::F32, init: &mut init };
            let m = Transform { input: b.linear_normal(h, h, 1.0), heads, cosine };
            let mut ctx = ForwardCtx::new(crate::BnMode::Batch, crate::Taps::default());
            let got = values(m.forward(x.clone(), &mut ctx));
            let z = values(linear3(&m.input, x.clone(), &mut ctx));
            let pi = std::f64::consts::PI;
            for head in 0..heads {
                for u in 0..t {
                    for v in 0..d {
                        let mut want = 0.0;
                        for s in 0..t {
                            for k in 0..d {
                                let zv = z[s * h + head * d + k];
                                want += zv * if cosine {
                                    4.0 * (pi * (u * (2 * s + 1)) as f64 / (2 * t) as f64).cos() * (pi * (v * (2 * k + 1)) as f64 / (2 * d) as f64).cos()
                                } else {
                                    (2.0 * pi * ((u * s) as f64 / t as f64 + (v * k) as f64 / d as f64)).cos()
                                };
                            }
                        }
                        let g = got[u * h + head * d + v];
                        assert!((g - want).abs() < 1e-4 * (1.0 + want.abs()), "cosine={cosine} head {head} ({u},{v}): {g} vs {want}");
                    }
                }
            }
        }
    }

    /// DSC's dynamic convolution and attention, against ConvBERT's computation written out
    /// (unfold index order included) on a tiny layer: 4 heads → 2 attention + 2 conv heads.
    #[test]
    fn dsc_equals_convbert_written_out() {
        let device = Device::flex();
        let (t, h, heads, k) = (6, 8, 4, 5);
        let config = FlexiConfig { hidden: h, ..FlexiConfig::default() };
        let (n, a) = config.dsc_heads(heads);
        let d = a / n;
        let mut init = WeightInit::new(InitScheme::Gaussian, 3);
        let b = &mut LayerBuilder { device: &device, dtype: DType::F32, init: &mut init };
        let lin = |b: &mut LayerBuilder, i, o| b.linear_normal(i, o, 0.5);
        let m = ConvMix {
            query: lin(b, h, a),
            key: lin(b, h, a),
            value: lin(b, h, a),
            depthwise: b.normal([h, k], 0.5),
            pointwise: b.normal([a, h], 0.5),
            sep_bias: b.constant([a], 0.1),
            kernel: lin(b, a, n * k),
            out: lin(b, h, a),
            heads: n,
            taps: k,
        };
        let x = input([1, t, h], 4);
        let mut ctx = ForwardCtx::new(crate::BnMode::Batch, crate::Taps::default());
        let got = values(m.forward(x.clone(), &mut ctx));
        let xs = values(x.clone());
        let lin_out = |l: &Linear, ctx: &mut ForwardCtx| values(linear3(l, x.clone(), ctx));
        let (q, key, v, o) = (lin_out(&m.query, &mut ctx), lin_out(&m.key, &mut ctx), lin_out(&m.value, &mut ctx), lin_out(&m.out, &mut ctx));
        let (dw, pw, bias) = (values(m.depthwise.val()), values(m.pointwise.val()), values(m.sep_bias.val()));
        let p = (k / 2) as isize;
        let at = |v: &[f64], row: isize, col: usize, width: usize| if (0..t as isize).contains(&row) { v[row as usize * width + col] } else { 0.0 };
        // Separable conv, then the gates' input Kc ⊙ Q.
        let mut kc = vec![0.0; t * a];
        for s in 0..t {
            let depth: Vec<f64> = (0..h).map(|c| (0..k).map(|j| at(&xs, s as isize + j as isize - p, c, h) * dw[c * k + j]).sum()).collect();
            for o_ in 0..a {
                kc[s * a + o_] = (0..h).map(|c| pw[o_ * h + c] * depth[c]).sum::<f64>() + bias[o_] ;
                kc[s * a + o_] *= q[s * a + o_];
            }
        }
        let (kw, kb) = (values(m.kernel.weight.val()), values(m.kernel.bias.val()));
        for s in 0..t {
            // Attention heads.
            for i in 0..n {
                let scores: Vec<f64> = (0..t).map(|r| (0..d).map(|c| q[s * a + i * d + c] * key[r * a + i * d + c]).sum::<f64>() / (d as f64).sqrt()).collect();
                let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..d {
                    let want: f64 = (0..t).map(|r| e[r] / z * v[r * a + i * d + c]).sum();
                    let g = got[s * h + i * d + c];
                    assert!((g - want).abs() < 1e-4 * (1.0 + want.abs()), "attention ({s},{i},{c}): {g} vs {want}");
                }
            }
            // Conv heads: gates = softmax over k of Linear(Kc ⊙ Q), taps over O with padding (k−1)/2.
            for i in 0..n {
                let logits: Vec<f64> = (0..k).map(|j| (0..a).map(|c| kw[(i * k + j) * a + c] * kc[s * a + c]).sum::<f64>() + kb[i * k + j]).collect();
                let max = logits.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = logits.iter().map(|x| (x - max).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..d {
                    let want: f64 = (0..k).map(|j| e[j] / z * at(&o, s as isize + j as isize - p, i * d + c, a)).sum();
                    let g = got[s * h + (n + i) * d + c];
                    assert!((g - want).abs() < 1e-4 * (1.0 + want.abs()), "conv ({s},{i},{c}): {g} vs {want}");
                }
            }
        }
    }
}
