//! SWAP on real NB201 networks and real CIFAR-10 images.

use burn::prelude::*;
use std::collections::HashSet;
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, ImageSet, InitScheme, NetworkBuilder, Taps, WeightInit};
use swapnas_proxies::swap::{count_distinct_patterns, count_per_layer, relu_patterns, repeat_network};
use swapnas_proxies::{Memo, Proxy, ProxyContext, ProxySettings};

mod common;
use common::{builder, data_dir, proxy};

/// The packed device count equals the reference's definition computed naively on the host:
/// the set of rows of the (neurons × samples) sign matrix over all ReLU outputs.
#[test]
fn packed_count_equals_naive_unique_rows_on_a_real_network() {
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let b = builder("(2, 3, 2, 0, 4, 2)");
    let net = b.build(&mut WeightInit::new(InitScheme::Gaussian, 11), &BuildOptions::new(10), &device);
    let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
    let _ = net.forward(batch.images(&device, burn::tensor::DType::F32), &mut ctx).flat();
    let fast = count_distinct_patterns(&ctx.relu).unwrap();
    let mut rows: HashSet<Vec<bool>> = HashSet::new();
    for t in &ctx.relu {
        let [n, c, h, w] = t.dims();
        let v: Vec<f32> = t.to_data().try_into_vec().unwrap();
        let per = c * h * w;
        for neuron in 0..per {
            rows.insert((0..n).map(|s| v[s * per + neuron] > 0.0).collect());
        }
    }
    assert_eq!(fast, rows.len());
    assert!(fast > 100, "a real network has many patterns, got {fast}");
    // Per layer (the building block of a layer-wise SWAP): one count per ReLU layer, each the
    // distinct rows of that layer alone, none above the joint count.
    let per_layer = count_per_layer(&ctx.relu).unwrap();
    assert_eq!(per_layer.len(), ctx.relu.len());
    assert!(per_layer.iter().all(|&c| c >= 1 && c <= fast), "{per_layer:?}");
    assert_eq!(per_layer[0], count_distinct_patterns(&ctx.relu[..1]).unwrap());
}

/// SWAP's building blocks (`repeat_network`, `relu_patterns`, `count_distinct_patterns`)
/// give exactly the proxy's score: the mean over repeats.
#[test]
fn building_blocks_reproduce_the_proxy() {
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let settings = ProxySettings { swap_repeats: 3, ..ProxySettings::default() };
    let b = builder("(2, 2, 3, 0, 4, 2)");
    let memo = Memo::new();
    let ctx = ProxyContext {
        builder: &b,
        batch: &batch,
        device: &device,
        seed: 4,
        memo: &memo,
        settings: &settings,
        task: common::task(),
    };
    let score = proxy("swap", &settings).score(&ctx).unwrap();
    let images = batch.images(&device, burn::tensor::DType::F32);
    let mut total = 0.0;
    for r in 0..3 {
        let net = repeat_network(&b, 4, r, &device);
        total += count_distinct_patterns(&relu_patterns(net.as_ref(), images.clone())).unwrap() as f64;
    }
    assert_eq!(score, total / 3.0);
}

#[test]
fn swap_is_seeded_and_reg_swap_reuses_it() {
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let settings = ProxySettings { swap_repeats: 2, ..ProxySettings::default() };
    let b = builder("(2, 2, 3, 0, 4, 2)");
    let score = |seed: u64, proxy: &dyn Proxy, memo: &Memo| {
        let ctx = ProxyContext {
            builder: &b,
            batch: &batch,
            device: &device,
            seed,
            memo,
            settings: &ProxySettings::default(),
            task: common::task(),
        };
        proxy.score(&ctx).unwrap()
    };
    let swap = proxy("swap", &settings);
    let memo = Memo::new();
    let s1 = score(1, &*swap, &memo);
    assert_eq!(s1, score(1, &*swap, &Memo::new()), "same seed, same score");
    assert_ne!(s1, score(2, &*swap, &Memo::new()), "another seed re-initialises differently");
    let reg = proxy("reg_swap", &settings);
    let r = score(1, &*reg, &memo);
    let params = b.build(&mut WeightInit::new(InitScheme::Gaussian, 0), &BuildOptions::new(10), &device).parameter_count();
    assert!((r - s1 * settings.reg_swap.factor(params)).abs() < 1e-9 * s1);
}

