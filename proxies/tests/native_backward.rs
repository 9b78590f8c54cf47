//! The native backward (conv, BN, average pooling inside burn's autodiff; `--kernels
//! native`) against burn's own ops (`--kernels burn`, the reference path): every registered
//! proxy's score on real architectures of every space, equal up to float rounding.

use burn::prelude::*;
use burn::tensor::DType;
use swapnas_benchmarks::spaces::darts::{DartsArch, DartsBuilder, DartsConfig};
use swapnas_benchmarks::spaces::nb101::{Nb101Arch, Nb101Builder, Nb101Config};
use swapnas_benchmarks::spaces::tnb101::{TnbArch, TnbBuilder, TnbConfig, TnbTask};
use swapnas_benchmarks::{BnMode, ImageBatch, ImageSet, Kernels, NetworkBuilder, Taps, Task};
use swapnas_proxies::measure::{default_network, real_batch, to_host, LossGradients, Targets};
use swapnas_proxies::{Memo, ProxyContext, ProxySettings};

mod common;
use common::{builder, data_dir, DARTS_EVERY_OP, NB101_ARCH};

fn task(space: &str, name: &str) -> &'static Task {
    swapnas_benchmarks::spaces::find(space).unwrap().task(name).unwrap()
}

/// Seeded N(0, 1) images of `side` (TransNAS-Bench-101's Taskonomy images are not in the
/// repository; the comparison is of two kernels on the same input).
fn noise_batch(n: usize, side: usize) -> ImageBatch {
    let pixels = swapnas_benchmarks::WeightInit::new(swapnas_benchmarks::InitScheme::Gaussian, 5).weight(n * 3 * side * side, 1);
    ImageBatch { pixels, labels: (0..n as i64).map(|i| i % 10).collect(), side, tokens: false }
}

/// (label, network, task, images): NB201 at its full size on real CIFAR-10 images; NB101,
/// DARTS and TNB101 micro / macro archs at reduced width and depth.
fn cases() -> Vec<(String, Box<dyn NetworkBuilder>, &'static Task, ImageBatch)> {
    let cifar = ImageSet::CIFAR10.load_first(&data_dir(), 8).unwrap();
    let nb101: Nb101Arch = NB101_ARCH.parse().unwrap();
    let darts: DartsArch = DARTS_EVERY_OP.parse().unwrap();
    vec![
        ("nb201 (1, 2, 3, 4, 0, 2)".into(), Box::new(builder("(1, 2, 3, 4, 0, 2)")), task("nb201", "cifar10"), cifar.clone()),
        (
            "nb101".into(),
            Box::new(Nb101Builder {
                arch: nb101,
                config: Nb101Config { stem_channels: 8, stacks: 3, cells_per_stack: 1 },
                num_classes: 10,
            }),
            task("nb101", "cifar10"),
            cifar.clone(),
        ),
        (
            "nb301".into(),
            Box::new(DartsBuilder {
                arch: darts,
                config: DartsConfig { channels: 4, layers: 5, stem_multiplier: Some(3), affine_ops: false, pool_bn: true },
                num_classes: 10,
            }),
            task("nb301", "cifar10"),
            cifar,
        ),
        (
            "tnb101-micro room_layout".into(),
            Box::new(TnbBuilder {
                arch: TnbArch::Micro("64-41414-3_13_023".parse().unwrap()),
                config: TnbConfig { task: TnbTask::RoomLayout },
                num_classes: 9,
            }),
            task("tnb101-micro", "room_layout"),
            noise_batch(8, 32),
        ),
        (
            "tnb101-macro segmentsemantic".into(),
            Box::new(TnbBuilder {
                arch: TnbArch::Macro("64-1342-basic".parse().unwrap()),
                config: TnbConfig { task: TnbTask::SegmentSemantic },
                num_classes: 17,
            }),
            task("tnb101-macro", "segmentsemantic"),
            noise_batch(8, 32),
        ),
    ]
}

