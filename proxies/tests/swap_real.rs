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
    let settings = common::with_repeats(3);
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
    let settings = common::with_repeats(2);
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
    assert!((r - s1 * settings.size_prior().factor(params)).abs() < 1e-9 * s1);
}

/// The repeats of a smaller R are a prefix of a larger R's (memoised per B): R = 2 after R = 3
/// on one memo equals R = 2 alone; `ap` comes from the same passes and is at most B.
#[test]
fn smaller_r_reuses_the_prefix_and_ap_shares_the_passes() {
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let b = builder("(2, 2, 3, 0, 4, 2)");
    let score = |name: &str, repeats: usize, memo: &Memo| {
        let settings = common::with_repeats(repeats);
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

/// Real NB201 archs with every op of the space (none, skip, 1×1 conv, 3×3 conv, 3×3 avg pool)
/// in several places.
const ALL_OPS: [&str; 5] =
    ["(2, 3, 2, 0, 4, 2)", "(3, 3, 3, 3, 3, 3)", "(4, 4, 1, 4, 2, 4)", "(1, 2, 0, 3, 1, 4)", "(0, 4, 3, 2, 2, 1)"];

/// The first `n` real CIFAR-10 training images on the CPU.
fn first_images(n: usize) -> Tensor<4> {
    ImageSet::CIFAR10.load_first(&data_dir(), n).unwrap().images(&Device::flex(), burn::tensor::DType::F32)
}

/// Two computations of one repeat's counts agree: SWAP's to within a few neurons whose ReLU
/// input lies within rounding of zero (2 + 10⁻⁴·count), the plain count exactly. Whether
/// SWAP's are identical.
fn counts_agree(a: swapnas_proxies::swap::PatternCounts, b: swapnas_proxies::swap::PatternCounts, what: &str) -> bool {
    let gap = a.neurons.abs_diff(b.neurons);
    assert!(gap as f64 <= 2.0 + 1e-4 * b.neurons as f64, "{what}: SWAP {} vs {}", a.neurons, b.neurons);
    assert_eq!(a.samples, b.samples, "{what}: plain count");
    gap == 0
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
    let archs = ALL_OPS;
    for batch_size in [16, 20] {
        let images = first_images(batch_size);
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
                identical +=
                    usize::from(counts_agree(native, burn, &format!("{arch} B={batch_size} repeat {r}, native vs burn")));
                assert!(burn.neurons > 100, "{arch}: a real network has many patterns");
                compared += 1;
            }
        }
        eprintln!("B = {batch_size}: {identical} of {compared} repeats give identical SWAP counts on both paths");
    }
    // The proxy itself, on either path (the setting is not part of its cache key).
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 16).unwrap();
    let b = builder(archs[0]);
    let score = |kernels| {
        let mut settings = common::with_repeats(2);
        settings.kernels = kernels;
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

/// SWAP's repeats stacked side by side in one network and one pass (the GPU path) against the
/// same repeats one at a time on burn's ops, on real NB201 archs and real CIFAR-10 images:
/// every repeat's SWAP count agrees to within a few neurons whose ReLU input lies within
/// rounding of zero (a grouped conv sums in another order), its plain count and the
/// parameter count are equal. B = 16 gathers the patterns in the device set, B = 20 reads
/// the codes back.
#[test]
fn stacked_repeats_equal_one_at_a_time() {
    use swapnas_benchmarks::Kernels;
    use swapnas_proxies::swap::{run_repeats, Strategy};
    let device = Device::flex();
    let archs = ALL_OPS;
    for batch_size in [16, 20] {
        let images = first_images(batch_size);
        let (mut identical, mut compared) = (0, 0);
        for arch in archs {
            let b = builder(arch);
            let stacked = run_repeats(&b, 7, 1..4, &images, Kernels::Burn, Strategy::Stacked).unwrap();
            let alone = run_repeats(&b, 7, 1..4, &images, Kernels::Burn, Strategy::OneByOne).unwrap();
            assert_eq!(stacked.len(), 3);
            for (r, (stacked, alone)) in (1..4).zip(stacked.iter().zip(&alone)) {
                assert_eq!(stacked.params, alone.params, "{arch}: one network's parameters");
                assert_eq!(alone.params, repeat_network(&b, 7, r, &device).parameter_count());
                let what = format!("{arch} B={batch_size} repeat {r}, stacked vs alone");
                identical += usize::from(counts_agree(stacked.counts, alone.counts, &what));
                assert!(alone.counts.neurons > 100, "{arch}: a real network has many patterns");
                compared += 1;
            }
        }
        eprintln!("B = {batch_size}: {identical} of {compared} repeats give identical SWAP counts stacked and alone");
        assert!(identical * 2 >= compared, "most repeats agree exactly ({identical} of {compared})");
    }
}

/// Stacking holds in every space's layers: channel concatenation (DARTS cells, NB101 cells,
/// FactorizedReduce, TNB101's jigsaw tiles), NB101's channel truncation, depthwise and
/// dilated convs, linear heads (TransNAS-Bench-101's dense decoders apply no ReLU, so SWAP's
/// pass leaves them out: `swap_pass_leaves_out_relu_free_decoders`). Two repeats stacked
/// against each alone, real CIFAR-10 images.
#[test]
fn stacked_repeats_hold_in_every_space() {
    use rand::SeedableRng;
    use swapnas_benchmarks::Kernels;
    use swapnas_proxies::swap::{run_repeats, Strategy};
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 8).unwrap();
    let images = batch.images(&device, burn::tensor::DType::F32);
    let nb101 = "(0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 4, 4, 4, 1)";
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut cases: Vec<(&str, String, &str)> = vec![("nb101", nb101.to_string(), "cifar10")];
    for (space, task) in [("nb301", "cifar10"), ("tnb101-micro", "segmentsemantic"), ("tnb101-macro", "jigsaw")] {
        let genome = swapnas_benchmarks::spaces::find(space).unwrap().genome().unwrap();
        cases.push((space, (genome.label)(&genome.random(&mut rng).unwrap()), task));
    }
    for (space, arch, task) in cases {
        let space_ref = swapnas_benchmarks::spaces::find(space).unwrap();
        let candidate = space_ref.reference_candidate(&arch, space_ref.task(task).unwrap()).unwrap();
        let b = candidate.builder.as_ref();
        let stacked = run_repeats(b, 11, 0..2, &images, Kernels::Burn, Strategy::Stacked).unwrap();
        let alone = run_repeats(b, 11, 0..2, &images, Kernels::Burn, Strategy::OneByOne).unwrap();
        for (r, (stacked, alone)) in stacked.iter().zip(&alone).enumerate() {
            assert_eq!(stacked.params, alone.params, "{space} {arch}: one network's parameters");
            counts_agree(stacked.counts, alone.counts, &format!("{space} {arch} repeat {r}, stacked vs alone"));
        }
    }
}

