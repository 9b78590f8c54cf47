//! Native backward passes for the gradient proxies on burn's flex backend.
//!
//! Profiling the gradient proxies (`perf record` of `swapnas --proxies grad_norm`, NB201
//! CIFAR-10, B = 32) put ≈ 60 % of their time in burn's convolution backward: burn computes a
//! weight gradient as a convolution of the input with the output gradient as its *kernel*
//! (batch and channels swapped, a 32 × 32 "kernel" through the tiled im2col), and an input
//! gradient as a transposed convolution; average pooling's backward took another 8 %. Here
//! the same operations are burn autodiff operations of our own (burn-autodiff's `Backward`
//! on `Autodiff<Flex>`), so every proxy keeps burn's graph, its other ops and `Gradients`,
//! but these layers run on the native kernels both ways:
//!
//! - [`conv2d`]: forward as [`cpu::conv2d`] (one GEMM per image into NCHW); backward, per
//!   image, `dW += dY · colᵀ`, and `dX` as the transposed conv of dY
//!   ([`cpu::conv_transpose2d_slice`]: the forward conv of dY with the channel-transposed,
//!   spatially flipped kernel for stride 1, `dX = Wᵀ · dY` directly for a plain 1×1 conv, and
//!   otherwise `dcol = Wᵀ · dY` followed by col2im, the adjoint of im2col, a scatter-add) —
//!   GEMMs on the same layout as the forward;
//! - [`depthwise_conv2d`] (DARTS' separable and dilated convs): forward per channel from its
//!   im2col rows, backward dW from the same rows and dX by col2im;
//! - [`batch_norm`] with batch statistics: forward as [`cpu::batch_norm`], backward in one
//!   pass per channel from x̂ and 1/std kept by the forward (the formula is on the function);
//! - [`avg_pool`]: forward as [`cpu::avg_pool`]; backward spreads each output's gradient,
//!   divided by its divisor, over its window (for the size-keeping stride-1 pools, whole-plane
//!   shifted sums: the window is symmetric, so the pool's adjoint is the same plane sum);
//! - [`first_param_probe`]: VKDNW's per-sample probe of a parameter's first scalar, the
//!   identity forward and one dot product per sample backward;
//! - [`max_pool`]: forward as [`cpu::max_pool_slice`] (burn's choice of maximum), backward
//!   each output's gradient to the input it took;
//! - [`conv_transpose2d`] (TransNAS-Bench-101's decoders): forward as
//!   [`cpu::conv_transpose2d_slice`] — the adjoint of the conv with the same weight, which is
//!   how a conv's dX is computed above — and backward as that conv's forward (dX) and weight
//!   gradient (dW);
//! - [`relu`], [`leaky_relu`] and [`initial_batch_norm`] (eval-mode BN on fresh statistics,
//!   VKDNW's): the same float operations as burn's, as single operations.
//!
//! A pass whose batch is r copies of its first images (VKDNW back-propagates several seeds
//! through copies of one batch; [`ForwardCtx::replicas`](crate::ForwardCtx)) computes the
//! forward of conv, pooling, ReLU and eval-mode BN on the first copy only and repeats it
//! ([`per_copy`]; the same values, since these layers keep images apart); the backward runs on
//! every copy's own gradient.
//!
//! They run where a layer sees an f32 or f64 tensor (GraSP and SynFlow run in float64) on the
//! autodiff flex device and the pass allows the native kernels ([`Kernels::native_grad_for`]);
//! `--kernels burn` keeps burn's ops (the reference path). Results equal burn's up to float
//! rounding (sums in another order; BN's statistics in f64, which burn sums in f32): the tests
//! here compare gradients of random geometries, and `proxies/tests/native_backward.rs` holds
//! both paths' weight and input gradients on real archs of every space against a float64 pass
//! (the native path is the closer one on every space) and compares every proxy's score.

use crate::nn::cpu::{self, Buf, Kernels, Mat, Real, Window};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::{Flex, TensorMetadata};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use std::borrow::Cow;
use std::marker::PhantomData;

/// The autodiff backend the native operations register on (burn's default checkpointing).
type Ad = Autodiff<Flex, NoCheckpointing>;
/// A flex float tensor.
type FlexTensor = <Flex as burn::backend::BackendTypes>::FloatTensorPrimitive;

impl Kernels {
    /// Whether `x` goes through the native forward *and backward* kernels under this choice:
    /// an f32 or f64 tensor on the autodiff flex device.
    pub fn native_grad_for<const D: usize>(self, x: &Tensor<D>) -> bool {
        if self != Kernels::Native || !matches!(x.dtype(), DType::F32 | DType::F64) {
            return false;
        }
        let device = x.device();
        device.is_autodiff() && device.inner() == Device::flex()
    }
}

/// The autodiff primitive of a tensor on the autodiff flex device; `None` elsewhere (or under
/// another checkpointing strategy).
fn autodiff_primitive<const D: usize>(t: Tensor<D>) -> Option<<Ad as burn::backend::BackendTypes>::FloatTensorPrimitive> {
    t.try_into_primitive::<Ad>().ok()
}

/// A float type of the native kernels, read straight from a flex tensor's storage.
pub trait Native: Real {
    /// The tensor's values, borrowed where it is contiguous.
    fn slice(t: &FlexTensor) -> Option<&[Self]>;
}

impl Native for f32 {
    fn slice(t: &FlexTensor) -> Option<&[f32]> {
        t.as_slice::<f32>()
    }
}

impl Native for f64 {
    fn slice(t: &FlexTensor) -> Option<&[f64]> {
        t.as_slice::<f64>()
    }
}

/// Runs `$f::<T>($args)` for the float type of `$dtype` (f32 or f64), else evaluates to `None`.
macro_rules! by_dtype {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            _ => None,
        }
    };
}

/// An owned NCHW buffer of a flex primitive: its own buffer where the tensor alone holds it (no
/// copy), else one copy of its values (burn's `into_data` copies a shared buffer twice, the
/// second time to re-align it: `perf` put 6% of a TransNAS-Bench-101 gradient pass there).
fn buf<T: Native>(t: FlexTensor) -> Buf<T> {
    if !t.is_unique() {
        if let Some(values) = T::slice(&t) {
            return Buf { data: values.to_vec(), dims: dims4(&t) };
        }
    }
    Buf::take(Tensor::<4>::from_primitive::<Flex>(t))
}

/// The values of a flex primitive of any rank, in row-major order.
fn flat<T: Native>(t: FlexTensor) -> Vec<T> {
    cpu::read(t.into_data())
}

/// The values of a flex primitive, borrowed where it is contiguous.
fn slice_of<T: Native>(t: &FlexTensor) -> Cow<'_, [T]> {
    match T::slice(t) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(flat(t.clone())),
    }
}

/// The shape of a 4-D flex primitive.
fn dims4(t: &FlexTensor) -> [usize; 4] {
    t.shape().dims::<4>()
}

/// A flex primitive of `data` with `dims`.
fn primitive<T: Native, const D: usize>(data: Vec<T>, dims: [usize; D]) -> FlexTensor {
    match Tensor::<D>::from_data(TensorData::new(data, dims), (&Device::flex(), T::DTYPE)).try_into_primitive::<Flex>() {
        Ok(t) => t,
        Err(e) => unreachable!("a tensor made on the flex device is a flex tensor: {e:?}"),
    }
}

/// `f` of the NCHW values `x`, computed on the first copy where `x` is `replicas` copies of its
/// first n / `replicas` images and `f` keeps images apart (a conv, a pool, ReLU, eval-mode BN):
/// each copy's output is then the first's, so it is repeated rather than recomputed (exactly the
/// same values). VKDNW's passes back-propagate several seeds through copies of one batch, whose
/// forward would otherwise be computed once per copy.
fn per_copy<T: Real>(x: &[T], dims: [usize; 4], replicas: usize, f: impl FnOnce(&[T], [usize; 4]) -> Buf<T>) -> Buf<T> {
    let [n, c, h, w] = dims;
    if replicas <= 1 || !n.is_multiple_of(replicas) {
        return f(x, dims);
    }
    let first = n / replicas;
    let y = f(&x[..first * c * h * w], [first, c, h, w]);
    let [_, oc, oh, ow] = y.dims;
    Buf { data: y.data.repeat(replicas), dims: [n, oc, oh, ow] }
}