/// The loss's weight gradients and the input gradient on both f32 paths against a float64 pass
/// of burn's ops (the truth up to f64 rounding), on every case: per tensor, the native path's
/// relative L2 error is within 2× burn's own f32 error (+1e-5). Deep nets at init amplify f32
/// rounding (NB201 at B = 4: burn's f32 gradients are 2–5 % from the f64 ones in the first
/// layers), so "equal up to rounding" is measured against what rounding does to burn itself.
#[test]
fn native_gradients_are_as_close_to_float64_as_burns() {
    let device = Device::flex();
    let mut checked = 0;
    for (label, b, task, batch) in cases() {
        let grads = |kernels: Kernels, dtype: DType| -> Vec<Vec<f64>> {
            let mut s = ProxySettings::default();
            s.kernels = kernels;
            s.loss = task.loss;
            let memo = Memo::new();
            let ctx =
                ProxyContext { builder: b.as_ref(), batch: &batch, device: &device, seed: 2, memo: &memo, settings: &s, task };
            let ad = device.clone().autodiff();
            let net = default_network(&ctx, &ad, dtype);
            let (x, y) = real_batch(&ctx, 4, &ad, dtype).unwrap();
            let x = x.require_grad();
            let targets = Targets::of_task(&ctx, &x, y).unwrap();
            let lg =
                LossGradients::of(net, x.clone(), &targets, task.loss, ctx.forward_ctx(BnMode::Batch, Taps::default())).unwrap();
            let host = |t: Tensor<1>| to_host(t).unwrap();
            let mut out: Vec<Vec<f64>> = lg.weight_and_grad().into_iter().map(|(_, g)| host(g)).collect();
            out.push(host(x.grad(&lg.grads).expect("the input gradient").reshape([-1])));
            out
        };
        let (native, burn, truth) =
            (grads(Kernels::Native, DType::F32), grads(Kernels::Burn, DType::F32), grads(Kernels::Burn, DType::F64));
        assert_eq!(native.len(), truth.len(), "{label}: tensors");
        let error = |a: &[f64], t: &[f64]| {
            let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-30);
            a.iter().zip(t).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt() / norm
        };
        let (mut worst_native, mut worst_burn) = (0.0f64, 0.0f64);
        for (i, ((n, b), t)) in native.iter().zip(&burn).zip(&truth).enumerate() {
            let (en, eb) = (error(n, t), error(b, t));
            assert!(en <= 2.0 * eb + 1e-5, "{label} tensor {i}: native error {en:.2e} vs burn's {eb:.2e} (relative to float64)");
            (worst_native, worst_burn) = (worst_native.max(en), worst_burn.max(eb));
            checked += 1;
        }
        eprintln!("{label}: largest error vs float64, native {worst_native:.2e}, burn's ops {worst_burn:.2e}");
    }
    assert!(checked > 5 * 5, "only {checked} gradient tensors checked");
}

/// Every registered proxy scores each case alike on the native kernels and on burn's ops. A
/// proxy amplifies its gradients' rounding differently (correlations of 4 Jacobians, logs of
/// small eigenvalues), so the test is on the spread: the median relative difference over all
/// proxy × case scores is rounding-sized (≤ 1e-4) and none is off by more than 10 % (a wrong
/// gradient term moves scores by O(1)); the gradients themselves are held to float64 above.
#[test]
fn every_proxy_scores_alike_on_native_and_burn_kernels() {
    let device = Device::flex();
    let mut settings = ProxySettings::default();
    settings.set("proxy_batch", "4").unwrap();
    settings.set("repeats", "2").unwrap();
    settings.set("batch", "8").unwrap();
    let mut differences: Vec<(f64, String)> = Vec::new();
    for (label, b, task, batch) in cases() {
        // One memo per path, shared by the proxies as a run shares it per arch.
        let scores = |kernels: Kernels| -> Vec<(&str, String)> {
            let mut s = settings.clone();
            s.kernels = kernels;
            s.loss = task.loss;
            let memo = Memo::new();
            let ctx =
                ProxyContext { builder: b.as_ref(), batch: &batch, device: &device, seed: 2, memo: &memo, settings: &s, task };
            let names = swapnas_proxies::names();
            names
                .into_iter()
                .map(|name| {
                    (
                        name,
                        swapnas_proxies::proxy(name, &s)
                            .unwrap()
                            .score(&ctx)
                            .map_or_else(|e| format!("error {e:#}"), |v| v.to_string()),
                    )
                })
                .collect()
        };
        for ((name, native), (_, burn)) in scores(Kernels::Native).into_iter().zip(scores(Kernels::Burn)) {
            let what = format!("{name} on {label}: native {native} vs burn {burn}");
            let (Ok(native), Ok(burn)) = (native.parse::<f64>(), burn.parse::<f64>()) else {
                // A proxy the task cannot run fails alike on both paths.
                assert_eq!(native, burn, "{what}");
                continue;
            };
            let relative = if native == burn || (native.is_nan() && burn.is_nan()) {
                0.0
            } else {
                (native - burn).abs() / burn.abs().max(1e-12)
            };
            assert!(relative <= 0.1, "{what} (relative {relative:.2e})");
            differences.push((relative, what));
        }
    }
    differences.sort_by(|a, b| a.0.total_cmp(&b.0));
    let median = differences[differences.len() / 2].0;
    let worst = differences.last().unwrap();
    eprintln!(
        "{} scores compared; median relative difference {median:.2e}, largest {:.2e} ({})",
        differences.len(),
        worst.0,
        worst.1
    );
    assert!(differences.len() >= 5 * 20, "only {} scores compared", differences.len());
    assert!(median <= 1e-4, "median relative difference {median:.2e}");
}
