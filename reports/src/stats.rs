//! Rank correlations between proxy scores and accuracies.
//!
//! Sign convention: higher score is meant to predict higher accuracy; ρ and τ are reported as
//! computed, never with a silent `abs`.
//!
//! Non-finite scores (NaN, ±inf) are kept, not dropped: they are ranked below every finite
//! score and tied with each other — as NASLib does by mapping them to −1e8 — and counted in
//! [`Correlation::non_finite`]. Pairs whose accuracy is not finite are dropped (and counted).

use serde::Serialize;

/// Rank correlation of one proxy against accuracy on a set of architectures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Correlation {
    /// Architectures used.
    pub n: usize,
    /// Of those, how many had a NaN or infinite score (ranked last, tied).
    pub non_finite: usize,
    /// Architectures dropped because their accuracy was not finite.
    pub dropped: usize,
    pub spearman: f64,
    pub kendall: f64,
    /// Pearson's r over the pairs with a finite score (n − non_finite of them).
    pub pearson: f64,
    /// 95% bootstrap interval of ρ (1,000 resamples of the archs, seeded): `[lo, hi]`.
    pub spearman_ci: [f64; 2],
    /// Two-sided p-value of ρ = 0 (t-distribution with n − 2 degrees of freedom, as
    /// `scipy.stats.spearmanr`).
    pub spearman_p: f64,
    /// Two-sided p-value of τ = 0 (normal approximation, variance 2(2n+5)/(9n(n−1))).
    pub kendall_p: f64,
    /// Of the true top 10% of archs (by accuracy), the fraction the proxy ranks in its own
    /// top 10%.
    pub top10_hit: f64,
}

impl Correlation {
    /// The row of a proxy that was not run (all statistics NaN).
    pub fn not_computed(n: usize) -> Self {
        Self {
            n,
            non_finite: 0,
            dropped: 0,
            spearman: f64::NAN,
            kendall: f64::NAN,
            pearson: f64::NAN,
            spearman_ci: [f64::NAN; 2],
            spearman_p: f64::NAN,
            kendall_p: f64::NAN,
            top10_hit: f64::NAN,
        }
    }
}

/// ρ and τ of `scores` against `accuracies` (same length, same order).
pub fn correlate(scores: &[f64], accuracies: &[f64]) -> Correlation {
    let (s, a, dropped) = with_finite_accuracy(scores, accuracies);
    let non_finite = s.iter().filter(|v| !v.is_finite()).count();
    // Pearson's r is a linear statistic: a floor value for a non-finite score would steer it,
    // so r is over the finite pairs alone (the n − non-finite the table shows).
    let finite: (Vec<f64>, Vec<f64>) = s.iter().zip(&a).filter(|(v, _)| v.is_finite()).map(|(v, w)| (*v, *w)).unzip();
    let s = rank_last_nonfinite(&s);
    let spearman = spearman_rho(&s, &a);
    let kendall = kendall_tau(&s, &a);
    Correlation {
        n: s.len(),
        non_finite,
        dropped,
        spearman,
        kendall,
        pearson: pearson(&finite.0, &finite.1),
        spearman_ci: bootstrap_spearman_ci(&s, &a, 1000, 0),
        spearman_p: spearman_p_value(spearman, s.len()),
        kendall_p: kendall_p_value(kendall, s.len()),
        top10_hit: top_fraction_hit(&s, &a, 0.1),
    }
}