/// A one-group convolution without bias, `x` `[n, c_in, h, w]` and `weight`
/// `[c_out, c_in, k, k]` on the autodiff flex device, differentiable in both; `None` where
/// the tensors are elsewhere or the window does not fit (the caller then runs burn's conv).
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, win: Window, replicas: usize) -> Option<Tensor<4>> {
    let [_, c_in, h, w] = x.dims();
    let [_, c_in_w, kh, kw] = weight.dims();
    if c_in != c_in_w || kh != win.kernel || kw != win.kernel || win.out_side(h).is_none() || win.out_side(w).is_none() {
        return None;
    }
    if x.dtype() != weight.dtype() {
        return None;
    }
    by_dtype!(x.dtype(), conv_as(x, weight, win, replicas, ConvKind::OneGroup))
}

/// Which convolution a native conv operation ([`conv_as`]) computes.
#[derive(Debug, Clone, Copy)]
enum ConvKind {
    /// One group: [`cpu::conv2d_slice`], [`conv2d_backward`].
    OneGroup,
    /// One filter per channel: [`cpu::depthwise_conv2d_slice`], [`depthwise_conv2d_backward`].
    Depthwise,
    /// A transposed conv to the output size `[oh, ow]` ([`cpu::conv_transpose2d_slice`]):
    /// the adjoint of the one-group conv with the same weight, so its backward is that
    /// conv's forward (dX) and weight gradient with the roles of input and output swapped (dW).
    Transposed([usize; 2]),
}

impl ConvKind {
    fn forward<T: Real>(self, x: &[T], dims: [usize; 4], weight: &[T], weight_dims: [usize; 4], win: Window) -> Option<Buf<T>> {
        match self {
            ConvKind::OneGroup => cpu::conv2d_slice(x, dims, weight, weight_dims[0], None, win),
            ConvKind::Depthwise => cpu::depthwise_conv2d_slice(x, dims, weight, win),
            ConvKind::Transposed(out) => cpu::conv_transpose2d_slice(x, dims, weight, weight_dims[1], None, win, out),
        }
    }

    #[allow(clippy::type_complexity)]
    fn backward<T: Real>(
        self,
        x: (&[T], [usize; 4]),
        (weight, weight_dims): (&[T], [usize; 4]),
        win: Window,
        dy: (&[T], [usize; 4]),
        (want_x, want_w): (bool, bool),
    ) -> (Option<Vec<T>>, Option<Vec<T>>) {
        match self {
            ConvKind::OneGroup => conv2d_backward(x, weight, weight_dims[0], win, dy, want_x, want_w),
            ConvKind::Depthwise => depthwise_conv2d_backward(x, weight, win, dy, want_x, want_w),
            ConvKind::Transposed(_) => {
                // y = Cᵀx for the conv C of `weight` (`[c_in, c_out, k, k]` here is C's
                // `[out, in, k, k]`): dX = C·dY, and dW the weight gradient of C at input dY
                // for the output gradient x.
                let c = weight_dims[0];
                let dx = want_x.then(|| match cpu::conv2d_slice(dy.0, dy.1, weight, c, None, win) {
                    Some(dx) if dx.dims == x.1 => dx.data,
                    _ => unreachable!("the forward checked that the window takes the output's size to the input's"),
                });
                let dw = if want_w { conv2d_backward(dy, weight, c, win, x, false, true).1 } else { None };
                (dx, dw)
            }
        }
    }
}

