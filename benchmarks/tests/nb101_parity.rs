//! The NB101 network must be exactly the one Suite-Zero scored: parameter and FLOP counts
//! equal `params` and `flops` of `zc_nasbench101.json` arch by arch.

mod common;

use burn::prelude::*;
use proptest::prelude::*;
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::nn::network::{BnMode, BuildOptions, ForwardCtx, Network, Taps};
use swapnas_benchmarks::spaces::nb101::NB101_ZC_JSON;
use swapnas_benchmarks::spaces::nb101::{load_nb101_zc, Nb101Arch, Nb101Config, Nb101Net};
use swapnas_benchmarks::{InitScheme, WeightInit};

#[test]
fn params_and_flops_match_suite_zero() {
    let Some(_full) = common::full_data("Suite-Zero's NB101 table") else { return };
    let dir = common::data_dir();
    let device = Device::flex();
    let table = ZcTable::load(&dir, &NB101_ZC_JSON, "cifar10").unwrap();
    assert_eq!(table.entries.len(), 500);
    let mut pruned = 0;
    for (i, entry) in table.entries.iter().enumerate() {
        let arch: Nb101Arch = entry.arch.parse().unwrap();
        assert_eq!(arch.to_tuple_string(), entry.arch);
        pruned += usize::from(arch.pruned().num_vertices() < 7);
        let mut init = WeightInit::new(InitScheme::PytorchDefault, 0);
        let net = Nb101Net::new(&arch, Nb101Config::default(), &BuildOptions::new(10), &mut init, &device);
        let params = net.parameter_count() as f64 / 1e6;
        assert!(
            (params - entry.scores["params"]).abs() < 1e-9,
            "{}: params {params} vs Suite-Zero {}",
            entry.arch,
            entry.scores["params"]
        );
        // FLOPs need a forward pass (≈ 0.6 GFLOP each): every 50th arch.
        if i % 50 == 0 {
            let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
            let _ = net.forward(Tensor::zeros([1, 3, 32, 32], &device), &mut ctx).flat();
            let f = ctx.flops / 1e6;
            assert!(
                (f - entry.scores["flops"]).abs() < 1e-6,
                "{}: flops {f} vs Suite-Zero {}",
                entry.arch,
                entry.scores["flops"]
            );
        }
    }
    assert!(pruned > 0, "some archs of the file have vertices to prune");
}

#[test]
fn table_loads() {
    let Some(_full) = common::full_data("Suite-Zero's NB101 table") else { return };
    let rows = load_nb101_zc(&common::data_dir()).unwrap();
    assert_eq!(rows.len(), 500);
    assert!(rows.iter().all(|r| (0.0..=100.0).contains(&r.accuracy)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn nb101_parser_never_panics(s in "\\PC{0,60}") {
        let _ = s.parse::<Nb101Arch>();
    }

    #[test]
    fn random_tuples_never_panic(upper in prop::collection::vec(0u8..2, 21), ops in prop::collection::vec(0u8..6, 7)) {
        // Upper-triangular matrices (the rest is rejected early), any op codes.
        let mut bits = [0u8; 49];
        let mut next = upper.iter();
        for from in 0..7 {
            for to in from + 1..7 {
                bits[from * 7 + to] = *next.next().unwrap();
            }
        }
        let values: Vec<String> = bits.iter().chain(&ops).map(|v| v.to_string()).collect();
        let s = format!("({})", values.join(", "));
        if let Ok(a) = s.parse::<Nb101Arch>() {
            prop_assert_eq!(a.to_tuple_string(), s);
            let spec = a.pruned();
            let ch = spec.vertex_channels(128, 128);
            prop_assert_eq!(ch.len(), spec.num_vertices());
        }
    }
}

/// Cost of one SWAP-style forward pass (16 images, ReLUs recorded):
/// `cargo test --release -p swapnas-benchmarks --test nb101_parity -- --ignored --nocapture`.
#[test]
#[ignore]
fn forward_cost() {
    let rows = load_nb101_zc(&common::data_dir()).unwrap();
    let device = Device::flex();
    let x = Tensor::<4>::random([16, 3, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    // The smallest, the median and the largest network of the file.
    let size = |a: &Nb101Arch| {
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        Nb101Net::new(a, Nb101Config::default(), &BuildOptions::new(10), &mut init, &device).parameter_count()
    };
    let mut sized: Vec<_> = rows.iter().map(|r| (size(&r.arch), r)).collect();
    sized.sort_by_key(|(n, _)| *n);
    for r in [sized[0].1, sized[sized.len() / 2].1, sized[sized.len() - 1].1] {
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        let t = std::time::Instant::now();
        let net = Nb101Net::new(&r.arch, Nb101Config::default(), &BuildOptions::new(10), &mut init, &device);
        let built = t.elapsed();
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
        let y = net.forward(x.clone(), &mut ctx).flat();
        let _ = y.into_data();
        println!(
            "nb101 {:.2}M params: build {built:?}, forward B=16 {:?}",
            net.parameter_count() as f64 / 1e6,
            t.elapsed() - built
        );
    }
}
