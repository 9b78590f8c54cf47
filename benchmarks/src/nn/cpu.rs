//! Native CPU kernels for forward-only passes on burn's flex backend.
//!
//! Profiling SWAP on flex (`perf record` of `swapnas bench`, NB201) found the forward pass at
//! ≈ 15 % of this CPU's sgemm rate: the GEMMs themselves ran well below peak on flex's tiled
//! NHWC im2col, and the rest went to layout conversions, `avg_pool2d` (13 % alone), the
//! several tensor ops of a batch-statistic BN and allocations. These kernels work on the
//! tensors' own NCHW buffers (taken and given back without a copy when the tensor is not
//! shared):
//!
//! - [`conv2d`]: one GEMM per image, `out[c_out, oh·ow] = W[c_out, k] × col[k, oh·ow]`, on the
//!   `gemm` crate (the kernels flex uses), with an im2col only where the conv is not a plain
//!   1×1 — the output lands in NCHW directly;
//! - [`batch_norm`]: per-channel mean and biased variance in f64 (two passes), then
//!   `(x − mean) / sqrt(var + eps) · γ + β` in place, in that order, as the burn ops compute it;
//! - [`avg_pool`]: PyTorch's `AvgPool2d` (floor mode, `count_include_pad` either way);
//! - [`relu`]: in place.
//!
//! They run where a layer sees an f32 tensor on the plain flex device and the pass allows them
//! ([`Kernels`]); on the autodiff device (a gradient proxy's pass) the same kernels run inside
//! burn's autodiff with native backward passes (`nn::grad`), in f32 or f64. Results equal burn's up to float rounding: sums run in another order (and
//! BN's statistics in f64), so a ReLU input within rounding of zero may land on the other
//! side. `swapnas bench` times both paths on the same archs and the test
//! `native_kernels_match_burn` compares them layer by layer and SWAP's counts on real archs.

use burn::prelude::*;
use burn::tensor::{DType, TensorData};

/// Which kernels a forward pass uses where both can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// This module's kernels where eligible (f32 on the plain flex device), burn's elsewhere.
    #[default]
    Native,
    /// burn's tensor ops throughout (the reference path).
    Burn,
}

impl Kernels {
    /// Whether `x` goes through the native kernels under this choice.
    pub fn native_for<const D: usize>(self, x: &Tensor<D>) -> bool {
        if self != Kernels::Native || x.dtype() != DType::F32 {
            return false;
        }
        let device = x.device();
        !device.is_autodiff() && device == Device::flex()
    }
}

/// The float types the native kernels run in: f32 (every pass but two) and f64 (GraSP's and
/// SynFlow's, which the references run in float64).
pub trait Real:
    burn::tensor::Element
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
    + std::iter::Sum
    + 'static
{
    const DTYPE: DType;
    const ZERO: Self;
    const ONE: Self;
    fn of_f64(v: f64) -> Self;
    fn as_f64(self) -> f64;
    fn sqrt(self) -> Self;
}

macro_rules! real {
    ($t:ty, $dtype:expr) => {
        impl Real for $t {
            const DTYPE: DType = $dtype;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn of_f64(v: f64) -> Self {
                v as $t
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
        }
    };
}
real!(f32, DType::F32);
real!(f64, DType::F64);

/// An owned NCHW buffer and its shape.
pub struct Buf<T = f32> {
    pub data: Vec<T>,
    pub dims: [usize; 4],
}

impl<T: Real> Buf<T> {
    /// Takes the tensor's buffer (no copy unless it is shared or strided).
    pub fn take(x: Tensor<4>) -> Self {
        let dims = x.dims();
        let data = read(x.into_data());
        Self { data, dims }
    }

    /// Back to a tensor on the flex device (no copy).
    pub fn into_tensor(self) -> Tensor<4> {
        Tensor::from_data(TensorData::new(self.data, self.dims), (&Device::flex(), T::DTYPE))
    }
}

/// The f32 values of a tensor's data; callers checked the dtype ([`Kernels::native_for`]).
pub fn read_f32(data: TensorData) -> Vec<f32> {
    read(data)
}

/// The values of a tensor's data as `T`; callers checked the dtype.
pub fn read<T: Real>(data: TensorData) -> Vec<T> {
    match data.try_into_vec::<T>() {
        Ok(v) => v,
        Err(e) => unreachable!("the native kernels were given a tensor of another dtype than {:?}: {e:?}", T::DTYPE),
    }
}

/// The values of a (small) parameter tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    read_f32(t.into_data())
}

/// Geometry of a 2-D convolution or pooling window (square, symmetric padding).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Window {
    /// Output side for an input side, as PyTorch computes it (floor mode); `None` when the
    /// window does not fit.
    pub fn out_side(&self, side: usize) -> Option<usize> {
        let span = self.dilation * (self.kernel - 1) + 1;
        (side + 2 * self.padding).checked_sub(span).map(|d| d / self.stride + 1)
    }

    /// The outputs `lo..hi` (of `out` along a side of length `side`) whose input index at
    /// kernel offset `k` is inside the input: every output below `lo` reads left of it, every
    /// output from `hi` on right of it ([`Window::source`]'s `Some` range; empty: `lo == hi`).
    pub fn inside(&self, k: usize, side: usize, out: usize) -> (usize, usize) {
        let off = (k * self.dilation) as isize - self.padding as isize;
        let s = self.stride as isize;
        // o·s + off ≥ 0 ⇔ o ≥ ⌈−off / s⌉; o·s + off < side ⇔ o < ⌈(side − off) / s⌉.
        let ceil_div = |a: isize| if a <= 0 { 0 } else { (a + s - 1) / s };
        let lo = (ceil_div(-off) as usize).min(out);
        let hi = (ceil_div(side as isize - off) as usize).clamp(lo, out);
        (lo, hi)
    }

    /// Input index of output `o` at kernel offset `k`, if inside the input.
    pub fn source(&self, o: usize, k: usize, side: usize) -> Option<usize> {
        let i = (o * self.stride + k * self.dilation) as isize - self.padding as isize;
        (0..side as isize).contains(&i).then_some(i as usize)
    }
}

