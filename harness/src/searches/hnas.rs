//! HNAS (Shu, Dai, Wu, Low; "Unifying and Boosting Gradient-Based Training-Free Neural
//! Architecture Search", NeurIPS 2022; reference code shuyao95/HNAS `nasbench2_search.py`).
//!
//! Each arch has the NTK trace norm M = √(tr Θ / N) and condition number κ = λ_max / λ_min
//! (the `ntk` proxy and `ntk_condnum`, which is −κ). For hyper-parameters (t, log₁₀ μ) an arch scores
//! `μ·|M² − (5000·t)²| + κ / (M + 10⁻⁶)` and the *smallest* score wins. Bayesian optimisation
//! ([`super::gp`]: GP, Matérn-5/2, expected improvement ξ = 0) over t ∈ [0, 1] and
//! log₁₀ μ ∈ [−4, 0] maximises the queried accuracy of the arch each setting picks: the first
//! ⌊T/4⌋ (at most 10) evaluations probe t = 0 … 1 evenly at log₁₀ μ = −2, the rest follow EI.
//! Before each evaluation 2,000 uniform draws (with replacement) join a growing set of sampled
//! archs; the pick is the best-scoring sampled arch not yet queried, so every evaluation is one
//! new query. The found arch is the queried arch with the best queried accuracy.
//!
//! Deviations: the reference draws from the whole space and reads precomputed metrics; swapnas
//! draws from the search's scored pool (`--pool`, the whole space with 0). Ties of the score go
//! to the first arch in sampling order (numpy's `argsort` is not stable).

use super::gp::{suggest, Acquisition};
use super::oracle::Oracle;
use super::Pool;
use anyhow::{bail, Context, Result};
use rand::Rng;

/// The metrics HNAS reads, as the pool names them: the NTK trace norm and condition number.
pub const METRICS: &[&str] = swapnas_proxies::HNAS_METRICS.members;

/// The reference's `--scale`: t ∈ [0, 1] targets M = 5000·t.
const SCALE: f64 = 5e3;
/// Uniform draws added to the sampled set before each evaluation (`n_sample`).
const DRAWS: usize = 2000;

/// HNAS's score of an arch (smaller is better).
pub fn score(m: f64, condnum: f64, t: f64, log_mu: f64) -> f64 {
    let target = t * SCALE;
    10f64.powf(log_mu) * (m * m - target * target).abs() + condnum / (m + 1e-6)
}

/// Runs HNAS with `oracle`'s budget T; returns the (t, log₁₀ μ) of the best queried arch.
pub fn hnas(pool: &Pool, oracle: &mut Oracle, rng: &mut impl Rng) -> Result<(f64, f64)> {
    let col = |name: &str| pool.names.iter().position(|n| *n == name).with_context(|| format!("the pool has no `{name}`"));
    let (im, ik) = (col(METRICS[0])?, col(METRICS[1])?);
    let budget = oracle.left();
    if budget > pool.labels.len() {
        bail!("HNAS queries a new arch per evaluation: {budget} queries need a pool of at least as many archs");
    }
    let probes = (budget / 4).min(10);
    let bounds = [(0.0, 1.0), (-4.0, 0.0)];
    let mut sampled: Vec<usize> = Vec::new();
    let mut in_sample = vec![false; pool.labels.len()];
    let mut queried = vec![false; pool.labels.len()];
    let (mut xs, mut ys): (Vec<Vec<f64>>, Vec<f64>) = (Vec::new(), Vec::new());
    for step in 0..budget {
        let x = if step < probes {
            let t = if probes > 1 { step as f64 / (probes - 1) as f64 } else { 0.0 };
            vec![t, -2.0]
        } else {
            suggest(&xs, &ys, &bounds, Acquisition::Ei { xi: 0.0 }, rng)
        };
        for _ in 0..DRAWS {
            let i = rng.random_range(0..pool.labels.len());
            if !in_sample[i] {
                in_sample[i] = true;
                sampled.push(i);
            }
        }
        let pick = sampled
            .iter()
            .copied()
            .filter(|&i| !queried[i])
            .map(|i| (i, score(pool.metrics[i][im], -pool.metrics[i][ik], x[0], x[1])))
            .filter(|(_, s)| !s.is_nan())
            .fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
                Some((_, b)) if b <= s => best,
                _ => Some((i, s)),
            });
        let Some((arch, _)) = pick else { bail!("no sampled arch left to query (NaN metrics everywhere?)") };
        queried[arch] = true;
        let y = oracle.query(&pool.labels[arch])?;
        xs.push(x);
        ys.push(y);
    }
    let best = (0..ys.len()).fold(0, |b, i| if ys[i] > ys[b] { i } else { b });
    Ok((xs[best][0], xs[best][1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use swapnas_benchmarks::space::{Query, QueryTable};

    #[test]
    fn score_is_the_reference_formula() {
        // μ = 10⁻², target 5000·0.1 = 500: 0.01·|400² − 500²| + 2/(400 + 1e-6).
        let s = score(400.0, 2.0, 0.1, -2.0);
        assert!((s - (0.01 * 90_000.0 + 2.0 / 400.000001)).abs() < 1e-9, "{s}");
    }

    /// Accuracy peaks at M = 2000 (t = 0.4) among archs with κ = 1 (ntk_condnum −1): HNAS queries 20 distinct
    /// archs and finds one near the peak.
    #[test]
    fn finds_the_target_trace() {
        let n = 500;
        let labels: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
        let metrics: Vec<Vec<f64>> = (0..n).map(|i| vec![10.0 * i as f64, -1.0]).collect();
        let entries = labels
            .iter()
            .zip(&metrics)
            .map(|(l, m)| (l.clone(), Query { accuracy: -(m[0] - 2000.0).abs(), train_seconds: None }))
            .collect();
        let table = QueryTable { about: "test".to_string(), entries, budget: 20 };
        let pool = Pool { labels, names: METRICS.to_vec(), metrics };
        let mut oracle = Oracle::new(&table, 20);
        hnas(&pool, &mut oracle, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(oracle.asked().len(), 20);
        let best = oracle.best().unwrap().1;
        assert!(best > -60.0, "best queried {best}");
        assert_eq!(oracle.train_seconds(), None, "the table records no seconds");
    }
}
