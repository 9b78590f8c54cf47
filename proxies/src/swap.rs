//! SWAP — Sample-Wise Activation Patterns (Peng et al., "SWAP-NAS", ICLR 2024).
//!
//! Definition, as the official code (`pym1024/SWAP`, `src/metrics/swap.py`) computes it:
//! before each of R repeats, re-initialise conv and linear weights N(0, 1) with zero bias and
//! BN to weight 1, bias 0; run one forward pass of the first B training images with BN on
//! batch statistics; take the output of every ReLU applied to a 4-D tensor, flatten each to
//! `[B, neurons]` and concatenate over layers; binarise (> 0, i.e. `sign` of a ReLU output);
//! the score is the number of distinct rows of the `neurons × B` pattern matrix (one
//! `unique(dim=0)` over all layers together). The result is the mean over the R repeats.
//!
//! Deviations: weights come from our seeded ChaCha stream, not torch's RNG (the reference
//! never seeds), so individual repeats differ while the distribution is the same. A NaN
//! activation counts as "not positive" where the reference's `sign(NaN)` would make its own
//! pattern.
//!
//! Ceiling: B samples admit at most 2^B distinct patterns. Large networks reach it at B = 16 —
//! measured on TransNAS-Bench-101's dense decoders (autoencoder), where archs score exactly
//! 65,536 and tie; the reference has the same ceiling. `--batch 32` (up to 128) lifts it.
//!
//! Counting is done without sorting a float matrix: on the device each neuron's B signs are
//! packed into integers (a matmul of the 0/1 matrix with powers of two, exact in f32 for
//! 16-bit chunks), and on the host the codes go into a 65,536-bit bitmap (B ≤ 16) or are
//! sorted and deduplicated as u128 keys (B ≤ 128).

use crate::{derive_seed, Needs, ProxyContext, ProxyDecl, ProxySettings};
use anyhow::{bail, ensure, Result};
use rayon::prelude::*;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use swapnas_benchmarks::nn::cpu::{self, Kernels, SignCodes};
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, InitScheme, Network, NetworkBuilder, Taps, WeightInit};

/// Samples packed per f32 code: sums of distinct powers of two below 2^16 are exact.
const CHUNK: usize = 16;
/// Largest batch the u128 keys hold.
pub const MAX_BATCH: usize = 128;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "swap",
    about: "SWAP: distinct sample-wise ReLU activation patterns (Peng et al. 2024)",
    needs: Needs::RELU_PATTERNS,
    settings,
    batch: |s| s.swap_batch,
    score: |ctx| Ok(score_and_params(ctx)?.0),
};

/// SWAP's settings string (its cache key and reg-SWAP's prefix).
pub fn settings(s: &ProxySettings) -> String {
    format!("B={} R={} init=gaussian bn=batch", s.swap_batch, s.swap_repeats)
}

/// The mean SWAP score over the repeats, and the network's parameter count. Shared with
/// reg-SWAP through the context's memo, so scoring both costs one SWAP.
pub fn score_and_params(ctx: &ProxyContext) -> Result<(f64, usize)> {
    let m = measured(ctx)?;
    Ok((m.swap, m.params))
}

/// What SWAP's forward passes give, averaged over the repeats: SWAP itself, the plain
/// (per-sample) activation-pattern count of the same activations (the `ap` proxy), and the
/// network's parameter count. Its forward passes are computed once per arch and B (the memo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub swap: f64,
    pub ap: f64,
    pub params: usize,
}


/// One repeat's counts and the network's size.
#[derive(Debug, Clone, Copy)]
struct Repeat {
    counts: PatternCounts,
    params: usize,
}