/// A bias-free convolution of `kind` as one autodiff operation on the native kernels, forward
/// once per copy where `x` is `replicas` copies; the caller checked the shapes and the window.
fn conv_as<T: Native>(x: Tensor<4>, weight: Tensor<4>, win: Window, replicas: usize, kind: ConvKind) -> Option<Tensor<4>> {
    let weight_dims = weight.dims();
    let (x, weight) = (autodiff_primitive(x)?, autodiff_primitive(weight)?);

    #[derive(Debug)]
    struct NativeConv<T>(PhantomData<T>);
    impl<T: Native> Backward<Flex, 2> for NativeConv<T> {
        type State = (FlexTensor, FlexTensor, Window, ConvKind);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x, node_w] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            let (x, weight, win, kind) = ops.state;
            let (dims, weight_dims) = (dims4(&x), dims4(&weight));
            let (dx, dw) = kind.backward::<T>(
                (&slice_of(&x), dims),
                (&slice_of(&weight), weight_dims),
                win,
                (&slice_of(&dy), dims4(&dy)),
                (node_x.is_some(), node_w.is_some()),
            );
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<Flex>(node.id, primitive(dx, dims));
            }
            if let (Some(node), Some(dw)) = (node_w, dw) {
                grads.register::<Flex>(node.id, primitive(dw, weight_dims));
            }
        }
    }

    let forward = |x: &FlexTensor, weight: &FlexTensor| -> FlexTensor {
        let weight = slice_of(weight);
        let y =
            per_copy(&slice_of(x), dims4(x), replicas, |x, dims| match kind.forward::<T>(x, dims, &weight, weight_dims, win) {
                Some(y) => y,
                None => unreachable!("the window was checked to fit"),
            });
        primitive(y.data, y.dims)
    };
    let out = match NativeConv::<T>(PhantomData).prepare::<NoCheckpointing>([x.node(), weight.node()]).compute_bound().stateful()
    {
        OpsKind::Tracked(prep) => {
            let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
            let y = forward(&xp, &wp);
            prep.finish((xp, wp, win, kind), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive(), weight.primitive())),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// A depthwise convolution without bias (`groups` = channels), `x` `[n, c, h, w]` and `weight`
/// `[c, 1, k, k]` on the autodiff flex device, differentiable in both; forward as
/// [`cpu::depthwise_conv2d_slice`] (once per copy where `x` is `replicas` copies), backward per
/// image and channel from the channel's im2col rows: dW[c, t] += ⟨dY_c, col_c[t]⟩ and dX_c the
/// col2im of the rows w[c, t]·dY_c. `None` where the tensors are elsewhere or the window does
/// not fit (the caller then runs burn's conv).
pub fn depthwise_conv2d(x: Tensor<4>, weight: Tensor<4>, win: Window, replicas: usize) -> Option<Tensor<4>> {
    let [_, c, h, w] = x.dims();
    let [c_out, one, kh, kw] = weight.dims();
    if c_out != c || one != 1 || kh != win.kernel || kw != win.kernel || win.out_side(h).is_none() || win.out_side(w).is_none() {
        return None;
    }
    if x.dtype() != weight.dtype() {
        return None;
    }
    by_dtype!(x.dtype(), conv_as(x, weight, win, replicas, ConvKind::Depthwise))
}

/// A transposed convolution without bias (`nn.ConvTranspose2d`, one group), `x`
/// `[n, c_in, h, w]` and `weight` `[c_in, c_out, k, k]` on the autodiff flex device, to the
/// output size `out`, differentiable in both: forward as [`cpu::conv_transpose2d_slice`] (once
/// per copy where `x` is `replicas` copies), backward as the adjoint conv's forward (dX) and
/// weight gradient (dW). `None` where the tensors are elsewhere or the window does not take
/// `out` to the input's size (the caller then runs burn's op).
pub fn conv_transpose2d(x: Tensor<4>, weight: Tensor<4>, win: Window, out: [usize; 2], replicas: usize) -> Option<Tensor<4>> {
    let [_, c_in, h, w] = x.dims();
    let [c_in_w, _, kh, kw] = weight.dims();
    if c_in != c_in_w
        || kh != win.kernel
        || kw != win.kernel
        || win.out_side(out[0]) != Some(h)
        || win.out_side(out[1]) != Some(w)
    {
        return None;
    }
    if x.dtype() != weight.dtype() {
        return None;
    }
    by_dtype!(x.dtype(), conv_as(x, weight, win, replicas, ConvKind::Transposed(out)))
}

/// The gradients of a bias-free depthwise convolution for the output gradient `dy`: the
/// input's (if `want_x`) and the weight's (if `want_w`), row-major.
pub fn depthwise_conv2d_backward<T: Real>(
    (x, [n, c, h, w]): (&[T], [usize; 4]),
    weight: &[T],
    win: Window,
    (dy, [_, _, oh, ow]): (&[T], [usize; 4]),
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let plane = oh * ow;
    let kk = win.kernel * win.kernel;
    let mut dx = want_x.then(|| vec![T::ZERO; x.len()]);
    let mut dw = want_w.then(|| vec![T::ZERO; c * kk]);
    let mut col = vec![T::ZERO; kk * plane];
    for p in 0..n * c {
        let ch = p % c;
        let grad = &dy[p * plane..(p + 1) * plane];
        if let Some(dw) = dw.as_mut() {
            cpu::im2col(&x[p * h * w..(p + 1) * h * w], [1, h, w], win, [oh, ow], &mut col);
            for (d, row) in dw[ch * kk..(ch + 1) * kk].iter_mut().zip(col.chunks_exact(plane)) {
                *d += dot(grad, row);
            }
        }
        if let Some(dx) = dx.as_mut() {
            for (&tap, row) in weight[ch * kk..(ch + 1) * kk].iter().zip(col.chunks_exact_mut(plane)) {
                row.iter_mut().zip(grad).for_each(|(r, &g)| *r = tap * g);
            }
            cpu::col2im(&col, [1, h, w], win, [oh, ow], &mut dx[p * h * w..(p + 1) * h * w]);
        }
    }
    (dx, dw)
}

/// The gradients of a bias-free one-group convolution for the output gradient `dy`: the
/// input's (if `want_x`) and the weight's (if `want_w`), row-major. dX is the transposed conv
/// of dY with the same weight ([`cpu::conv_transpose2d_slice`]: for stride 1 a conv with the
/// flipped kernel, else `dcol = Wᵀ · dY` and col2im); per image `dW += dY · colᵀ`.
pub fn conv2d_backward<T: Real>(
    (x, [n, c_in, h, w]): (&[T], [usize; 4]),
    weight: &[T],
    c_out: usize,
    win: Window,
    (dy, [_, _, oh, ow]): (&[T], [usize; 4]),
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let dx = want_x.then(|| match cpu::conv_transpose2d_slice(dy, [n, c_out, oh, ow], weight, c_in, None, win, [h, w]) {
        Some(dx) => dx.data,
        None => unreachable!("a conv's window takes its input's size to its output's"),
    });
    let plane = oh * ow;
    let k = c_in * win.kernel * win.kernel;
    let direct = win.kernel == 1 && win.stride == 1 && win.padding == 0;
    let mut dw = want_w.then(|| vec![T::ZERO; c_out * k]);
    if let Some(dw) = dw.as_mut() {
        let mut col = if direct { Vec::new() } else { vec![T::ZERO; k * plane] };
        for b in 0..n {
            let image = &x[b * c_in * h * w..(b + 1) * c_in * h * w];
            let grad = &dy[b * c_out * plane..(b + 1) * c_out * plane];
            let rhs: &[T] = if direct {
                image
            } else {
                cpu::im2col(image, [c_in, h, w], win, [oh, ow], &mut col);
                &col
            };
            // dW[c_out, k] (+)= dY_b[c_out, plane] · col[k, plane]ᵀ.
            cpu::matmul(dw, [c_out, k, plane], b > 0, Mat::rows(grad, plane), Mat::transposed(rhs, plane));
        }
    }
    (dx, dw)
}

/// `nn.AvgPool2d` (floor mode, `count_include_pad` either way) of `x` on the autodiff flex
/// device, differentiable; `None` where the tensor is elsewhere or the window does not fit.
pub fn avg_pool(x: Tensor<4>, win: Window, count_include_pad: bool, replicas: usize) -> Option<Tensor<4>> {
    let [_, _, h, w] = x.dims();
    win.out_side(h)?;
    win.out_side(w)?;
    by_dtype!(x.dtype(), avg_pool_as(x, win, count_include_pad, replicas))
}

fn avg_pool_as<T: Native>(x: Tensor<4>, win: Window, count_include_pad: bool, replicas: usize) -> Option<Tensor<4>> {
    let x = autodiff_primitive(x)?;

    #[derive(Debug)]
    struct NativePool<T>(PhantomData<T>);
    impl<T: Native> Backward<Flex, 1> for NativePool<T> {
        type State = ([usize; 4], Window, bool);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x] = ops.parents;
            let dy = buf::<T>(grads.consume::<Flex>(&ops.node));
            let (dims, win, count_include_pad) = ops.state;
            if let Some(node) = node_x {
                grads.register::<Flex>(node.id, primitive(avg_pool_backward(&dy, dims, win, count_include_pad), dims));
            }
        }
    }

    let forward = |x: &FlexTensor| -> FlexTensor {
        let y = per_copy(&slice_of(x), dims4(x), replicas, |x, dims| {
            match cpu::avg_pool_slice::<T>(x, dims, win, count_include_pad) {
                Some(y) => y,
                None => unreachable!("the window was checked to fit"),
            }
        });
        primitive(y.data, y.dims)
    };
    let dims = x.primitive().shape().dims::<4>();
    let out = match NativePool::<T>(PhantomData).prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let y = forward(x.primitive());
            prep.finish((dims, win, count_include_pad), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive())),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// `nn.MaxPool2d` of `x` on the autodiff flex device, differentiable ([`cpu::max_pool_slice`]:
/// burn's and PyTorch's choice of maximum, so each gradient reaches the same input); forward
/// once per copy where `x` is `replicas` copies. `None` elsewhere or where the window does not
/// fit.
pub fn max_pool(x: Tensor<4>, win: Window, replicas: usize) -> Option<Tensor<4>> {
    let [_, _, h, w] = x.dims();
    win.out_side(h)?;
    win.out_side(w)?;
    by_dtype!(x.dtype(), max_pool_as(x, win, replicas))
}

