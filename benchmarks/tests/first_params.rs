//! The first-scalar probes (`Taps::first_params`, VKDNW's per-sample Jacobians): for every
//! float parameter of a network of each space — convs with groups, dilation and strides,
//! BN, linear heads, transposed convs, a siamese encoder used nine times — the probes' per-sample
//! derivatives, summed over the batch, equal burn's own gradient of the parameter's first
//! scalar, and each sample's derivative is its own (a batch of one gives the same). Eval-mode BN
//! (`BnMode::Initial`) keeps the samples apart.

use burn::module::{ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::Gradients;
use swapnas_benchmarks::spaces::darts::{DartsArch, DartsConfig, DartsNet};
use swapnas_benchmarks::spaces::nb201::{Nb201Arch, Nb201Config, Nb201Net};
use swapnas_benchmarks::spaces::tnb101::{TnbArch, TnbConfig, TnbNet, TnbTask};
use swapnas_benchmarks::{BnMode, BuildOptions, ForwardCtx, InitScheme, ModuleNetwork, Network, Output, Taps, WeightInit};

/// Each parameter's gradient at its first scalar, in module order.
struct FirstGrads<'a> {
    grads: &'a Gradients,
    out: Vec<(ParamId, f32)>,
}

impl ModuleVisitor for FirstGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = param.val().grad(self.grads).map_or(0.0, |g| g.into_data().iter::<f32>().next().unwrap_or(0.0));
        self.out.push((param.id, g));
    }
}

fn flat(out: Output) -> Tensor<2> {
    match out {
        Output::Flat(l) => l,
        Output::Dense(d) => {
            let [n, c, h, w] = d.dims();
            d.reshape([n, c * h * w])
        }
    }
}

/// Forward `x` with probes; back-propagate Σ_b ⟨logits_b, weights⟩; per parameter the probes'
/// per-sample derivatives (summed over a parameter's uses) and burn's gradient.
/// Per parameter: the probes' per-sample derivatives; burn's gradient of the first scalar.
type ProbesAndGrads = (Vec<(ParamId, Vec<f32>)>, Vec<(ParamId, f32)>);

fn probe_and_grad<N: ModuleNetwork + Network>(net: &N, x: Tensor<4>) -> ProbesAndGrads {
    let mut fwd = ForwardCtx::new(BnMode::Initial, Taps { first_params: true, ..Taps::default() });
    let y = flat(Network::forward(net, x, &mut fwd));
    let [n, c] = y.dims();
    let w: Vec<f32> = (0..c).map(|i| 1.0 - 0.37 * i as f32).collect();
    let w: Tensor<2> = Tensor::from_data(burn::tensor::TensorData::new(w, [1, c]), &y.device());
    let grads = y.mul(w.repeat_dim(0, n)).sum().backward();
    let mut per_param: Vec<(ParamId, Vec<f32>)> = Vec::new();
    for probe in &fwd.first_params {
        let g: Vec<f32> = probe.leaf.grad(&grads).map_or(vec![0.0; n], |g| g.into_data().try_to_vec::<f32>().unwrap());
        match per_param.iter_mut().find(|(id, _)| *id == probe.id) {
            Some((_, acc)) => acc.iter_mut().zip(g).for_each(|(a, v)| *a += v),
            None => per_param.push((probe.id, g)),
        }
    }
    let mut visitor = FirstGrads { grads: &grads, out: Vec::new() };
    burn::module::Module::visit(net, &mut visitor);
    (per_param, visitor.out)
}