/// SWAP's measurements of the context's arch: the mean over repeats 0..R. Repeat r's network
/// depends only on the arch seed and r, so the repeats are memoised per B and a smaller R is a
/// prefix of a larger one (SWAP, reg-SWAP and `ap` on one arch cost one set of forward passes;
/// an ablation over R costs only its largest R).
pub fn measured(ctx: &ProxyContext) -> Result<Measured> {
    let (batch, repeats) = (ctx.settings.swap_batch, ctx.settings.swap_repeats);
    ensure!((1..=MAX_BATCH).contains(&batch), "SWAP batch must be between 1 and {MAX_BATCH}, got {batch}");
    ensure!(repeats >= 1, "SWAP needs at least one repeat");
    ensure!(ctx.batch.len() >= batch, "SWAP needs {batch} images, {} were loaded", ctx.batch.len());
    let key = format!("swap-repeats:B={batch}");
    let mut done: Vec<Repeat> = ctx.memo.get(&key).unwrap_or_default();
    if done.len() < repeats {
        let (images, _) = ctx.batch.first_tensors(batch, ctx.device, DType::F32);
        // The repeats are independent: they run in parallel over the thread pool's threads.
        let more: Vec<Repeat> = (done.len()..repeats)
            .into_par_iter()
            .map(|r| {
                let net = repeat_network(ctx.builder, ctx.seed, r, ctx.device);
                let counts = count_codes(&relu_codes(net.as_ref(), images.clone(), ctx.settings.kernels)?)?;
                Ok(Repeat { counts, params: net.parameter_count() })
            })
            .collect::<Result<_>>()?;
        done.extend(more);
        ctx.memo.insert(&key, done.clone());
    }
    let used = &done[..repeats];
    let mean = |f: fn(&Repeat) -> usize| used.iter().map(|r| f(r) as f64).sum::<f64>() / repeats as f64;
    Ok(Measured { swap: mean(|r| r.counts.neurons), ap: mean(|r| r.counts.samples), params: used[repeats - 1].params })
}

/// SWAP's building block, step 1: the network of repeat `r` — conv and linear weights
/// N(0, 1), zero biases, BN weight 1 / bias 0, from the arch seed's stream `r` (what `bench`
/// times, and what a layer-wise SWAP or L-SWAG re-uses).
pub fn repeat_network(builder: &dyn NetworkBuilder, seed: u64, r: usize, device: &Device) -> Box<dyn Network> {
    let mut init = WeightInit::new(InitScheme::Gaussian, derive_seed(seed, r as u64));
    builder.build(&mut init, &BuildOptions::new(builder.num_classes()), device)
}

/// Step 2: one forward pass with BN on batch statistics; the output of every ReLU applied
/// to a 4-D tensor, in execution order (one entry per layer).
pub fn relu_patterns(net: &dyn Network, images: Tensor<4>) -> Vec<Tensor<4>> {
    relu_patterns_with(net, images, Kernels::Native)
}

/// [`relu_patterns`] on the given kernels (burn's ops are the reference path).
pub fn relu_patterns_with(net: &dyn Network, images: Tensor<4>, kernels: Kernels) -> Vec<Tensor<4>> {
    let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
    fwd.kernels = kernels;
    let _ = net.forward(images, &mut fwd);
    fwd.relu
}

/// Steps 2 and 3a in one: the forward pass's ReLU outputs as sign codes. On the native
/// kernels each ReLU's signs are packed as it runs and no output is kept; elsewhere the
/// outputs are recorded and packed on their device afterwards.
pub fn relu_codes(net: &dyn Network, images: Tensor<4>, kernels: Kernels) -> Result<SignCodes> {
    let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { relu_codes: true, ..Taps::default() });
    fwd.kernels = kernels;
    let _ = net.forward(images, &mut fwd);
    let mut codes = std::mem::take(&mut fwd.relu_codes);
    // Outputs the native kernels did not pack (another device); the set of patterns does not
    // depend on the layers' order.
    codes.merge(tensor_codes(fwd.relu, kernels)?);
    Ok(codes)
}

/// Step 3, per layer: the distinct patterns of each ReLU layer on its own.
pub fn count_per_layer(activations: &[Tensor<4>]) -> Result<Vec<usize>> {
    activations.iter().map(|a| count_distinct_patterns(std::slice::from_ref(a))).collect()
}

/// The number of distinct sample-wise activation patterns across `activations` (each
/// `[B, …]`, the same B): neurons are the non-batch positions of every tensor, a neuron's
/// pattern is which of the B samples activate it (> 0).
pub fn count_distinct_patterns(activations: &[Tensor<4>]) -> Result<usize> {
    Ok(count_patterns(activations)?.neurons)
}

