//! L-SWAG and AZ-NAS on real NB201 networks and real CIFAR-10 images — and the template for
//! testing a new proxy: copy `a_new_proxy_on_real_archs`, put your proxy's name in, and set
//! the ρ floor below what it measures on these archs.

use swapnas_benchmarks::ImageSet;
use swapnas_proxies::{Memo, ProxyContext, ProxySettings};
use swapnas_reports::spearman_rho;

mod common;
use common::{builder, data_dir, proxy, reference_rows, settings, task, BATCH, DARTS_EVERY_OP, NB101_ARCH};

/// The template: on a dozen real NB201 archs spread over Suite-Zero's table, each proxy (scored
/// together, sharing one memo per arch as in a run) is finite, deterministic for a seed, not
/// constant, and ranks the archs with their accuracy at least `min_rho[k]`.
fn check_on_real_archs(names: &[&str], s: &ProxySettings, min_rho: &[f64]) {
    let dir = data_dir();
    let rows = reference_rows(&dir);
    let batch = ImageSet::CIFAR10.load_first(&dir, 2 * BATCH).unwrap();
    let proxies: Vec<_> = names.iter().map(|n| proxy(n, s)).collect();
    let refs: Vec<&dyn swapnas_proxies::Proxy> = proxies.iter().map(|p| p.as_ref()).collect();
    let first = common::score(&rows, &refs, &batch, 7);
    let again = common::score(&rows, &refs, &batch, 7);
    let acc: Vec<f64> = rows.iter().map(|r| r.val_accuracy).collect();
    for (k, name) in names.iter().enumerate() {
        let a = &first[k];
        assert!(a.iter().all(|v| v.is_finite()), "{name}: {a:?}");
        assert_eq!(a, &again[k], "{name}: the same seed gave another score");
        assert!(a.iter().any(|v| *v != a[0]), "{name} is constant: {a:?}");
        let rho = spearman_rho(a, &acc);
        eprintln!("{name}: ρ with accuracy {rho:.3} on {} archs", rows.len());
        assert!(rho >= min_rho[k], "{name}: ρ {rho} below {}", min_rho[k]);
    }
}

/// Measured on these 12 archs: lswag 0.87, az_expressivity 0.80, az_progressivity 0.57,
/// az_complexity 0.79.
#[test]
fn a_new_proxy_on_real_archs() {
    let Some(_full) = common::full_data("Suite-Zero's reference archs") else { return };
    check_on_real_archs(&["lswag", "az_expressivity", "az_progressivity", "az_complexity"], &settings(), &[0.7, 0.6, 0.35, 0.6]);
}

fn context_score(name: &str, arch: &str, s: &ProxySettings) -> f64 {
    let dir = data_dir();
    let batch = ImageSet::CIFAR10.load_first(&dir, 2 * BATCH).unwrap();
    let b = builder(arch);
    let memo = Memo::new();
    let device = burn::tensor::Device::flex();
    let ctx = ProxyContext { builder: &b, batch: &batch, device: &device, seed: 3, memo: &memo, settings: s, task: task() };
    proxy(name, s).score(&ctx).unwrap()
}

/// Cells that pass their input through unchanged score −∞ trainability (the reference's
/// exact-identity rule, g_in = g_out); a network whose cells output zero has no spectrum
/// (−∞ expressivity, as the reference's NaN).
#[test]
fn az_nas_edge_cases_follow_the_reference() {
    let identity = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|";
    assert_eq!(context_score("az_trainability", identity, &settings()), f64::NEG_INFINITY);
    let zero = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    assert_eq!(context_score("az_expressivity", zero, &settings()), f64::NEG_INFINITY);
    let conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let t = context_score("az_trainability", conv, &settings());
    assert!(t.is_finite() && t <= 0.0, "−σ − 1/σ + 2 ≤ 0 for σ > 0: {t}");
}

/// The layer interval changes what L-SWAG sums and counts.
#[test]
fn lswag_interval_is_applied() {
    let arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|";
    let all = context_score("lswag", arch, &settings());
    let late = context_score("lswag", arch, &{
        let mut s = settings();
        s.set("lswag_layers", "50-100").unwrap();
        s
    });
    assert!(all.is_finite() && late.is_finite() && all > late, "all layers {all}, second half {late}");
}