/// SWAP's pattern pass ends before a TransNAS-Bench-101 dense decoder, which applies no
/// `nn.ReLU` (the reference hooks `isinstance(m, nn.ReLU)`; LeakyReLU is not one): the same ReLU
/// outputs, bitwise, as the whole network's pass, and fewer FLOPs (the decoder did not run).
/// So does AZ-NAS' block pass (the decoder is no block): the same block outputs.
#[test]
fn swap_pass_leaves_out_relu_free_decoders() {
    use rand::SeedableRng;
    let device = Device::flex();
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 4).unwrap();
    let images = batch.images(&device, burn::tensor::DType::F32);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for (space, task) in [("tnb101-micro", "autoencoder"), ("tnb101-macro", "segmentsemantic"), ("tnb101-micro", "normal")] {
        let space_ref = swapnas_benchmarks::spaces::find(space).unwrap();
        let genome = space_ref.genome().unwrap();
        let arch = (genome.label)(&genome.random(&mut rng).unwrap());
        let candidate = space_ref.reference_candidate(&arch, space_ref.task(task).unwrap()).unwrap();
        let net = repeat_network(candidate.builder.as_ref(), 3, 0, &device);
        let shortened = relu_patterns(net.as_ref(), images.clone());
        let mut whole = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
        let _ = net.forward(images.clone(), &mut whole);
        let what = format!("{space} {task} {arch}");
        assert!(!shortened.is_empty(), "{what}: the encoder applies ReLUs");
        assert_eq!(shortened.len(), whole.relu.len(), "{what}: ReLU layers");
        for (i, (a, b)) in shortened.into_iter().zip(whole.relu).enumerate() {
            let (a, b) = (a.into_data().try_to_vec::<f32>().unwrap(), b.into_data().try_to_vec::<f32>().unwrap());
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{what}: ReLU {i} differs");
        }
        // AZ-NAS' pass (on the autodiff device) reads the encoder's blocks alone: the same
        // block outputs either way.
        let autodiff = device.clone().autodiff();
        let ad_net = repeat_network(candidate.builder.as_ref(), 3, 0, &autodiff);
        let ad_images = batch.images(&autodiff, burn::tensor::DType::F32);
        let blocks = |unused: bool| {
            let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { blocks: true, ..Taps::default() });
            fwd.output_unused = unused;
            let _ = ad_net.forward(ad_images.clone(), &mut fwd);
            fwd.block_outputs.into_iter().map(|b| b.into_data().try_to_vec::<f32>().unwrap()).collect::<Vec<_>>()
        };
        let (short_blocks, all_blocks) = (blocks(true), blocks(false));
        assert!(short_blocks.len() >= 2, "{what}: the encoder records blocks");
        assert!(short_blocks == all_blocks, "{what}: block outputs differ without the decoder");
        let flops = |unused: bool| {
            let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
            fwd.output_unused = unused;
            let _ = net.forward(images.clone(), &mut fwd);
            fwd.flops
        };
        let (short, full) = (flops(true), flops(false));
        assert!(short < full, "{what}: the decoder left out ({short} vs {full} FLOPs)");
    }
}

