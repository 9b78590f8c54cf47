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
//! measured on TransNAS-Bench-101 at 224², where the micro encoder alone fills all 65,536 (the
//! first two seed-0 archs, one repeat each: at their 24th of 24 and 19th of 44 ReLU layers, the
//! same on class_object and autoencoder); of the first 12 seed-0 class_object archs (one
//! repeat) 6 micro and 9 macro score exactly 65,536 and tie, and reg-SWAP ranks them by its size
//! prior alone. The reference has the same ceiling. `--batch 32` (up to 128) lifts it.
//! Once the codes hold all 2^B patterns no later layer can change the count (nor `ap`'s: every
//! pair of samples then differs), so a network may end the pass there
//! ([`ForwardCtx::patterns_complete`]; TransNAS-Bench-101's encoders do), and the pass never
//! runs a dense decoder, which applies no `nn.ReLU` (the reference hooks `isinstance(m,
//! nn.ReLU)`; [`ForwardCtx::may_skip_decoder`]).
//!
//! Counting is done without sorting a float matrix: on the device each neuron's B signs are
//! packed into integers (a matmul of the 0/1 matrix with powers of two, exact in f32 for
//! 16-bit chunks), and on the host the codes go into a 65,536-bit bitmap (B ≤ 16) or are
//! sorted and deduplicated as u128 keys (B ≤ 128).
//!
//! Two ways to run the repeats, one result. On the CPU (flex) each repeat is its own network
//! and forward pass, the repeats in parallel over the threads, on the native kernels. On any
//! other device (a GPU) the repeats run *stacked*: up to [`STACK_MAX`] networks built side by
//! side as one network whose convs are grouped convs over R·C channels (each repeat's weights
//! from its own stream, exactly as it would be built alone), one forward pass of the images
//! repeated along channels, and each repeat's patterns gathered into its own set on the
//! device ([`DeviceCodes`](swapnas_benchmarks::nn::codes::DeviceCodes)). Per repeat the
//! networks, the batch statistics and the counts are the same; only float rounding differs
//! (a grouped conv sums in another order), which `stacked_repeats_equal_one_at_a_time` in
//! `tests/swap_real.rs` bounds on real archs.

use crate::setting::{self, Setting};
use crate::{derive_seed, Needs, ProxyContext, ProxyDecl, ProxySettings};
use anyhow::{bail, ensure, Result};
use rayon::prelude::*;
use std::time::Instant;
use burn::prelude::*;
use burn::tensor::DType;
use swapnas_benchmarks::nn::codes::DeviceCodes;
use swapnas_benchmarks::nn::cpu::{self, Kernels, SignCodes};
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, InitScheme, Network, NetworkBuilder, Taps, WeightInit};

/// Largest batch the u128 keys hold.
pub const MAX_BATCH: usize = 128;
/// Repeats stacked in one pass at most (off the CPU): SWAP's default R = 32 is one pass.
pub const STACK_MAX: usize = 32;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "swap",
    about: "SWAP: distinct sample-wise ReLU activation patterns (Peng et al. 2024)",
    needs: Needs::RELU_PATTERNS,
    settings: &[&BATCH, &REPEATS],
    version: 1,
    function_only: false,
    key,
    batch: |s| BATCH.get(s),
    score: |ctx| Ok(score_and_params(ctx)?.0),
};

/// `--repeats`.
pub const REPEATS: Setting<usize> = Setting {
    name: "repeats",
    value: "R",
    about: "SWAP: re-initialisations averaged over (the reference's 32)",
    default: "32",
    parse: setting::count,
};

/// `--batch`.
pub const BATCH: Setting<usize> = Setting {
    name: "batch",
    value: "B",
    about: "SWAP: number of input images, the first of the training set (the reference's 16); at most 128 (each neuron's signs are packed into 128 bits)",
    default: "16",
    parse: |t| {
        let b = setting::at_least(t, 0)?;
        anyhow::ensure!((1..=MAX_BATCH).contains(&b), "must be between 1 and {MAX_BATCH} (SWAP packs each neuron's signs into 128 bits), got {b}");
        Ok(b)
    },
};