/// Distinct activation patterns of one forward pass, counted both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternCounts {
    /// SWAP: distinct sample-wise patterns (a neuron's B signs), at most min(2^B, neurons).
    pub neurons: usize,
    /// The plain count: distinct patterns of a sample across all neurons, at most B.
    pub samples: usize,
}

/// Both counts over `activations` (each `[B, …]`, the same B). The plain count comes from the
/// distinct neuron codes at no extra device work: samples i and j share a pattern exactly
/// when no distinct neuron code has different bits i and j.
pub fn count_patterns(activations: &[Tensor<4>]) -> Result<PatternCounts> {
    count_codes(&tensor_codes(activations.to_vec(), Kernels::Native)?)
}

/// The sign codes of recorded activations (each `[B, …]`, the same B), given up to it: packed
/// on the host from their own buffers where the tensors allow the native kernels, with a
/// device matmul otherwise (and always with [`Kernels::Burn`], the reference path).
pub fn tensor_codes(activations: Vec<Tensor<4>>, kernels: Kernels) -> Result<SignCodes> {
    let Some(first) = activations.first() else {
        return Ok(SignCodes::default());
    };
    let batch = first.dims()[0];
    ensure!((1..=MAX_BATCH).contains(&batch), "SWAP supports batches of 1..={MAX_BATCH} samples, got {batch}");
    ensure!(activations.iter().all(|a| a.dims()[0] == batch), "SWAP's activations must share one batch size ({batch})");
    if activations.iter().all(|a| kernels.native_for(a)) {
        let mut codes = SignCodes::default();
        for a in activations {
            codes.push_relu(&mut cpu::read_f32(a.into_data()), batch);
        }
        return Ok(codes);
    }
    device_codes(activations, batch)
}

/// Both counts from the codes of one forward pass.
pub fn count_codes(codes: &SignCodes) -> Result<PatternCounts> {
    if codes.is_empty() {
        bail!("the network applied no ReLU to a 4-D tensor: SWAP has nothing to count");
    }
    let distinct = codes.distinct();
    Ok(PatternCounts { neurons: distinct.len(), samples: distinct_samples(&distinct, codes.batch()) })
}

/// The codes computed on the activations' device: per layer, a matmul of the 0/1 matrix
/// with powers of two (exact in f32 for 16-bit chunks), read back.
fn device_codes(activations: Vec<Tensor<4>>, batch: usize) -> Result<SignCodes> {
    let device = activations[0].device();
    let chunks = batch.div_ceil(CHUNK);
    // powers[k][i] = 2^(i mod 16) if sample i is in chunk k.
    let mut powers = vec![0.0f32; chunks * batch];
    for i in 0..batch {
        powers[(i / CHUNK) * batch + i] = (1u32 << (i % CHUNK)) as f32;
    }
    let powers: Tensor<2> = Tensor::from_data(TensorData::new(powers, [chunks, batch]), (&device, DType::F32));
    let widths: Vec<usize> = activations.iter().map(|a| a.shape().num_elements() / batch).collect();
    let packed: Vec<Tensor<2>> = activations
        .into_iter()
        .zip(&widths)
        .map(|(a, &width)| powers.clone().matmul(a.greater_elem(0.0).float().cast(DType::F32).reshape([batch, width])))
        .collect();
    // One read-back for the whole pass: [chunks, Σ widths].
    let all: Vec<f32> = Tensor::cat(packed, 1)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("cannot read activation codes back from the device: {e:?}"))?;
    let neurons: usize = widths.iter().sum();
    let mut codes = SignCodes::default();
    let mut offset = 0;
    for width in widths {
        let layer: Vec<u16> = (0..chunks).flat_map(|k| all[k * neurons + offset..][..width].iter().map(|&v| v as u16)).collect();
        codes.push_packed(width, &layer, batch);
        offset += width;
    }
    Ok(codes)
}