/// Two-sided p-value of Spearman's ρ under independence: t = ρ·√((n−2)/(1−ρ²)) against
/// Student's t with n − 2 degrees of freedom (what `scipy.stats.spearmanr` reports). NaN for
/// n < 3 or a NaN ρ.
pub fn spearman_p_value(rho: f64, n: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if n < 3 || !rho.is_finite() {
        return f64::NAN;
    }
    let df = (n - 2) as f64;
    if rho.abs() >= 1.0 {
        return 0.0;
    }
    let t = rho * (df / (1.0 - rho * rho)).sqrt();
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.sf(t.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Two-sided p-value of Kendall's τ under independence, by the normal approximation
/// z = τ / √(2(2n+5) / (9n(n−1))) (no tie correction). NaN for n < 2 or a NaN τ.
pub fn kendall_p_value(tau: f64, n: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    if n < 2 || !tau.is_finite() {
        return f64::NAN;
    }
    let n = n as f64;
    let sd = (2.0 * (2.0 * n + 5.0) / (9.0 * n * (n - 1.0))).sqrt();
    match Normal::new(0.0, 1.0) {
        Ok(dist) => (2.0 * dist.sf((tau / sd).abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Spearman's ρ of `scores` with `accuracies` exactly as [`correlate`] computes it, without
/// the other statistics (its bootstrap interval and Kendall's τ cost far more).
pub fn spearman_with_accuracy(scores: &[f64], accuracies: &[f64]) -> f64 {
    let (s, a, _) = with_finite_accuracy(scores, accuracies);
    spearman_rho(&rank_last_nonfinite(&s), &a)
}

/// The (score, accuracy) pairs whose accuracy is finite, and how many were dropped.
fn with_finite_accuracy(scores: &[f64], accuracies: &[f64]) -> (Vec<f64>, Vec<f64>, usize) {
    assert_eq!(scores.len(), accuracies.len(), "one score per accuracy");
    let (mut s, mut a) = (Vec::new(), Vec::new());
    for (&sc, &ac) in scores.iter().zip(accuracies) {
        if ac.is_finite() {
            s.push(sc);
            a.push(ac);
        }
    }
    let dropped = scores.len() - s.len();
    (s, a, dropped)
}

/// Percentile bootstrap 95% interval of Spearman's ρ over `resamples` resamples of the pairs.
pub fn bootstrap_spearman_ci(x: &[f64], y: &[f64], resamples: usize, seed: u64) -> [f64; 2] {
    use rand::{Rng, SeedableRng};
    let n = x.len();
    if n < 3 {
        return [f64::NAN, f64::NAN];
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut rhos: Vec<f64> = (0..resamples)
        .map(|_| {
            let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            let xs: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
            let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            spearman_rho(&xs, &ys)
        })
        .filter(|r| r.is_finite())
        .collect();
    if rhos.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    rhos.sort_by(f64::total_cmp);
    let at = |q: f64| rhos[((rhos.len() - 1) as f64 * q).round() as usize];
    [at(0.025), at(0.975)]
}

/// Of the top `fraction` of items by `truth`, the fraction that are also in the top
/// `fraction` by `score` (k = ceil(n·fraction)), averaged over every way of breaking ties at
/// either cut-off: an item tied with the k-th value is in the top with probability (places
/// left) / (items tied there), independently on both sides.
pub fn top_fraction_hit(score: &[f64], truth: &[f64], fraction: f64) -> f64 {
    let n = score.len();
    if n == 0 {
        return f64::NAN;
    }
    let k = ((n as f64 * fraction).ceil() as usize).clamp(1, n);
    // Each item's probability of being in the top k of `v`.
    let chance = |v: &[f64]| -> Vec<f64> {
        let mut sorted: Vec<f64> = v.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let cut = sorted[k - 1];
        let above = v.iter().filter(|x| x.total_cmp(&cut).is_gt()).count();
        let tied = v.iter().filter(|x| x.total_cmp(&cut).is_eq()).count();
        let p_tied = (k - above) as f64 / tied as f64;
        v.iter()
            .map(|x| {
                if x.total_cmp(&cut).is_gt() {
                    1.0
                } else if x.total_cmp(&cut).is_eq() {
                    p_tied
                } else {
                    0.0
                }
            })
            .collect()
    };
    let (by_score, by_truth) = (chance(score), chance(truth));
    by_score.iter().zip(&by_truth).map(|(a, b)| a * b).sum::<f64>() / k as f64
}

/// Replaces non-finite scores by one value below every finite score.
pub fn rank_last_nonfinite(scores: &[f64]) -> Vec<f64> {
    let floor = scores.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let below = if floor.is_finite() { floor - 1.0 - floor.abs() } else { 0.0 };
    scores.iter().map(|&v| if v.is_finite() { v } else { below }).collect()
}

/// Ranks 1..=n, ties given their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0; // mean of start+1 ..= end
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// How a rank ensemble combines its members' ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnsembleRule {
    /// Σ log(rank / n) over members (AZ-NAS's combination): one member's poor rank weighs
    /// more than in a mean.
    LogRank,
    /// Mean rank over members.
    MeanRank,
}

impl EnsembleRule {
    pub fn name(self) -> &'static str {
        match self {
            EnsembleRule::LogRank => "sum of log(rank/n)",
            EnsembleRule::MeanRank => "mean rank",
        }
    }
}

/// The ensemble score of each arch from its members' scores (`members[m][i]`: member `m`'s
/// score of arch `i`, larger is better), ranked within these archs (1 = worst; ties their
/// average rank; a non-finite score ranks below every finite one). Larger is better.
pub fn rank_ensemble(members: &[Vec<f64>], rule: EnsembleRule) -> Vec<f64> {
    let n = members.first().map_or(0, Vec::len);
    let mut out = vec![0.0; n];
    for scores in members {
        assert_eq!(scores.len(), n, "every member scores the same archs");
        for (o, r) in out.iter_mut().zip(average_ranks(&rank_last_nonfinite(scores))) {
            *o += match rule {
                EnsembleRule::LogRank => (r / n as f64).ln(),
                EnsembleRule::MeanRank => r / members.len() as f64,
            };
        }
    }
    out
}

/// Mean and sample standard deviation (n − 1) of the finite values (sd 0 for one value; both
/// NaN for none).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    use statrs::statistics::Statistics;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let sd = if finite.len() > 1 {
        finite.iter().std_dev()
    } else if finite.is_empty() {
        f64::NAN
    } else {
        0.0
    };
    (finite.iter().mean(), sd)
}

/// Pearson's r; NaN when either side is constant or fewer than 2 points.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's ρ: Pearson's r of the average ranks (the tie-corrected form scipy computes).
pub fn spearman_rho(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's τ-b (tie-corrected, as scipy's default), O(n²).
pub fn kendall_tau(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i].total_cmp(&x[j]) as i64;
            let dy = y[i].total_cmp(&y[j]) as i64;
            match (dx, dy) {
                (0, 0) => {}
                (0, _) => tie_x += 1,
                (_, 0) => tie_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let denom = (((concordant + discordant + tie_x) as f64) * ((concordant + discordant + tie_y) as f64)).sqrt();
    if denom == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) as f64 / denom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_sd_skips_non_finite_values() {
        let (m, s) = mean_sd(&[1.0, 3.0, f64::NAN, 5.0]);
        assert_eq!((m, s), (3.0, 2.0));
        assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
    }

    #[test]
    fn rank_ensemble_combines_ranks() {
        // Member a ranks archs 0 < 1 < 2, member b ranks 2 < 0 < 1 (NaN last).
        let members = vec![vec![1.0, 2.0, 3.0], vec![5.0, 9.0, f64::NAN]];
        let mean = rank_ensemble(&members, EnsembleRule::MeanRank);
        assert_eq!(mean, vec![1.5, 2.5, 2.0]);
        let log = rank_ensemble(&members, EnsembleRule::LogRank);
        let l = |r: f64| (r / 3.0).ln();
        assert_eq!(log, vec![l(1.0) + l(2.0), l(2.0) + l(3.0), l(3.0) + l(1.0)]);
        // One member: the ensemble orders archs as the member does.
        let one = rank_ensemble(&[vec![0.3, -1.0, 7.0]], EnsembleRule::LogRank);
        assert!(one[1] < one[0] && one[0] < one[2]);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Closed forms: Student's t with 1 df is Cauchy (p = 1 − 2·atan|t|/π) and with 2 df has
    /// p = 1 − |t|/√(t² + 2); the normal's two-sided 5% point is 1.959963985.
    #[test]
    fn p_values_match_closed_forms() {
        // n = 3, ρ = 0.5: t = 0.5·√(1/0.75) = 1/√3, atan = π/6, p = 2/3.
        assert!((spearman_p_value(0.5, 3) - 2.0 / 3.0).abs() < 1e-9, "{}", spearman_p_value(0.5, 3));
        // n = 4, ρ = 0.5: t = √(2/3), p = 1 − √(2/3)/√(8/3) = 0.5.
        assert!((spearman_p_value(-0.5, 4) - 0.5).abs() < 1e-9);
        assert_eq!(spearman_p_value(1.0, 10), 0.0);
        assert!(spearman_p_value(0.3, 2).is_nan() && spearman_p_value(f64::NAN, 10).is_nan());
        let n = 20.0f64;
        let sd = (2.0 * (2.0 * n + 5.0) / (9.0 * n * (n - 1.0))).sqrt();
        assert!((kendall_p_value(1.959963985 * sd, 20) - 0.05).abs() < 1e-8);
        assert!((kendall_p_value(0.0, 20) - 1.0).abs() < 1e-12);
        let c = correlate(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]);
        assert!(c.spearman_p > 0.0 && c.spearman_p < 1.0 && c.kendall_p > 0.0 && c.kendall_p < 1.0, "{c:?}");
    }

    #[test]
    fn values_checked_against_scipy() {
        // scipy.stats.spearmanr / kendalltau (scipy 1.x) on these give ρ = 0.8406680016960504,
        // τ-b = 0.6900655593423541 (x has a tie).
        let x = [1.0, 2.0, 2.0, 4.0, 5.0, 3.0];
        let y = [1.5, 2.5, 1.0, 6.0, 5.5, 3.0];
        assert!(close(spearman_rho(&x, &y), 0.8406680016960504), "{}", spearman_rho(&x, &y));
        assert!(close(kendall_tau(&x, &y), 0.6900655593423541), "{}", kendall_tau(&x, &y));
        let rev: Vec<f64> = y.iter().map(|v| -v).collect();
        assert!(close(spearman_rho(&x, &rev), -spearman_rho(&x, &y)), "sign is kept");
    }

    #[test]
    fn bootstrap_interval_brackets_rho_and_top_k_counts_hits() {
        let x: Vec<f64> = (0..200).map(|i| i as f64 + ((i * 37) % 11) as f64 * 3.0).collect();
        let y: Vec<f64> = (0..200).map(|i| i as f64).collect();
        let rho = spearman_rho(&x, &y);
        let [lo, hi] = bootstrap_spearman_ci(&x, &y, 300, 1);
        assert!(lo < rho && rho < hi && hi - lo < 0.05, "{lo} {rho} {hi}");
        // Top 10% of 10 = 1 item: the best by truth is index 9.
        let truth = [0., 1., 2., 3., 4., 5., 6., 7., 8., 9.];
        assert_eq!(top_fraction_hit(&truth, &truth, 0.1), 1.0);
        let rev: Vec<f64> = truth.iter().map(|v| -v).collect();
        assert_eq!(top_fraction_hit(&rev, &truth, 0.1), 0.0);
        assert_eq!(top_fraction_hit(&truth, &truth, 0.3), 1.0);
        let mut two = truth;
        two.swap(9, 7); // score ranks 7 first, 9 third: top-3 still {7, 8, 9}
        assert_eq!(top_fraction_hit(&two, &truth, 0.3), 1.0);
        assert!((top_fraction_hit(&two, &truth, 0.2) - 0.5).abs() < 1e-12);
        // Ties are averaged, not broken by position: a constant score hits k/n of the top k
        // (position order would have picked index 0, the best by `desc`, and scored 1.0).
        let desc: Vec<f64> = truth.iter().rev().copied().collect();
        assert!((top_fraction_hit(&[5.0; 10], &desc, 0.1) - 0.1).abs() < 1e-12);
        assert!((top_fraction_hit(&[5.0; 10], &desc, 0.3) - 0.3).abs() < 1e-12);
        // Two tied for the one place, one of them the best: half a hit.
        let mut pair = [0.0; 10];
        pair[0] = 1.0;
        pair[9] = 1.0;
        assert!((top_fraction_hit(&pair, &desc, 0.1) - 0.5).abs() < 1e-12);
    }

    /// Pearson's r is over the finite scores alone: a NaN score neither counts nor drags r
    /// through a floor value.
    #[test]
    fn pearson_uses_finite_pairs_only() {
        let acc = [1.0, 2.0, 3.0, 4.0, 5.0];
        let scores = [10.0, 20.0, 30.0, 40.0, f64::NAN];
        let c = correlate(&scores, &acc);
        assert!((c.pearson - 1.0).abs() < 1e-12, "r = {}", c.pearson);
        assert_eq!(c.non_finite, 1);
        assert!((c.pearson - pearson(&scores[..4], &acc[..4])).abs() < 1e-12);
    }

    #[test]
    fn average_ranks_handle_ties() {
        assert_eq!(average_ranks(&[10.0, 20.0, 10.0, 30.0]), vec![1.5, 3.0, 1.5, 4.0]);
    }

    #[test]
    fn non_finite_scores_rank_last_and_are_counted() {
        let scores = [f64::NAN, 2.0, 3.0, f64::NEG_INFINITY, 5.0];
        let acc = [0.5, 2.0, 3.0, 0.6, 5.0];
        let c = correlate(&scores, &acc);
        assert_eq!((c.n, c.non_finite, c.dropped), (5, 2, 0));
        // NaN and -inf tie at the bottom, and those two do have the lowest accuracies.
        assert!(c.spearman > 0.97, "{c:?}");
        let c = correlate(&[1.0, 2.0, 3.0], &[1.0, f64::NAN, 3.0]);
        assert_eq!((c.n, c.dropped), (2, 1));
    }
}