/// SWAP's key (its cache key and reg-SWAP's prefix).
pub fn key(s: &ProxySettings) -> String {
    format!("B={} R={} init=gaussian bn=batch", BATCH.get(s), REPEATS.get(s))
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


/// One repeat's counts, its network's size, and where its time went.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    pub counts: PatternCounts,
    pub params: usize,
    pub phases: Phases,
}

/// Seconds one repeat spent building its network (weight init), in the forward pass with sign
/// packing, and counting patterns. Stacked repeats share their pass: each gets its share.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    pub init: f64,
    pub forward: f64,
    pub count: f64,
}

/// How the repeats run (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One network and pass per repeat, the repeats in parallel over the threads.
    OneByOne,
    /// Up to [`STACK_MAX`] repeats as one network and one pass.
    Stacked,
}

impl Strategy {
    /// What SWAP runs on `device`: one by one on the CPU (flex), stacked elsewhere.
    pub fn for_device(device: &Device) -> Self {
        if *device == Device::flex() {
            Strategy::OneByOne
        } else {
            Strategy::Stacked
        }
    }
}

/// SWAP's measurements of the context's arch: the mean over repeats 0..R. Repeat r's network
/// depends only on the arch seed and r, so the repeats are memoised per B and a smaller R is a
/// prefix of a larger one (SWAP, reg-SWAP and `ap` on one arch cost one set of forward passes;
/// an ablation over R costs only its largest R).
pub fn measured(ctx: &ProxyContext) -> Result<Measured> {
    let (batch, repeats) = (BATCH.get(ctx.settings), REPEATS.get(ctx.settings));
    ensure!((1..=MAX_BATCH).contains(&batch), "SWAP batch must be between 1 and {MAX_BATCH}, got {batch}");
    ensure!(repeats >= 1, "SWAP needs at least one repeat");
    ensure!(ctx.batch.len() >= batch, "SWAP needs {batch} images, {} were loaded", ctx.batch.len());
    let key = format!("swap-repeats:B={batch}");
    let mut done: Vec<Repeat> = ctx.memo.get(&key).unwrap_or_default();
    if done.len() < repeats {
        let (images, _) = ctx.batch.first_tensors(batch, ctx.device, DType::F32);
        let strategy = if ctx.builder.stackable() { Strategy::for_device(ctx.device) } else { Strategy::OneByOne };
        done.extend(run_repeats(ctx.builder, ctx.seed, done.len()..repeats, &images, ctx.settings.kernels, strategy)?);
        ctx.memo.insert(&key, done.clone());
    }
    let used = &done[..repeats];
    let mean = |f: fn(&Repeat) -> usize| used.iter().map(|r| f(r) as f64).sum::<f64>() / repeats as f64;
    Ok(Measured { swap: mean(|r| r.counts.neurons), ap: mean(|r| r.counts.samples), params: used[repeats - 1].params })
}

/// Steps 1–3 for the repeats `repeats` of the arch seed `seed`, timed: what the proxy runs and
/// what `bench` profiles (one loop, so the profiled path is the scored one). `images` are the B
/// images `[B, 3, H, W]` on the device the networks are built on.
pub fn run_repeats(
    builder: &dyn NetworkBuilder,
    seed: u64,
    repeats: std::ops::Range<usize>,
    images: &Tensor<4>,
    kernels: Kernels,
    strategy: Strategy,
) -> Result<Vec<Repeat>> {
    let device = images.device();
    match strategy {
        // The repeats are independent: they run in parallel over the thread pool's threads.
        Strategy::OneByOne => repeats
            .into_par_iter()
            .map(|r| {
                let t = Instant::now();
                let net = repeat_network(builder, seed, r, &device);
                let init = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let codes = relu_codes(net.as_ref(), images.clone(), kernels)?;
                let forward = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let counts = count_codes(&codes)?;
                let phases = Phases { init, forward, count: t.elapsed().as_secs_f64() };
                Ok(Repeat { counts, params: net.parameter_count(), phases })
            })
            .collect(),
        Strategy::Stacked => {
            let mut out = Vec::with_capacity(repeats.len());
            let mut next = repeats.start;
            while next < repeats.end {
                let end = repeats.end.min(next + STACK_MAX);
                out.extend(stacked_repeats(builder, seed, next..end, images, kernels)?);
                next = end;
            }
            Ok(out)
        }
    }
}