/// A network of every space but NB201 (whose cells the tests above cover), small where the
/// space has a width to set, with the side its noise is drawn at.
fn block_networks() -> Vec<(Box<dyn swapnas_benchmarks::NetworkBuilder>, usize, usize)> {
    use swapnas_benchmarks::spaces::darts::{DartsArch, DartsBuilder, DartsConfig};
    use swapnas_benchmarks::spaces::nb101::{Nb101Arch, Nb101Builder, Nb101Config};
    use swapnas_benchmarks::spaces::tnb101::{TnbArch, TnbBuilder, TnbConfig, TnbTask};
    let nb101: Nb101Arch = NB101_ARCH.parse().unwrap();
    let darts: DartsArch = DARTS_EVERY_OP.parse().unwrap();
    let micro = TnbArch::Micro("64-41414-3_13_023".parse().unwrap());
    let macro_ = TnbArch::Macro("64-1342-basic".parse().unwrap());
    vec![
        (
            Box::new(Nb101Builder {
                arch: nb101,
                config: Nb101Config { stem_channels: 8, stacks: 3, cells_per_stack: 2 },
                num_classes: 10,
            }),
            32,
            1 + 6,
        ),
        (
            Box::new(DartsBuilder {
                arch: darts,
                config: DartsConfig { channels: 4, layers: 5, stem_multiplier: Some(3), affine_ops: false, pool_bn: true },
                num_classes: 10,
            }),
            32,
            1 + 5,
        ),
        (Box::new(TnbBuilder { arch: micro, config: TnbConfig { task: TnbTask::SegmentSemantic }, num_classes: 17 }), 64, 1 + 10),
        (Box::new(TnbBuilder { arch: macro_, config: TnbConfig { task: TnbTask::Jigsaw }, num_classes: 1000 }), 3 * 32, 1 + 8),
    ]
}

/// Every space's network records its blocks (AZ-NAS's features and per-cell gradients): the
/// stem then each cell or block, each block's input of its predecessor's output's shape, and a
/// gradient pushed into one block's output reaches that block's input leaf alone (DARTS' skip
/// input from two cells back is cut too; the jigsaw net's nine tiles record one chain). The
/// three components of one pass are then finite on each.
#[test]
fn az_nas_scores_a_network_of_every_space() {
    use burn::prelude::*;
    use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, ImageBatch, InitScheme, Taps, WeightInit};
    let device = burn::tensor::Device::flex();
    for (b, side, blocks) in block_networks() {
        let label = b.arch_label();
        let ad = device.clone().autodiff();
        let net = b.build(&mut WeightInit::new(InitScheme::KaimingNormalFanIn, 1), &BuildOptions::new(b.num_classes()), &ad);
        let x: Tensor<4> = Tensor::random([2, 3, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &ad);
        let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { blocks: true, ..Taps::default() });
        let _ = net.forward(x, &mut fwd);
        assert_eq!(fwd.block_outputs.len(), blocks, "{label}: stem + blocks");
        assert_eq!(fwd.block_inputs.len() + 1, blocks, "{label}: one input per block");
        for (i, input) in fwd.block_inputs.iter().enumerate() {
            assert_eq!(input.dims(), fwd.block_outputs[i].dims(), "{label}: block {i}'s input is its predecessor's output");
        }
        for k in 1..blocks {
            let grads = fwd.block_outputs[k].clone().sum().backward();
            for (i, input) in fwd.block_inputs.iter().enumerate() {
                let reached = input.grad(&grads).is_some_and(|g| g.abs().sum().into_scalar::<f32>() > 0.0);
                assert_eq!(reached, i + 1 == k, "{label}: block {k}'s output reached block {}'s input: {reached}", i + 1);
            }
        }

        let s = settings();
        let batch = ImageBatch { pixels: vec![0.0; 3 * side * side], labels: vec![0], side, tokens: false };
        let memo = Memo::new();
        let ctx = ProxyContext {
            builder: b.as_ref(),
            batch: &batch,
            device: &device,
            seed: 3,
            memo: &memo,
            settings: &s,
            task: task(),
        };
        for name in ["az_expressivity", "az_progressivity", "az_trainability"] {
            let v = proxy(name, &s).score(&ctx).unwrap_or_else(|e| panic!("{name} on {label}: {e:#}"));
            assert!(v.is_finite(), "{name} on {label}: {v}");
        }
    }
}