/// Once SWAP's sign codes hold all 2^B patterns its B ≤ 16 samples can show, no later layer
/// can change SWAP's count or `ap`'s: the networks then end the pass at that cell or block.
/// On seeded archs of every image space, one repeat each (B = 16; TransNAS-Bench-101 at 224²
/// on the Taskonomy stand-in, its jigsaw net too, the others on CIFAR-10): the same counts as the whole pass, and
/// the pass ended early, where it did, only with every pattern seen.
#[test]
fn swap_pass_ends_when_every_pattern_is_seen() {
    use rand::SeedableRng;
    use swapnas_benchmarks::nn::cpu::SignCodes;
    use swapnas_benchmarks::Kernels;
    use swapnas_proxies::swap::{count_codes, relu_codes};
    let device = Device::flex();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut ended_early = std::collections::BTreeMap::new();
    for (space, task) in [
        ("tnb101-micro", "class_object"),
        ("tnb101-macro", "class_object"),
        // The siamese net: a pass may end inside one tile's encoder (the tiles' features are
        // then not concatenated).
        ("tnb101-micro", "jigsaw"),
        ("nb101", "cifar10"),
        ("nb301", "cifar10"),
        ("nb201", "cifar10"),
    ] {
        let space_ref = swapnas_benchmarks::spaces::find(space).unwrap();
        let task = space_ref.task(task).unwrap();
        let images = task.images.load_first(&data_dir(), 16).unwrap().images(&device, burn::tensor::DType::F32);
        let genome = space_ref.genome().unwrap();
        for _ in 0..3 {
            let arch = (genome.label)(&genome.random(&mut rng).unwrap());
            let candidate = space_ref.reference_candidate(&arch, task).unwrap();
            let net = repeat_network(candidate.builder.as_ref(), 1, 0, &device);
            let short = relu_codes(net.as_ref(), images.clone(), Kernels::Native).unwrap();
            let mut whole = ForwardCtx::new(BnMode::Batch, Taps { relu_codes: true, ..Taps::default() });
            let _ = net.forward(images.clone(), &mut whole);
            let whole: SignCodes = whole.relu_codes;
            let what = format!("{space} {arch}");
            assert_eq!(count_codes(&short).unwrap(), count_codes(&whole).unwrap(), "{what}: counts");
            assert!(short.layers() <= whole.layers(), "{what}: layers");
            if short.layers() < whole.layers() {
                assert!(short.is_complete(), "{what}: ended early only with every pattern seen");
                *ended_early.entry(space).or_insert(0) += 1;
            }
        }
    }
    eprintln!("passes ended early, of 3 per space: {ended_early:?}");
    assert!(
        ended_early.contains_key("tnb101-micro") || ended_early.contains_key("tnb101-macro"),
        "TNB101 encoders fill the 2^16 patterns at 224²"
    );
    assert!(ended_early.contains_key("nb101"), "NB101 networks fill them on CIFAR-10");
}
