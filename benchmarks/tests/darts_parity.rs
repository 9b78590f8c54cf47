//! The DARTS networks: NB301's must be exactly the network Suite-Zero scored (parameter and
//! FLOP counts equal `params` and `flops` of `zc_nasbench301.json` arch by arch); the SWAP
//! setting is the reference's one-cell network; both data files load.

mod common;

use burn::prelude::*;
use proptest::prelude::*;
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::nn::network::{BnMode, BuildOptions, ForwardCtx, Network, Taps};
use swapnas_benchmarks::spaces::darts::NB301_ZC_JSON;
use swapnas_benchmarks::spaces::darts::{load_nb301_zc, load_swap_darts_csv, DartsArch, DartsConfig, DartsNet};
use swapnas_benchmarks::{InitScheme, WeightInit};

fn build(arch: &DartsArch, config: DartsConfig, device: &Device) -> DartsNet {
    let mut init = WeightInit::new(InitScheme::PytorchDefault, 0);
    DartsNet::new(arch, config, &BuildOptions::new(10), &mut init, device)
}

fn flops(net: &DartsNet, device: &Device) -> f64 {
    let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
    let _ = net.forward(Tensor::zeros([1, 3, 32, 32], device), &mut ctx).flat();
    ctx.flops
}

#[test]
fn nb301_params_and_flops_match_suite_zero() {
    let Some(_full) = common::full_data("Suite-Zero's NB301 table") else { return };
    let dir = common::data_dir();
    let device = Device::flex();
    let table = ZcTable::load(&dir, &NB301_ZC_JSON, "cifar10").unwrap();
    assert_eq!(table.entries.len(), 725);
    for (i, entry) in table.entries.iter().enumerate() {
        let arch: DartsArch = entry.arch.parse().unwrap();
        assert_eq!(arch.to_compact_string().as_deref(), Some(entry.arch.as_str()));
        let net = build(&arch, DartsConfig::nb301(), &device);
        let params = net.parameter_count() as f64 / 1e6;
        assert!(
            (params - entry.scores["params"]).abs() < 1e-9,
            "{}: params {params} vs Suite-Zero {}",
            entry.arch,
            entry.scores["params"]
        );
        // FLOPs need a forward pass: every 15th arch (49 archs).
        if i % 15 == 0 {
            let f = flops(&net, &device) / 1e6;
            assert!(
                (f - entry.scores["flops"]).abs() < 1e-6,
                "{}: flops {f} vs Suite-Zero {}",
                entry.arch,
                entry.scores["flops"]
            );
        }
    }
}

#[test]
fn nb301_table_loads() {
    let Some(_full) = common::full_data("Suite-Zero's NB301 table") else { return };
    let rows = load_nb301_zc(&common::data_dir()).unwrap();
    assert_eq!(rows.len(), 725);
    assert!(rows.iter().all(|r| (80.0..100.0).contains(&r.accuracy)));
    assert!(rows.iter().all(|r| !r.arch.has_none_op()));
}

#[test]
fn swap_darts_set_loads_and_builds_the_reference_network() {
    let Some(_full) = common::full_data("the SWAP authors' DARTS table") else { return };
    let rows = load_swap_darts_csv(&common::data_dir()).unwrap();
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.arch.normal == r.arch.reduce), "normal == reduce in every row");
    assert!(rows.iter().all(|r| (0.0..=100.0).contains(&r.accuracy)));
    assert_eq!(rows[0].accuracy, 85.0);
    let device = Device::flex();
    // Row 1 by hand (C = 6 after the reduction, affine BNs): preprocessing 2 × (3·6 + 12);
    // dil5 198 ×2, sep5 396 ×2, sep3 204 ×2, none and skip 0; classifier 24·10 + 10.
    let net = build(&rows[0].arch, DartsConfig::swap(), &device);
    assert_eq!(net.parameter_count(), 60 + 2 * (198 + 396 + 204) + 250);
    // Over all rows (counted independently from the genotypes): 310 to 2,692 parameters.
    let counts: Vec<usize> = rows.iter().map(|r| build(&r.arch, DartsConfig::swap(), &device).parameter_count()).collect();
    assert_eq!((counts.iter().min(), counts.iter().max()), (Some(&310), Some(&2692)));
    let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
    let x = Tensor::<4>::random([16, 3, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(net.forward(x, &mut ctx).flat().dims(), [16, 10]);
    assert!(ctx.relu.iter().all(|r| r.dims()[0] == 16));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn darts_parser_never_panics(s in "\\PC{0,60}") {
        let _ = s.parse::<DartsArch>();
    }

    #[test]
    fn mutated_darts_strings_never_panic(at in 0usize..400, byte in any::<u8>(), compact in any::<bool>()) {
        let s = if compact {
            "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], [(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]".to_string()
        } else {
            "Genotype(normal=[('none', 0), ('dil_conv_5x5', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 3), ('skip_connect', 4)], normal_concat=[2, 3, 4, 5], reduce=[('none', 0), ('dil_conv_5x5', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 3), ('skip_connect', 4)], reduce_concat=[2, 3, 4, 5])".to_string()
        };
        let mut bytes = s.into_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            if let Ok(a) = text.parse::<DartsArch>() {
                prop_assert_eq!(a.to_genotype_string().parse::<DartsArch>().unwrap(), a);
            }
        }
    }
}

/// Cost of one SWAP-style forward pass (16 images, ReLUs recorded):
/// `cargo test --release -p swapnas-benchmarks --test darts_parity -- --ignored --nocapture`.
#[test]
#[ignore]
fn forward_cost() {
    let dir = common::data_dir();
    let device = Device::flex();
    let x = Tensor::<4>::random([16, 3, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let nb301 = load_nb301_zc(&dir).unwrap();
    let swap = load_swap_darts_csv(&dir).unwrap();
    let cases = nb301
        .iter()
        .take(5)
        .map(|r| ("nb301", r, DartsConfig::nb301()))
        .chain(swap.iter().take(5).map(|r| ("swap", r, DartsConfig::swap())));
    for (name, r, config) in cases {
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        let t = std::time::Instant::now();
        let net = DartsNet::new(&r.arch, config, &BuildOptions::new(10), &mut init, &device);
        let built = t.elapsed();
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
        let y = net.forward(x.clone(), &mut ctx).flat();
        let _ = y.into_data();
        println!(
            "{name} {:.4}M params: build {built:?}, forward B=16 {:?}",
            net.parameter_count() as f64 / 1e6,
            t.elapsed() - built
        );
    }
}
