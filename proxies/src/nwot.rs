//! NASWOT / nwot (Mellor et al., "Neural Architecture Search without Training", ICML 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/nwot.py`): PyTorch default init, BN in train
//! mode, one forward pass of the real batch of B images; the binary code c ∈ {0,1}^{B×units}
//! of the input (> 0) of every ReLU; K = Σ over ReLUs [c cᵀ + (1−c)(1−c)ᵀ] (B × B, float64);
//! the score is log |det K| (`slogdet(K)[1]`, sign ignored).
//!
//! We record ReLU outputs (`Taps::relu`): output > 0 exactly where input > 0. NASLib hooks every
//! module whose type name contains "ReLU", so LeakyReLUs (TransNAS-Bench-101's decoders) count
//! too (`Taps::leaky_relu`; their output has the input's sign). Deviations: the batch is the
//! first B training images in file order, not a random augmented minibatch (that is `--input
//! random-augmented`); on TransNAS-Bench-101 the version of NASLib behind Suite-Zero's scores
//! also hooked each `ReLUConvBN` wrapper, counting those ReLUs' codes twice — we count each
//! ReLU once.

use crate::measure::PROXY_BATCH;
use crate::measure::{default_network, log_abs_det, real_batch, to_host};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{bail, ensure, Context, Result};
use burn::prelude::*;
use burn::tensor::DType;
use nalgebra::DMatrix;
use swapnas_benchmarks::{BnMode, Taps};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "nwot",
    about: "NASWOT: log|det K| of ReLU-code agreements on a real batch (Mellor et al. 2021)",
    needs: Needs { token_inputs: true, ..Needs::NOTHING },
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: false,
    key: |s| format!("B={} init=pytorch bn=batch", PROXY_BATCH.get(s)),
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    ensure!(PROXY_BATCH.get(ctx.settings) >= 1, "nwot needs at least one image");
    let net = default_network(ctx, ctx.device, DType::F32);
    let (x, _) = real_batch(ctx, PROXY_BATCH.get(ctx.settings), ctx.device, DType::F32)?;
    let mut forward = ctx.forward_ctx(BnMode::Batch, Taps { relu: true, leaky_relu: true, ..Taps::default() });
    let _ = net.forward(x, &mut forward);
    let mut codes = forward.relu;
    codes.append(&mut forward.leaky_relu);
    let k = hamming_kernel(&codes)?;
    log_abs_det(&k)
}

/// K = Σ over layers of c cᵀ + (1−c)(1−c)ᵀ, c the `[B, units]` 0/1 matrix of a layer's
/// positive activations: K_ij counts the units on which samples i and j agree.
pub fn hamming_kernel(activations: &[Tensor<4>]) -> Result<DMatrix<f64>> {
    let Some(first) = activations.first() else {
        bail!("the network applied no ReLU: nwot has no activation codes");
    };
    let b = first.dims()[0];
    let mut k = DMatrix::<f64>::zeros(b, b);
    for a in activations {
        let [n, c, h, w] = a.dims();
        ensure!(n == b, "ReLU outputs have batch {n} and {b}");
        // 0/1 products summed in f32 are exact below 2^24 units per layer.
        let codes = a.clone().greater_elem(0.0).float().cast(DType::F32).reshape([n, c * h * w]);
        let ones = codes.clone().ones_like();
        let off = ones.sub(codes.clone());
        let agree = codes.clone().matmul(codes.transpose()).add(off.clone().matmul(off.transpose()));
        let agree = to_host(agree).context("nwot kernel")?;
        k += DMatrix::from_row_slice(b, b, &agree);
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Samples (rows) with codes over 3 units: s0 = 101, s1 = 100, s2 = 011.
    /// Agreements: K00 = K11 = K22 = 3, K01 = 2 (units 0, 1), K02 = 1 (unit 2), K12 = 0.
    /// det [[3,2,1],[2,3,0],[1,0,3]] = 3·9 − 2·6 + 1·(0 − 3) = 12.
    #[test]
    fn kernel_and_log_det_by_hand() {
        let values = vec![0.5f32, -1.0, 2.0, 3.0, 0.0, -2.0, 0.0, 1.0, 4.0];
        let t: Tensor<4> = Tensor::from_data(TensorData::new(values, [3, 3, 1, 1]), &Device::flex());
        let k = hamming_kernel(std::slice::from_ref(&t)).unwrap();
        let expected = DMatrix::from_row_slice(3, 3, &[3.0, 2.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 3.0]);
        assert_eq!(k, expected);
        assert!((log_abs_det(&k).unwrap() - 12f64.ln()).abs() < 1e-12);
        // Two layers add up.
        assert_eq!(hamming_kernel(&[t.clone(), t]).unwrap(), expected * 2.0);
    }

    #[test]
    fn no_relu_is_an_error() {
        assert!(hamming_kernel(&[]).is_err());
    }
}