/// The repeats of a smaller R are a prefix of a larger R's (memoised per B): R = 2 after R = 3
/// on one memo equals R = 2 alone; `ap` comes from the same passes and is at most B.
#[test]
fn smaller_r_reuses_the_prefix_and_ap_shares_the_passes() {
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let b = builder("(2, 2, 3, 0, 4, 2)");
    let score = |name: &str, repeats: usize, memo: &Memo| {
        let settings = ProxySettings { swap_repeats: repeats, ..ProxySettings::default() };
        let ctx = ProxyContext {
            builder: &b,
            batch: &batch,
            device: &device,
            seed: 5,
            memo,
            settings: &settings,
            task: common::task(),
        };
        proxy(name, &settings).score(&ctx).unwrap()
    };
    let shared = Memo::new();
    let three = score("swap", 3, &shared);
    let two_after = score("swap", 2, &shared);
    let two_alone = score("swap", 2, &Memo::new());
    assert_eq!(two_after, two_alone);
    assert_ne!(three, two_alone, "a third repeat changes the mean");
    let ap = score("ap", 3, &shared);
    assert_eq!(ap, score("ap", 3, &Memo::new()));
    assert!((1.0..=16.0).contains(&ap), "{ap}");
}

/// The native CPU kernels (the default) against burn's ops (the reference path, what every
/// score was computed with before them) on real NB201 archs and real CIFAR-10 images: every
/// ReLU output agrees to float rounding, and SWAP's and the plain pattern counts of each
/// repeat agree to within a few neurons whose ReLU input lies within rounding of zero.
#[test]
fn native_kernels_match_burn() {
    use swapnas_benchmarks::Kernels;
    use swapnas_proxies::swap::{count_codes, relu_codes, relu_patterns_with};
    let device = Device::flex();
    // Every op of the space (none, skip, 1×1 conv, 3×3 conv, 3×3 avg pool) in several places.
    let archs = ["(2, 3, 2, 0, 4, 2)", "(3, 3, 3, 3, 3, 3)", "(4, 4, 1, 4, 2, 4)", "(1, 2, 0, 3, 1, 4)", "(0, 4, 3, 2, 2, 1)"];
    for batch_size in [16, 20] {
        let batch = ImageSet::CIFAR10.load_first(&data_dir(), batch_size).unwrap();
        let images = batch.images(&device, burn::tensor::DType::F32);
        let (mut identical, mut compared) = (0, 0);
        for arch in archs {
            let b = builder(arch);
            for r in 0..2 {
                let net = repeat_network(&b, 7, r, &device);
                if r == 0 && batch_size == 16 {
                    let native = relu_patterns_with(net.as_ref(), images.clone(), Kernels::Native);
                    let burn = relu_patterns_with(net.as_ref(), images.clone(), Kernels::Burn);
                    assert_eq!(native.len(), burn.len(), "{arch}: ReLU layers");
                    for (l, (a, b)) in native.iter().zip(&burn).enumerate() {
                        assert_eq!(a.dims(), b.dims(), "{arch} layer {l}");
                        let diff: f32 = (a.clone() - b.clone()).abs().max().into_scalar();
                        let scale: f32 = b.clone().abs().max().into_scalar();
                        // Rounding differences start at f32's ~1e-7 and compound with depth
                        // (up to ~1e-4 relative by the 70th layer of an all-3×3-conv net).
                        let tolerance = if l < 4 { 1e-5 } else { 1e-3 };
                        assert!(
                            diff <= tolerance * (1.0 + scale),
                            "{arch} layer {l}: max |native − burn| = {diff} (scale {scale})"
                        );
                    }
                }
                let native = count_codes(&relu_codes(net.as_ref(), images.clone(), Kernels::Native).unwrap()).unwrap();
                let burn = count_codes(&relu_codes(net.as_ref(), images.clone(), Kernels::Burn).unwrap()).unwrap();
                let gap = native.neurons.abs_diff(burn.neurons);
                assert!(
                    gap as f64 <= 2.0 + 1e-4 * burn.neurons as f64,
                    "{arch} B={batch_size} repeat {r}: SWAP {} native vs {} burn",
                    native.neurons,
                    burn.neurons
                );
                assert_eq!(native.samples, burn.samples, "{arch} B={batch_size} repeat {r}: plain count");
                assert!(burn.neurons > 100, "{arch}: a real network has many patterns");
                identical += usize::from(gap == 0);
                compared += 1;
            }
        }
        eprintln!("B = {batch_size}: {identical} of {compared} repeats give identical SWAP counts on both paths");
    }
    // The proxy itself, on either path (the setting is not part of its cache key).
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let b = builder(archs[0]);
    let score = |kernels| {
        let settings = ProxySettings { swap_repeats: 2, kernels, ..ProxySettings::default() };
        let memo = Memo::new();
        let ctx = ProxyContext {
            builder: &b,
            batch: &batch,
            device: &device,
            seed: 3,
            memo: &memo,
            settings: &settings,
            task: common::task(),
        };
        proxy("swap", &settings).score(&ctx).unwrap()
    };
    let (native, burn) = (score(Kernels::Native), score(Kernels::Burn));
    assert!((native - burn).abs() <= 2.0 + 1e-4 * burn, "SWAP {native} native vs {burn} burn");
}