fn check<N: ModuleNetwork + Network>(label: &str, net: &N, side: usize) {
    let device = net.device();
    let x: Tensor<4> = Tensor::random([3, 3, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let (probes, grads) = probe_and_grad(net, x.clone());
    assert_eq!(net.parameter_ids(), grads.iter().map(|(id, _)| *id).collect::<Vec<_>>(), "{label}: module order");
    let mut zero = 0;
    for (i, (id, g)) in grads.iter().enumerate() {
        let per_sample = probes.iter().find(|(p, _)| p == id).map(|(_, v)| v.clone());
        let Some(per_sample) = per_sample else {
            assert_eq!(*g, 0.0, "{label}: parameter {i} has a gradient {g} but no probe");
            zero += 1;
            continue;
        };
        let sum: f32 = per_sample.iter().sum();
        let scale = g.abs().max(per_sample.iter().map(|v| v.abs()).fold(0.0, f32::max)).max(1e-6);
        assert!((sum - g).abs() <= 2e-3 * scale, "{label}: parameter {i}: probes sum to {sum}, burn's gradient {g}");
    }
    assert!(zero < grads.len() / 4, "{label}: {zero} of {} parameters never reached", grads.len());
}

/// A small NB201 network (10 classes) with every op kind.
fn nb201_net(device: &burn::tensor::Device) -> Nb201Net {
    let arch: Nb201Arch =
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|".parse().unwrap();
    Nb201Net::new(&arch, Nb201Config { channels: 4, cells_per_stage: 1 }, &BuildOptions::new(10), &mut init(), device)
}

/// A small DARTS network with every op kind (separable, dilated, pools, skip, none).
fn darts_net(device: &burn::tensor::Device) -> DartsNet {
    let darts: DartsArch =
        "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
         ('avg_pool_3x3', 1), ('none', 3), ('sep_conv_5x5', 4), ('dil_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], \
         reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('none', 1), ('sep_conv_5x5', 2), \
         ('dil_conv_3x3', 3), ('skip_connect', 2), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
            .parse()
            .unwrap();
    let config = DartsConfig { channels: 4, layers: 3, stem_multiplier: Some(3), affine_ops: true, pool_bn: false };
    DartsNet::new(&darts, config, &BuildOptions::new(10), &mut init(), device)
}

fn init() -> WeightInit {
    WeightInit::new(InitScheme::KaimingNormalFanIn, 5)
}

#[test]
fn first_param_probes_equal_burns_gradients_on_every_space() {
    let device = burn::tensor::Device::flex().autodiff();
    check("nb201", &nb201_net(&device), 16);

    check("darts", &darts_net(&device), 16);

    let jigsaw = TnbArch::Macro("64-1342-basic".parse().unwrap());
    let net = TnbNet::new(&jigsaw, TnbConfig { task: TnbTask::Jigsaw }, &BuildOptions::new(20), &mut init(), &device);
    check("tnb101 macro jigsaw", &net, 96);

    let autoencoder = TnbArch::Micro("64-41414-3_13_023".parse().unwrap());
    let net = TnbNet::new(&autoencoder, TnbConfig { task: TnbTask::Autoencoder }, &BuildOptions::new(3), &mut init(), &device);
    check("tnb101 micro autoencoder", &net, 32);
}

/// A sample's derivatives do not depend on the other samples of the batch.
#[test]
fn first_param_probes_are_per_sample() {
    let device = burn::tensor::Device::flex().autodiff();
    let arch: Nb201Arch =
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|".parse().unwrap();
    let net = Nb201Net::new(&arch, Nb201Config { channels: 4, cells_per_stage: 1 }, &BuildOptions::new(1), &mut init(), &device);
    let x: Tensor<4> = Tensor::random([3, 3, 8, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let (batch, _) = probe_and_grad(&net, x.clone());
    let (alone, _) = probe_and_grad(&net, x.slice([1..2, 0..3, 0..8, 0..8]));
    for ((id, all), (id1, one)) in batch.iter().zip(&alone) {
        assert_eq!(id, id1);
        assert!((all[1] - one[0]).abs() <= 1e-4 * all[1].abs().max(1e-3), "{} alone vs {} in the batch", one[0], all[1]);
    }
}

/// Per probe, each copy's per-sample derivatives, from a pass over `copies` copies of `x` with
/// copy j's logits weighted by `w_j` (as VKDNW seeds one class per copy), its forward
/// computed once per copy (`ForwardCtx::replicas`) or for every copy.
fn per_copy_probes(net: &dyn Network, x: &Tensor<4>, copies: usize, replicas: usize) -> Vec<(ParamId, Vec<f32>)> {
    let mut fwd = ForwardCtx::new(BnMode::Initial, Taps { first_params: true, ..Taps::default() });
    fwd.replicas = replicas;
    let y = flat(net.forward(x.clone().repeat_dim(0, copies), &mut fwd));
    let [n, c] = y.dims();
    let b = n / copies;
    let w: Vec<f32> = (0..n * c).map(|i| (((i / (b * c)) * c + i % c) as f32 * 0.61).sin()).collect();
    let w: Tensor<2> = Tensor::from_data(burn::tensor::TensorData::new(w, [n, c]), &y.device());
    let grads = y.mul(w).sum().backward();
    fwd.first_params
        .iter()
        .map(|probe| (probe.id, probe.leaf.grad(&grads).map_or(vec![0.0; n], |g| g.into_data().try_to_vec::<f32>().unwrap())))
        .collect()
}

/// VKDNW's replicated batches: computing each layer's forward once and repeating it for the
/// other copies (conv, pooling, ReLU and eval-mode BN on the native kernels, the probes'
/// terms of the first copy) gives every copy exactly the derivatives a pass computing every
/// copy gives — on untracked weights (VKDNW's networks), where eval-mode BN is native too.
#[test]
fn a_forward_computed_once_per_copy_changes_no_derivative() {
    let device = burn::tensor::Device::flex().autodiff();
    let nb201 = nb201_net(&device);
    let darts = darts_net(&device);
    let jigsaw = TnbArch::Macro("64-1342-basic".parse().unwrap());
    let jigsaw = TnbNet::new(&jigsaw, TnbConfig { task: TnbTask::Jigsaw }, &BuildOptions::new(20), &mut init(), &device);
    let nets: [(&str, Box<dyn Network>, usize); 3] = [
        ("nb201", nb201.weights_untracked(), 16),
        ("darts", darts.weights_untracked(), 16),
        ("tnb101 macro jigsaw", jigsaw.weights_untracked(), 96),
    ];
    for (label, net, side) in nets {
        let x: Tensor<4> = Tensor::random([2, 3, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let every = per_copy_probes(net.as_ref(), &x, 3, 1);
        let once = per_copy_probes(net.as_ref(), &x, 3, 3);
        assert_eq!(every.len(), once.len(), "{label}: probes");
        assert!(!every.is_empty(), "{label}: no probe");
        for ((id, a), (id1, b)) in every.iter().zip(&once) {
            assert_eq!(id, id1, "{label}: probe order");
            assert_eq!(a, b, "{label}: a probe's derivatives differ");
        }
        // The copies are seeded differently, so their derivatives differ (the test can fail).
        let (_, first) = &every[0];
        assert!(first[0..2] != first[2..4], "{label}: copies 0 and 1 gave the same derivatives");
    }
}