/// SWAP's building block, step 1: the network of repeat `r` — conv and linear weights
/// N(0, 1), zero biases, BN weight 1 / bias 0, from the arch seed's stream `r` (what `bench`
/// times, and what a layer-wise SWAP or L-SWAG re-uses).
pub fn repeat_network(builder: &dyn NetworkBuilder, seed: u64, r: usize, device: &Device) -> Box<dyn Network> {
    let mut init = WeightInit::new(InitScheme::Gaussian, derive_seed(seed, r as u64));
    builder.build(&mut init, &BuildOptions::new(builder.num_classes()), device)
}

/// Steps 1–3 for the repeats `repeats` at once, stacked side by side in one network and one
/// forward pass (see the module doc); each repeat gets an equal share of the pass's time.
fn stacked_repeats(
    builder: &dyn NetworkBuilder,
    seed: u64,
    repeats: std::ops::Range<usize>,
    images: &Tensor<4>,
    kernels: Kernels,
) -> Result<Vec<Repeat>> {
    let seeds: Vec<u64> = repeats.map(|r| derive_seed(seed, r as u64)).collect();
    let stack = seeds.len();
    let t = Instant::now();
    let mut init = WeightInit::stacked(InitScheme::Gaussian, &seeds);
    let net = builder.build(&mut init, &BuildOptions::new(builder.num_classes()), &images.device());
    let init = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut fwd = ForwardCtx::stacked(BnMode::Batch, Taps { relu_codes: true, ..Taps::default() }, stack);
    fwd.kernels = kernels;
    fwd.output_unused = true;
    let _ = net.forward(images.clone().repeat_dim(1, stack), &mut fwd);
    let Some(codes) = fwd.device_codes.take() else {
        bail!("the network applied no ReLU to a 4-D tensor: SWAP has nothing to count");
    };
    let codes = codes.finish()?;
    let forward = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let counts = codes.iter().map(count_codes).collect::<Result<Vec<_>>>()?;
    let share = stack as f64;
    let phases = Phases { init: init / share, forward: forward / share, count: t.elapsed().as_secs_f64() / share };
    let params = net.parameter_count() / stack;
    Ok(counts.into_iter().map(|counts| Repeat { counts, params, phases }).collect())
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
    fwd.output_unused = true;
    let _ = net.forward(images, &mut fwd);
    fwd.relu
}

/// Steps 2 and 3a in one: the forward pass's ReLU outputs as sign codes. On the native
/// kernels each ReLU's signs are packed as it runs and no output is kept; elsewhere the
/// outputs are recorded and packed on their device afterwards.
pub fn relu_codes(net: &dyn Network, images: Tensor<4>, kernels: Kernels) -> Result<SignCodes> {
    let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { relu_codes: true, ..Taps::default() });
    fwd.kernels = kernels;
    fwd.output_unused = true;
    let _ = net.forward(images, &mut fwd);
    let mut codes = std::mem::take(&mut fwd.relu_codes);
    // Outputs the native kernels did not pack (another device); the set of patterns does not
    // depend on the layers' order.
    if let Some(device) = fwd.device_codes.take() {
        codes.merge(device.finish()?.remove(0));
    }
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
    let mut device = DeviceCodes::new(1);
    for a in &activations {
        device.push(a);
    }
    Ok(device.finish()?.remove(0))
}

/// Both counts from the codes of one forward pass.
pub fn count_codes(codes: &SignCodes) -> Result<PatternCounts> {
    if codes.is_empty() {
        bail!("the network applied no ReLU to a 4-D tensor: SWAP has nothing to count");
    }
    let distinct = codes.distinct();
    Ok(PatternCounts { neurons: distinct.len(), samples: distinct_samples(&distinct, codes.batch()) })
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
    use burn::tensor::TensorData;
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