fn max_pool_as<T: Native>(x: Tensor<4>, win: Window, replicas: usize) -> Option<Tensor<4>> {
    let x = autodiff_primitive(x)?;

    #[derive(Debug)]
    struct NativeMaxPool<T>(PhantomData<T>);
    impl<T: Native> Backward<Flex, 1> for NativeMaxPool<T> {
        /// The input's shape and each output's index in its input plane.
        type State = ([usize; 4], std::sync::Arc<Vec<u32>>);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            if let Some(node) = node_x {
                let (dims, index) = ops.state;
                let [_, _, h, w] = dims;
                let dy = slice_of::<T>(&dy);
                let mut dx = vec![T::ZERO; dims.iter().product()];
                let plane = dy.len() / (dims[0] * dims[1]).max(1);
                // The index holds the first copy's planes where the batch is copies of it.
                let planes = index.len() / plane.max(1);
                for (p, (dst, g)) in dx.chunks_exact_mut(h * w).zip(dy.chunks_exact(plane)).enumerate() {
                    let at = &index[(p % planes) * plane..][..plane];
                    for (&i, &g) in at.iter().zip(g) {
                        dst[i as usize] += g;
                    }
                }
                grads.register::<Flex>(node.id, primitive(dx, dims));
            }
        }
    }

    let dims = x.primitive().shape().dims::<4>();
    let mut index = Vec::new();
    let y = per_copy(&slice_of::<T>(x.primitive()), dims, replicas, |x, d| match cpu::max_pool_slice::<T>(x, d, win) {
        Some((y, at)) => {
            index = at;
            y
        }
        None => unreachable!("the window was checked to fit"),
    });
    let y = primitive(y.data, y.dims);
    let out = match NativeMaxPool::<T>(PhantomData).prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((dims, std::sync::Arc::new(index)), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// The input gradient of [`cpu::avg_pool`] for output gradient `dy`: each output's gradient,
/// times 1 / its divisor, added to every input of its window.
pub fn avg_pool_backward<T: Real>(dy: &Buf<T>, dims: [usize; 4], win: Window, count_include_pad: bool) -> Vec<T> {
    let [_, _, h, w] = dims;
    let [_, _, oh, ow] = dy.dims;
    let inverse = cpu::pool_inverse_divisors::<T>(win, [h, w], [oh, ow], count_include_pad);
    let mut dx = vec![T::ZERO; dims.iter().product()];
    if win.stride == 1 && win.dilation == 1 && oh == h && ow == w {
        // A symmetric window: the adjoint of the plane sum is the plane sum.
        let mut scaled = Buf { data: dy.data.clone(), dims: dy.dims };
        for p in scaled.data.chunks_exact_mut(oh * ow) {
            p.iter_mut().zip(&inverse).for_each(|(v, &r)| *v *= r);
        }
        return cpu::same_window_sum(&scaled.data, scaled.dims, win.padding);
    }
    for (src, dst) in dy.data.chunks_exact(oh * ow).zip(dx.chunks_exact_mut(h * w)) {
        for (o, &g) in src.iter().enumerate() {
            let (oy, ox) = (o / ow, o % ow);
            let g = g * inverse[o];
            for iy in (0..win.kernel).filter_map(|i| win.source(oy, i, h)) {
                for ix in (0..win.kernel).filter_map(|j| win.source(ox, j, w)) {
                    dst[iy * w + ix] += g;
                }
            }
        }
    }
    dx
}

/// Batch-statistic BN of `x` `[n, c, h, w]` on the autodiff flex device (biased variance,
/// `eps`), times `gamma` plus `beta` (`[c]`, constants where `None`), differentiable in all
/// three; also the per-channel variances (constants). `None` where the tensors are elsewhere.
///
/// Backward, per channel over its N = n·h·w values with x̂ = (x − mean)·r, r = 1/√(var + eps):
/// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·r/N · (N·dy − Σ dy − x̂ · Σ dy·x̂) (sums in f64).
pub fn batch_norm(x: Tensor<4>, affine: Option<(Tensor<1>, Tensor<1>)>, eps: f64) -> Option<(Tensor<4>, Vec<f64>)> {
    if affine.as_ref().is_some_and(|(g, b)| g.dtype() != x.dtype() || b.dtype() != x.dtype()) {
        return None;
    }
    by_dtype!(x.dtype(), batch_norm_as(x, affine, eps))
}

fn batch_norm_as<T: Native>(x: Tensor<4>, affine: Option<(Tensor<1>, Tensor<1>)>, eps: f64) -> Option<(Tensor<4>, Vec<f64>)> {
    let [_, c, _, _] = x.dims();
    let device = x.device();
    let (gamma, beta) =
        affine.unwrap_or_else(|| (Tensor::ones([c], (&device, T::DTYPE)), Tensor::zeros([c], (&device, T::DTYPE))));
    let (x, gamma, beta) = (autodiff_primitive(x)?, autodiff_primitive(gamma)?, autodiff_primitive(beta)?);

    #[derive(Debug)]
    struct NativeBatchNorm<T>(PhantomData<T>);
    impl<T: Native> Backward<Flex, 3> for NativeBatchNorm<T> {
        /// x̂, 1/std per channel, γ.
        type State = (FlexTensor, Vec<T>, Vec<T>);

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x, node_gamma, node_beta] = ops.parents;
            let dy = buf::<T>(grads.consume::<Flex>(&ops.node));
            let (xhat, inv_std, gamma) = ops.state;
            let xhat = buf::<T>(xhat);
            let [n, c, h, w] = xhat.dims;
            let plane = h * w;
            let count = (n * plane) as f64;
            let planes = |ch: usize| (0..n).map(move |b| (b * c + ch) * plane);
            let (mut d_gamma, mut d_beta) = (vec![T::ZERO; c], vec![T::ZERO; c]);
            let mut dx = node_x.is_some().then(|| vec![T::ZERO; dy.data.len()]);
            for ch in 0..c {
                let sum_dy: f64 = planes(ch).map(|o| cpu::lane_sum(&dy.data[o..o + plane], |v| v).as_f64()).sum();
                let sum_dy_xhat: f64 = planes(ch).map(|o| dot(&dy.data[o..o + plane], &xhat.data[o..o + plane]).as_f64()).sum();
                d_beta[ch] = T::of_f64(sum_dy);
                d_gamma[ch] = T::of_f64(sum_dy_xhat);
                if let Some(dx) = dx.as_mut() {
                    let scale = gamma[ch] * inv_std[ch];
                    let (mean_dy, mean_dy_xhat) = (T::of_f64(sum_dy / count), T::of_f64(sum_dy_xhat / count));
                    for o in planes(ch) {
                        let (g, xh) = (&dy.data[o..o + plane], &xhat.data[o..o + plane]);
                        for ((d, &g), &xh) in dx[o..o + plane].iter_mut().zip(g).zip(xh) {
                            *d = scale * (g - mean_dy - xh * mean_dy_xhat);
                        }
                    }
                }
            }
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<Flex>(node.id, primitive(dx, dy.dims));
            }
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, primitive(d_gamma, [c]));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, primitive(d_beta, [c]));
            }
        }
    }

    let gamma_values = flat::<T>(gamma.primitive().clone());
    let beta_values = flat::<T>(beta.primitive().clone());
    let mut xhat = buf::<T>(x.primitive().clone());
    let variances = cpu::batch_norm(&mut xhat, eps, None);
    let inv_std: Vec<T> = variances.iter().map(|&v| T::ONE / (v + T::of_f64(eps)).sqrt()).collect();
    let [n, _, h, w] = xhat.dims;
    let plane = h * w;
    // y = x̂·γ + β, written once from x̂ (no copy of x̂ first).
    let mut y = Vec::with_capacity(xhat.data.len());
    for (p, values) in xhat.data.chunks_exact(plane).enumerate() {
        let ch = p % c;
        let (g, b) = (gamma_values[ch], beta_values[ch]);
        y.extend(values.iter().map(|&v| v * g + b));
    }
    debug_assert_eq!(y.len(), n * c * plane);
    let y = primitive(y, xhat.dims);
    let out = match NativeBatchNorm::<T>(PhantomData)
        .prepare::<NoCheckpointing>([x.node(), gamma.node(), beta.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((primitive(xhat.data, xhat.dims), inv_std, gamma_values), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some((Tensor::from_primitive::<Ad>(out), variances.into_iter().map(T::as_f64).collect()))
}

/// ReLU of `x` on the autodiff flex device as one operation, forward computed once per copy
/// where `x` is `replicas` copies of its first images ([`per_copy`]); `None` elsewhere. The same
/// values as burn's `relu` both ways (a NaN propagates; the gradient is kept where the output is
/// positive or NaN).
pub fn relu(x: Tensor<4>, replicas: usize) -> Option<Tensor<4>> {
    by_dtype!(x.dtype(), relu_as(x, replicas))
}

fn relu_as<T: Native>(x: Tensor<4>, replicas: usize) -> Option<Tensor<4>> {
    // A NaN propagates (`v <= 0` is false for NaN).
    let forward = |x: &[T], _| x.iter().map(|&v| if v <= T::ZERO { T::ZERO } else { v }).collect();
    // The output; the gradient is kept where y > 0 or y is NaN (`y <= 0` is false for NaN).
    let backward = |y: FlexTensor, dy: &mut [T], _| {
        dy.iter_mut().zip(slice_of::<T>(&y).iter()).for_each(|(g, &y)| *g = if y <= T::ZERO { T::ZERO } else { *g });
    };
    pointwise(x, replicas, forward, |_, y| y.clone(), backward)
}

/// LeakyReLU with `slope` of `x` on the autodiff flex device as one operation, forward
/// computed once per copy where `x` is `replicas` copies ([`per_copy`]); `None` elsewhere. The
/// same values as burn's `leaky_relu` on the autodiff backend both ways (x where x < 0 is
/// false, else slope·x, a NaN propagating; dX = slope·dY where x < 0, else dY): the backward
/// keeps one bit per input (x < 0) rather than the input, since slope·x can round to −0.
pub fn leaky_relu(x: Tensor<4>, slope: f64, replicas: usize) -> Option<Tensor<4>> {
    by_dtype!(x.dtype(), leaky_relu_as(x, slope, replicas))
}

fn leaky_relu_as<T: Native>(x: Tensor<4>, slope: f64, replicas: usize) -> Option<Tensor<4>> {
    let slope = T::of_f64(slope);
    let forward = move |x: &[T], _| x.iter().map(|&v| if v < T::ZERO { v * slope } else { v }).collect();
    // Which inputs were negative (bit i % 64 of word i / 64) and the slope.
    let negative = |x: &FlexTensor, _: &FlexTensor| -> (Vec<u64>, T) {
        let bits = slice_of::<T>(x)
            .chunks(64)
            .map(|chunk| chunk.iter().enumerate().fold(0u64, |m, (j, &v)| m | (u64::from(v < T::ZERO) << j)))
            .collect();
        (bits, slope)
    };
    let backward = |(negative, slope): (Vec<u64>, T), dy: &mut [T], _| {
        for (chunk, &bits) in dy.chunks_mut(64).zip(&negative) {
            for (j, g) in chunk.iter_mut().enumerate() {
                if bits >> j & 1 == 1 {
                    *g *= slope;
                }
            }
        }
    };
    pointwise(x, replicas, forward, negative, backward)
}

/// Eval-mode BN on a fresh network's running statistics, `(x / divisor) · γ_c + β_c` per
/// channel with γ and β constants (`[c]`, untracked), as one operation on the autodiff flex
/// device: forward once per copy where `x` is `replicas` copies ([`per_copy`]), backward
/// `(dy · γ_c) · (1 / divisor)` (the reciprocal in f32, as burn's). The same float operations in the same order as burn's
/// `x.div_scalar(divisor).mul(γ).add(β)` and its backward, so the same values. `None` elsewhere.
pub fn initial_batch_norm(x: Tensor<4>, gamma: &[f32], beta: &[f32], divisor: f64, replicas: usize) -> Option<Tensor<4>> {
    let c = x.dims()[1];
    if gamma.len() != c || beta.len() != c {
        return None;
    }
    let (gamma, beta): (Vec<f64>, Vec<f64>) =
        (gamma.iter().map(|&v| v.into()).collect(), beta.iter().map(|&v| v.into()).collect());
    by_dtype!(x.dtype(), initial_batch_norm_as(x, &gamma, &beta, divisor, replicas))
}

fn initial_batch_norm_as<T: Native>(
    x: Tensor<4>,
    gamma: &[f64],
    beta: &[f64],
    divisor: f64,
    replicas: usize,
) -> Option<Tensor<4>> {
    let gamma: Vec<T> = gamma.iter().map(|&v| T::of_f64(v)).collect();
    let beta: Vec<T> = beta.iter().map(|&v| T::of_f64(v)).collect();
    let divisor = T::of_f64(divisor);
    let forward = |x: &[T], [_, c, h, w]: [usize; 4]| {
        let mut y = x.to_vec();
        for (p, plane) in y.chunks_exact_mut(h * w).enumerate() {
            let (g, b) = (gamma[p % c], beta[p % c]);
            plane.iter_mut().for_each(|v| *v = *v / divisor * g + b);
        }
        y
    };
    // γ and the divisor.
    let backward = |(gamma, divisor): (Vec<T>, T), dy: &mut [T], [_, c, h, w]: [usize; 4]| {
        // burn's div_scalar back-propagates as a product with 1 / divisor in f32.
        let inverse = T::of_f64(f64::from(1.0f32 / divisor.as_f64() as f32));
        for (p, plane) in dy.chunks_exact_mut(h * w).enumerate() {
            let g = gamma[p % c];
            plane.iter_mut().for_each(|v| *v = (*v * g) * inverse);
        }
    };
    pointwise(x, replicas, forward, |_, _| (gamma.clone(), divisor), backward)
}

/// A pointwise operation of our own on the autodiff flex device (`None` elsewhere): `forward`
/// maps one copy's values ([`per_copy`]: computed once where `x` is `replicas` copies), `keep`
/// what the backward needs from the input and the output (called only where a gradient is
/// tracked), and `backward` turns dY into dX in place.
fn pointwise<T: Native, S: Clone + Send + std::fmt::Debug + 'static>(
    x: Tensor<4>,
    replicas: usize,
    forward: impl Fn(&[T], [usize; 4]) -> Vec<T>,
    keep: impl FnOnce(&FlexTensor, &FlexTensor) -> S,
    backward: fn(S, &mut [T], [usize; 4]),
) -> Option<Tensor<4>> {
    let x = autodiff_primitive(x)?;

    #[derive(Debug)]
    struct Pointwise<T, S>(fn(S, &mut [T], [usize; 4]));
    impl<T: Native, S: Clone + Send + std::fmt::Debug + 'static> Backward<Flex, 1> for Pointwise<T, S> {
        type State = S;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_x] = ops.parents;
            let mut dy = buf::<T>(grads.consume::<Flex>(&ops.node));
            if let Some(node) = node_x {
                (self.0)(ops.state, &mut dy.data, dy.dims);
                grads.register::<Flex>(node.id, primitive(dy.data, dy.dims));
            }
        }
    }

    let y = {
        let x = x.primitive();
        let y = per_copy(&slice_of::<T>(x), dims4(x), replicas, |x, dims| Buf { data: forward(x, dims), dims });
        primitive(y.data, y.dims)
    };
    let out = match Pointwise::<T, S>(backward).prepare::<NoCheckpointing>([x.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let state = keep(x.primitive(), &y);
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

/// `Σ a·b` in eight lanes.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: T = ca.remainder().iter().zip(cb.remainder()).map(|(&x, &y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((l, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    lanes.iter().copied().sum::<T>() + rest
}

/// VKDNW's first-scalar probe as one operation: `y` plus s_b · `term` in channel 0 for the
/// zero leaf `s` ∈ ℝ^B, i.e. `y` itself forward (s = 0; no copy), and backward dy to `y`
/// unchanged and ds_b = Σ dy[b, 0, …] · term[b, 0, …] to `s`. burn's ops build the same sum as
/// `y + cat(term, zeros) · s`, a full-size concatenation, product and sum per parameter
/// tensor and their backward (most of VKDNW's time). `term` (`[B, 1, …]`, or the first copy's
/// `[B / r, 1, …]` where the batch is r copies of its first B / r samples) enters as a
/// constant: its gradient is dy · s = 0 either way. `None` where the tensors are not on the autodiff flex
/// device or not f32 / f64.
pub fn first_param_probe<const D: usize>(y: Tensor<D>, term: Tensor<D>, leaf: Tensor<1>) -> Option<Tensor<D>> {
    let dims = y.dims();
    let rows = term.dims()[0];
    if D < 2
        || rows == 0
        || !dims[0].is_multiple_of(rows)
        || term.dims()[1] != 1
        || term.dims()[2..] != dims[2..]
        || leaf.dims() != [dims[0]]
    {
        return None;
    }
    if term.dtype() != y.dtype() || leaf.dtype() != y.dtype() {
        return None;
    }
    match y.dtype() {
        DType::F32 => first_param_probe_as::<f32, D>(y, term, leaf),
        DType::F64 => first_param_probe_as::<f64, D>(y, term, leaf),
        _ => None,
    }
}

fn first_param_probe_as<T: Native, const D: usize>(y: Tensor<D>, term: Tensor<D>, leaf: Tensor<1>) -> Option<Tensor<D>> {
    let term = term.detach().inner().try_into_primitive::<Flex>().ok()?;
    let (y, leaf) = (autodiff_primitive(y)?, autodiff_primitive(leaf)?);

    #[derive(Debug)]
    struct NativeProbe<T>(PhantomData<T>);
    impl<T: Native> Backward<Flex, 2> for NativeProbe<T> {
        /// The constant term, `[B, 1, …]`.
        type State = FlexTensor;

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [node_y, node_leaf] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            if let Some(node) = node_leaf {
                let term = ops.state;
                let shape = dy.shape();
                let (batch, channels) = (shape[0], shape[1]);
                let rest: usize = shape.iter().skip(2).product();
                let (dy_values, term_values) = (slice_of::<T>(&dy), slice_of::<T>(&term));
                // A term of fewer rows is the first copy's (the batch is copies of it).
                let rows = term_values.len() / rest.max(1);
                let ds: Vec<T> = (0..batch)
                    .map(|b| {
                        let g = &dy_values[b * channels * rest..][..rest];
                        dot(g, &term_values[(b % rows) * rest..][..rest])
                    })
                    .collect();
                grads.register::<Flex>(node.id, primitive(ds, [batch]));
            }
            if let Some(node) = node_y {
                grads.register::<Flex>(node.id, dy);
            }
        }
    }

    let out = match NativeProbe::<T>(PhantomData).prepare::<NoCheckpointing>([y.node(), leaf.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let value = y.primitive().clone();
            prep.finish(term, value)
        }
        OpsKind::UnTracked(prep) => prep.finish(y.into_primitive()),
    };
    Some(Tensor::from_primitive::<Ad>(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::{avg_pool2d, conv2d as burn_conv2d, max_pool2d};
    use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
    use burn::tensor::Distribution;

    /// Max |a − b| within `tolerance` × the largest |b| (at least 1e-3).
    fn close_within(a: Vec<f64>, b: Vec<f64>, tolerance: f64, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = b.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
        assert!(worst <= tolerance * scale, "{what}: native and burn differ by {worst} (scale {scale})");
    }

    fn close(a: Vec<f64>, b: Vec<f64>, what: &str) {
        close_within(a, b, 1e-4, what)
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        cpu::read::<f64>(t.into_data().convert::<f64>())
    }

    #[test]
    fn native_conv_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        // (n, c_in, c_out, side, kernel, stride, padding, dilation): 3×3 same, 1×1 direct,
        // strided, dilated, 2×2 stride 2 without padding, a 7×7 stem.
        for (n, c_in, c_out, side, kernel, stride, padding, dilation) in [
            (2, 3, 4, 8, 3, 1, 1, 1),
            (3, 5, 6, 7, 1, 1, 0, 1),
            (2, 4, 3, 9, 3, 2, 1, 1),
            (2, 3, 2, 10, 3, 1, 2, 2),
            (1, 2, 3, 6, 2, 2, 0, 1),
            (2, 3, 4, 16, 7, 2, 3, 1),
            (2, 4, 4, 8, 5, 1, 2, 1),
        ] {
            let x = Tensor::<4>::random([n, c_in, side, side], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let weight =
                Tensor::<4>::random([c_out, c_in, kernel, kernel], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let win = Window { kernel, stride, padding, dilation };
            let ours = conv2d(x.clone(), weight.clone(), win, 1).expect("on the autodiff flex device");
            let options = ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], 1);
            same_conv(&format!("conv k={kernel} s={stride} p={padding} d={dilation}"), &x, &weight, ours, options);
        }
    }

    /// `ours` (a conv of `x` with `weight`) against burn's conv with `options`: forward, dX, dW.
    fn same_conv(what: &str, x: &Tensor<4>, weight: &Tensor<4>, ours: Tensor<4>, options: ConvOptions<2>) {
        let theirs = burn_conv2d(x.clone(), weight.clone(), None, options);
        same_op(what, x, weight, ours, theirs)
    }

    /// `ours` against `theirs`, both ops of `x` and `weight`: forward, dX, dW.
    fn same_op(what: &str, x: &Tensor<4>, weight: &Tensor<4>, ours: Tensor<4>, theirs: Tensor<4>) {
        assert_eq!(ours.dims(), theirs.dims(), "{what}: shape");
        close(values(ours.clone()), values(theirs.clone()), &format!("{what} forward"));
        // A non-uniform output gradient: the loss Σ y², so dY = 2y.
        let g_ours = ours.powi_scalar(2).sum().backward();
        let g_theirs = theirs.powi_scalar(2).sum().backward();
        close(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), &format!("{what} dX"));
        close(values(weight.grad(&g_ours).unwrap()), values(weight.grad(&g_theirs).unwrap()), &format!("{what} dW"));
    }

    /// The depthwise conv (DARTS' separable and dilated convs) against burn's grouped conv:
    /// forward, dX and dW, for the geometries DARTS uses (3×3 and 5×5, strides 1 and 2,
    /// dilation 2) and a replicated batch computed once per copy.
    #[test]
    fn native_depthwise_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        // (n, c, side, kernel, stride, padding, dilation, replicas)
        for (n, c, side, kernel, stride, padding, dilation, replicas) in [
            (2, 3, 8, 3, 1, 1, 1, 1),
            (2, 4, 9, 3, 2, 1, 1, 1),
            (2, 3, 8, 5, 1, 2, 1, 1),
            (3, 2, 10, 5, 2, 2, 1, 1),
            (2, 3, 8, 3, 1, 2, 2, 1),
            (2, 3, 9, 5, 2, 4, 2, 1),
            (4, 3, 8, 3, 1, 1, 1, 2),
        ] {
            let first = Tensor::<4>::random([n / replicas, c, side, side], Distribution::Normal(0.0, 1.0), &device);
            let x = first.repeat_dim(0, replicas).detach().require_grad();
            let weight = Tensor::<4>::random([c, 1, kernel, kernel], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let win = Window { kernel, stride, padding, dilation };
            let ours = depthwise_conv2d(x.clone(), weight.clone(), win, replicas).expect("on the autodiff flex device");
            let options = ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], c);
            same_conv(
                &format!("depthwise k={kernel} s={stride} p={padding} d={dilation} r={replicas}"),
                &x,
                &weight,
                ours,
                options,
            );
        }
        // Not depthwise (two inputs per filter): not ours.
        let x = Tensor::<4>::random([1, 4, 6, 6], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random([4, 2, 3, 3], Distribution::Normal(0.0, 1.0), &device);
        assert!(depthwise_conv2d(x, w, Window { kernel: 3, stride: 1, padding: 1, dilation: 1 }, 1).is_none());
    }

    /// The transposed conv (TransNAS-Bench-101's decoders: 3×3, stride 2, padding 1, output
    /// padding 1) against burn's `conv_transpose2d`: forward, dX and dW, on the decoders'
    /// geometry and on each path of the kernel (stride 1 through the flipped kernel, a plain
    /// 1×1, col2im for larger strides and output paddings), f32 and f64, a replicated batch;
    /// and the plain forward (no autodiff) on the same values.
    #[test]
    fn native_transposed_conv_gradients_equal_burns() {
        use burn::tensor::module::conv_transpose2d as burn_conv_transpose2d;
        use burn::tensor::ops::ConvTransposeOptions;
        let device = Device::flex().autodiff();
        // (n, c_in, c_out, side, kernel, stride, padding, output padding, replicas, dtype)
        for (n, c_in, c_out, side, kernel, stride, padding, extra, replicas, dtype) in [
            (2, 3, 4, 5, 3, 2, 1, 1, 1, DType::F32),
            (2, 4, 3, 6, 3, 1, 1, 0, 1, DType::F32),
            (3, 2, 5, 4, 1, 1, 0, 0, 1, DType::F32),
            (2, 3, 2, 5, 4, 2, 1, 0, 1, DType::F32),
            (2, 3, 3, 4, 3, 3, 0, 2, 1, DType::F32),
            (4, 3, 4, 5, 3, 2, 1, 1, 2, DType::F32),
            (2, 3, 4, 5, 3, 2, 1, 1, 1, DType::F64),
        ] {
            let random = |dims: [usize; 4]| Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device).cast(dtype);
            let x = random([n / replicas, c_in, side, side]).repeat_dim(0, replicas).detach().require_grad();
            let weight = random([c_in, c_out, kernel, kernel]).detach().require_grad();
            let win = Window { kernel, stride, padding, dilation: 1 };
            let out = (side - 1) * stride + kernel + extra - 2 * padding;
            let ours = conv_transpose2d(x.clone(), weight.clone(), win, [out; 2], replicas).expect("on the autodiff flex device");
            assert_eq!(ours.dtype(), dtype);
            let options = ConvTransposeOptions::new([stride; 2], [padding; 2], [extra; 2], [1, 1], 1);
            let theirs = burn_conv_transpose2d(x.clone(), weight.clone(), None, options.clone());
            let what = format!("transposed k={kernel} s={stride} p={padding} op={extra} r={replicas} {dtype:?}");
            same_op(&what, &x, &weight, ours, theirs.clone());
            if dtype == DType::F32 {
                let plain = Buf::<f32>::take(x.clone().inner());
                let y = cpu::conv_transpose2d_slice(
                    &plain.data,
                    plain.dims,
                    &cpu::values(weight.clone().inner()),
                    c_out,
                    None,
                    win,
                    [out; 2],
                )
                .expect("the window fits");
                close(y.data.iter().map(|&v| v.into()).collect(), values(theirs), &format!("{what} plain forward"));
            }
        }
        // An output size the window does not take to the input's: not ours.
        let x = Tensor::<4>::random([1, 2, 4, 4], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random([2, 3, 3, 3], Distribution::Normal(0.0, 1.0), &device);
        assert!(conv_transpose2d(x, w, Window { kernel: 3, stride: 2, padding: 1, dilation: 1 }, [10, 10], 1).is_none());
    }

    /// LeakyReLU(0.2) bitwise as burn's on the autodiff backend, forward and backward, f32 and
    /// f64, on values that test its edges: ±0, a negative that 0.2·x rounds to −0, a NaN, a
    /// positive subnormal; a replicated batch; and the plain in-place op.
    #[test]
    fn native_leaky_relu_equals_burns_bitwise() {
        let device = Device::flex().autodiff();
        let same = |a: Vec<f64>, b: Vec<f64>, what: &str| {
            assert_eq!(a.len(), b.len());
            for (i, (a, b)) in a.iter().zip(&b).enumerate() {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{what} at {i}: {a} vs {b}");
            }
        };
        for (dtype, replicas) in [(DType::F32, 1), (DType::F32, 2), (DType::F64, 1)] {
            let first = Tensor::<4>::random([2, 3, 4, 4], Distribution::Normal(0.0, 1.0), &device);
            let mut v = values(first);
            v[..6].copy_from_slice(&[0.0, -0.0, -1e-45, f64::NAN, 1e-40, -3.0]);
            let first = Tensor::<4>::from_data(TensorData::new(v, [2, 3, 4, 4]), (&device, DType::F64)).cast(dtype);
            let x = first.repeat_dim(0, replicas).detach().require_grad();
            let ours = leaky_relu(x.clone(), 0.2, replicas).expect("on the autodiff flex device");
            let theirs = burn::tensor::activation::leaky_relu(x.clone(), 0.2);
            same(values(ours.clone()), values(theirs.clone()), &format!("{dtype:?} r={replicas} forward"));
            let r = Tensor::<4>::random(x.dims(), Distribution::Normal(0.0, 1.0), &device).cast(dtype);
            let g_ours = ours.mul(r.clone()).sum().backward();
            let g_theirs = theirs.mul(r).sum().backward();
            same(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), &format!("{dtype:?} r={replicas} dX"));
            if dtype == DType::F32 {
                let mut plain = Buf::<f32>::take(x.clone().inner());
                cpu::leaky_relu(&mut plain, 0.2);
                let theirs = burn::tensor::activation::leaky_relu(x.inner(), 0.2);
                same(plain.data.iter().map(|&v| v.into()).collect(), values(theirs), "plain forward");
            }
        }
    }

    /// The float64 path (GraSP's, SynFlow's): conv, pool and BN agree with burn's f64 ops to
    /// f64 rounding.
    #[test]
    fn native_f64_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        let f64s = |dims: [usize; 4]| {
            Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64).detach().require_grad()
        };
        let x = f64s([2, 3, 7, 7]);
        let weight = f64s([4, 3, 3, 3]);
        let win = Window { kernel: 3, stride: 2, padding: 1, dilation: 1 };
        let ours = conv2d(x.clone(), weight.clone(), win, 1).expect("f64 on the autodiff flex device");
        let options = ConvOptions::new([2; 2], [1; 2], [1; 2], 1);
        let theirs = burn_conv2d(x.clone(), weight.clone(), None, options.clone());
        assert_eq!(ours.dtype(), DType::F64);
        close_within(values(ours.clone()), values(theirs.clone()), 1e-12, "f64 conv forward");
        let pooled = |t: Tensor<4>, native: bool| {
            let win = Window { kernel: 3, stride: 1, padding: 1, dilation: 1 };
            if native {
                avg_pool(t, win, false, 1).expect("f64")
            } else {
                avg_pool2d(
                    t,
                    burn::tensor::ops::AvgPoolOptions::new([3; 2])
                        .with_stride([1; 2])
                        .with_padding([1; 2])
                        .with_count_include_pad(false),
                )
            }
        };
        let normed = |t: Tensor<4>, native: bool| {
            if native {
                batch_norm(t, None, 1e-5).expect("f64").0
            } else {
                let [n, c, h, w] = t.dims();
                let (var, mean) = t.clone().swap_dims(0, 1).reshape([c, n * h * w]).var_mean_bias(1);
                t.sub(mean.reshape([1, c, 1, 1])).div(var.add_scalar(1e-5).sqrt().reshape([1, c, 1, 1]))
            }
        };
        let convolved = |native: bool| {
            if native {
                conv2d(x.clone(), weight.clone(), win, 1).expect("f64")
            } else {
                burn_conv2d(x.clone(), weight.clone(), None, options.clone())
            }
        };
        for stage in 0..3 {
            let f = |native: bool| match stage {
                0 => convolved(native),
                1 => pooled(convolved(native), native),
                _ => normed(pooled(convolved(native), native), native),
            };
            let g_ours = f(true).powi_scalar(3).sum().backward();
            let g_theirs = f(false).powi_scalar(3).sum().backward();
            close_within(
                values(x.grad(&g_ours).unwrap()),
                values(x.grad(&g_theirs).unwrap()),
                1e-10,
                &format!("stage {stage} f64 dX"),
            );
        }
        let g_ours = normed(pooled(ours, true), true).powi_scalar(3).sum().backward();
        let g_theirs = normed(pooled(theirs, false), false).powi_scalar(3).sum().backward();
        close_within(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), 1e-10, "f64 dX");
        close_within(values(weight.grad(&g_ours).unwrap()), values(weight.grad(&g_theirs).unwrap()), 1e-10, "f64 dW");
    }

    /// Max pooling against burn's, forward and dX, for NB101's and DARTS' geometries (3×3,
    /// strides 1 and 2, padding 1) on inputs with ties (a ReLU's zeros, where the choice of
    /// maximum decides which input gets the gradient), and a replicated batch.
    #[test]
    fn native_max_pool_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        for (n, c, side, kernel, stride, padding, replicas) in
            [(2, 3, 8, 3, 1, 1, 1), (2, 3, 9, 3, 2, 1, 1), (3, 2, 7, 2, 2, 0, 1), (4, 3, 8, 3, 2, 1, 2)]
        {
            let first = Tensor::<4>::random([n / replicas, c, side, side], Distribution::Normal(0.0, 1.0), &device);
            // Half the values 0, many windows all 0: ties everywhere.
            let x = burn::tensor::activation::relu(first).repeat_dim(0, replicas).detach().require_grad();
            let win = Window { kernel, stride, padding, dilation: 1 };
            let ours = max_pool(x.clone(), win, replicas).expect("on the autodiff flex device");
            let options = MaxPoolOptions::new([kernel; 2]).with_stride([stride; 2]).with_padding([padding; 2]);
            let theirs = max_pool2d(x.clone(), options);
            let what = format!("max pool k={kernel} s={stride} p={padding} r={replicas}");
            assert_eq!(ours.dims(), theirs.dims(), "{what}: shape");
            assert_eq!(values(ours.clone()), values(theirs.clone()), "{what}: forward");
            // dY = 2y + 1: every output sends a gradient, even a 0.
            let g_ours = ours.clone().powi_scalar(2).add(ours).sum().backward();
            let g_theirs = theirs.clone().powi_scalar(2).add(theirs).sum().backward();
            assert_eq!(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), "{what}: dX");
        }
    }

    #[test]
    fn native_pool_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        for (kernel, stride, padding, side, include) in [
            (3, 1, 1, 8, false),
            (3, 1, 1, 7, true),
            (3, 1, 1, 4, false),
            (3, 1, 1, 2, true),
            (2, 2, 0, 8, true),
            (3, 2, 1, 9, false),
            (2, 2, 0, 7, false),
        ] {
            let x = Tensor::<4>::random([2, 3, side, side], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let win = Window { kernel, stride, padding, dilation: 1 };
            let ours = avg_pool(x.clone(), win, include, 1).expect("on the autodiff flex device");
            let options = burn::tensor::ops::AvgPoolOptions::new([kernel; 2])
                .with_stride([stride; 2])
                .with_padding([padding; 2])
                .with_count_include_pad(include);
            let theirs = avg_pool2d(x.clone(), options);
            let what = format!("pool k={kernel} s={stride} p={padding} include_pad={include}");
            close(values(ours.clone()), values(theirs.clone()), &format!("{what} forward"));
            let g_ours = ours.powi_scalar(2).sum().backward();
            let g_theirs = theirs.powi_scalar(2).sum().backward();
            close(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), &format!("{what} dX"));
        }
    }

    #[test]
    fn native_batch_norm_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        for (n, c, side, affine) in [(4, 3, 5, true), (2, 5, 8, false), (3, 2, 1, true)] {
            let x = Tensor::<4>::random([n, c, side, side], Distribution::Normal(0.5, 2.0), &device).require_grad();
            let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &device).require_grad();
            let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &device).require_grad();
            let weights = affine.then(|| (gamma.clone(), beta.clone()));
            let (ours, variances) = batch_norm(x.clone(), weights, 1e-5).expect("on the autodiff flex device");
            let per_channel = x.clone().swap_dims(0, 1).reshape([c, n * side * side]);
            let (var, mean) = per_channel.var_mean_bias(1);
            let normalised =
                x.clone().sub(mean.reshape([1, c, 1, 1])).div(var.clone().add_scalar(1e-5).sqrt().reshape([1, c, 1, 1]));
            let theirs = if affine {
                normalised.mul(gamma.clone().reshape([1, c, 1, 1])).add(beta.clone().reshape([1, c, 1, 1]))
            } else {
                normalised
            };
            let what = format!("bn n={n} c={c} side={side} affine={affine}");
            close(variances, values(var.reshape([c])), &format!("{what} variances"));
            close(values(ours.clone()), values(theirs.clone()), &format!("{what} forward"));
            // A loss whose gradient is not constant per channel: Σ y³ / n.
            let g_ours = ours.powi_scalar(3).sum().backward();
            let g_theirs = theirs.powi_scalar(3).sum().backward();
            close(values(x.grad(&g_ours).unwrap()), values(x.grad(&g_theirs).unwrap()), &format!("{what} dX"));
            if affine {
                close(values(gamma.grad(&g_ours).unwrap()), values(gamma.grad(&g_theirs).unwrap()), &format!("{what} dγ"));
                close(values(beta.grad(&g_ours).unwrap()), values(beta.grad(&g_theirs).unwrap()), &format!("{what} dβ"));
            }
        }
    }

    /// The probe's leaf gradient equals burn's `y + cat(term, zeros) · s` (s = 0), and the
    /// gradient reaching `y`'s input is unchanged.
    #[test]
    fn native_probe_gradients_equal_burns() {
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([3, 4, 5, 5], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let term = Tensor::<4>::random([3, 1, 5, 5], Distribution::Normal(0.0, 1.0), &device);
        let run = |native: bool| {
            let leaf = Tensor::<1>::zeros([3], &device).require_grad();
            let y = x.clone().mul_scalar(2.0);
            let probed = if native {
                first_param_probe(y, term.clone(), leaf.clone()).expect("on the autodiff flex device")
            } else {
                let full = Tensor::cat(vec![term.clone(), Tensor::zeros([3, 3, 5, 5], &device)], 1);
                y.add(full.mul(leaf.clone().reshape([3, 1, 1, 1])))
            };
            let grads = probed.powi_scalar(3).sum().backward();
            (values(leaf.grad(&grads).unwrap()), values(x.grad(&grads).unwrap()))
        };
        let ((s_ours, x_ours), (s_theirs, x_theirs)) = (run(true), run(false));
        close(s_ours, s_theirs, "probe ds");
        close(x_ours, x_theirs, "probe dx");
        // A flat output (a linear layer's).
        let logits = Tensor::<2>::random([3, 6], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let leaf = Tensor::<1>::zeros([3], &device).require_grad();
        let column = Tensor::<2>::random([3, 1], Distribution::Normal(0.0, 1.0), &device);
        let grads = first_param_probe(logits, column.clone(), leaf.clone()).unwrap().sum().backward();
        close(values(leaf.grad(&grads).unwrap()), values(column.clone()), "flat probe ds");
        // A probe on a transposed (non-contiguous) output.
        let wide = Tensor::<2>::random([6, 3], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let leaf = Tensor::<1>::zeros([3], &device).require_grad();
        let probed = first_param_probe(wide.clone().transpose(), column.clone(), leaf.clone()).unwrap();
        let weights = Tensor::<2>::random([3, 6], Distribution::Normal(0.0, 1.0), &device);
        let grads = probed.mul(weights.clone()).sum().backward();
        let expected: Vec<f64> = (0..3).map(|b| values(weights.clone())[b * 6] * values(column.clone())[b]).collect();
        close(values(leaf.grad(&grads).unwrap()), expected, "transposed probe ds");
    }

    #[test]
    fn native_gradients_run_only_where_asked() {
        let x = Tensor::<4>::zeros([1, 1, 4, 4], (&Device::flex().autodiff(), DType::F32));
        assert!(Kernels::Native.native_grad_for(&x));
        assert!(!Kernels::Burn.native_grad_for(&x));
        assert!(!Kernels::Native.native_grad_for(&Tensor::<4>::zeros([1, 1, 4, 4], (&Device::flex(), DType::F32))));
        assert!(Kernels::Native.native_grad_for(&Tensor::<4>::zeros([1, 1, 4, 4], (&Device::flex().autodiff(), DType::F64))));
        assert!(!Kernels::Native.native_grad_for(&Tensor::<4>::zeros([1, 1, 4, 4], (&Device::flex().autodiff(), DType::F16))));
    }
}