/// A matrix operand of [`matmul`]: element (r, c) is `data[r·row + c·col]` (row-major: `col`
/// = 1; transposed: `row` = 1).
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a, T> {
    pub data: &'a [T],
    pub row: usize,
    pub col: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major matrix whose rows are `width` long.
    pub fn rows(data: &'a [T], width: usize) -> Self {
        Self { data, row: width, col: 1 }
    }

    /// The transpose of a row-major matrix whose rows are `width` long.
    pub fn transposed(data: &'a [T], width: usize) -> Self {
        Self { data, row: 1, col: width }
    }

    /// Whether an `r × c` matrix fits in `data`.
    fn fits(&self, [r, c]: [usize; 2]) -> bool {
        r == 0 || c == 0 || (r - 1) * self.row + (c - 1) * self.col < self.data.len()
    }
}

/// `dst` (row-major `m × n`) = `lhs` (`m × k`) · `rhs` (`k × n`), or `+=` when `accumulate`:
/// the `gemm` crate's kernels (those flex uses), one thread.
pub fn matmul<T: Real>(dst: &mut [T], [m, n, k]: [usize; 3], accumulate: bool, lhs: Mat<T>, rhs: Mat<T>) {
    assert!(dst.len() >= m * n && lhs.fits([m, k]) && rhs.fits([k, n]), "matmul operands too short for {m}×{k}·{k}×{n}");
    // SAFETY: every index gemm reads or writes is within the slices (checked above), and the
    // destination, borrowed mutably, overlaps neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col as isize,
            lhs.row as isize,
            rhs.data.as_ptr(),
            rhs.col as isize,
            rhs.row as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A one-group convolution: `x` is `[n, c_in, h, w]`, `weight` `[c_out, c_in, k, k]`
/// (row-major), `bias` `[c_out]`. `None` if the window does not fit the input.
pub fn conv2d(x: &Buf, weight: &[f32], c_out: usize, bias: Option<&[f32]>, win: Window) -> Option<Buf> {
    conv2d_slice(&x.data, x.dims, weight, c_out, bias, win)
}

/// [`conv2d`] of the NCHW values `x` of shape `dims`.
pub fn conv2d_slice<T: Real>(
    x: &[T],
    dims: [usize; 4],
    weight: &[T],
    c_out: usize,
    bias: Option<&[T]>,
    win: Window,
) -> Option<Buf<T>> {
    let [n, c_in, h, w] = dims;
    let (oh, ow) = (win.out_side(h)?, win.out_side(w)?);
    let kk = win.kernel * win.kernel;
    let k = c_in * kk;
    debug_assert_eq!(weight.len(), c_out * k);
    let plane = oh * ow;
    let mut out = vec![T::ZERO; n * c_out * plane];
    let direct = win.kernel == 1 && win.stride == 1 && win.padding == 0;
    let mut col = if direct { Vec::new() } else { vec![T::ZERO; k * plane] };
    for b in 0..n {
        let image = &x[b * c_in * h * w..(b + 1) * c_in * h * w];
        let rhs: &[T] = if direct {
            image
        } else {
            im2col(image, [c_in, h, w], win, [oh, ow], &mut col);
            &col
        };
        let dst = &mut out[b * c_out * plane..(b + 1) * c_out * plane];
        matmul(dst, [c_out, plane, k], false, Mat::rows(weight, k), Mat::rows(rhs, plane));
        add_channel_bias(dst, bias, plane);
    }
    Some(Buf { data: out, dims: [n, c_out, oh, ow] })
}

/// Adds `bias[o]` to every value of channel o of one image's `[c, plane]` values (none: nothing).
fn add_channel_bias<T: Real>(image: &mut [T], bias: Option<&[T]>, plane: usize) {
    if let Some(bias) = bias {
        for (values, &beta) in image.chunks_exact_mut(plane).zip(bias) {
            values.iter_mut().for_each(|v| *v += beta);
        }
    }
}

/// A transposed convolution (`nn.ConvTranspose2d`, one group, bias `[c_out]` if any, added
/// after the sum as [`conv2d_slice`] adds it): `x` `[n, c_in, h, w]`,
/// `weight` `[c_in, c_out, k, k]` (row-major), the output `[n, c_out, oh, ow]` for the size
/// `[oh, ow]` the caller asks (PyTorch's `(h − 1)·s − 2p + d·(k − 1) + output_padding + 1`).
/// It is the adjoint of the conv with window `win` whose weight is `weight` read as
/// `[c_out, c_in, k, k]` of that conv — so also that conv's input gradient for the output
/// gradient `x` ([`grad::conv2d_backward`](crate::nn::grad::conv2d_backward)). Per image: for a
/// stride-1 window, the conv of x with the kernel transposed in its channels and flipped in
/// space, padding d·(k − 1) − p (one GEMM of depth c_in·k²); for a plain 1×1, `Wᵀ · x`;
/// otherwise `col = Wᵀ · x` (`[c_out·k², h·w]`) and [`col2im`]. `None` where `win` does not take
/// `[oh, ow]` to `[h, w]`.
pub fn conv_transpose2d_slice<T: Real>(
    x: &[T],
    [n, c_in, h, w]: [usize; 4],
    weight: &[T],
    c_out: usize,
    bias: Option<&[T]>,
    win: Window,
    [oh, ow]: [usize; 2],
) -> Option<Buf<T>> {
    if win.out_side(oh)? != h || win.out_side(ow)? != w {
        return None;
    }
    let kk = win.kernel * win.kernel;
    debug_assert_eq!(weight.len(), c_in * c_out * kk);
    let direct = win.kernel == 1 && win.stride == 1 && win.padding == 0;
    let span = win.dilation * (win.kernel - 1);
    if !direct && win.stride == 1 && win.padding <= span {
        let flipped = flip_kernel(weight, c_in, c_out, win.kernel);
        let transposed = Window { kernel: win.kernel, stride: 1, padding: span - win.padding, dilation: win.dilation };
        let y = conv2d_slice(x, [n, c_in, h, w], &flipped, c_out, bias, transposed).filter(|y| y.dims == [n, c_out, oh, ow]);
        if y.is_some() {
            return y;
        }
    }
    let (plane, out_plane) = (h * w, oh * ow);
    let k = c_out * kk;
    let mut out = vec![T::ZERO; n * c_out * out_plane];
    let mut col = if direct { Vec::new() } else { vec![T::ZERO; k * plane] };
    for b in 0..n {
        let image = &x[b * c_in * plane..(b + 1) * c_in * plane];
        let dst = &mut out[b * c_out * out_plane..(b + 1) * c_out * out_plane];
        let target: &mut [T] = if direct { dst } else { &mut col };
        // col[k, plane] = Wᵀ[k, c_in] · x_b[c_in, plane] (W read transposed).
        matmul(target, [k, plane, c_in], false, Mat::transposed(weight, k), Mat::rows(image, plane));
        if !direct {
            col2im(&col, [c_out, oh, ow], win, [h, w], dst);
        }
        add_channel_bias(dst, bias, out_plane);
    }
    Some(Buf { data: out, dims: [n, c_out, oh, ow] })
}

/// `W'[c, o, i, j] = W[o, c, k − 1 − i, k − 1 − j]`: the kernel of a stride-1 conv's input
/// gradient.
pub fn flip_kernel<T: Real>(weight: &[T], c_out: usize, c_in: usize, kernel: usize) -> Vec<T> {
    let kk = kernel * kernel;
    let mut flipped = vec![T::ZERO; weight.len()];
    for o in 0..c_out {
        for c in 0..c_in {
            let src = &weight[(o * c_in + c) * kk..][..kk];
            let dst = &mut flipped[(c * c_out + o) * kk..][..kk];
            dst.iter_mut().zip(src.iter().rev()).for_each(|(d, s)| *d = *s);
        }
    }
    flipped
}

/// The adjoint of [`im2col`]: `x[c, iy, ix] += col[(c·k + i)·k + j, oy·ow + ox]` for
/// every window tap that reads inside the input (`x` zeroed by the caller).
pub fn col2im<T: Real>(col: &[T], [c_in, h, w]: [usize; 3], win: Window, [oh, ow]: [usize; 2], x: &mut [T]) {
    let plane = oh * ow;
    let kernel = win.kernel;
    for c in 0..c_in {
        let dst = &mut x[c * h * w..(c + 1) * h * w];
        for i in 0..kernel {
            for j in 0..kernel {
                let row = &col[((c * kernel + i) * kernel + j) * plane..][..plane];
                // The outputs whose tap j reads inside a row: ox in lo..hi, the first reading ix0.
                let (lo, hi) = win.inside(j, w, ow);
                let Some(ix0) = win.source(lo, j, w).filter(|_| hi > lo) else { continue };
                for oy in 0..oh {
                    let Some(iy) = win.source(oy, i, h) else { continue };
                    let src = &row[oy * ow + lo..oy * ow + hi];
                    let line = &mut dst[iy * w..(iy + 1) * w];
                    if win.stride == 1 {
                        line[ix0..ix0 + src.len()].iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    } else {
                        for (t, &s) in src.iter().enumerate() {
                            line[ix0 + t * win.stride] += s;
                        }
                    }
                }
            }
        }
    }
}

/// A depthwise convolution (`groups` = channels, one k × k filter per channel): `x` is
/// `[n, c, h, w]`, `weight` `[c, 1, k, k]` (row-major), no bias. Per image and channel, the
/// channel's im2col rows (k² × plane) weighted by its k² taps. `None` if the window does not fit.
pub fn depthwise_conv2d_slice<T: Real>(x: &[T], dims: [usize; 4], weight: &[T], win: Window) -> Option<Buf<T>> {
    let [n, c, h, w] = dims;
    let (oh, ow) = (win.out_side(h)?, win.out_side(w)?);
    let kk = win.kernel * win.kernel;
    debug_assert_eq!(weight.len(), c * kk);
    let plane = oh * ow;
    let mut out = vec![T::ZERO; n * c * plane];
    let mut col = vec![T::ZERO; kk * plane];
    for (p, dst) in out.chunks_exact_mut(plane).enumerate() {
        let ch = p % c;
        im2col(&x[p * h * w..(p + 1) * h * w], [1, h, w], win, [oh, ow], &mut col);
        for (tap, row) in weight[ch * kk..(ch + 1) * kk].iter().zip(col.chunks_exact(plane)) {
            dst.iter_mut().zip(row).for_each(|(d, &v)| *d += *tap * v);
        }
    }
    Some(Buf { data: out, dims: [n, c, oh, ow] })
}

/// [`max_pool_slice`]'s values alone (a forward pass that keeps no gradient, SWAP's): the
/// window's maximum taken along rows, then along columns, each a branch-free pass (a NaN
/// wins either way). The same values; where a window holds both zeros, which zero's sign is
/// kept may differ, which no later operation tells apart.
pub fn max_pool_values<T: Real>(x: &[T], dims: [usize; 4], win: Window) -> Option<Buf<T>> {
    let [n, c, h, w] = dims;
    let (oh, ow) = (win.out_side(h)?, win.out_side(w)?);
    let (rows, cols) = (pool_ranges(win, oh, h)?, pool_ranges(win, ow, w)?);
    #[allow(clippy::eq_op)] // v != v: NaN
    let pick = |m: T, v: T| if v > m || v != v { v } else { m };
    let plane = oh * ow;
    let mut out = vec![T::ZERO; n * c * plane];
    let mut across = vec![T::ZERO; h * ow];
    for (p, dst) in out.chunks_exact_mut(plane).enumerate() {
        let src = &x[p * h * w..(p + 1) * h * w];
        for (line, maxima) in src.chunks_exact(w).zip(across.chunks_exact_mut(ow)) {
            for (m, &(x0, x1)) in maxima.iter_mut().zip(&cols) {
                *m = line[x0 + 1..x1].iter().fold(line[x0], |m, &v| pick(m, v));
            }
        }
        for (row, &(y0, y1)) in dst.chunks_exact_mut(ow).zip(&rows) {
            row.copy_from_slice(&across[y0 * ow..(y0 + 1) * ow]);
            for iy in y0 + 1..y1 {
                row.iter_mut().zip(&across[iy * ow..(iy + 1) * ow]).for_each(|(m, &v)| *m = pick(*m, v));
            }
        }
    }
    Some(Buf { data: out, dims: [n, c, oh, ow] })
}

/// Each pooling output's window as an input range (dilation 1, `nn.MaxPool2d`'s); `None` if
/// a window would hold no input.
fn pool_ranges(win: Window, outs: usize, side: usize) -> Option<Vec<(usize, usize)>> {
    (0..outs)
        .map(|o| {
            let start = (o * win.stride) as isize - win.padding as isize;
            let (lo, hi) = (start.max(0) as usize, ((start + win.kernel as isize).max(0) as usize).min(side));
            (lo < hi && win.dilation == 1).then_some((lo, hi))
        })
        .collect()
}

/// `nn.MaxPool2d` (floor mode) of the NCHW values `x`, and for each output the index within its
/// input plane of the value it took: padding never wins, the first maximum in row-major window
/// order wins a tie, and a NaN wins (the last one), as burn's and PyTorch's max pooling choose
/// — so a backward pass routes each gradient to the same input. `None` if the window does not
/// fit.
pub fn max_pool_slice<T: Real>(x: &[T], dims: [usize; 4], win: Window) -> Option<(Buf<T>, Vec<u32>)> {
    let [n, c, h, w] = dims;
    let (oh, ow) = (win.out_side(h)?, win.out_side(w)?);
    let (rows, cols) = (pool_ranges(win, oh, h)?, pool_ranges(win, ow, w)?);
    // Along rows, then along columns, each keeping the first maximum (a later NaN replaces
    // anything): the first maximum of a window in row-major order is the first among its
    // rows' first maxima, and its last NaN the last row's last — the direct scan's choice.
    #[allow(clippy::eq_op)] // v != v: NaN
    let wins = |m: T, v: T| v > m || v != v;
    let plane = oh * ow;
    let mut out = vec![T::ZERO; n * c * plane];
    let mut index = vec![0u32; n * c * plane];
    let (mut across, mut across_at) = (vec![T::ZERO; h * ow], vec![0u32; h * ow]);
    for (p, (dst, at)) in out.chunks_exact_mut(plane).zip(index.chunks_exact_mut(plane)).enumerate() {
        let src = &x[p * h * w..(p + 1) * h * w];
        for (iy, line) in src.chunks_exact(w).enumerate() {
            for (ox, &(x0, x1)) in cols.iter().enumerate() {
                let (mut m, mut i) = (line[x0], x0);
                for (ix, &v) in line.iter().enumerate().take(x1).skip(x0 + 1) {
                    if wins(m, v) {
                        (m, i) = (v, ix);
                    }
                }
                across[iy * ow + ox] = m;
                across_at[iy * ow + ox] = (iy * w + i) as u32;
            }
        }
        for (oy, &(y0, y1)) in rows.iter().enumerate() {
            for ox in 0..ow {
                let (mut m, mut i) = (across[y0 * ow + ox], across_at[y0 * ow + ox]);
                for iy in y0 + 1..y1 {
                    let v = across[iy * ow + ox];
                    if wins(m, v) {
                        (m, i) = (v, across_at[iy * ow + ox]);
                    }
                }
                dst[oy * ow + ox] = m;
                at[oy * ow + ox] = i;
            }
        }
    }
    Some((Buf { data: out, dims: [n, c, oh, ow] }, index))
}

/// `col[(c·k + i)·k + j, oy·ow + ox] = x[c, oy·s + i·d − p, ox·s + j·d − p]` (0 outside).
pub fn im2col<T: Real>(x: &[T], [c_in, h, w]: [usize; 3], win: Window, [oh, ow]: [usize; 2], col: &mut [T]) {
    let plane = oh * ow;
    let kernel = win.kernel;
    let same = win.stride == 1 && oh == h && ow == w;
    for c in 0..c_in {
        let src = &x[c * h * w..(c + 1) * h * w];
        for i in 0..kernel {
            for j in 0..kernel {
                let row = &mut col[((c * kernel + i) * kernel + j) * plane..][..plane];
                if same {
                    shifted_plane(src, [h, w], [i * win.dilation, j * win.dilation], win.padding, row);
                    continue;
                }
                // The output columns whose source column is inside, `lo..hi`: a strided read
                // from the first one's source column.
                let (lo, hi) = win.inside(j, w, ow);
                let first = win.source(lo, j, w).filter(|_| hi > lo);
                for oy in 0..oh {
                    let dst = &mut row[oy * ow..(oy + 1) * ow];
                    match win.source(oy, i, h) {
                        None => dst.fill(T::ZERO),
                        Some(iy) => {
                            dst[..lo].fill(T::ZERO);
                            dst[hi..].fill(T::ZERO);
                            if let Some(first) = first {
                                let line = &src[iy * w + first..];
                                for (v, &x) in dst[lo..hi].iter_mut().zip(line.iter().step_by(win.stride)) {
                                    *v = x;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One im2col row of a stride-1 "same" conv: `dst[y, x] = src[y + dy − p, x + dx − p]` (0
/// outside), as one block copy across rows and the wrapped-around columns zeroed.
fn shifted_plane<T: Real>(src: &[T], [h, w]: [usize; 2], [dy, dx]: [usize; 2], padding: usize, dst: &mut [T]) {
    let (dy, dx) = (dy as isize - padding as isize, dx as isize - padding as isize);
    let (hw, wi) = ((h * w) as isize, w as isize);
    let off = dy * wi + dx;
    // Rows whose source row is inside, then the flat range whose source index is inside.
    let (y0, y1) = ((-dy).clamp(0, h as isize), (h as isize - dy).clamp(0, h as isize));
    let lo = (y0 * wi).max(-off).min(hw);
    let hi = (y1 * wi).min(hw - off).max(lo);
    let (lo, hi) = (lo as usize, hi as usize);
    dst[..lo].fill(T::ZERO);
    dst[hi..].fill(T::ZERO);
    if hi > lo {
        dst[lo..hi].copy_from_slice(&src[(lo as isize + off) as usize..(hi as isize + off) as usize]);
    }
    // Columns whose source column is outside read the neighbouring row: zero them.
    let bad = if dx < 0 { 0..(-dx).min(wi) as usize } else { (w - (dx as usize).min(w))..w };
    if !bad.is_empty() {
        for y in y0 as usize..y1 as usize {
            dst[y * w + bad.start..y * w + bad.end].fill(T::ZERO);
        }
    }
}

/// Per channel of `x`, the mean and biased variance over its n·h·w values (accumulated in
/// f64, two passes), as `T`.
pub fn channel_moments<T: Real>(x: &Buf<T>) -> Vec<(T, T)> {
    let [n, c, h, w] = x.dims;
    let plane = h * w;
    let count = (n * plane) as f64;
    (0..c)
        .map(|ch| {
            let planes = || (0..n).map(move |b| (b * c + ch) * plane);
            let mean = planes().map(|o| lane_sum(&x.data[o..o + plane], |v| v).as_f64()).sum::<f64>() / count;
            let m = T::of_f64(mean);
            let var = planes().map(|o| lane_sum(&x.data[o..o + plane], |v| (v - m) * (v - m)).as_f64()).sum::<f64>() / count;
            (m, T::of_f64(var))
        })
        .collect()
}

/// Batch-statistic BN in place: per channel, mean and biased variance over the n·h·w values
/// ([`channel_moments`]), then `(x − mean) / sqrt(var + eps)`, times γ plus β when affine.
/// Returns the per-channel variances.
pub fn batch_norm<T: Real>(x: &mut Buf<T>, eps: f64, affine: Option<(&[T], &[T])>) -> Vec<T> {
    let [n, c, h, w] = x.dims;
    let plane = h * w;
    let moments = channel_moments(x);
    for (ch, &(m, var)) in moments.iter().enumerate() {
        // (x − mean) / std · γ + β, with the division as a multiply by 1/std (float rounding).
        let inv_std = T::ONE / (var + T::of_f64(eps)).sqrt();
        let (g, b) = affine.map_or((T::ONE, T::ZERO), |(gamma, beta)| (gamma[ch], beta[ch]));
        for o in (0..n).map(|b| (b * c + ch) * plane) {
            x.data[o..o + plane].iter_mut().for_each(|v| *v = (*v - m) * inv_std * g + b);
        }
    }
    moments.into_iter().map(|(_, var)| var).collect()
}

/// `Σ f(v)` over `values` in eight lanes (vectorised; the lanes are added at the end).
pub fn lane_sum<T: Real>(values: &[T], f: impl Fn(T) -> T) -> T {
    let mut lanes = [T::ZERO; 8];
    let chunks = values.chunks_exact(8);
    let rest: T = chunks.remainder().iter().map(|&v| f(v)).sum();
    for chunk in chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l += f(v);
        }
    }
    lanes.iter().copied().sum::<T>() + rest
}

/// `AvgPool2d(kernel, stride, padding, count_include_pad)` in floor mode: the mean over the
/// window's positions inside the input, divided by kernel² when padding counts. `None` if
/// the window does not fit. Size-keeping stride-1 pools (NB201's and DARTS' 3×3) sum whole
/// planes ([`same_window_sum`]); others go position by position.
pub fn avg_pool<T: Real>(x: &Buf<T>, win: Window, count_include_pad: bool) -> Option<Buf<T>> {
    avg_pool_slice(&x.data, x.dims, win, count_include_pad)
}

/// [`avg_pool`] of the NCHW values `x` of shape `dims`.
pub fn avg_pool_slice<T: Real>(x: &[T], dims: [usize; 4], win: Window, count_include_pad: bool) -> Option<Buf<T>> {
    let [n, c, h, w] = dims;
    let (oh, ow) = (win.out_side(h)?, win.out_side(w)?);
    let inverse = pool_inverse_divisors(win, [h, w], [oh, ow], count_include_pad);
    if win.stride == 1 && win.dilation == 1 && oh == h && ow == w {
        let mut out = same_window_sum(x, dims, win.padding);
        for p in out.chunks_exact_mut(oh * ow) {
            p.iter_mut().zip(&inverse).for_each(|(v, &r)| *v *= r);
        }
        return Some(Buf { data: out, dims });
    }
    let mut out = vec![T::ZERO; n * c * oh * ow];
    for (p, dst) in out.chunks_mut(oh * ow).enumerate() {
        let src = &x[p * h * w..(p + 1) * h * w];
        for (o, v) in dst.iter_mut().enumerate() {
            let (oy, ox) = (o / ow, o % ow);
            let rows = (0..win.kernel).filter_map(|i| win.source(oy, i, h));
            let sum: T = rows
                .flat_map(|iy| (0..win.kernel).filter_map(move |j| win.source(ox, j, w)).map(move |ix| src[iy * w + ix]))
                .sum();
            *v = sum * inverse[o];
        }
    }
    Some(Buf { data: out, dims: [n, c, oh, ow] })
}

/// 1 / the divisor of each output position of an average pool (a multiply per value; float
/// rounding): kernel² when padding counts, else the number of window positions inside.
pub fn pool_inverse_divisors<T: Real>(win: Window, [h, w]: [usize; 2], [oh, ow]: [usize; 2], count_include_pad: bool) -> Vec<T> {
    let full = T::of_f64((win.kernel * win.kernel) as f64);
    let divisor = |rows: usize, cols: usize| if count_include_pad { full } else { T::of_f64((rows * cols) as f64) };
    let inside = |o: usize, side: usize| (0..win.kernel).filter(|&k| win.source(o, k, side).is_some()).count();
    (0..oh)
        .flat_map(|oy| (0..ow).map(move |ox| (oy, ox)))
        .map(|(oy, ox)| T::ONE / divisor(inside(oy, h), inside(ox, w)))
        .collect()
}

/// The window sums of a size-preserving stride-1 pool (NB201's and DARTS' 3×3, padding 1)
/// of every plane: whole-plane shifted sums, rows then columns, with the first and last
/// `padding` columns (where a flat shift wraps into the next row) recomputed.
pub fn same_window_sum<T: Real>(x: &[T], [_, _, h, w]: [usize; 4], padding: usize) -> Vec<T> {
    let hw = h * w;
    let add = |d: &mut [T], s: &[T]| d.iter_mut().zip(s).for_each(|(d, &s)| *d += s);
    let mut out = vec![T::ZERO; x.len()];
    let mut rows = vec![T::ZERO; hw];
    for (src, dst) in x.chunks_exact(hw).zip(out.chunks_exact_mut(hw)) {
        rows.copy_from_slice(src);
        for d in (1..=padding).filter(|&d| d < hw) {
            add(&mut rows[..hw - d], &src[d..]);
            add(&mut rows[d..], &src[..hw - d]);
        }
        for y in 0..h {
            for x in (0..padding.min(w)).chain(w.saturating_sub(padding).max(padding.min(w))..w) {
                let lo = x.saturating_sub(padding);
                let hi = (x + padding + 1).min(w);
                rows[y * w + x] = src[y * w + lo..y * w + hi].iter().copied().sum();
            }
        }
        dst.copy_from_slice(&rows);
        for d in (1..=padding).map(|d| d * w).filter(|&d| d < hw) {
            add(&mut dst[..hw - d], &rows[d..]);
            add(&mut dst[d..], &rows[..hw - d]);
        }
    }
    out
}

/// Sample-wise sign patterns of ReLU outputs, gathered as the pass produces them (SWAP's
/// input). A neuron's pattern is its B signs (bit i = sample i active, i.e. > 0; NaN is not
/// active). With B ≤ 16 only the set of patterns seen is kept (a 65,536-bit set); with more
/// samples every neuron's pattern is kept as a 128-bit key.
#[derive(Debug, Clone, Default)]
pub struct SignCodes {
    batch: usize,
    layers: usize,
    seen: Vec<u64>,
    keys: Vec<u128>,
}

/// Samples per packed code.
pub const CODE_BITS: usize = 16;

impl SignCodes {
    /// Applies ReLU to one layer's `[batch, …]` values (sample-major) in place and packs
    /// the signs, in one pass. A value is active after ReLU exactly when it was > 0 before, so
    /// this also packs outputs a ReLU already produced.
    pub fn push_relu(&mut self, values: &mut [f32], batch: usize) {
        let width = values.len() / batch.max(1);
        let mut codes = vec![0u16; batch.div_ceil(CODE_BITS) * width];
        for (sample, row) in values.chunks_exact_mut(width.max(1)).enumerate() {
            let (k, bit) = (sample / CODE_BITS, sample % CODE_BITS);
            for (code, v) in codes[k * width..(k + 1) * width].iter_mut().zip(row) {
                *code |= u16::from(*v > 0.0) << bit;
                *v = if *v < 0.0 { 0.0 } else { *v };
            }
        }
        self.push_packed(width, &codes, batch);
    }

    /// The codes of `layers` layers of a batch of at most 16 samples, given as the set of
    /// patterns seen (bit c of `seen[c / 64]`, 1,024 words).
    pub fn from_seen(batch: usize, layers: usize, seen: Vec<u64>) -> Self {
        assert!((1..=CODE_BITS).contains(&batch), "a set of 16-bit patterns holds 1..=16 samples");
        assert_eq!(seen.len(), (1 << CODE_BITS) / 64, "one flag per 16-bit pattern");
        Self { batch, layers, seen, keys: Vec::new() }
    }

    /// Adds one layer of `width` neurons given as packed codes, chunk-major
    /// (`codes[k·width + n]`: bit i = sample 16k + i).
    pub fn push_packed(&mut self, width: usize, codes: &[u16], batch: usize) {
        assert!(self.layers == 0 || self.batch == batch, "one batch size per pass");
        assert!((1..=128).contains(&batch), "sign codes hold 1..=128 samples");
        let chunks = batch.div_ceil(CODE_BITS);
        debug_assert_eq!(codes.len(), chunks * width);
        self.batch = batch;
        self.layers += 1;
        if chunks == 1 {
            if self.seen.is_empty() {
                self.seen = vec![0u64; (1 << CODE_BITS) / 64];
            }
            for &c in codes {
                self.seen[(c >> 6) as usize] |= 1u64 << (c & 63);
            }
        } else {
            self.keys.extend(
                (0..width).map(|n| (0..chunks).fold(0u128, |key, k| key | (codes[k * width + n] as u128) << (k * CODE_BITS))),
            );
        }
    }

    /// Adds another pass's layers (same batch).
    pub fn merge(&mut self, other: SignCodes) {
        if other.layers == 0 {
            return;
        }
        assert!(self.layers == 0 || self.batch == other.batch, "one batch size per pass");
        self.batch = other.batch;
        self.layers += other.layers;
        if self.seen.is_empty() {
            self.seen = other.seen;
        } else {
            self.seen.iter_mut().zip(&other.seen).for_each(|(a, b)| *a |= b);
        }
        self.keys.extend(other.keys);
    }

    pub fn is_empty(&self) -> bool {
        self.layers == 0
    }

    /// The ReLU layers pushed so far.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// Whether every pattern that B ≤ 16 samples can show (2^B) has been seen: no later layer
    /// can add a pattern, nor make two samples differ that do not already (every pair differs
    /// in some pattern). Always false for B > 16 (2^B keys).
    pub fn is_complete(&self) -> bool {
        (1..=CODE_BITS).contains(&self.batch)
            && !self.seen.is_empty()
            && self.seen.iter().map(|w| w.count_ones() as usize).sum::<usize>() == 1 << self.batch
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The distinct patterns, ascending.
    pub fn distinct(&self) -> Vec<u128> {
        if self.batch <= CODE_BITS {
            let seen = &self.seen;
            (0..(seen.len() * 64) as u128).filter(|&c| seen[(c >> 6) as usize] >> (c & 63) & 1 == 1).collect()
        } else {
            let mut keys = self.keys.clone();
            keys.sort_unstable();
            keys.dedup();
            keys
        }
    }
}

/// `max(x, 0)` in place (NaN stays NaN, as `relu` in burn and PyTorch).
pub fn relu(x: &mut Buf) {
    x.data.iter_mut().for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v });
}

/// LeakyReLU in place, as burn's flex op computes it: x where x ≥ 0, else `slope`·x (in f32;
/// a NaN stays NaN).
pub fn leaky_relu(x: &mut Buf, slope: f64) {
    let slope = slope as f32;
    x.data.iter_mut().for_each(|v| *v = if *v >= 0.0 { *v } else { slope * *v });
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::{avg_pool2d, conv2d as burn_conv2d, max_pool2d};
    use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};

    fn pseudo(n: usize, salt: u32) -> Vec<f32> {
        (0..n as u32).map(|i| (((i.wrapping_mul(2654435761) ^ salt) % 2001) as f32 / 1000.0) - 1.0).collect()
    }

    fn tensor(values: Vec<f32>, dims: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, dims), (&Device::flex(), DType::F32))
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{what}[{i}]: native {x} vs burn {y}");
        }
    }

    /// `Window::inside` is exactly the range where `Window::source` is `Some`, and im2col's
    /// strided path copies what `source` names, for strides, dilations and paddings beyond
    /// the input (so some outputs read nothing).
    #[test]
    fn im2col_reads_what_source_names() {
        for (kernel, stride, padding, dilation) in
            [(3, 2, 1, 1), (3, 3, 0, 1), (5, 2, 2, 1), (3, 2, 2, 2), (1, 2, 0, 1), (3, 1, 4, 1), (7, 2, 3, 1)]
        {
            let win = Window { kernel, stride, padding, dilation };
            for side in [1, 2, 5, 8] {
                let Some(out) = win.out_side(side) else { continue };
                for k in 0..kernel {
                    let (lo, hi) = win.inside(k, side, out);
                    for o in 0..out {
                        assert_eq!(win.source(o, k, side).is_some(), (lo..hi).contains(&o), "{win:?} side {side} k {k} o {o}");
                    }
                }
                let (c, h, w) = (2, side, side + 1);
                let Some(ow) = win.out_side(w) else { continue };
                let x = pseudo(c * h * w, 9);
                let mut col = vec![f32::NAN; c * kernel * kernel * out * ow];
                im2col(&x, [c, h, w], win, [out, ow], &mut col);
                let mut at = 0;
                for ch in 0..c {
                    for (i, j) in (0..kernel).flat_map(|i| (0..kernel).map(move |j| (i, j))) {
                        for (oy, ox) in (0..out).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
                            let want = match (win.source(oy, i, h), win.source(ox, j, w)) {
                                (Some(iy), Some(ix)) => x[(ch * h + iy) * w + ix],
                                _ => 0.0,
                            };
                            assert_eq!(col[at].to_bits(), want.to_bits(), "{win:?} {h}×{w} c {ch} k ({i}, {j}) o ({oy}, {ox})");
                            at += 1;
                        }
                    }
                }
            }
        }
    }

    /// Max pooling's choice of input against the direct row-major scan burn and PyTorch make
    /// (first maximum wins a tie, the last NaN wins), on values full of ties and NaNs.
    #[test]
    fn max_pool_chooses_as_the_direct_scan() {
        let dims = [1, 2, 7, 6];
        let x: Vec<f32> =
            pseudo(84, 3).into_iter().enumerate().map(|(i, v)| if i % 11 == 5 { f32::NAN } else { (v * 2.0).round() }).collect();
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (2, 2, 0), (3, 3, 0)] {
            let win = Window { kernel, stride, padding, dilation: 1 };
            let (y, at) = max_pool_slice(&x, dims, win).expect("fits");
            let [_, _, oh, ow] = y.dims;
            for p in 0..2 {
                for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
                    let mut best: Option<(f32, usize)> = None;
                    for iy in (0..kernel).filter_map(|i| win.source(oy, i, 7)) {
                        for ix in (0..kernel).filter_map(|j| win.source(ox, j, 6)) {
                            let v = x[p * 42 + iy * 6 + ix];
                            if best.is_none_or(|(m, _)| v > m || v.is_nan()) {
                                best = Some((v, iy * 6 + ix));
                            }
                        }
                    }
                    let (v, i) = best.expect("a window holds an input");
                    let o = p * oh * ow + oy * ow + ox;
                    assert_eq!(at[o] as usize, i, "k{kernel} s{stride} p{padding}: output ({p}, {oy}, {ox})");
                    assert!(y.data[o] == v || (v.is_nan() && y.data[o].is_nan()), "value at ({p}, {oy}, {ox})");
                }
            }
        }
    }

    /// Every geometry the spaces use, against burn's own conv and pool.
    #[test]
    fn conv_and_pool_equal_burn() {
        // Odd, non-square, and the 1×1 and 2×2 planes a 3×3 input leaves after reductions.
        for dims in [[2, 3, 7, 6], [2, 3, 1, 1], [1, 3, 2, 2], [1, 3, 3, 3]] {
            conv_and_pool_equal_burn_on(dims);
        }
    }

    fn conv_and_pool_equal_burn_on(dims: [usize; 4]) {
        let x = pseudo(dims.iter().product(), 7);
        // Max pooling (NB101, DARTS), ties included: a third of the values are the window's max.
        let tied: Vec<f32> = x.iter().map(|v| v.max(0.3)).collect();
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (2, 2, 0)] {
            let win = Window { kernel, stride, padding, dilation: 1 };
            let what = format!("max pool k{kernel} s{stride} p{padding} on {dims:?}");
            let Some((native, _)) = max_pool_slice(&tied, dims, win) else {
                assert!(win.out_side(dims[2]).is_none() || win.out_side(dims[3]).is_none(), "{what}");
                continue;
            };
            let values_only = max_pool_values(&tied, dims, win).expect("the same windows");
            assert_eq!(values_only.dims, native.dims, "{what}: values only");
            assert_eq!(values_only.data, native.data, "{what}: values only");
            let options = MaxPoolOptions::new([kernel; 2]).with_stride([stride; 2]).with_padding([padding; 2]);
            let reference = max_pool2d(tensor(tied.clone(), dims), options);
            assert_eq!(native.dims, reference.dims(), "{what}");
            close(&native.data, &values(reference), &what);
        }
        // Depthwise (groups = channels: DARTS' separable and dilated convs).
        for (kernel, stride, padding, dilation) in
            [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 1), (5, 2, 2, 1), (3, 1, 2, 2), (5, 1, 4, 2)]
        {
            let win = Window { kernel, stride, padding, dilation };
            let wt = pseudo(3 * kernel * kernel, 13);
            let what = format!("depthwise k{kernel} s{stride} p{padding} d{dilation} on {dims:?}");
            let Some(native) = depthwise_conv2d_slice(&x, dims, &wt, win) else {
                assert!(win.out_side(dims[2]).is_none() || win.out_side(dims[3]).is_none(), "{what}");
                continue;
            };
            let reference = burn_conv2d(
                tensor(x.clone(), dims),
                Tensor::from_data(TensorData::new(wt, [3, 1, kernel, kernel]), (&Device::flex(), DType::F32)),
                None,
                ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], 3),
            );
            assert_eq!(native.dims, reference.dims(), "{what}");
            close(&native.data, &values(reference), &what);
        }
        for (kernel, stride, padding, dilation) in [
            (1, 1, 0, 1),
            (1, 2, 0, 1),
            (3, 1, 1, 1),
            (3, 2, 1, 1),
            (3, 1, 2, 2),
            (5, 1, 2, 1),
            (5, 1, 4, 2),
            (7, 2, 3, 1),
            (2, 2, 0, 1),
        ] {
            let win = Window { kernel, stride, padding, dilation };
            let c_out = 4;
            let wt = pseudo(c_out * 3 * kernel * kernel, 11);
            let bias = pseudo(c_out, 5);
            let Some(native) = conv2d(&Buf { data: x.clone(), dims }, &wt, c_out, Some(&bias), win) else {
                // Only where the window does not fit the padded input.
                assert!(win.out_side(dims[2]).is_none() || win.out_side(dims[3]).is_none());
                continue;
            };
            let reference = burn_conv2d(
                tensor(x.clone(), dims),
                Tensor::from_data(TensorData::new(wt, [c_out, 3, kernel, kernel]), (&Device::flex(), DType::F32)),
                Some(Tensor::from_data(TensorData::new(bias, [c_out]), (&Device::flex(), DType::F32))),
                ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], 1),
            );
            assert_eq!(native.dims, reference.dims(), "conv k{kernel} s{stride} p{padding} d{dilation}");
            close(&native.data, &values(reference), &format!("conv k{kernel} s{stride} p{padding} d{dilation}"));
            if dilation == 1 && padding * 2 <= kernel {
                for include in [false, true] {
                    let native = avg_pool(&Buf { data: x.clone(), dims }, win, include).unwrap();
                    let options = AvgPoolOptions::new([kernel; 2])
                        .with_stride([stride; 2])
                        .with_padding([padding; 2])
                        .with_count_include_pad(include);
                    let reference = avg_pool2d(tensor(x.clone(), dims), options);
                    assert_eq!(native.dims, reference.dims());
                    close(&native.data, &values(reference), &format!("avg_pool k{kernel} s{stride} p{padding} {include}"));
                }
            }
        }
        // A window larger than the padded input does not fit.
        let win = Window { kernel: 9, stride: 1, padding: 0, dilation: 1 };
        assert!(conv2d(&Buf { data: x.clone(), dims }, &pseudo(27 * 9, 1), 1, None, win).is_none());
    }

    #[test]
    fn batch_norm_normalises_each_channel() {
        let dims = [3, 2, 4, 5];
        let mut x = Buf { data: pseudo(120, 3).iter().map(|v| v * 3.0 + 1.0).collect(), dims };
        let var = batch_norm(&mut x, 1e-5, Some((&[2.0, 1.0], &[0.5, 0.0])));
        assert_eq!(var.len(), 2);
        for (ch, (g, b)) in [(2.0f32, 0.5f32), (1.0, 0.0)].into_iter().enumerate() {
            let vals: Vec<f32> = (0..3).flat_map(|n| x.data[(n * 2 + ch) * 20..][..20].to_vec()).collect();
            let mean = vals.iter().sum::<f32>() / 60.0;
            let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 60.0).sqrt();
            assert!((mean - b).abs() < 1e-4 && (sd - g).abs() < 1e-3, "channel {ch}: mean {mean} sd {sd}");
        }
    }

    #[test]
    fn eligibility() {
        let x = tensor(vec![0.0; 4], [1, 1, 2, 2]);
        assert!(Kernels::Native.native_for(&x));
        assert!(!Kernels::Burn.native_for(&x));
        let tracked: Tensor<4> = Tensor::from_data(TensorData::new(vec![0.0f32; 4], [1, 1, 2, 2]), &Device::flex().autodiff());
        assert!(!Kernels::Native.native_for(&tracked));
    }
}
