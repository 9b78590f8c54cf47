//! L-SWAG and AZ-NAS on real NB201 networks and real CIFAR-10 images — and the template for
//! testing a new proxy: copy `a_new_proxy_on_real_archs`, put your proxy's name in, and set
//! the ρ floor below what it measures on these archs.

use swapnas_benchmarks::ImageSet;
use swapnas_proxies::{Memo, ProxyContext, ProxySettings};
use swapnas_reports::spearman_rho;

mod common;
use common::{builder, data_dir, proxy, reference_rows, settings, task, BATCH};

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
