//! TransNAS-Bench-101: our networks against Suite-Zero's `params` and `flops` (tensorwatch's
//! counts of NASLib's models), the digit order pinned, every decoder's output shape.

use burn::prelude::*;
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::spaces::tnb101::{
    params, MacroArch, MicroArch, TnbArch, TnbBuilder, TnbConfig, TnbTask, MACRO_ZC_JSON, MICRO_ZC_JSON,
};
use swapnas_benchmarks::{BnMode, BuildOptions, DataDir, ForwardCtx, InitScheme, NetworkBuilder, Output, Taps, WeightInit};

mod common;
use common::data_dir;

fn parse(micro: bool, s: &str) -> TnbArch {
    if micro {
        TnbArch::Micro(s.parse::<MicroArch>().unwrap())
    } else {
        TnbArch::Macro(s.parse::<MacroArch>().unwrap())
    }
}

/// Suite-Zero's (arch, params in millions, flops in millions) of a task.
fn reference(dir: &DataDir, micro: bool, task: TnbTask) -> Vec<(TnbArch, f64, f64)> {
    let file = if micro { MICRO_ZC_JSON } else { MACRO_ZC_JSON };
    let table = ZcTable::load(dir, &file, task.name()).unwrap();
    table.entries.iter().map(|e| (parse(micro, &e.arch), e.scores["params"], e.scores["flops"])).collect()
}

