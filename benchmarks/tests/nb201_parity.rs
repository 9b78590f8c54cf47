//! The NB201 network must be exactly NAS-Bench-201's: parameter and FLOP counts equal
//! Suite-Zero's `params` and `flops` (millions) arch by arch.

mod common;

use burn::prelude::*;
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::nn::network::{BnMode, BuildOptions, ForwardCtx, Network, Taps};
use swapnas_benchmarks::spaces::nb201::NB201_ZC_JSON;
use swapnas_benchmarks::spaces::nb201::{Nb201Arch, Nb201Config, Nb201Net, Nb201Task};
use swapnas_benchmarks::{InitScheme, WeightInit};

fn build(arch: &Nb201Arch, task: Nb201Task, device: &Device) -> Nb201Net {
    let mut init = WeightInit::new(InitScheme::PytorchDefault, 0);
    Nb201Net::new(arch, Nb201Config::default(), &BuildOptions::new(task.num_classes()), &mut init, device)
}

fn flops(net: &Nb201Net, side: usize, device: &Device) -> f64 {
    let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
    let _ = net.forward(Tensor::zeros([1, 3, side, side], device), &mut ctx).flat();
    ctx.flops
}

#[test]
fn params_and_flops_match_suite_zero() {
    let Some(_full) = common::full_data("Suite-Zero's reference scores") else { return };
    let dir = common::data_dir();
    let device = Device::flex();
    for task in Nb201Task::ALL {
        let table = ZcTable::load(&dir, &NB201_ZC_JSON, task.name()).unwrap();
        assert!(table.entries.len() >= 700);
        let side = task.images().side();
        for (i, entry) in table.entries.iter().enumerate() {
            let arch: Nb201Arch = entry.arch.parse().unwrap();
            let net = build(&arch, task, &device);
            let params = net.parameter_count() as f64 / 1e6;
            assert!(
                (params - entry.scores["params"]).abs() < 1e-9,
                "{task} {}: params {params} vs Suite-Zero {}",
                entry.arch,
                entry.scores["params"]
            );
            // FLOPs need a forward pass: every 5th arch (≥ 140 per task).
            if i % 5 == 0 {
                let f = flops(&net, side, &device) / 1e6;
                assert!(
                    (f - entry.scores["flops"]).abs() < 1e-6,
                    "{task} {}: flops {f} vs Suite-Zero {}",
                    entry.arch,
                    entry.scores["flops"]
                );
            }
        }
    }
}