/// The number of distinct samples among `batch`, given every distinct neuron code (bit i =
/// sample i active): sample i differs from j when some code has bits i and j unequal.
fn distinct_samples(codes: &[u128], batch: usize) -> usize {
    let all = if batch == 128 { u128::MAX } else { (1u128 << batch) - 1 };
    // differs[i]: the samples whose pattern differs from sample i's.
    let mut differs = vec![0u128; batch];
    for (n, &code) in codes.iter().enumerate() {
        for (i, d) in differs.iter_mut().enumerate() {
            *d |= if code >> i & 1 == 1 { !code & all } else { code };
        }
        // Every sample already differs from every other: nothing more to learn.
        if n % 64 == 63 && differs.iter().enumerate().all(|(i, &d)| d | 1u128 << i == all) {
            break;
        }
    }
    // A sample is new when it equals no earlier sample.
    (0..batch).filter(|&i| (0..i).all(|j| differs[i] >> j & 1 == 1)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    /// Hand-checkable: 3 samples, two layers of 2 neurons each.
    /// Layer 1 neurons (per sample): n1 = [1, 0, 2] → 101, n2 = [3, 0, 0.5] → 101.
    /// Layer 2: n3 = [0, 0, 0] → 000, n4 = [0, 5, 0] → 010. Distinct: {101, 000, 010} = 3.
    #[test]
    fn hand_checked_tiny_case() {
        // [B=3, C=2, 1, 1], sample-major.
        let l1 = tensor(vec![1.0, 3.0, 0.0, 0.0, 2.0, 0.5], [3, 2, 1, 1]);
        let l2 = tensor(vec![0.0, 0.0, 0.0, 5.0, 0.0, 0.0], [3, 2, 1, 1]);
        assert_eq!(count_distinct_patterns(&[l1.clone(), l2.clone()]).unwrap(), 3);
        // One layer alone: {101} = 1; all-zero layer alone: {000, 010} = 2.
        assert_eq!(count_distinct_patterns(&[l1]).unwrap(), 1);
        assert_eq!(count_distinct_patterns(&[l2]).unwrap(), 2);
    }

    /// The packed count equals a plain set of boolean rows, for B in both code paths.
    #[test]
    fn packed_count_equals_row_set() {
        for batch in [1, 5, 16, 17, 40] {
            let (c, h, w) = (3, 4, 5);
            let n = batch * c * h * w;
            // Deterministic pseudo-random signs with some repeated columns.
            let values: Vec<f32> = (0..n).map(|i| if (i * 7919 + i / 13) % 3 == 0 { 1.0 } else { 0.0 }).collect();
            let rows: HashSet<Vec<bool>> =
                (0..c * h * w).map(|neuron| (0..batch).map(|s| values[s * c * h * w + neuron] > 0.0).collect()).collect();
            let t = tensor(values, [batch, c, h, w]);
            assert_eq!(count_distinct_patterns(&[t]).unwrap(), rows.len(), "B = {batch}");
        }
    }

    /// The plain count, by hand: in the tiny case above, samples (rows over the 4 neurons)
    /// are s0 = 1100, s1 = 0001, s2 = 1100: two distinct.
    #[test]
    fn plain_count_by_hand() {
        let l1 = tensor(vec![1.0, 3.0, 0.0, 0.0, 2.0, 0.5], [3, 2, 1, 1]);
        let l2 = tensor(vec![0.0, 0.0, 0.0, 5.0, 0.0, 0.0], [3, 2, 1, 1]);
        assert_eq!(count_patterns(&[l1, l2]).unwrap(), PatternCounts { neurons: 3, samples: 2 });
    }

    /// The plain count equals a set of per-sample rows, in both code paths.
    #[test]
    fn plain_count_equals_sample_set() {
        for batch in [1, 6, 16, 20, 40] {
            let (c, h, w) = (2, 2, 2);
            let units = c * h * w;
            // Samples repeat in groups of 3 (sample s copies s mod 3's pattern when s is odd).
            let values: Vec<f32> = (0..batch * units)
                .map(|i| {
                    let (s, u) = (i / units, i % units);
                    let s = if s % 2 == 1 { s % 3 } else { s };
                    if (s * 31 + u * 7) % 5 < 2 { 1.0 } else { 0.0 }
                })
                .collect();
            let rows: HashSet<Vec<bool>> =
                (0..batch).map(|s| (0..units).map(|u| values[s * units + u] > 0.0).collect()).collect();
            let t = tensor(values, [batch, c, h, w]);
            assert_eq!(count_patterns(&[t]).unwrap().samples, rows.len(), "B = {batch}");
        }
    }

    #[test]
    fn no_relu_is_an_error() {
        assert!(count_distinct_patterns(&[]).is_err());
    }
}