/// Every arch of both reference files, on every task: our parameter count is Suite-Zero's.
#[test]
fn params_equal_suite_zero_for_every_arch_and_task() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    let dir = data_dir();
    let mut checked = 0;
    for micro in [true, false] {
        for task in TnbTask::ALL {
            let rows = reference(&dir, micro, task);
            assert!(rows.len() > 600, "{task:?}: {} rows", rows.len());
            for (arch, expected, _) in rows {
                let ours = params(&arch, task) as f64 / 1e6;
                assert!((ours - expected).abs() < 5e-7, "{arch} {task:?}: ours {ours} vs Suite-Zero {expected}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4977 + 4949);
}

/// The micro digits are the official ones (0 zero, 1 skip, 2 conv1×1, 3 conv3×3) on the
/// edges in string order; NASLib's OP_NAMES order (0 skip, 1 zero, 2 conv3×3, 3 conv1×1)
/// would not give Suite-Zero's counts.
#[test]
fn micro_digit_order_is_pinned() {
    let official: MicroArch = "(1, 0, 0, 2, 1, 0)".parse().unwrap();
    assert_eq!(official.official(), "64-41414-1_00_210");
    assert_eq!(params(&TnbArch::Micro(official), TnbTask::ClassScene), 910_687);
    // The same tuple read with OP_NAMES' meaning: (0, 1, 1, 3, 0, 1) in official digits.
    let op_names: MicroArch = "(0, 1, 1, 3, 0, 1)".parse().unwrap();
    assert_ne!(params(&TnbArch::Micro(op_names), TnbTask::ClassScene), 910_687);
    assert_eq!(params(&TnbArch::Micro("(3, 3, 3, 3, 3, 3)".parse().unwrap()), TnbTask::Autoencoder), 64_283_475);
}

/// The burn networks have the formula's parameter count (so Suite-Zero's), for a micro and
/// a macro arch on every task.
#[test]
fn built_networks_count_the_formulas_params() {
    let device = Device::flex();
    for (micro, arch) in [(true, "(0, 1, 1, 2, 3, 3)"), (false, "(4, 1, 3, 3, 3, 1)")] {
        let arch = parse(micro, arch);
        for task in TnbTask::ALL {
            let builder = TnbBuilder { arch, config: TnbConfig { task }, num_classes: task.outputs() };
            let net =
                builder.build(&mut WeightInit::new(InitScheme::PytorchDefault, 0), &BuildOptions::new(task.outputs()), &device);
            assert_eq!(net.parameter_count(), params(&arch, task), "{arch} {task:?}");
        }
    }
}

/// Each head's output shape at the benchmark's input, and FLOPs equal to Suite-Zero's
/// (tensorwatch: batch 1; transposed convs count 0; the jigsaw encoder once).
#[test]
fn outputs_have_the_task_shapes_and_flops_match() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    let dir = data_dir();
    let device = Device::flex();
    let arch_text = "(1, 0, 0, 2, 1, 0)";
    let arch = parse(true, arch_text);
    for task in TnbTask::ALL {
        let side = if task == TnbTask::Jigsaw { 192 } else { 256 };
        let builder = TnbBuilder { arch, config: TnbConfig { task }, num_classes: task.outputs() };
        let net = builder.build(&mut WeightInit::new(InitScheme::PytorchDefault, 1), &BuildOptions::new(task.outputs()), &device);
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
        let x = Tensor::<4>::random([1, 3, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let out = net.forward(x, &mut ctx);
        match (task, &out) {
            (TnbTask::SegmentSemantic, Output::Dense(t)) => assert_eq!(t.dims(), [1, 17, 256, 256]),
            (TnbTask::Normal | TnbTask::Autoencoder, Output::Dense(t)) => assert_eq!(t.dims(), [1, 3, 256, 256]),
            (_, Output::Flat(t)) => assert_eq!(t.dims(), [1, task.outputs()], "{task:?}"),
            (task, out) => panic!("{task:?}: unexpected output {out:?}"),
        }
        let expected = reference(&dir, true, task).into_iter().find(|(a, _, _)| *a == arch).map(|r| r.2).unwrap();
        let ours = ctx.flops / 1e6;
        assert!((ours - expected).abs() < 1e-3, "{task:?}: flops ours {ours} vs Suite-Zero {expected}");
    }
}

/// The default set reads the best epoch (Suite-Zero's zc files, NASLib's query); the `all` set
/// reads the zen run's value, never above it and below it for some archs of every task; both
/// say which in the accuracy label, and every arch of the default set is in the `all` set.
#[test]
fn default_set_is_the_best_epoch_and_the_all_set_never_exceeds_it() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    use std::collections::HashMap;
    use swapnas_benchmarks::{space::Request, spaces};
    let dir = data_dir();
    for name in ["tnb101-micro", "tnb101-macro"] {
        let space = spaces::find(name).unwrap();
        let all_set = space.sets().iter().find(|s| s.name == "all").unwrap();
        assert_eq!(space.sets()[0].name, "suitezero", "{name}: the default set");
        for task in space.tasks().iter().filter(|t| ["room_layout", "normal"].contains(&t.name)) {
            let load = |set| {
                let request = Request { task, set, archs: Some(0), seed: 0, accuracy: &task.accuracies[0], largest: false };
                space.load(&request, &dir).unwrap()
            };
            let (best, all) = (load(None), load(Some(all_set)));
            assert!(best.accuracy_label.contains("best epoch"), "{}", best.accuracy_label);
            assert!(all.accuracy_label.contains("at or below the best"), "{}", all.accuracy_label);
            let zen: HashMap<String, f64> = all.candidates.iter().map(|c| (c.label.clone(), c.accuracy)).collect();
            assert_eq!(zen.len(), if name == "tnb101-micro" { 4096 } else { 3256 });
            assert!(
                best.candidates.len() > 600 && best.candidates.len() < 800,
                "{name} {}: {}",
                task.name,
                best.candidates.len()
            );
            let (mut below, mut equal) = (0, 0);
            for c in &best.candidates {
                let z = zen[&c.label];
                assert!(z <= c.accuracy, "{name} {} {}: zen {z} above the best {}", task.name, c.label, c.accuracy);
                if z < c.accuracy {
                    below += 1;
                } else {
                    equal += 1;
                }
            }
            assert!(below > 0 && equal > 0, "{name} {}: {below} below, {equal} equal", task.name);
        }
    }
}