/// VKDNW counts parameter tensors as the reference's `vkdnw_dim` does on NB201: 21 + 45·k for
/// k conv edges (stem, reductions, head; 3 tensors per ReLU-conv-BN edge in each of 15 cells).
#[test]
fn vkdnw_counts_tensors_as_the_reference() {
    use swapnas_benchmarks::{BuildOptions, InitScheme, NetworkBuilder, WeightInit};
    let device = burn::tensor::Device::flex();
    for (arch, k) in [
        ("|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|avg_pool_3x3~2|", 0),
        ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|none~2|", 2),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|", 6),
    ] {
        let net = builder(arch).build(&mut WeightInit::new(InitScheme::KaimingNormalFanIn, 0), &BuildOptions::new(10), &device);
        assert_eq!(net.parameter_ids().len(), 21 + 45 * k, "{arch}");
    }
    // Parameters come in the reference's `named_parameters()` order (VKDNW takes the first
    // 128): a cell's edges as its arch string lists them (by target node), not NASLib's order.
    let arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|";
    let net = builder(arch).build(&mut WeightInit::new(InitScheme::KaimingNormalFanIn, 0), &BuildOptions::new(10), &device);
    let kernels: Vec<usize> = net.weights()[1..7]
        .iter()
        .map(|w| match &w.tensor {
            swapnas_benchmarks::WeightTensor::Conv(t) => t.dims()[2],
            swapnas_benchmarks::WeightTensor::Linear(_) => 0,
        })
        .collect();
    assert_eq!(kernels, [3, 3, 1, 3, 1, 3], "the first cell's convs in parameter order");
}

/// VKDNW on small networks of NB201 and DARTS: deterministic for a seed, the entropy within
/// [0, ln 9], VKDNW_single ranking by the tensor count first; "n/a" where the output is not
/// class logits.
#[test]
fn vkdnw_scores_small_networks() {
    use swapnas_benchmarks::spaces::darts::{DartsBuilder, DartsConfig};
    use swapnas_benchmarks::spaces::nb201::{Nb201Builder, Nb201Config};
    let small_nb201 = |arch: &str| Nb201Builder {
        arch: arch.parse().unwrap(),
        config: Nb201Config { channels: 4, cells_per_stage: 1 },
        num_classes: 10,
    };
    let darts = DartsBuilder {
        arch: DARTS_EVERY_OP.parse().unwrap(),
        config: DartsConfig { channels: 4, layers: 3, stem_multiplier: Some(3), affine_ops: false, pool_bn: true },
        num_classes: 10,
    };
    let nb_few = small_nb201("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|none~2|");
    let nb_many = small_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|");
    let builders: [&dyn swapnas_benchmarks::NetworkBuilder; 3] = [&nb_few, &nb_many, &darts];
    let batch = ImageSet::CIFAR10.load_first(&data_dir(), 1).unwrap();
    let device = burn::tensor::Device::flex();
    let s = settings();
    let mut singles = Vec::new();
    for b in builders {
        let shared = Memo::new();
        let score = |name: &str, seed: u64, memo: &Memo| {
            let ctx = ProxyContext { builder: b, batch: &batch, device: &device, seed, memo, settings: &s, task: task() };
            proxy(name, &s).score(&ctx).unwrap_or_else(|e| panic!("{name} on {}: {e:#}", b.arch_label()))
        };
        let entropy = score("vkdnw_entropy", 4, &shared);
        assert_eq!(entropy, score("vkdnw_entropy", 4, &Memo::new()), "{}: not deterministic", b.arch_label());
        assert!((0.0..=9f64.ln()).contains(&entropy), "{}: entropy {entropy}", b.arch_label());
        assert_ne!(entropy, score("vkdnw_entropy", 5, &Memo::new()), "{}: the seed changes nothing", b.arch_label());
        singles.push(score("vkdnw", 4, &shared));
    }
    assert!(singles[0] < singles[1], "fewer tensors rank lower: {singles:?}");
    let layout = swapnas_benchmarks::spaces::find("tnb101-micro").unwrap().task("room_layout").unwrap();
    assert!(swapnas_proxies::lookup("vkdnw").unwrap().needs.unmet(layout).is_some(), "room_layout's output is not class logits");
    let scene = swapnas_benchmarks::spaces::find("tnb101-micro").unwrap().task("class_scene").unwrap();
    assert!(swapnas_proxies::lookup("vkdnw").unwrap().needs.unmet(scene).is_none(), "class_scene has soft-target class logits");
}
